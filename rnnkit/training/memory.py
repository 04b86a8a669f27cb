"""How much memory training a model needs, estimated from its spec before anything is allocated,
so that ``--hidden 100000`` is refused with a sentence instead of a MemoryError (or the kernel's
out-of-memory killer) after minutes of allocating.

    parameters P = sum of the spec's parameter sizes
    host bytes  ~ 8 P                         (initial weights, drawn in float64)
                + s P (4 + W)                 (parameters, gradients, 2 optimizer slots, one
                                               gradient buffer per worker process; s = 4 or 8)
                + 3 * 8 * B T * sum(widths)   (every weight matrix's output for every token of
                                               the batch, kept for the backward pass)

The estimate is rough (within a factor of about two of what a run reaches) and errs high; it
refuses only a model whose estimate exceeds the memory available to this process (the
machine's available memory, or its cgroup's limit). The torch engine on a GPU keeps only the
initial weights in host memory, which is what is checked then.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from rnnkit.errors import UsageError

_GIB = 1 << 30


def available_bytes() -> int | None:
    """Memory this process may still use: MemAvailable, capped by a cgroup limit; None if unknown."""
    values = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                values.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    for limit, usage in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                         ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            text = Path(limit).read_text().strip()
            if text != "max" and int(text) < 1 << 60:
                values.append(int(text) - int(Path(usage).read_text().strip()))
        except (OSError, ValueError):
            pass
    if not values:
        try:
            values.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return None
    return max(0, min(values))


def training_bytes(spec, cfg, on_gpu: bool = False) -> int:
    """The estimate of the module docstring, in bytes."""
    shapes = spec.param_shapes()
    params = sum(math.prod(shape) for shape in shapes.values())
    if on_gpu:
        return 8 * params
    itemsize = 8 if cfg.dtype == "float64" else 4
    workers = cfg.threads or 4  # 0: automatic, at most 4
    widths = sum(shape[-1] for shape in shapes.values() if len(shape) == 2)
    activations = 3 * 8 * cfg.batch * cfg.seq_len * widths
    return 8 * params + itemsize * params * (4 + workers) + activations


def check_training_memory(spec, cfg, engine: str = "numpy", device: str = "auto") -> None:
    """UsageError when training ``spec`` as ``cfg`` says would need more memory than is available."""
    device = str(device)
    on_gpu = engine == "torch" and device != "cpu" and (device != "auto" or _cuda_available())
    need = training_bytes(spec, cfg, on_gpu)
    have = available_bytes()
    if have is None or need <= have:
        return
    params = sum(math.prod(shape) for shape in spec.param_shapes().values())
    raise UsageError(f"this model has {params:,} parameters and training it needs about {need / _GIB:,.1f} GiB "
                     f"of memory, more than the {have / _GIB:,.1f} GiB available; use a smaller --hidden, "
                     "--layers, --embed or --batch")


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()
