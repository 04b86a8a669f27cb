"""Gradient flow back in time: ||dL/dh_t|| against the distance from the loss, for a vanilla RNN, an
LSTM and a GRU of the same size, untrained and trained, on real text; the vanishing and exploding
regimes of the vanilla RNN; and what gradient clipping changes. Measured with the NumPy engine's
own backward pass (rnnkit/viz/gradflow.py says how).

The loss is the cross-entropy of the prediction at the last of T characters; a window's gradient
on the state k steps earlier, divided by its gradient on the last state, says how much of the
error signal survives k steps of backpropagation through time. Trained models are trained here
briefly (--train-steps) unless --checkpoint gives one-layer character models.

examples:
  rnnkit gradflow                                   # gradflow.png, about three minutes of CPU
  rnnkit gradflow --json > gradflow.json            # the numbers (with --out, the figure too)
  rnnkit gradflow --checkpoint runs/rnn --checkpoint runs/lstm --checkpoint runs/gru --out flow.svg
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from rnnkit.cells import CELL_NAMES
from rnnkit.commands._args import non_negative_int, positive_float, positive_int, seed
from rnnkit.errors import UsageError


#: Bounds that keep one run within memory and minutes.
MAX_STEPS_BACK, MAX_WINDOWS, MAX_HIDDEN = 2000, 1024, 2048


def _cells(text: str) -> list[str]:
    cells = [c.strip() for c in text.split(",") if c.strip()]
    if not cells or any(c not in CELL_NAMES for c in cells) or len(set(cells)) != len(cells):
        raise argparse.ArgumentTypeError(f"expected distinct cells among {', '.join(CELL_NAMES)}, "
                                         f"comma-separated, got {text!r}")
    return cells


def _sigmas(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or not all(0.0 < v <= 100.0 for v in values):
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers in (0, 100], got {text!r}")
    return values


def _at_most(maximum: int):
    def value(text: str) -> int:
        n = positive_int(text)
        if n > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, got {n}")
        return n
    return value


def add_arguments(p) -> None:
    p.add_argument("--data", default="stdlib", help="stdlib (default), kjv, sparv or a UTF-8 text file")
    p.add_argument("--chars", type=positive_int, default=400_000,
                   help="characters of the text to read (default: 400,000); the last 10%% give the windows")
    p.add_argument("--cells", type=_cells, default=["rnn", "lstm", "gru"],
                   help="cells to compare, comma-separated (default: rnn,lstm,gru)")
    p.add_argument("--hidden", type=_at_most(MAX_HIDDEN), default=64, help="hidden size H of every model (default: 64)")
    p.add_argument("--steps-back", type=_at_most(MAX_STEPS_BACK), default=100,
                   help="T, the characters each window reads before the loss (default: 100)")
    p.add_argument("--windows", type=_at_most(MAX_WINDOWS), default=16,
                   help="windows of text to average over (default: 16)")
    p.add_argument("--train-steps", type=non_negative_int, default=300,
                   help="Adam steps (batch 16, 64 characters) that train the models of panel (b) (default: 300)")
    p.add_argument("--checkpoint", action="append", metavar="RUN",
                   help="a trained one-layer character model for panel (b) instead of training here (repeatable)")
    p.add_argument("--sigmas", type=_sigmas, default=[0.5, 0.9, 1.5, 2.0, 3.0],
                   help="largest singular values of the vanilla RNN's Wh for panel (c) (default: 0.5,0.9,1.5,2,3)")
    p.add_argument("--clip", type=positive_float, default=1.0, help="the gradient-norm clip of panel (d) (default: 1)")
    p.add_argument("--clip-lr", type=positive_float, default=2.0, help="panel (d)'s SGD learning rate (default: 2)")
    p.add_argument("--clip-steps", type=non_negative_int, default=200, help="panel (d)'s training steps (default: 200)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the weights and the windows (default: 0)")
    p.add_argument("--out", help="the figure, .png or .svg (default: gradflow.png, none with --json)")
    p.add_argument("--json", action="store_true", help="print the numbers as JSON (and draw only if --out is given)")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _flow(gf, model, ids) -> dict:
    norms = gf.gradient_norms(model, ids)
    Wh = model.params.get("rnn.0.Wh")  # minGRU and minLSTM have none
    return {"cell": model.spec.cell, "sigma_max_Wh": None if Wh is None else gf.largest_singular_value(Wh),
            "states": {state: gf.summarize(n) for state, n in norms.items()}}


def run(args) -> int:
    from rnnkit.data.vocab import Vocab
    from rnnkit.models.charlm.numpy_model import CharLM
    from rnnkit.models.charlm.spec import CharLMSpec
    from rnnkit.viz import gradflow as gf
    from rnnkit.viz.sources import known_text, load_charlm, load_text

    out = args.out or (None if args.json else "gradflow.png")
    if out:
        from rnnkit.viz import require

        require("matplotlib")
    text = load_text(args.data, args.chars)
    T = args.steps_back
    trained_models = []
    for path in args.checkpoint or []:
        checkpoint, model = load_charlm(path)
        if model.spec.layers != 1:
            raise UsageError(f"{checkpoint.path} has {model.spec.layers} layers; gradflow measures one-layer models")
        trained_models.append((checkpoint.path.parent.name, model, checkpoint.vocab))
    vocab = trained_models[0][2] if trained_models else Vocab.build(text)

    def encode(v):
        kept, _ = known_text(v, text)
        ids = v.encode(kept).astype(np.int64)
        split = int(ids.size * 0.9)
        if ids.size - split < T + 2:
            raise UsageError(f"{args.data} gives {ids.size:,} characters: too few for windows of {T + 1}; "
                             f"raise --chars or lower --steps-back")
        return ids[:split], gf.windows(ids[split:], args.windows, T, np.random.default_rng(args.seed))

    train_ids, windows = encode(vocab)
    result = {"config": {"data": args.data, "hidden": args.hidden, "steps_back": T, "windows": args.windows,
                         "seed": args.seed, "vocab_size": len(vocab)},
              "untrained": {}, "trained": {}, "sigma_sweep": {}, "clipping": {}}
    fresh = {}
    for cell in args.cells:
        spec = CharLMSpec(cell=cell, vocab_size=len(vocab), hidden=args.hidden)
        fresh[cell] = CharLM.create(spec, seed=args.seed, dtype=np.float64)
        result["untrained"][cell] = _flow(gf, fresh[cell], windows)
    if trained_models:
        result["trained_how"] = "checkpoints: " + ", ".join(name for name, _, _ in trained_models)
        for name, model, v in trained_models:
            label = model.spec.cell if len({m.spec.cell for _, m, _ in trained_models}) == len(trained_models) else name
            result["trained"][label] = _flow(gf, model, encode(v)[1])
    else:
        result["trained_how"] = f"{args.train_steps} steps of Adam here"
        for cell, model in fresh.items():
            _say(f"gradflow: training the {cell} for {args.train_steps} steps")
            trained = CharLM(model.spec, {k: v.copy() for k, v in model.params.items()})
            run_log = gf.sgd_run(trained, train_ids, args.train_steps, batch=16, seq_len=64, lr=4e-3,
                                 clip=5.0, optimizer="adam")
            entry = _flow(gf, trained, windows)
            entry["final_train_bpc"] = next((v for v in reversed(run_log["loss"]) if v is not None), None)
            result["trained"][cell] = entry
    rnn = fresh.get("rnn") or CharLM.create(CharLMSpec(cell="rnn", vocab_size=len(vocab), hidden=args.hidden),
                                            seed=args.seed, dtype=np.float64)
    for sigma in args.sigmas:
        result["sigma_sweep"][f"{sigma:g}"] = {
            "h": gf.summarize(gf.gradient_norms(gf.with_recurrent_gain(rnn, sigma), windows)["h"])}
    runs = {}
    for label, clip in (("no clipping", None), (f"clip at {args.clip:g}", args.clip)):
        _say(f"gradflow: SGD on the vanilla RNN, {label}, {args.clip_steps} steps")
        model = CharLM(rnn.spec, {k: v.copy() for k, v in rnn.params.items()})
        runs[label] = gf.sgd_run(model, train_ids, args.clip_steps, batch=16, seq_len=T, lr=args.clip_lr, clip=clip)
    result["clipping"] = {"lr": args.clip_lr, "steps": args.clip_steps, "seq_len": T, "runs": runs}
    if args.json:
        print(json.dumps(result, allow_nan=False))
    if out:
        from rnnkit.viz.gradflow_figure import draw_gradflow

        path = draw_gradflow(result, out)
        if not args.json:
            print(path)
    return 0
