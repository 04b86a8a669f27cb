"""Training machinery, apart from the models: which engine runs a model (:func:`make_runtime`),
the NumPy engine's worker processes and BLAS threads, the torch engine's devices and DDP.

    numpy_runtime.py   NumpyRuntime: a NumPy model, its optimizer, dropout generators, carried state
    processes.py       the batch's rows split over worker processes (shared-memory parameters)
    shards.py          the shard arithmetic; shards run in this process
    blas.py            BLAS threads per thread
    torch_runtime.py   TorchRuntime: the same interface on a torch device
    torch_device.py    devices, autocast, random state
    distributed.py     DistributedDataParallel under torchrun
    state.py           the carried state as checkpoint arrays
"""

from __future__ import annotations

import importlib.util

from rnnkit.errors import UsageError


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def default_engine() -> str:
    """The engine ``sample`` and ``eval`` use when none is named: always the NumPy engine, which
    needs nothing beyond NumPy and gives the same numbers."""
    return "numpy"


def make_runtime(engine: str, spec, train_config=None, params=None, seed: int = 0, device: str = "auto",
                 compile: bool = False):
    """Build the runtime (model + optimizer + carried state) of ``engine`` for the model ``spec``
    (any kind of rnnkit/models), for the training loop, evaluation, prediction and sampling. ``params`` (shared model format) loads trained weights; ``compile``
    trains the torch engine through torch.compile."""
    if engine == "numpy":
        if compile:
            raise UsageError("--compile needs --engine torch")
        from rnnkit.runtime.numpy_runtime import NumpyRuntime

        return NumpyRuntime(spec, train_config, params=params, seed=seed)
    if engine == "torch":
        if not torch_available():
            raise UsageError("--engine torch needs PyTorch: pip install 'rnnkit[torch]' (or torch==2.13.0)")
        from rnnkit.runtime.torch_runtime import TorchRuntime

        return TorchRuntime(spec, train_config, params=params, seed=seed, device=device, compile=compile)
    raise UsageError(f"unknown engine {engine!r}: choose numpy or torch")
