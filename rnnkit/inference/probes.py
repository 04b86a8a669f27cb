"""Probes: every step's states and gates of a NumPy recurrent stack, read off its forward caches.

Dimensions: T time, N batch, H hidden size, L layers. Everything a probe returns is time-major
(T, N, H), as the caches hold it.

The NumPy engine's cells keep what their backward needs, and that is exactly what one wants to
look at: the hidden state h of every step, the LSTM's cell state c and its activated gates
i, f, o, g, the GRU's gates r, z and candidate n. Reading them from the cache of an ordinary
forward pass needs no change to any model or layer, and sees the very numbers training sees:

    logits, state, cache = model.forward(ids, state)     # rnnkit/models/charlm/numpy_model.py
    layers = stack_probes(cache.stack)                    # [{"h": (T, N, H), "c": ..., "f": ...}]

What each cell offers is :data:`PROBES`; the states come first, in the order of the cell's
``state_names`` (rnnkit/cells.py), then its gates in the order of its weights' blocks.
"""

from __future__ import annotations

import numpy as np

from rnnkit.cells import CELLS

#: Cell name -> the probes its cache holds.
PROBES = {
    "rnn": ("h",),
    "lstm": ("h", "c", "i", "f", "o", "g"),
    "lnlstm": ("h", "c", "i", "f", "o", "g"),
    "gru": ("h", "r", "z", "n"),
    "mingru": ("h",),
    "minlstm": ("h",),
}

#: What a probe is, for legends and the playground's menu.
PROBE_DESCRIPTIONS = {
    "h": "hidden state h_t (tanh range)",
    "c": "cell state c_t (unbounded)",
    "i": "input gate i (0..1)",
    "f": "forget gate f (0..1)",
    "o": "output gate o (0..1)",
    "g": "candidate g = tanh(.) (-1..1)",
    "r": "reset gate r (0..1)",
    "z": "update gate z (0..1)",
    "n": "candidate n = tanh(.) (-1..1)",
}

#: Probes whose values lie in [0, 1] (gates); the others are centred on 0.
GATE_PROBES = frozenset("ifozr")


def probe_names(cell: str) -> tuple[str, ...]:
    """The probes of ``cell``; a cell without probes is a ValueError naming those with them."""
    try:
        return PROBES[cell]
    except KeyError:
        raise ValueError(f"no probes for cell {cell!r}: probes exist for {', '.join(PROBES)}") from None


def cell_probes(cell: str, cell_cache) -> dict[str, np.ndarray]:
    """The probes of one layer (one direction) from the cache its adapter's forward returned
    (``rnnkit.numpy_engine.cells``): name -> (T, N, H) view into the cache."""
    names = probe_names(cell)
    inner = cell_cache.inner
    if cell == "rnn":
        return {"h": inner}  # the RNN adapter's cache is hs itself
    out = {"h": inner.hs}
    if cell in ("lstm", "lnlstm"):
        H = inner.cs.shape[-1]
        out["c"] = inner.cs
        for k, gate in enumerate(CELLS[cell].gate_names):  # i, f, o, g: already activated
            out[gate] = inner.gates[..., k * H:(k + 1) * H]
    elif cell == "gru":
        out.update(r=inner.r, z=inner.z, n=inner.n)
    assert tuple(out) == names, (tuple(out), names)
    return out


def stack_probes(stack_cache) -> list[dict[str, np.ndarray]]:
    """Every layer's probes, bottom first, from the cache of ``stack_forward``
    (rnnkit/numpy_engine/recurrent.py). One direction only: a bidirectional stack's backward
    direction runs in reversed time and is refused."""
    if stack_cache.spec.bidirectional:
        raise ValueError("probes read one-direction stacks; this stack is bidirectional")
    cell = stack_cache.spec.cell
    return [cell_probes(cell, layer[0].cell_cache) for layer in stack_cache.directions]


def charlm_probes(model, ids, state=None):
    """Run a NumPy character model (rnnkit/models/charlm/numpy_model.py) over ``ids`` and read
    its probes.

    Inputs: ids (N, T) ints, state (None: zeros).
    Returns: logits (T*N, V) time-major rows, the final state, and per layer
    ``{probe: (T, N, H)}`` (copies: the arrays outlive the cache).
    """
    logits, new_state, cache = model.forward(np.asarray(ids), state)
    layers = [{name: np.array(a) for name, a in layer.items()} for layer in stack_probes(cache.stack)]
    return logits, new_state, layers


def select(layers: list[dict], probe: str, layer: int, index: int) -> np.ndarray:
    """One unit's values: ``layers[layer][probe][..., index]``, checked, as float64 (T, N)."""
    if not 0 <= layer < len(layers):
        raise ValueError(f"layer must be in [0, {len(layers) - 1}], got {layer}")
    if probe not in layers[layer]:
        raise ValueError(f"probe {probe!r} is not one of {', '.join(layers[layer])}")
    values = layers[layer][probe]
    if not 0 <= index < values.shape[-1]:
        raise ValueError(f"cell index must be in [0, {values.shape[-1] - 1}], got {index}")
    return values[..., index].astype(np.float64)
