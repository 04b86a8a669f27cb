"""TorchRuntime through the shared training loop and CLI: exact resume, checkpoints, devices, cells."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnkit.cli import main  # noqa: E402
from rnnkit.config import TrainConfig  # noqa: E402
from rnnkit.models.charlm.spec import CharLMSpec  # noqa: E402
from rnnkit.errors import UsageError  # noqa: E402
from rnnkit.runtime.torch_device import resolve_device, uses_bf16  # noqa: E402
from rnnkit.runtime.distributed import Group  # noqa: E402
from rnnkit.runtime.torch_runtime import TorchRuntime  # noqa: E402
from rnnkit.training.checkpoint import load_checkpoint  # noqa: E402


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(1)
    words = "let there be light and there was light upon the face of the deep".split()
    path = folder / "text.txt"
    path.write_text(" ".join(rng.choice(words, 5000)) + "\n", encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "cache"))


def train(text, out, *extra):
    return main(["train", "--engine", "torch", "--device", "cpu", "--data", str(text), "--hidden", "16",
                 "--embed", "8", "--batch", "4", "--seq-len", "12", "--eval-every", "3", "--eval-chars", "300",
                 "--sample-length", "0", "--out", str(out), *extra])


def resume(run, steps):
    return main(["train", "--resume", str(run), "--steps", str(steps), "--device", "cpu", "--sample-length", "0"])


def test_resume_continues_exactly(text, tmp_path):
    """N steps, then --resume --steps 2N: bit-identical to 2N steps in one run (CPU, float32),
    with dropout (the random state is restored) and the learning-rate schedule mid-warmup."""
    model = ["--layers", "2", "--dropout", "0.2", "--steps"]
    assert train(text, tmp_path / "whole", *model, "10") == 0
    assert train(text, tmp_path / "split", *model, "5") == 0
    assert resume(tmp_path / "split", 10) == 0
    whole = load_checkpoint(tmp_path / "whole", prefer_best=False)
    split = load_checkpoint(tmp_path / "split", prefer_best=False)
    assert whole.meta["progress"]["step"] == split.meta["progress"]["step"] == 10
    assert set(whole.arrays) == set(split.arrays)
    for name, value in whole.arrays.items():
        assert np.array_equal(value, split.arrays[name]), name
    assert whole.meta["runtime"] == split.meta["runtime"]  # optimizer step and random state too


def test_checkpoint_holds_plain_arrays_and_json(text, tmp_path):
    assert train(text, tmp_path / "run", "--steps", "3", "--optimizer", "momentum") == 0
    ckpt = load_checkpoint(tmp_path / "run", prefer_best=False)
    kinds = {name.split("/")[0] for name in ckpt.arrays}
    assert kinds == {"param", "optim", "state"}
    assert all(isinstance(v, np.ndarray) and v.dtype.kind == "f" for v in ckpt.arrays.values())
    assert "optim/momentum/head.W" in ckpt.arrays and ckpt.arrays["state/0/0"].shape == (4, 16)
    assert ckpt.meta["runtime"]["optimizer"] == {"name": "sgd", "step": 3, "lr": TrainConfig().lr, "momentum": 0.9,
                                                 "nesterov": False}
    json.dumps(ckpt.meta)


def test_state_saved_with_a_gpu_generator_restores_on_the_cpu():
    cfg = CharLMSpec(cell="gru", vocab_size=7, hidden=5)
    train_cfg = TrainConfig(batch=2, seq_len=3)
    runtime = TorchRuntime(cfg, train_cfg, device="cpu")
    runtime.train_step((np.zeros((2, 3), np.int64), np.ones((2, 3), np.int64)), 1e-3)
    js, arrays = runtime.export()
    js["torch_rng"][0]["cuda"] = "AAAAAAAAAAAAAAAAAAAAAA=="  # what a CUDA run adds
    groups = {g: {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith(g + "/")} for g in ("optim", "state")}
    resumed = TorchRuntime(cfg, train_cfg, params={k[6:]: v for k, v in arrays.items() if k.startswith("param/")},
                           device="cpu")
    resumed.restore(js, groups)
    assert resumed.optimizer.step_count == 1
    assert torch.equal(resumed.state[0][0], runtime.state[0][0])


@pytest.mark.parametrize("cell, highway", [("lnlstm", True), ("mingru", False), ("minlstm", True)])
def test_newer_cells_train_in_torch_and_sample_alike_in_both_engines(text, tmp_path, capsys, cell, highway):
    extra = ["--highway"] if highway else []
    assert train(text, tmp_path / "run", "--cell", cell, "--layers", "2", "--steps", "3", *extra) == 0
    ckpt = load_checkpoint(tmp_path / "run")
    assert set(ckpt.params) == set(ckpt.spec.param_shapes())
    assert ckpt.spec.highway is highway
    capsys.readouterr()
    samples = []
    for engine in ("torch", "numpy"):
        assert main(["sample", str(tmp_path / "run"), "--engine", engine, "--device", "cpu", "--length", "40",
                     "--greedy"]) == 0
        samples.append(capsys.readouterr().out)
    assert len(samples[0].strip()) >= 10 and samples[0] == samples[1]


def test_fresh_models_start_from_the_specs_weights():
    cfg = CharLMSpec(cell="lnlstm", vocab_size=7, hidden=5, layers=2, embed_dim=3, highway=True)
    ours = TorchRuntime(cfg, TrainConfig(batch=2, seq_len=3, dtype="float64"), seed=4, device="cpu").params_numpy()
    expected = cfg.init_params(np.random.default_rng(4))
    assert list(ours) == list(expected) == list(cfg.param_shapes())
    assert all(np.array_equal(ours[k], v) for k, v in expected.items())
    assert np.all(ours["rnn.highway.1.b"] == -1.0) and np.all(ours["rnn.0.gx"] == 1.0)


def test_devices_and_flags(capsys):
    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert resolve_device("auto").type in ("cpu", "mps")
        with pytest.raises(UsageError, match="no CUDA GPU"):
            resolve_device("cuda")
    with pytest.raises(UsageError, match="unknown device"):
        resolve_device("tpu")
    assert not uses_bf16(torch.device("cpu"), torch.float32)
    assert main(["train", "--compile", "--steps", "1", "--out", "/nonexistent/x"]) == 2  # numpy engine
    assert "--compile needs --engine torch" in capsys.readouterr().err


def test_batch_must_split_evenly_over_processes():
    group = Group(torch.device("cpu"), rank=1, world=4)
    assert group.rows(8) == slice(2, 4)
    with pytest.raises(UsageError, match="--batch 6 cannot be split over 4 processes"):
        group.rows(6)
