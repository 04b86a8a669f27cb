"""Where the torch engine runs: the device, mixed precision on GPUs, and random state as JSON.

``--device auto`` picks an NVIDIA GPU (``cuda``) when PyTorch sees one, else Apple's GPU (``mps``),
else the CPU. On a CUDA GPU that supports bfloat16, training runs its forward pass under bf16
autocast: matrix products (and cuDNN's recurrent kernels) compute in bf16 while the parameters,
the optimizer state, the carried hidden state and the loss stay float32. bf16 keeps float32's
exponent range, so no loss scaling is needed. Everything else (float64 runs, the CPU, MPS,
evaluation and sampling) computes in the parameters' own precision.

Random state: dropout draws its masks from PyTorch's global generators, the CPU's and the
device's. Their states are byte tensors; a checkpoint keeps them as base64 text in its JSON header
(no pickle), so a resumed run draws the same masks it would have drawn without stopping.
"""

from __future__ import annotations

import base64
import contextlib

import torch

from rnnkit.errors import UsageError

DEVICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def resolve_device(name: str = "auto") -> torch.device:
    """The device a ``--device`` value names: ``auto``, ``cpu``, ``cuda`` (or ``cuda:K``), ``mps``.

    ``auto`` is cuda when available, else mps when available, else cpu. Naming a device PyTorch
    cannot use is a :class:`UsageError`, not a crash deep inside the first forward pass.
    """
    kind = name.split(":", 1)[0]
    if kind not in DEVICES:
        raise UsageError(f"unknown device {name!r}: choose one of {', '.join(DEVICES)} (or cuda:K)")
    if kind == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if _mps_available() else "cpu")
    if kind == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: PyTorch sees no CUDA GPU here (torch.cuda.is_available() is False); "
                         "use --device cpu or auto")
    if kind == "mps" and not _mps_available():
        raise UsageError("--device mps: PyTorch sees no Apple GPU here; use --device cpu or auto")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise UsageError(f"bad device {name!r}: {exc}") from None


def uses_bf16(device: torch.device, dtype: torch.dtype) -> bool:
    """Whether training on ``device`` with ``dtype`` parameters runs under bf16 autocast."""
    return device.type == "cuda" and dtype == torch.float32 and torch.cuda.is_bf16_supported()


def autocast(device: torch.device, dtype: torch.dtype):
    """The mixed-precision context for a training forward pass (a no-op where bf16 is not used)."""
    if uses_bf16(device, dtype):
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def rng_states(device: torch.device) -> dict[str, torch.Tensor]:
    """The generators dropout draws from: ``cpu``, and the device's when it has its own."""
    states = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state(device)
    elif device.type == "mps":
        states["mps"] = torch.mps.get_rng_state()
    return states


def set_rng_states(device: torch.device, states: dict[str, torch.Tensor]) -> None:
    """Restore what :func:`rng_states` returned. States of generators this device lacks (a GPU
    checkpoint resumed on the CPU) are ignored: such a run continues, with other dropout masks."""
    if "cpu" in states:
        torch.set_rng_state(states["cpu"])
    if device.type == "cuda" and "cuda" in states:
        torch.cuda.set_rng_state(states["cuda"], device)
    elif device.type == "mps" and "mps" in states:
        torch.mps.set_rng_state(states["mps"])


def encode_bytes(t: torch.Tensor) -> str:
    """A uint8 tensor as base64 text (for a JSON header)."""
    return base64.b64encode(t.cpu().numpy().tobytes()).decode("ascii")


def decode_bytes(text: str) -> torch.Tensor:
    """The inverse of :func:`encode_bytes`."""
    return torch.frombuffer(bytearray(base64.b64decode(text)), dtype=torch.uint8)
