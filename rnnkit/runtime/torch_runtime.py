"""The PyTorch engine behind the training loop, evaluation, prediction and sampling, for any model.

Implements the runtime interface of rnnkit/runtime/numpy_runtime.py (the training loop knows no
more than that) with a model of rnnkit/models on a device:

    train_step(batch, lr)   a tuple of batch-first arrays -> the model's loss (bf16 autocast on
                            CUDA) -> backward (through this chunk only: the carried state is
                            detached, truncated BPTT) -> clip -> optimizer step
    evaluate / call / step_logits / init_state    no gradient, full precision
    export / restore        parameters, optimizer state and carried state as NumPy arrays under
                            the shared names, random state as JSON: a checkpoint written on a GPU
                            is plain arrays and loads anywhere, NumPy engine included

Under torchrun the runtime is one of K data-parallel processes (rnnkit/runtime/distributed.py):
it trains its share of the B rows, reports the loss averaged over all ranks, and gathers the
carried state of every rank into the checkpoint.

A fresh model starts from the spec's initial weights (the same arrays as the NumPy engine's for
the same seed), so runs of the two engines can be compared step by step.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rnnkit.config import TrainConfig
from rnnkit.models import torch_model_class
from rnnkit.runtime.distributed import Group, join
from rnnkit.runtime.base import RuntimeCheckpointing
from rnnkit.runtime.torch_device import autocast, decode_bytes, encode_bytes, resolve_device, rng_states, set_rng_states
from rnnkit.torch_engine.options import TorchOptions
from rnnkit.torch_engine.optim import Optimizer, clip_gradients
from rnnkit.torch_engine.recurrent import detach_state


class _LossModule(nn.Module):
    """The model's ``loss`` as a module's forward, so DistributedDataParallel (which synchronises
    gradients around forward) and torch.compile see one call per step."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch, state):
        return self.model.loss(*batch, state)


class TorchRuntime(RuntimeCheckpointing):
    """A model of rnnkit/models on a device, its optimizer and the carried state of its rows.

    Args:
        spec, train_config: the model and, for training, how to train it (None: only evaluation,
            prediction and sampling). ``train_config.dtype`` float64 makes a float64 model.
        params: trained weights in the shared format (None: fresh ones from ``seed``).
        seed: initial weights; dropout masks use ``seed + 1 + rank``.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:K`` or ``mps``.
        compile: train through ``torch.compile`` (slow to start, faster per step on GPUs).
        options: how to compute the model (fused or explicit path, parallel or sequential scan).
    """

    name = "torch"

    def __init__(self, spec, train_config: TrainConfig | None = None, params=None, seed: int = 0,
                 device: str = "auto", compile: bool = False, options: TorchOptions | None = None):
        device = resolve_device(device)
        self.group = join(device) if train_config is not None else Group(device)  # torchrun: data parallel
        self.device = self.group.device
        self.is_main = self.group.is_main
        self.spec = spec
        self.dtype = torch.float64 if train_config is not None and train_config.dtype == "float64" else torch.float32
        arrays = spec.init_params(np.random.default_rng(seed)) if params is None else params
        self.model = torch_model_class(spec.kind).from_arrays(spec, arrays, options, dtype=self.dtype,
                                                              device=self.device)
        self.train_config = train_config
        self.state = None
        self.optimizer = None
        if train_config is not None:
            self.rows = self.group.rows(train_config.batch)
            self.net = self.group.wrap(_LossModule(self.model))
            if compile:
                self.net = torch.compile(self.net)
            self.optimizer = Optimizer(train_config.optimizer, train_config.lr, self.model.named_parameters())
            torch.manual_seed(seed + 1 + self.group.rank)

    def _tensor(self, array) -> torch.Tensor:
        """A batch array on the device: integers as int64, booleans as bool, floats in the model's dtype."""
        array = np.ascontiguousarray(array)
        if array.dtype.kind in "iu":
            tensor = torch.as_tensor(array, dtype=torch.int64)
        elif array.dtype.kind == "b":
            tensor = torch.as_tensor(array)
        else:
            tensor = torch.as_tensor(array, dtype=self.dtype)
        return tensor.to(self.device, non_blocking=True)

    def init_state(self, batch: int):
        """Zero state for ``batch`` rows (a tuple of (N, H) tensors per layer, on the device), or None."""
        return self.model.init_state(batch)

    def reset_state(self, batch: int) -> None:
        """Zero the carried state of this process's share of ``batch`` rows."""
        rows = self.group.rows(batch)
        self.state = self.model.init_state(rows.stop - rows.start)

    def broadcast(self, value: float) -> float:
        return self.group.broadcast(value)

    def train_step(self, batch: tuple, lr: float):
        """One optimizer step on this rank's rows of ``batch`` (a tuple of batch-first arrays).

        Returns (loss, grad norm) as floats: the model's loss averaged over all ranks, and the
        global gradient norm that clipping saw.
        """
        cfg = self.train_config
        batch = tuple(self._tensor(a[self.rows]) for a in batch)
        rows = batch[0].shape[0]
        if self.state is None or self.state[0][0].shape[0] != rows:
            self.state = self.model.init_state(rows)
        if not self.model.training:  # evaluation set eval mode; walking the modules every step costs time
            self.net.train()
        with autocast(self.device, self.dtype):
            loss, state = self.net(batch, self.state)
        self.optimizer.zero_grad()
        loss.backward()
        if state is not None:
            # The chunk border of truncated BPTT; autocast may have left bf16 tensors in the state.
            self.state = [tuple(t.to(self.dtype) for t in layer) for layer in detach_state(state)]
        norm = clip_gradients(self.optimizer.params, cfg.clip, cfg.clip_mode)
        self.optimizer.step(lr)
        loss = self.group.mean(loss.detach())
        loss, norm = torch.stack([loss, norm.to(loss.dtype)]).tolist()  # one device sync
        return loss, norm

    @torch.no_grad()
    def evaluate(self, batch: tuple, state):
        """Summed statistics over ``batch`` without dropout or gradients: ({name: value}, new state)."""
        self.model.eval()
        return self.model.evaluate(*(self._tensor(a) for a in batch), state)

    @torch.no_grad()
    def call(self, method: str, *args):
        """The model's inference method ``method``: NumPy arrays in, float64 NumPy arrays out."""
        self.model.eval()
        out = getattr(self.model, method)(*(self._tensor(a) for a in args))
        return out.double().cpu().numpy() if isinstance(out, torch.Tensor) else out

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

    # -- checkpointing hooks (rnnkit/runtime/base.py) ---------------------------------------

    def _random_json(self) -> dict:
        """Every rank's generator states as base64 text, in rank order."""
        gathered = {key: self.group.gather_rows(state[None]) for key, state in rng_states(self.device).items()}
        return {"torch_rng": [{key: encode_bytes(g[r]) for key, g in gathered.items()} for r in range(self.group.world)]}

    def _restore_random(self, js: dict) -> None:
        saved_rng = js.get("torch_rng", [])
        if len(saved_rng) == self.group.world:  # another process count draws other masks anyway
            set_rng_states(self.device, {key: decode_bytes(text) for key, text in saved_rng[self.group.rank].items()})

    def _state_to_numpy(self, tensor):
        return self.group.gather_rows(tensor).cpu().numpy()  # every rank's rows: all B

    def _state_from_numpy(self, array):
        return torch.as_tensor(array[self.rows], dtype=self.dtype, device=self.device)  # this rank's rows
