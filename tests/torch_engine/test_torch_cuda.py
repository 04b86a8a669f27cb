"""The torch engine on a CUDA GPU: cuDNN's kernels, bf16 autocast, and GPU checkpoints on the CPU.

These tests need an NVIDIA GPU; without one they are skipped (and reported as skipped, not
passed). ``benchmarks/gpu_check.sh`` runs them on a GPU machine together with a GPU training run
and the GPU benchmarks.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("no CUDA GPU: PyTorch's torch.cuda.is_available() is False", allow_module_level=True)

from rnnkit.cli import main  # noqa: E402
from rnnkit.config import TrainConfig  # noqa: E402
from rnnkit.models.charlm.spec import CharLMSpec  # noqa: E402
from rnnkit.runtime.numpy_runtime import NumpyRuntime  # noqa: E402
from rnnkit.torch_engine import Recurrent  # noqa: E402
from rnnkit.runtime.torch_device import uses_bf16  # noqa: E402
from rnnkit.runtime.torch_runtime import TorchRuntime  # noqa: E402
from rnnkit.training.checkpoint import load_checkpoint  # noqa: E402
from stack_grads import outputs_and_grads  # noqa: E402

CUDA = torch.device("cuda")
N, T, D, H, L = 3, 7, 5, 4, 2


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_cudnn_fused_path_equals_the_explicit_loop_and_the_cpu(cell):
    """cuDNN (fused), the explicit loop on the GPU and the fused path on the CPU: one function, float64."""
    torch.manual_seed(0)
    cpu = Recurrent(cell, D, H, L, path="fused").double()
    gpu_fused = Recurrent(cell, D, H, L, path="fused").double().to(CUDA)
    gpu_explicit = Recurrent(cell, D, H, L, path="explicit").double().to(CUDA)
    gpu_fused.load_state_dict(cpu.state_dict())
    gpu_explicit.load_state_dict(cpu.state_dict())
    x = torch.randn(N, T, D, dtype=torch.float64)
    state = [tuple(torch.randn(N, H, dtype=torch.float64) for _ in layer) for layer in cpu.init_state(N)]
    with torch.no_grad():
        out, final = cpu(x, state)
    weights = [torch.randn_like(t) for t in [out] + [t for layer in final for t in layer]]

    def on_gpu(items):
        return [t.to(CUDA) for t in items]

    def flat(results_and_grads):
        results, grads = results_and_grads
        return [t.cpu() for t in results + grads]

    reference = flat(outputs_and_grads(cpu, x, state, weights))
    gpu_state = [tuple(on_gpu(layer)) for layer in state]
    for stack in (gpu_fused, gpu_explicit):
        got = flat(outputs_and_grads(stack, x.to(CUDA), gpu_state, on_gpu(weights)))
        assert len(got) == len(reference)
        for a, b in zip(got, reference):
            assert (a - b).abs().max().item() <= 1e-10


def small_configs(cell="lstm"):
    model = CharLMSpec(cell=cell, vocab_size=11, hidden=32, layers=2, embed_dim=8)
    train = TrainConfig(batch=8, seq_len=16, optimizer="adam", lr=1e-2, clip=5.0, warmup=0)
    return model, train


def repeating_chunk(vocab, batch, seq_len):
    """A periodic sequence any recurrent model can learn: x and its next characters y."""
    ids = np.arange(batch * (seq_len + 1)) % (vocab - 1)
    rows = ids.reshape(batch, seq_len + 1)
    return rows[:, :-1].copy(), rows[:, 1:].copy()


@pytest.mark.parametrize("cell", ["lstm", "gru", "mingru"])
def test_bf16_autocast_training_learns_and_keeps_float32_state(cell):
    model, train = small_configs(cell)
    runtime = TorchRuntime(model, train, seed=0, device="cuda")
    assert uses_bf16(runtime.device, runtime.dtype)
    x, y = repeating_chunk(model.vocab_size, train.batch, train.seq_len)
    losses = []
    for _ in range(60):
        loss, norm = runtime.train_step((x, y), 1e-2)
        assert np.isfinite(loss) and np.isfinite(norm)
        losses.append(loss)
    assert losses[-1] < 0.5 * losses[0]  # it learns under bf16
    assert all(p.dtype == torch.float32 and p.is_cuda for p in runtime.model.parameters())
    assert all(t.dtype == torch.float32 for layer in runtime.state for t in layer)  # carried in float32


def test_gpu_losses_match_the_numpy_engine():
    """Same weights: the GPU's bf16 training loss is close to the NumPy engine's float32 loss, and
    the GPU's float32 evaluation (no autocast) equals it to float32 rounding."""
    model, train = small_configs()
    gpu = TorchRuntime(model, train, seed=3, device="cuda")
    ref = NumpyRuntime(model, train, params=gpu.params_numpy(), seed=3)
    x, y = repeating_chunk(model.vocab_size, train.batch, train.seq_len)
    gpu_nats = gpu.evaluate((x, y), gpu.init_state(train.batch))[0]["nats"]
    ref_nats = ref.evaluate((x, y), ref.init_state(train.batch))[0]["nats"]
    assert abs(gpu_nats - ref_nats) <= 1e-4 * abs(ref_nats)
    gpu_loss, _ = gpu.train_step((x, y), 0.0)
    assert abs(gpu_loss - ref_nats / x.size) <= 2e-2 * ref_nats / x.size  # bf16 products


def test_a_gpu_checkpoint_trains_resumes_and_runs_on_the_numpy_engine(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    words = "in the beginning was the word and the word was with the light".split()
    text = tmp_path / "text.txt"
    text.write_text(" ".join(rng.choice(words, 6000)) + "\n", encoding="utf-8")
    run = tmp_path / "run"
    common = ["--data", str(text), "--hidden", "32", "--embed", "8", "--batch", "8", "--seq-len", "16",
              "--eval-every", "10", "--eval-chars", "500", "--sample-length", "0"]
    assert main(["train", "--engine", "torch", "--device", "cuda", *common, "--steps", "20", "--out", str(run)]) == 0
    saved = load_checkpoint(run, prefer_best=False)
    assert any("cuda" in states for states in saved.meta["runtime"]["torch_rng"])
    assert all(a.dtype == np.float32 for name, a in saved.arrays.items() if name.startswith("param/"))
    # The GPU run goes on on the CPU, and the NumPy engine samples and evaluates it.
    assert main(["train", "--resume", str(run), "--steps", "30", "--device", "cpu", "--sample-length", "0"]) == 0
    assert load_checkpoint(run, prefer_best=False).meta["progress"]["step"] == 30
    capsys.readouterr()
    assert main(["sample", str(run), "--engine", "numpy", "--length", "40", "--seed", "1"]) == 0
    assert len(capsys.readouterr().out) >= 40
    assert main(["eval", str(run), "--engine", "numpy", "--data", str(text)]) == 0
    assert "bits per character" in capsys.readouterr().out
