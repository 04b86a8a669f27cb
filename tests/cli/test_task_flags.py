"""`rnnkit train`'s task flags: each task declares the flags it takes beyond the common ones
(``Task.flags``), and the train command derives from those declarations which flags belong to
which task. These tests hold the declarations to the parser, so that a new task (or a new flag)
cannot be forgotten on either side, and check the messages a flag of another task gives."""

import argparse
import re

import pytest

from rnnkit.cli import main
from rnnkit.commands import train
from rnnkit.tasks import TASKS, task_class


def train_actions() -> dict:
    """dest -> argparse action of every option of `rnnkit train`."""
    parser = argparse.ArgumentParser(add_help=False)
    train.add_arguments(parser)
    return {action.dest: action for action in parser._actions if action.option_strings}


def declared() -> dict:
    """task name -> its declared flags."""
    return {name: task_class(name).flags for name in TASKS}


def test_every_flag_that_is_not_common_is_declared_by_a_task():
    by_tasks = {flag for flags in declared().values() for flag in flags}
    undeclared = sorted(set(train_actions()) - train.COMMON_FLAGS - by_tasks)
    assert undeclared == [], f"flags of `rnnkit train` no task declares and not in COMMON_FLAGS: {undeclared}"


def test_every_declared_flag_is_a_train_flag_and_not_a_common_one():
    actions = train_actions()
    for name, flags in declared().items():
        assert isinstance(flags, tuple) and len(set(flags)) == len(flags), name
        assert set(flags) <= set(actions), f"{name} declares flags `rnnkit train` has not: {set(flags) - set(actions)}"
        assert not set(flags) & train.COMMON_FLAGS, f"{name} declares common flags: {set(flags) & train.COMMON_FLAGS}"
    assert train.COMMON_FLAGS <= set(actions)


def test_the_help_of_every_task_flag_names_the_tasks_that_take_it():
    # The error lists a flag's tasks in the order its help names them; the help must name them all.
    for dest, action in train_actions().items():
        for name, flags in declared().items():
            if dest in flags:
                assert re.search(rf"\b{name}\b", action.help), f"the help of {action.option_strings[0]} omits {name}"


@pytest.mark.parametrize("argv, message", [
    (["--byte-mode"], "--byte-mode is a flag of --task charlm, not of --task sentiment"),
    (["--src-vocab", "300"], "--src-vocab is a flag of --task translate, not of --task sentiment"),
    (["--no-bidirectional", "--task", "charlm"], "--bidirectional is a flag of --task sentiment or translate or frames, "
                                                 "not of --task charlm"),
    (["--attention", "--task", "vqa"], "--attention is a flag of --task translate or draw or caption, not of --task vqa"),
    (["--image-size", "32", "--task", "glimpse"], "--image-size is a flag of --task frames or caption, "
                                                  "not of --task glimpse"),
    (["--min-count", "2", "--task", "translate"], "--min-count is a flag of --task sentiment or caption, "
                                                  "not of --task translate"),
    (["--loc-std", "0.2", "--task", "draw"], "--loc-std is a flag of --task glimpse, not of --task draw"),
], ids=["byte-mode", "src-vocab", "bidirectional", "attention", "image-size", "min-count", "glimpse-flag"])
def test_a_flag_of_another_task_is_one_line_naming_its_tasks(tmp_path, capsys, argv, message):
    argv = argv if "--task" in argv else ["--task", "sentiment", *argv]
    code = main(["train", *argv, "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and err == f"rnnkit train: error: {message}\n"
    assert not (tmp_path / "run").exists()


def test_a_task_takes_its_own_flags():
    args = argparse.Namespace(**{dest: None for dest in train_actions()})
    for name, flags in declared().items():
        for flag in flags:
            train._check_flags_fit(argparse.Namespace(**{**vars(args), flag: 1}), task_class(name))
