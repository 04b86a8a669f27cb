"""A stack of recurrent layers for every graph: float inputs or a projection, masks, directions.

Dimensions: T time, N batch, D input size, H hidden size, K directions, G gate blocks. Time-major
inside: arrays are (T, N, ...), rows of a flattened array are t * N + n.

    layer 0:   proj = x Wx + b (one product for all steps), or a projection the model computed
               (the character model looks it up in a table)
    layer l:   hs = cell(proj, state)            the only loop over time, in the cell
               y_l = hs (K = 1), or [hs_fwd, hs_rev] (K = 2), or the highway mix
               x_{l+1} = dropout(y_l)
    backward:  the same in reverse; dWx = x^T dproj, db = sum dproj, one product each

Variable lengths: ``lengths`` (N,) says how many steps of each row are real (right padding). A
forward direction never reads a later step, so padding cannot change its outputs at real steps;
the backward direction runs over each row reversed within its length (:func:`reverse_index`), so
it too starts at the row's last real step. What a model reads at padded steps it must mask (the
losses and poolings do); then padding changes no output, loss or gradient. The final state of a
row is the state after its last real step.

State: a list with one tuple per layer, holding the cell's state arrays (N, H) for each direction
in turn: ``(h,)``, ``(h, c)``, or ``(h_fwd, h_rev)``, ``(h_fwd, c_fwd, h_rev, c_rev)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.numpy_engine.cells import numpy_cell
from rnnkit.numpy_engine.layers import dropout_backward, dropout_forward
from rnnkit.numpy_engine.highway import highway_backward, highway_forward
from rnnkit.recurrent_spec import RecurrentSpec


def reverse_index(lengths, T: int) -> np.ndarray | None:
    """Time indices (T, N) that reverse each row within its length and keep padding in place:
    ``idx[t, n] = lengths[n] - 1 - t`` for t < lengths[n], else t. It is its own inverse.
    None means every row is T long (then a plain reversal)."""
    if lengths is None:
        return None
    t = np.arange(T)[:, None]
    lengths = np.asarray(lengths)[None, :]
    return np.where(t < lengths, lengths - 1 - t, t)


def _reverse(a, idx):
    """a (T, N, ...) with each row's time order reversed by ``idx`` (see reverse_index)."""
    if idx is None:
        return a[::-1]
    return a[idx, np.arange(a.shape[1])[None, :]]


def final_rows(hs, lengths):
    """The state after each row's last real step: hs (T, N, H) -> (N, H)."""
    if lengths is None:
        return hs[-1]
    return hs[np.asarray(lengths) - 1, np.arange(hs.shape[1])]


def zero_state(spec: RecurrentSpec, n: int, dtype) -> list:
    width = spec.state_width * spec.directions
    return [tuple(np.zeros((n, spec.hidden), dtype) for _ in range(width)) for _ in range(spec.layers)]


@dataclass
class _Direction:
    prefix: str
    cell_cache: object
    x: np.ndarray | None  # (T*N, D) what the projection read (None: a given projection)


@dataclass
class StackCache:
    spec: RecurrentSpec
    prefix: str
    lengths: np.ndarray | None
    index: np.ndarray | None           # reverse_index, for the backward direction
    directions: list                   # per layer: list of _Direction
    dropouts: list                     # per layer: the dropout cache of its output
    highways: list                     # per layer: the highway gate's cache, or None


def _project(x2, params, prefix, cell):
    """x Wx (+ input bias): x2 (T*N, D) -> (T*N, G*H)."""
    proj = x2 @ params[prefix + "Wx"]
    if cell.spec.input_bias:
        proj += params[prefix + cell.spec.input_bias]
    return proj


def stack_forward(x, state, params, spec: RecurrentSpec, prefix: str = "rnn.", rng=None, lengths=None,
                  proj0=None):
    """Run the stack over a sequence.

    Inputs: x (T, N, D) floats (or None when ``proj0`` is given); state (see the module notes; None
    for zeros); params (shared model format names under ``prefix``); rng for dropout (None: none);
    lengths (N,) real steps per row, each in [1, T] (None: all T); proj0 (T, N, G*H) layer 0's
    projection computed by the caller, input bias included (one direction only).
    Returns: y (T, N, K*H) the top layer's output, the final state, and a cache.
    """
    cell = numpy_cell(spec.cell)
    T, N = (x.shape[0], x.shape[1]) if x is not None else proj0.shape[:2]
    dtype = x.dtype if x is not None else proj0.dtype
    if state is None:
        state = zero_state(spec, N, dtype)
    if lengths is not None:
        lengths = np.asarray(lengths)
        # A row without a real step has no last step: its final state would be read off padding.
        if lengths.shape != (N,) or lengths.min() < 1 or lengths.max() > T:
            raise ValueError(f"lengths must be N = {N} step counts in [1, T = {T}], got {lengths.tolist()}")
    index = reverse_index(lengths, T) if spec.bidirectional else None
    width = spec.state_width
    cache = StackCache(spec, prefix, lengths, index, [], [], [])
    new_state, layer_in = [], x
    for layer in range(spec.layers):
        outs, finals, dirs = [], [], []
        for k, p in enumerate(spec.layer_prefixes(prefix, layer)):
            if layer == 0 and proj0 is not None:
                proj, x2 = proj0, None
            else:
                source = layer_in if k == 0 else _reverse(layer_in, index)
                x2 = np.ascontiguousarray(source).reshape(T * N, -1)
                proj = _project(x2, params, p, cell).reshape(T, N, -1)
            cell_params = {s: params[p + s] for s in cell.spec.param_shapes(1, 1) if s != "Wx"}
            hs, final, cell_cache = cell.forward(proj, state[layer][k * width:(k + 1) * width], cell_params)
            if lengths is not None:
                final = _final_state(hs, final, cell_cache, lengths)
            outs.append(hs if k == 0 else _reverse(hs, index))
            finals.extend(final)
            dirs.append(_Direction(p, cell_cache, x2))
        h = outs[0] if len(outs) == 1 else np.concatenate(outs, axis=2)
        highway = None
        if spec.highway and layer > 0:
            gate = f"{prefix}highway.{layer}."
            h, highway = highway_forward(layer_in, h, params[gate + "W"], params[gate + "b"])
        out, dcache = dropout_forward(h, spec.dropout, rng) if layer < spec.layers - 1 else (h, None)
        cache.directions.append(dirs)
        cache.dropouts.append(dcache)
        cache.highways.append(highway)
        new_state.append(tuple(finals))
        layer_in = out
    return layer_in, new_state, cache


