"""The two engines compute the same model: same loss, same gradients, same training trajectory.

Everything here is float64, where both engines agree to rounding: 1e-9 relative to the size of what
is compared. The checkpoint format is shared too: a model trained by either engine samples and
evaluates with the other, and the NumPy engine does so in a process where torch cannot be imported.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnkit.cli import main  # noqa: E402
from rnnkit.config import TrainConfig  # noqa: E402
from rnnkit.models.charlm.spec import CharLMSpec  # noqa: E402
from rnnkit.models.charlm.numpy_model import CharLM  # noqa: E402
from rnnkit.runtime.numpy_runtime import NumpyRuntime  # noqa: E402
from rnnkit.models.charlm.torch_model import TorchCharLM  # noqa: E402
from rnnkit.torch_engine import TorchOptions  # noqa: E402
from rnnkit.runtime.torch_runtime import TorchRuntime  # noqa: E402

V, H, N, T = 9, 6, 3, 5
TOL = 1e-9
ROOT = Path(__file__).resolve().parents[2]


def assert_close(a, b, what=""):
    """|a - b| <= 1e-9 * max(1, |b|) elementwise-max: relative for large values, absolute for small."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, what
    scale = max(1.0, float(np.max(np.abs(b)))) if b.size else 1.0
    err = float(np.max(np.abs(a - b))) if b.size else 0.0
    assert err <= TOL * scale, f"{what}: max error {err:.3g} (scale {scale:.3g})"


def random_model(cell, layers, embed_dim, seed=0):
    """A float64 model with weights large enough to make every gate matter, and a nonzero state."""
    cfg = CharLMSpec(cell=cell, vocab_size=V, hidden=H, layers=layers, embed_dim=embed_dim)
    rng = np.random.default_rng(seed)
    params = {name: 0.5 * rng.standard_normal(shape) for name, shape in cfg.param_shapes().items()}
    width = 2 if cell == "lstm" else 1
    state = [tuple(0.5 * rng.standard_normal((N, H)) for _ in range(width)) for _ in range(layers)]
    return cfg, params, state


def batch(seed=1, n=N, t=T):
    rng = np.random.default_rng(seed)
    return rng.integers(0, V, (n, t)), rng.integers(0, V, (n, t))


@pytest.mark.parametrize("embed_dim", [0, 4], ids=["one-hot", "embed"])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_same_weights_same_loss_gradients_and_state(cell, layers, embed_dim):
    cfg, params, state = random_model(cell, layers, embed_dim)
    x, y = batch()
    loss, grads, final = CharLM(cfg, params).loss(x, y, state)

    for path in ("auto", "explicit"):
        model = TorchCharLM.from_arrays(cfg, params, TorchOptions(path=path), dtype=torch.float64)
        t_state = [tuple(torch.tensor(s) for s in layer) for layer in state]
        t_loss, t_final = model.loss(torch.tensor(x), torch.tensor(y), t_state)
        t_loss.backward()
        assert_close(t_loss.item(), loss, f"{path} loss")
        for name, p in model.named_parameters():
            assert_close(p.grad.numpy(), grads[name], f"{path} d{name}")
        for layer, (ours, theirs) in enumerate(zip(t_final, final)):
            for k, (a, b) in enumerate(zip(ours, theirs)):
                assert_close(a.detach().numpy(), b, f"{path} final state {layer}/{k}")


def twin_runtimes(cell="lstm", optimizer="adam", clip=5.0, clip_mode="norm", embed_dim=4, layers=2):
    """A NumPy and a torch runtime in float64 with the same weights and training configuration."""
    cfg, params, _ = random_model(cell, layers, embed_dim, seed=3)
    train = TrainConfig(batch=N, seq_len=T, optimizer=optimizer, lr=1e-2, clip=clip, clip_mode=clip_mode,
                        dtype="float64", threads=1)
    return NumpyRuntime(cfg, train, params=params), TorchRuntime(cfg, train, params=params, device="cpu")


