"""The carried recurrent state as checkpoint arrays, for both engines.

State is a list with one tuple per layer ((h,), (h, c), or one per direction in turn), each array
(B, H). In a checkpoint it is the group ``state/<layer>/<k>``.
"""

from __future__ import annotations

import numpy as np

from rnnkit.errors import UsageError


def state_arrays(state, to_array=np.asarray) -> dict:
    """``{"state/<layer>/<k>": (B, H)}``; ``to_array`` turns an engine's tensor into a NumPy array."""
    return {f"state/{l}/{k}": to_array(v) for l, tensors in enumerate(state) for k, v in enumerate(tensors)}


def state_from_arrays(saved: dict, template, convert) -> list:
    """The inverse of :func:`state_arrays`: ``saved`` maps ``"<layer>/<k>"`` (the ``state`` group)
    to arrays; ``template`` is a state of the model (any batch size) giving the layers, the arrays
    per layer and their width; ``convert`` turns each array into the engine's tensor. A missing,
    extra or misshapen array is a UsageError."""
    expected = {f"{l}/{k}": tuple(t.shape[1:]) for l, layer in enumerate(template) for k, t in enumerate(layer)}
    if set(saved) != set(expected):
        raise UsageError(f"the checkpoint's carried state does not fit the model: it has "
                         f"{sorted(saved)}, the model needs {sorted(expected)}")
    rows = {np.shape(a)[0] if np.ndim(a) else None for a in saved.values()}
    for name, shape in expected.items():
        array = saved[name]
        if np.ndim(array) != 2 or tuple(array.shape[1:]) != shape or array.dtype.kind != "f" or len(rows) != 1:
            raise UsageError(f"the checkpoint's carried state {name} is {array.dtype} {array.shape}; "
                             f"the model needs floats (B, {shape[0]}) with one B for all")
    return [tuple(convert(saved[f"{l}/{k}"]) for k in range(len(layer))) for l, layer in enumerate(template)]
