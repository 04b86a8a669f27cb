"""`rnnkit eval` and `rnnkit predict` dispatch to the checkpoint's task through its hook module
(rnnkit/tasks/<task>_cli.py, found by :func:`rnnkit.tasks.task_cli`): every registered task has
one, and a task the commands have never heard of is run through it all the same."""

import json
import sys
import types
from pathlib import Path

import pytest

from rnnkit.cli import main
from rnnkit.commands import eval as eval_command
from rnnkit.commands import predict as predict_command
from rnnkit.tasks import TASKS, task_cli


@pytest.mark.parametrize("name", list(TASKS))
def test_every_task_has_eval_hooks(name):
    hooks = task_cli(name)
    assert hooks.__name__ == TASKS[name].partition(":")[0] + "_cli"
    assert callable(hooks.evaluate_command) and callable(hooks.describe)
    assert callable(getattr(hooks, "predict_command", None)) == (name != "draw")  # DRAW draws from nothing


def test_an_unknown_name_has_no_hooks():
    assert task_cli("no-such-task") is None and task_cli(None) is None


@pytest.fixture
def echo_task(monkeypatch):
    """A task registered only here, whose hooks echo what they are given."""
    hooks = types.ModuleType("echo_task_cli")
    hooks.evaluate_command = lambda args, checkpoint, runtime: {"split": args.split or "val", "runtime": runtime}
    hooks.describe = lambda result: f"echoed {result['split']} of {result['runtime']}"

    def predict(checkpoint, runtime, inputs, args):
        print(" | ".join(reversed(inputs)))
        return 0

    hooks.predict_command = predict
    monkeypatch.setitem(sys.modules, "echo_task_cli", hooks)
    monkeypatch.setitem(TASKS, "echo", "echo_task:EchoTask")
    checkpoint = types.SimpleNamespace(task={"name": "echo"}, path=Path("runs/echo/best.npz"))
    for command in (eval_command, predict_command):
        monkeypatch.setattr(command, "load_runtime", lambda args: (checkpoint, "the runtime"))


def test_eval_and_predict_reach_a_new_task_through_its_hooks(echo_task, capsys):
    assert main(["eval", "RUN", "--split", "test"]) == 0
    assert capsys.readouterr().out == "echoed test of the runtime; checkpoint runs/echo/best.npz\n"
    assert main(["eval", "RUN", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["split"] == "val" and result["checkpoint"] == str(Path("runs/echo/best.npz"))
    assert main(["predict", "RUN", "a", "b"]) == 0
    assert capsys.readouterr().out == "b | a\n"


def test_a_task_without_predict_is_one_line(echo_task, capsys):
    del sys.modules["echo_task_cli"].predict_command
    assert main(["predict", "RUN", "a"]) == 2
    assert capsys.readouterr().err == ("rnnkit predict: error: runs/echo/best.npz was trained on task 'echo', "
                                       "which this rnnkit cannot run\n")


def test_the_shared_parts_of_the_hooks(capsys):
    from types import SimpleNamespace

    from rnnkit.errors import UsageError
    from rnnkit.tasks.common_cli import numbered_path, print_results, split_of_three

    assert [numbered_path(Path("out/att.png"), i) for i in (1, 2, 10)] == [
        Path("out/att.png"), Path("out/att-2.png"), Path("out/att-10.png")]
    assert split_of_three(SimpleNamespace(split=None), "a set") == "val"
    assert split_of_three(SimpleNamespace(split="test"), "a set") == "test"
    with pytest.raises(UsageError, match="^a set has the splits train, val and test$"):
        split_of_three(SimpleNamespace(split="all"), "a set")
    results = [{"label": "pos"}, {"label": "neg"}]
    assert print_results(["é", "b"], results, SimpleNamespace(json=False), lambda t, r: f"{r['label']} {t}") == 0
    assert capsys.readouterr().out == "pos é\nneg b\n"
    print_results(["é", "b"], results, SimpleNamespace(json=True), None)
    assert capsys.readouterr().out == '{"input": "é", "label": "pos"}\n{"input": "b", "label": "neg"}\n'
