"""The PyTorch engine behind the training loop, evaluation and sampling.

Implements the runtime interface of rnnkit/numpy_engine/runtime.py (the training loop knows no
more than that) with a :class:`TorchCharLM` on a device:

    train_step(x, y, lr)    x, y (B, T) ids -> forward (bf16 autocast on CUDA) -> mean cross
                            entropy -> backward through this chunk only -> clip -> optimizer step;
                            the final state, detached (truncated BPTT), starts the next chunk
    eval_chunk / step_logits / init_state    no gradient, full precision
    export / restore        parameters, optimizer state and carried state as NumPy arrays under
                            the names of docs/architecture.md, random state as JSON: a checkpoint
                            written on a GPU is plain arrays and loads anywhere, NumPy engine included

Under torchrun the runtime is one of K data-parallel processes (rnnkit/torch_engine/distributed.py):
it trains its share of the B streams, reports the loss averaged over all ranks, and gathers the
carried state of every rank into the checkpoint.

A fresh model starts from the NumPy engine's initial weights for everything that engine also
computes (same seed, same weights), so runs of the two engines can be compared step by step.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F

from rnnkit.config import SHARED_CELLS, ModelConfig, TrainConfig
from rnnkit.models.charlm.numpy_model import init_params
from rnnkit.models.charlm.torch_model import TorchCharLM
from rnnkit.runtime.torch_device import autocast, decode_bytes, encode_bytes, resolve_device, rng_states, set_rng_states
from rnnkit.runtime.distributed import Group, join
from rnnkit.torch_engine.options import TorchOptions
from rnnkit.torch_engine.optim import Optimizer, clip_gradients
from rnnkit.torch_engine.recurrent import detach_state
from rnnkit.training.checkpoint import state_arrays, state_from_arrays


def initial_params(config: ModelConfig, seed: int) -> dict[str, np.ndarray]:
    """Float64 initial weights of a fresh model.

    Parameters the NumPy engine also has start as there (``init_params`` with the same seed:
    orthogonal ``Wh`` blocks, zero biases, ...); the others (torch-only cells, highway
    gates) take their modules' own initialisation under ``torch.manual_seed(seed)``.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = TorchCharLM(config)
    arrays = {name: p.detach().double().numpy() for name, p in model.named_parameters()}
    if config.cell in SHARED_CELLS:
        arrays.update(init_params(replace(config, highway=False), np.random.default_rng(seed), np.float64))
    return arrays


