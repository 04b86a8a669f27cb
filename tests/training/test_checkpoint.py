"""Checkpoints: a round trip, an atomic write that a crash cannot tear, and a loader that refuses
every kind of bad file with a UsageError (never a traceback, never unpickling)."""

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rnnkit.config import TrainConfig
from rnnkit.models.charlm.spec import CharLMSpec
from rnnkit.data.vocab import Vocab
from rnnkit.errors import UsageError
from rnnkit.models.charlm.numpy_model import CharLM
from rnnkit.training.checkpoint import (
    BEST, FORMAT, LATEST, VERSION, load_checkpoint, resolve_checkpoint, save_checkpoint,
)

TEXT = "hello world, a tiny text\n"


def make_contents(seed=0):
    vocab = Vocab.build(TEXT)
    config = CharLMSpec(cell="lstm", vocab_size=len(vocab), hidden=4, layers=2, embed_dim=3)
    params = CharLM.create(config, seed=seed).params
    meta = {"model": {"kind": "charlm", "spec": config.to_json()}, "tokenizers": {"chars": vocab.to_json()},
            "task": {"name": "charlm", "data": "tiny.txt", "mode": "char"}, "train": TrainConfig(steps=10).to_json(),
            "progress": {"step": 7, "tokens": 700, "elapsed": 1.5, "best": 3.25, "val": {"bpc": 3.5}}}
    arrays = {f"param/{k}": v for k, v in params.items()}
    arrays["optim/m/rnn.0.Wx"] = np.full((3, 16), 0.5, dtype=np.float32)
    arrays["state/0/0"] = np.ones((2, 4), dtype=np.float32)
    return meta, arrays


@pytest.fixture
def saved(tmp_path):
    meta, arrays = make_contents()
    path = save_checkpoint(tmp_path / LATEST, meta, arrays)
    return path, meta, arrays


def write_npz(path, arrays, allow_pickle=False):
    with open(path, "wb") as f:
        np.savez(f, allow_pickle=allow_pickle, **arrays)
    return path


def header(meta):
    return np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)


