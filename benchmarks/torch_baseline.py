"""The two sides of the torch engine's benchmarks (torch_speed.py, torch_memory.py).

- :class:`PlainLSTM`: the plain PyTorch character LSTM of benchmarks/_common.py
  (``nn.Embedding -> nn.LSTM -> nn.Linear``, cross entropy, Adam 2e-3, ``clip_grad_norm_(5)``,
  truncated BPTT with the (h, c) of one chunk, detached, starting the next) on any device; on a CUDA
  GPU it runs under the same bf16 autocast as the torch engine, so both compute in one precision.
- :func:`rnnkit_runtime`: rnnkit's torch engine with the same optimizer settings.

Import this after ``_common.set_threads_from_argv`` has run (it imports nothing heavy at the top).
"""

from __future__ import annotations

LR, CLIP = 2e-3, 5.0


class PlainLSTM:
    """One training step of the plain nn.LSTM loop: ``train_step(x, y)`` on (N, T) int arrays."""

    def __init__(self, torch, vocab_size, hidden, layers, embed_dim, device):
        from _common import make_torch_charlstm

        self.torch, self.device, self.V, self.layers, self.hidden = torch, device, vocab_size, layers, hidden
        self.model = make_torch_charlstm(vocab_size, hidden, layers, embed_dim).to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LR)
        self.state = None

    def reset_state(self, batch):
        zeros = self.torch.zeros(self.layers, batch, self.hidden, device=self.device)
        self.state = (zeros, zeros.clone())

    def train_step(self, x, y):
        """Forward, backward through this chunk only, clip, Adam; returns the mean loss in nats."""
        from rnnkit.runtime.torch_device import autocast

        torch = self.torch
        if self.state is None or self.state[0].shape[1] != x.shape[0]:
            self.reset_state(x.shape[0])
        x, y = torch.from_numpy(x).to(self.device), torch.from_numpy(y).to(self.device)
        with autocast(self.device, torch.float32):
            logits, (h, c) = self.model(x, self.state)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, self.V), y.reshape(-1))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), CLIP)
        self.optimizer.step()
        self.state = (h.detach().float(), c.detach().float())  # bf16 under autocast: carry float32
        return loss.item()


def rnnkit_runtime(cell, V, H, L, N, T, embed, device, path="auto"):
    """rnnkit's TorchRuntime for a character model of ``cell``, Adam 2e-3, norm clip 5."""
    from rnnkit.config import TrainConfig
    from rnnkit.models.charlm.spec import CharLMSpec
    from rnnkit.torch_engine import TorchOptions
    from rnnkit.runtime.torch_runtime import TorchRuntime

    config = CharLMSpec(cell=cell, vocab_size=V, hidden=H, layers=L, embed_dim=embed)
    train = TrainConfig(batch=N, seq_len=T, optimizer="adam", lr=LR, clip=CLIP)
    return TorchRuntime(config, train, seed=0, device=device, options=TorchOptions(path=path))
