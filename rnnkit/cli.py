"""The ``rnnkit`` command line: ``rnnkit <command> [options]``.

Each command lives in rnnkit/commands/<name>.py with ``add_arguments(parser)`` and ``run(args)``;
``main(argv)`` is what the console script and the tests call. A :class:`UsageError` (bad input)
becomes a one-line message and exit code 2, never a traceback.
"""

from __future__ import annotations

import importlib
import sys

from rnnkit import __version__
from rnnkit.errors import UsageError

COMMANDS = {
    "train": "train a model on a task (rnnkit tasks lists them: charlm, sentiment, translate, caption, ...)",
    "eval": "the metrics of a trained model on its data or other data",
    "predict": "run a trained model on inputs (a label, a translation, a caption, an answer, ...)",
    "sample": "generate text from a character model, one character at a time",
    "tasks": "list the tasks, their data sources and whether they are installed",
    "gradcheck": "check every hand-written backward pass against numerical gradients",
    "hello": "the lecture's example: learn 'hello' over the vocabulary [h, e, l, o]",
    "gradflow": "gradient norms back in time: vanishing, exploding, clipping (rnn, lstm, gru)",
    "cells": "colour text by a cell's activation; find cells that track quotes, brackets, lines",
    "plot": "training curves of one or more runs against steps and time (PNG and SVG)",
    "serve": "a web playground: sample with activations coloured, classify sentences",
    "grids": "feature grids of a caption source from a pretrained ResNet whose weights you have",
}


def build_parser():
    """The parser of every command (imports them all, and NumPy with them)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="rnnkit",
        description="Recurrent neural networks with every gradient visible and checked.",
    )
    parser.add_argument("--version", action="version", version=f"rnnkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"rnnkit.commands.{name}")
        command = sub.add_parser(name, help=help_text, description=module.__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv=None) -> int:
    """Run ``rnnkit`` with ``argv`` (default: sys.argv[1:]); returns the exit code."""
    try:
        # Building the parser imports every command and, with them, NumPy: the slow part of the
        # start (about half a second, longer on a busy machine). A Ctrl-C then is one line too.
        args = build_parser().parse_args(argv)
    except KeyboardInterrupt:
        print("rnnkit: interrupted while starting; nothing was saved", file=sys.stderr)
        return 130
    try:
        return int(args.run(args) or 0)
    except UsageError as exc:
        print(f"rnnkit {args.command}: error: {exc}", file=sys.stderr)
        return UsageError.exit_code
    except KeyboardInterrupt:
        finished = getattr(args, "finished_code", None)
        if finished is not None:  # the command had done its work and saved it: the Ctrl-C stopped only its clean-up
            return finished
        print(f"rnnkit {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `rnnkit sample ... | head` closed the pipe: not an error
        return 0


if __name__ == "__main__":
    sys.exit(main())