class TorchRuntime:
    """A :class:`TorchCharLM` on a device, its optimizer and the carried state of its streams.

    Args:
        model_config, train_config: the model and, for training, how to train it (None: only
            evaluation and sampling). ``train_config.dtype`` float64 makes a float64 model.
        params: trained weights in the shared format (None: fresh ones from ``seed``).
        seed: initial weights; dropout masks use ``seed + 1 + rank``.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:K`` or ``mps``.
        compile: train through ``torch.compile`` (slow to start, faster per step on GPUs).
        options: how to compute the model (fused or explicit path, parallel or sequential scan).
    """

    name = "torch"

    def __init__(self, model_config: ModelConfig, train_config: TrainConfig | None = None, params=None, seed: int = 0,
                 device: str = "auto", compile: bool = False, options: TorchOptions | None = None):
        device = resolve_device(device)
        self.group = join(device) if train_config is not None else Group(device)  # torchrun: data parallel
        self.device = self.group.device
        self.is_main = self.group.is_main
        self.dtype = torch.float64 if train_config is not None and train_config.dtype == "float64" else torch.float32
        arrays = initial_params(model_config, seed) if params is None else params
        self.model = TorchCharLM.from_arrays(model_config, arrays, options, dtype=self.dtype, device=self.device)
        self.train_config = train_config
        self.state = None
        self.optimizer = None
        if train_config is not None:
            self.rows = self.group.rows(train_config.batch)
            self.net = self.group.wrap(self.model)
            if compile:
                self.net = torch.compile(self.net)
            self.optimizer = Optimizer(train_config.optimizer, train_config.lr, self.model.named_parameters())
            torch.manual_seed(seed + 1 + self.group.rank)

    def _tensor(self, ids) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(ids), dtype=torch.int64).to(self.device, non_blocking=True)

    def init_state(self, batch: int):
        """Zero state for ``batch`` streams: a tuple of (N, H) tensors per layer, on the device."""
        return self.model.init_state(batch)

    def reset_state(self, batch: int) -> None:
        """Zero the carried state of this process's share of ``batch`` streams."""
        rows = self.group.rows(batch)
        self.state = self.model.init_state(rows.stop - rows.start)

    def broadcast(self, value: float) -> float:
        return self.group.broadcast(value)

    def train_step(self, x, y, lr: float):
        """One optimizer step on this rank's rows of the chunk x, y (B, T).

        Returns (loss, grad norm) as floats: the mean cross entropy in nats per character over the
        whole chunk (all ranks), and the global gradient norm that clipping saw.
        """
        cfg = self.train_config
        x, y = self._tensor(x[self.rows]), self._tensor(y[self.rows])
        if self.state is None or self.state[0][0].shape[0] != x.shape[0]:
            self.state = self.model.init_state(x.shape[0])
        if not self.model.training:  # evaluation set eval mode; walking the modules every step costs time
            self.net.train()
        with autocast(self.device, self.dtype):
            logits, state = self.net(x, self.state)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        self.optimizer.zero_grad()
        loss.backward()
        # The chunk border of truncated BPTT; autocast may have left bf16 tensors in the state.
        self.state = [tuple(t.to(self.dtype) for t in layer) for layer in detach_state(state)]
        norm = clip_gradients(self.optimizer.params, cfg.clip, cfg.clip_mode)
        self.optimizer.step(lr)
        loss = self.group.mean(loss.detach())
        loss, norm = torch.stack([loss, norm.to(loss.dtype)]).tolist()  # one device sync
        return loss, norm

    @torch.no_grad()
    def eval_chunk(self, x, y, state):
        """Summed cross entropy in nats over x, y (N, T), carrying ``state``: (nats, new state)."""
        self.model.eval()
        logits, state = self.model(self._tensor(x), state)
        nats = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), self._tensor(y).reshape(-1), reduction="none")
        return float(nats.sum(dtype=torch.float64)), state

    @torch.no_grad()
    def step_logits(self, ids, state):
        """ids (N,) -> logits (N, V) float64 NumPy, new state (for sampling)."""
        self.model.eval()
        logits, state = self.model.step(self._tensor(np.asarray(ids).reshape(-1)), state)
        return logits.double().cpu().numpy(), state

    def params_numpy(self) -> dict:
        """The parameters as NumPy arrays on the CPU (copies), in the model's precision."""
        # order="C": weights stored transposed for the fused kernels still export row-major.
        return {name: np.array(p.detach().cpu().numpy(), order="C") for name, p in self.model.named_parameters()}

    def export(self):
        """(json, arrays) with everything an exact resume needs beyond the step counters.

        Under torchrun every rank must call this (it gathers from all of them); rank 0 writes.
        """
        arrays = {f"param/{k}": v for k, v in self.params_numpy().items()}
        js = {"torch_rng": self._rng_json()}
        if self.optimizer is not None:
            opt_js, opt_arrays = self.optimizer.state_dict()
            js["optimizer"] = opt_js
            arrays.update({f"optim/{k}": v for k, v in opt_arrays.items()})
        if self.state is not None:
            arrays.update(state_arrays(self.state, lambda t: self.group.gather_rows(t).cpu().numpy()))
        return js, arrays

    def _rng_json(self) -> list[dict[str, str]]:
        """Every rank's generator states as base64 text, in rank order."""
        gathered = {key: self.group.gather_rows(state[None]) for key, state in rng_states(self.device).items()}
        return [{key: encode_bytes(g[r]) for key, g in gathered.items()} for r in range(self.group.world)]

    def restore(self, js: dict, groups: dict) -> None:
        """Restore optimizer state, random state and carried state saved by :meth:`export`.

        ``groups`` maps ``optim`` and ``state`` to their arrays (names without the prefix). The
        carried state holds all B streams; this rank takes its rows.
        """
        if self.optimizer is not None and "optimizer" in js:
            self.optimizer.load_state_dict(js["optimizer"], groups.get("optim", {}))
        saved_rng = js.get("torch_rng", [])
        if len(saved_rng) == self.group.world:  # another process count draws other masks anyway
            set_rng_states(self.device, {key: decode_bytes(text) for key, text in saved_rng[self.group.rank].items()})
        saved = groups.get("state", {})
        if saved:
            width = len(self.model.rnn.cells[0].state_names)
            self.state = state_from_arrays(  # all B streams were saved: this rank takes its rows
                saved, self.model.config.layers, width,
                lambda a: torch.as_tensor(a[self.rows], dtype=self.dtype, device=self.device))
