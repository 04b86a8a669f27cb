"""Moving a torch model's parameters in and out as NumPy arrays under their shared names.

Every model of rnnkit/models has the same named parameters in both engines, so loading a
checkpoint into a torch model, and exporting one from it, is the same code for all of them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from rnnkit.errors import UsageError


class SharedArrays:
    """Mixin for an ``nn.Module`` whose ``named_parameters()`` follow its spec's shared format."""

    def param_shapes(self: nn.Module) -> dict[str, tuple[int, ...]]:
        """Name and shape of every parameter: the spec's ``param_shapes()``, as tests check."""
        return {name: tuple(p.shape) for name, p in self.named_parameters()}

    def to_arrays(self: nn.Module, dtype=np.float32) -> dict[str, np.ndarray]:
        """Every parameter as a NumPy array of ``dtype`` on the CPU (a copy), under its shared name.
        order="C": weights stored transposed for the fused kernels still come out row-major."""
        return {name: np.array(p.detach().cpu().numpy(), dtype=dtype, order="C")
                for name, p in self.named_parameters()}

    @classmethod
    def from_arrays(cls, spec, arrays: Mapping[str, np.ndarray], options=None, *,
                    dtype: torch.dtype = torch.float32, device: torch.device | str | None = None):
        """A model of ``spec`` whose parameters are ``arrays`` (float arrays under the shared
        names), in ``dtype`` (float64 for gradient checks and parity tests) on ``device``.

        Missing, extra or misshapen arrays are a :class:`UsageError`: they belong to another model.
        """
        model = cls(spec, options).to(dtype=dtype, device=device)
        expected = model.param_shapes()
        missing, extra = sorted(set(expected) - set(arrays)), sorted(set(arrays) - set(expected))
        if missing or extra:
            raise UsageError(f"parameters do not fit the model: missing {missing}, unexpected {extra}")
        with torch.no_grad():
            for name, p in model.named_parameters():
                array = np.asarray(arrays[name])
                if array.shape != expected[name] or array.dtype.kind != "f":
                    raise UsageError(f"parameter {name} is {array.dtype} {array.shape}, "
                                     f"expected floats {expected[name]}")
                p.copy_(torch.as_tensor(array))
        return model