def raw_arrays(path):
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def refuses(path, *words):
    with pytest.raises(UsageError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message or path.name in message
    for w in words:
        assert w in message, message
    return message


# -- round trip and atomic write ---------------------------------------------------------------


def test_round_trip(saved):
    path, meta, arrays = saved
    ck = load_checkpoint(path)
    assert ck.path == path
    assert ck.meta == {"format": FORMAT, "version": VERSION, **meta}
    assert ck.arrays.keys() == arrays.keys()
    for k, v in arrays.items():
        assert ck.arrays[k].dtype == v.dtype
        np.testing.assert_array_equal(ck.arrays[k], v)
    assert ck.spec == CharLMSpec.from_json(meta["model"]["spec"]) and ck.kind == "charlm"
    assert ck.vocab == Vocab.build(TEXT)
    assert ck.params.keys() == set(ck.spec.param_shapes())
    assert ck.group("optim").keys() == {"m/rnn.0.Wx"}
    np.testing.assert_array_equal(ck.group("optim")["m/rnn.0.Wx"], arrays["optim/m/rnn.0.Wx"])
    assert ck.group("state").keys() == {"0/0"}


def test_the_file_holds_plain_numeric_arrays_only(saved):
    path, _, _ = saved
    for name, value in raw_arrays(path).items():  # allow_pickle=False reads every member
        assert value.dtype.kind in "fiu", name
    assert json.loads(raw_arrays(path)["__meta__"].tobytes())["format"] == FORMAT


def test_save_replaces_the_old_file_and_leaves_no_temporary(saved):
    path, meta, arrays = saved
    arrays = {**arrays, "param/head.b": arrays["param/head.b"] + 1}
    save_checkpoint(path, meta, arrays)
    np.testing.assert_array_equal(load_checkpoint(path).params["head.b"], arrays["param/head.b"])
    assert sorted(p.name for p in path.parent.iterdir()) == [LATEST]


@pytest.mark.parametrize("error", [OSError("No space left on device"), KeyboardInterrupt()])
def test_a_crash_mid_save_leaves_the_old_file_and_no_temporary(saved, monkeypatch, error):
    path, meta, arrays = saved
    before = path.read_bytes()

    def savez_dies_halfway(file, *args, **kwargs):
        file.write(b"PK\x03\x04 half a zip")
        file.flush()
        raise error

    monkeypatch.setattr(np, "savez", savez_dies_halfway)
    with pytest.raises(UsageError if isinstance(error, OSError) else type(error)):  # a full disk: one line
        save_checkpoint(path, meta, {**arrays, "param/head.b": arrays["param/head.b"] + 1})
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [LATEST]
    monkeypatch.undo()
    np.testing.assert_array_equal(load_checkpoint(path).params["head.b"], arrays["param/head.b"])


def test_a_crash_on_the_first_save_leaves_nothing(tmp_path, monkeypatch):
    meta, arrays = make_contents()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", fail)
    with pytest.raises(UsageError, match="cannot write .*disk full"):
        save_checkpoint(tmp_path / "run" / LATEST, meta, arrays)
    assert list((tmp_path / "run").iterdir()) == []


# -- the loader refuses bad files ----------------------------------------------------------------


@pytest.mark.parametrize("keep", [0, 10, 0.5, -1], ids=["empty", "10-bytes", "half", "all-but-one"])
def test_refuses_a_truncated_file(saved, keep):
    path, _, _ = saved
    data = path.read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else (len(data) + keep if keep < 0 else keep)
    path.write_bytes(data[:n])
    refuses(path)


def test_refuses_flipped_bytes_in_a_parameter(saved):
    path, _, arrays = saved
    data = bytearray(path.read_bytes())
    at = bytes(data).find(arrays["param/rnn.1.Wh"].tobytes())
    assert at > 0
    data[at + 5] ^= 0xFF
    path.write_bytes(bytes(data))
    refuses(path, "corrupted")


def test_flipped_bytes_anywhere_give_a_usage_error_or_the_same_contents(tmp_path):
    """A sweep over the file: each flipped byte is refused (UsageError) or lands in a zip field the
    reader does not use (then the contents are unchanged); nothing else, no other exception."""
    meta, arrays = make_contents()
    path = save_checkpoint(tmp_path / "good.npz", meta, arrays)
    good = path.read_bytes()
    bad = tmp_path / "bad.npz"
    refused = 0
    for i in range(0, len(good), 13):
        data = bytearray(good)
        data[i] ^= 0xFF
        bad.write_bytes(bytes(data))
        try:
            ck = load_checkpoint(bad)
        except UsageError:
            refused += 1
            continue
        assert ck.meta["progress"] == meta["progress"]
        for k, v in arrays.items():
            np.testing.assert_array_equal(ck.arrays[k], v)
    assert refused > 0.8 * len(range(0, len(good), 13))


def test_refuses_a_foreign_npz_without_header(tmp_path):
    path = write_npz(tmp_path / "weights.npz", {"W": np.zeros((3, 3))})
    refuses(path, "not an rnnkit checkpoint")


@pytest.mark.parametrize("member", ["readme.txt", "__meta__", "__meta__.npy"])
def test_refuses_a_zip_that_is_not_an_npz(tmp_path, member):
    path = tmp_path / "archive.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(member, json.dumps({"format": FORMAT, "version": VERSION}))
    refuses(path, "not an rnnkit checkpoint")


def test_refuses_a_text_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("just some text\n" * 20)
    refuses(path)


def _with_meta(tmp_path, meta, arrays=None):
    arrays = make_contents()[1] if arrays is None else arrays
    return write_npz(tmp_path / "ck.npz", {**arrays, "__meta__": header(meta)})


@pytest.mark.parametrize("meta, words", [
    ({"format": "someone-elses-checkpoint", "version": 1}, ["another format"]),
    ([1, 2, 3], ["another format"]),
    ({"version": 1}, ["another format"]),
    ({"format": FORMAT, "version": 99}, ["version 99"]),
], ids=["other-format", "json-list", "no-format", "future-version"])
def test_refuses_a_json_header_of_another_format(tmp_path, meta, words):
    refuses(_with_meta(tmp_path, meta), *words)


def test_refuses_a_header_that_is_not_utf8_json(tmp_path):
    arrays = make_contents()[1]
    for raw in (b"\xff\xfe not utf-8", b"{not json"):
        path = write_npz(tmp_path / "ck.npz", {**arrays, "__meta__": np.frombuffer(raw, np.uint8)})
        refuses(path, "corrupted header")


def test_refuses_a_header_that_is_not_bytes(tmp_path):
    arrays = make_contents()[1]
    path = write_npz(tmp_path / "ck.npz", {**arrays, "__meta__": np.zeros(4)})
    refuses(path, "no rnnkit header")


def test_refuses_a_header_without_model_or_tokenizer(tmp_path):
    meta = {"format": FORMAT, "version": VERSION, **make_contents()[0]}
    refuses(_with_meta(tmp_path, {k: v for k, v in meta.items() if k != "model"}), "model kind")
    refuses(_with_meta(tmp_path, {**meta, "tokenizers": {}}), "'chars'")


def test_refuses_a_bad_model_spec_in_the_header(tmp_path):
    meta = {"format": FORMAT, "version": VERSION, **make_contents()[0]}
    spec = meta["model"]["spec"]
    for model in ({"kind": "charlm", "spec": {**spec, "cell": "transformer"}},
                  {"kind": "charlm", "spec": {**spec, "wings": 2}}, {"kind": "charlm", "spec": "lstm"},
                  {"kind": "transformer", "spec": spec}, "lstm"):
        with pytest.raises(UsageError):
            load_checkpoint(_with_meta(tmp_path, {**meta, "model": model}))


def test_refuses_a_vocabulary_of_the_wrong_size(tmp_path):
    meta = {"format": FORMAT, "version": VERSION, **make_contents()[0]}
    meta["tokenizers"] = {"chars": Vocab.build("abc").to_json()}
    refuses(_with_meta(tmp_path, meta), "vocabulary")


def test_a_version_1_checkpoint_of_the_character_model_still_loads_resumes_and_samples(tmp_path, capsys):
    """tests/fixtures/charlm_v1 was written by rnnkit before checkpoints held tasks (format 1)."""
    import shutil

    from rnnkit.cli import main

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "charlm_v1"
    run = tmp_path / "run"
    shutil.copytree(fixture, run)
    ck = load_checkpoint(run / LATEST)
    assert ck.meta["version"] == VERSION and ck.kind == "charlm" and ck.task["name"] == "charlm"
    assert ck.spec == CharLMSpec(cell="lstm", vocab_size=len(ck.vocab), hidden=8, embed_dim=4)
    assert ck.meta["progress"]["step"] == 6 and ck.meta["progress"]["val"]["bpc"] > 0
    assert main(["sample", str(run), "--length", "20", "--seed", "1"]) == 0
    assert main(["eval", str(run), "--data", str(run / "corpus.txt"), "--json"]) == 0
    assert main(["train", "--resume", str(run), "--steps", "8", "--data", str(run / "corpus.txt"),
                 "--sample-length", "0"]) == 0
    resumed = load_checkpoint(run / LATEST)
    assert resumed.meta["version"] == VERSION and resumed.meta["progress"]["step"] == 8


@pytest.mark.parametrize("change, words", [
    (lambda a: a.update({"param/rnn.1.Wh": np.zeros((4, 15), np.float32)}), ["rnn.1.Wh", "(4, 15)"]),
    (lambda a: a.update({"param/head.W": a["param/head.W"].T.copy()}), ["head.W"]),
    (lambda a: a.pop("param/rnn.0.b"), ["missing", "rnn.0.b"]),
    (lambda a: a.update({"param/head.b": np.zeros(a["param/head.b"].shape, np.int64)}), ["head.b", "int64"]),
    (lambda a: a["param/embed.W"].__setitem__((0, 0), np.nan), ["embed.W", "NaN"]),
], ids=["wrong-shape", "transposed", "missing", "integer", "nan"])
def test_refuses_bad_parameters(tmp_path, change, words):
    meta, arrays = make_contents()
    arrays = {k: v.copy() for k, v in arrays.items()}
    change(arrays)
    refuses(_with_meta(tmp_path, {"format": FORMAT, "version": VERSION, **meta}, arrays), *words)


class _Exploit:
    """Unpickling this would create a file: proof that loading never unpickles."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


@pytest.mark.parametrize("where", ["param/head.W", "__meta__", "optim/m/rnn.0.Wx"])
def test_refuses_object_arrays_and_never_unpickles(tmp_path, where):
    meta, arrays = make_contents()
    sentinel = tmp_path / "pwned"
    payload = np.empty(1, dtype=object)
    payload[0] = _Exploit(str(sentinel))
    arrays = {**arrays, "__meta__": header({"format": FORMAT, "version": VERSION, **meta}), where: payload}
    path = write_npz(tmp_path / "evil.npz", arrays, allow_pickle=True)
    assert not sentinel.exists()
    refuses(path)
    assert not sentinel.exists()


def test_refuses_a_pickle_file(tmp_path):
    import pickle

    sentinel = tmp_path / "pwned"
    path = tmp_path / "checkpoint.npz"
    path.write_bytes(pickle.dumps(_Exploit(str(sentinel))))
    refuses(path)
    assert not sentinel.exists()


# -- run folders -------------------------------------------------------------------------------


def test_resolve_prefers_best_in_a_run_folder(tmp_path):
    meta, arrays = make_contents()
    save_checkpoint(tmp_path / LATEST, meta, arrays)
    assert resolve_checkpoint(tmp_path) == tmp_path / LATEST
    save_checkpoint(tmp_path / BEST, meta, arrays)
    assert resolve_checkpoint(tmp_path) == tmp_path / BEST
    assert resolve_checkpoint(tmp_path, prefer_best=False) == tmp_path / LATEST
    assert resolve_checkpoint(tmp_path / LATEST) == tmp_path / LATEST


def test_resolve_refuses_an_empty_folder_and_a_missing_path(tmp_path):
    with pytest.raises(UsageError, match="holds no checkpoint"):
        resolve_checkpoint(tmp_path)
    with pytest.raises(UsageError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "nowhere")



@pytest.mark.parametrize("name", [["charlm"], {"a": 1}, 7, None])
def test_refuses_a_task_name_that_is_not_a_string(tmp_path, name):
    meta = {"format": FORMAT, "version": VERSION, **make_contents()[0]}
    refuses(_with_meta(tmp_path, {**meta, "task": {**meta["task"], "name": name}}), "task's name")