def _final_state(hs, final, cell_cache, lengths):
    """The state after each row's last real step. Cells keep every step's h in ``hs``; the c of
    (h, c) cells is in their cache's ``cs``."""
    rows = [final_rows(hs, lengths)]
    if len(final) == 2:
        rows.append(final_rows(cell_cache.inner.cs, lengths))
    return tuple(rows)


def stack_backward(dy, cache: StackCache, params, grads: dict, dfinal=None):
    """Backward through :func:`stack_forward`.

    Inputs: dy (T, N, K*H) gradient on the top layer's output (overwritten); grads receives the
    gradient of every parameter the stack owns; dfinal the gradient on the final state (same layout
    as the state; an entry may be None for zero), or None.

    With ``lengths`` a row's final state is its state after its last real step t_n = len_n - 1
    (each direction in its own reading order), not after step T - 1, so dfinal enters there: the
    final h is the output h_{t_n}, whose gradient gains dfinal's h; the final c of an (h, c) cell
    gains dfinal's c at step t_n inside the cell's loop (the cells' ``dcs``). Nothing flows through
    a row's padded steps into its final state, since that state does not depend on them.
    Returns: dx (T, N, D) on the input, or dproj0 (T, N, G*H) when the caller gave ``proj0``; and
    the gradient on the initial state (a list like the state).
    """
    spec, prefix, index = cache.spec, cache.prefix, cache.index
    cell = numpy_cell(spec.cell)
    width, H = spec.state_width, spec.hidden
    T, N = dy.shape[:2]
    dstate0 = [None] * spec.layers
    dout = dy
    for layer in range(spec.layers - 1, -1, -1):
        dh = dropout_backward(dout, cache.dropouts[layer]) if cache.dropouts[layer] is not None else dout
        dx_highway = None
        if cache.highways[layer] is not None:
            gate = f"{prefix}highway.{layer}."
            dx_highway, dh, grads[gate + "W"], grads[gate + "b"] = highway_backward(dh, cache.highways[layer])
        dx, dstates = None, []
        for k, d in enumerate(cache.directions[layer]):
            dhs = dh[..., k * H:(k + 1) * H]
            dhs = np.array(dhs if k == 0 else _reverse(dhs, index))  # a fresh array: cells overwrite it
            dfin = None if dfinal is None else dfinal[layer][k * width:(k + 1) * width]
            extra = {}
            if dfin is not None and cache.lengths is not None:
                dfin, extra = None, _final_at_lengths(dhs, dfin, cache.lengths)
            dproj, ds0, cell_grads = cell.backward(dhs, d.cell_cache, dfin, **extra)
            dstates.extend(ds0)
            for s, g in cell_grads.items():
                grads[d.prefix + s] = g
            dproj2 = dproj.reshape(T * N, -1)
            if cell.spec.input_bias:
                grads[d.prefix + cell.spec.input_bias] = dproj2.sum(axis=0)
            if d.x is None:  # the caller's projection: its gradient goes back to the caller
                dstate0[layer] = tuple(dstates)
                return dproj.reshape(T, N, -1), dstate0
            grads[d.prefix + "Wx"] = d.x.T @ dproj2
            dx_k = (dproj2 @ params[d.prefix + "Wx"].T).reshape(T, N, -1)
            dx_k = dx_k if k == 0 else _reverse(dx_k, index)
            dx = dx_k if dx is None else dx + dx_k
        if dx_highway is not None:
            dx = dx + dx_highway
        dstate0[layer] = tuple(dstates)
        dout = dx
    return dout, dstate0


def _final_at_lengths(dhs, dfin, lengths):
    """Put the gradient on a direction's final state at each row's last real step.

    Inputs: dhs (T, N, H) the gradient on every h_t (updated in place), dfin the direction's
    tuple ``(dh,)`` or ``(dh, dc)`` of (N, H) arrays or None, lengths (N,).
    Returns: the keywords for the cell's backward: ``{"dcs": (T, N, H)}`` (the gradient on every
    c_t, nonzero at t_n only) for an (h, c) cell given a dc, else nothing.
    """
    last, rows = np.asarray(lengths) - 1, np.arange(dhs.shape[1])
    if dfin[0] is not None:
        dhs[last, rows] += dfin[0]
    if len(dfin) < 2 or dfin[1] is None:
        return {}
    dcs = np.zeros_like(dhs)
    dcs[last, rows] = dfin[1]
    return {"dcs": dcs}