@pytest.mark.parametrize("cell, optimizer, clip, clip_mode", [
    ("lstm", "adam", 5.0, "norm"),
    ("lstm", "adam", 0.05, "norm"),  # clipped every step
    ("gru", "adam", 0.01, "value"),
    ("rnn", "sgd", 0.0, "norm"),
    ("lstm", "momentum", 1.0, "norm"),
    ("gru", "adagrad", 5.0, "norm"),
    ("rnn", "rmsprop", 5.0, "norm"),
])
def test_training_steps_with_carried_state_stay_equal(cell, optimizer, clip, clip_mode):
    numpy_rt, torch_rt = twin_runtimes(cell, optimizer, clip, clip_mode)
    for rt in (numpy_rt, torch_rt):
        rt.reset_state(N)
    for step in range(6):  # consecutive chunks: the state is carried, gradients stop at borders
        x, y = batch(seed=10 + step)
        lr = 1e-2 * (1 + step) / 6
        loss, norm = numpy_rt.train_step((x, y), lr)
        t_loss, t_norm = torch_rt.train_step((x, y), lr)
        assert_close(t_loss, loss, f"loss at step {step}")
        assert_close(t_norm, norm, f"grad norm at step {step}")
    ours, theirs = torch_rt.params_numpy(), numpy_rt.params_numpy()
    assert set(ours) == set(theirs)
    for name in theirs:
        assert ours[name].dtype == np.float64
        assert_close(ours[name], theirs[name], name)

    (t_js, t_arrays), (n_js, n_arrays) = torch_rt.export(), numpy_rt.export()
    assert t_js["optimizer"] == n_js["optimizer"]  # same name, step and hyperparameters
    assert set(t_arrays) == set(n_arrays)          # same optim/<slot>/<name> and state/<l>/<k>
    for key in n_arrays:
        assert_close(t_arrays[key], n_arrays[key], key)


def test_evaluation_and_sampling_logits_agree():
    numpy_rt, torch_rt = twin_runtimes()
    x, y = batch(seed=4)
    stats, state = numpy_rt.evaluate((x, y), numpy_rt.init_state(N))
    t_stats, t_state = torch_rt.evaluate((x, y), torch_rt.init_state(N))
    assert t_stats["count"] == stats["count"] == x.size
    assert_close(t_stats["nats"], stats["nats"], "summed nats")
    logits, _ = numpy_rt.step_logits(x[:, 0], state)
    t_logits, _ = torch_rt.step_logits(x[:, 0], t_state)
    assert t_logits.dtype == np.float64
    assert_close(t_logits, logits, "sampling logits")


# -- one checkpoint format ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A small text file with some structure to learn, and a private token cache."""
    folder = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    words = "in the beginning was the word and the word was with light over the waters".split()
    (folder / "text.txt").write_text(" ".join(rng.choice(words, 6000)) + "\n", encoding="utf-8")
    return folder


def train(corpus, out, engine, *extra):
    args = ["train", "--data", str(corpus / "text.txt"), "--engine", engine, "--hidden", "16", "--layers", "2",
            "--embed", "8", "--batch", "4", "--seq-len", "16", "--steps", "4", "--eval-every", "4",
            "--eval-chars", "500", "--sample-length", "0", "--out", str(out), *extra]
    if engine == "torch":
        args += ["--device", "cpu"]
    assert main(args) == 0


def run_without_torch(corpus, *argv):
    """``rnnkit argv`` in a fresh interpreter where ``import torch`` fails. Returns its stdout."""
    code = ("import sys; sys.modules['torch'] = None\n"
            "from rnnkit.cli import main\n"
            f"code = main({list(argv)!r})\n"
            "assert not any(m == 'torch' or m.startswith('torch.') for m in sys.modules if sys.modules[m] is not None)\n"
            "sys.exit(code)\n")
    env = {**os.environ, "RNNKIT_CACHE": str(corpus / "cache"), "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def evaluate(corpus, run, *engine):
    return main(["eval", str(run), "--data", str(corpus / "text.txt"), "--json", *engine])


def test_torch_trained_model_runs_on_numpy_without_torch(corpus, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RNNKIT_CACHE", str(corpus / "cache"))
    train(corpus, tmp_path / "run", "torch")
    capsys.readouterr()
    assert evaluate(corpus, tmp_path / "run", "--engine", "torch", "--device", "cpu") == 0
    torch_bpc = json.loads(capsys.readouterr().out)["bpc"]

    out = run_without_torch(corpus, "eval", str(tmp_path / "run"), "--data", str(corpus / "text.txt"), "--json")
    assert abs(json.loads(out)["bpc"] - torch_bpc) < 1e-5  # float32 weights, two engines
    sample = run_without_torch(corpus, "sample", str(tmp_path / "run"), "--length", "40", "--seed", "1")
    assert len(sample.strip()) >= 30


def test_numpy_trained_model_runs_on_torch(corpus, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RNNKIT_CACHE", str(corpus / "cache"))
    train(corpus, tmp_path / "run", "numpy", "--threads", "1")
    capsys.readouterr()
    assert evaluate(corpus, tmp_path / "run") == 0
    numpy_bpc = json.loads(capsys.readouterr().out)["bpc"]
    assert evaluate(corpus, tmp_path / "run", "--engine", "torch", "--device", "cpu") == 0
    assert abs(json.loads(capsys.readouterr().out)["bpc"] - numpy_bpc) < 1e-5
    args = ["sample", str(tmp_path / "run"), "--length", "40", "--seed", "1", "--greedy"]
    assert main(args) == 0
    numpy_sample = capsys.readouterr().out
    assert main(args + ["--engine", "torch", "--device", "cpu"]) == 0
    assert capsys.readouterr().out == numpy_sample  # greedy: the same argmax at every step
