"""Calling the ``rnnkit`` command line in-process from a test, and checking its bad-input answer.

Imported by name from any test folder (tests/conftest.py puts this folder on sys.path), like
``gradutil`` and ``faults``.
"""

from rnnkit.cli import main


def cli(argv, capsys):
    """(exit code, stdout, stderr) of rnnkit.cli.main(argv); argparse's errors arrive as SystemExit.

    ``argv`` may hold paths and numbers: each is passed as its str()."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code, err, *words):
    """The policy for bad input: exit 2, exactly one line on stderr, no traceback, naming ``words``."""
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for word in words:
        assert word in err, err


def assert_resume_equals_whole(train_argv, folder, steps: int = 4):
    """``rnnkit train TRAIN_ARGV`` for ``steps`` steps in one go, and for half of them then
    ``--resume`` up to ``steps``: the two runs end with bit-identical parameters."""
    import numpy as np

    from rnnkit.training.checkpoint import load_checkpoint

    assert main([*train_argv, "--steps", str(steps), "--out", str(folder / "whole")]) == 0
    assert main([*train_argv, "--steps", str(steps // 2), "--out", str(folder / "half")]) == 0
    assert main(["train", "--resume", str(folder / "half"), "--steps", str(steps)]) == 0
    whole = load_checkpoint(folder / "whole" / "checkpoint.npz").params
    resumed = load_checkpoint(folder / "half" / "checkpoint.npz").params
    for name, value in whole.items():
        np.testing.assert_array_equal(resumed[name], value, err_msg=name)
