"""Gradient flow over time in a one-layer character model, from the NumPy engine's own backward.

Dimensions: N windows of text, T steps, H hidden size, V vocabulary.

The model reads N windows of real text, ``ids[:, :T]``, and the loss L is the cross-entropy of
its prediction at the last step alone (of ``ids[:, T]``), summed over the windows, so that each
window's gradient is its own loss's. How much of dL/dh_T reaches the state k steps back?

    g_k = dL/ds_{T-k},  k = 0..T   (s the cell's state: h, and c for the LSTM; s_0 the initial one)

The engine's cells answer this with no new derivative code: each step runs as a chunk of length 1
through the cell's adapter (rnnkit/numpy_engine/cells.py, T = 1 as the step API runs it), and the
backward pass visits the steps in reverse, handing the gradient each returns on its initial state
to the step before as the gradient on that step's final state, the same hand-over truncated BPTT
makes between chunks. The gradient crossing each step boundary is g_k.

For a vanilla RNN, dh_{t-1} = dh_t diag(1 - h_t^2) Wh^T, so ||g_k|| shrinks geometrically when the
largest singular value of Wh is below 1 (tanh' <= 1 only shrinks it further) and can grow when it
is above: :func:`with_recurrent_gain` rescales Wh to a chosen largest singular value.
:func:`sgd_run` trains with plain SGD, with or without gradient-norm clipping, to show what an
exploding gradient does to training and what clipping changes.
"""

from __future__ import annotations

import math

import numpy as np

from rnnkit.cells import CELLS
from rnnkit.data.streams import TBPTTStream
from rnnkit.models.charlm.numpy_model import CharLM
from rnnkit.numpy_engine.cells import numpy_cell
from rnnkit.numpy_engine.optim import clip_grad_norm, make_optimizer
from rnnkit.sampling import softmax


def _check_one_layer(model: CharLM) -> None:
    if model.spec.layers != 1:
        raise ValueError(f"gradient flow is measured on one-layer models; this one has {model.spec.layers}")


def layer_params(model: CharLM) -> dict:
    """The recurrence's parameters after Wx (``Wh``, ``b``, ``bh``, ...) as the adapters take them."""
    cell = numpy_cell(model.spec.cell)
    return {s: model.params["rnn.0." + s] for s in cell.spec.param_shapes(1, 1) if s != "Wx"}


def input_projection(model: CharLM, ids_tm: np.ndarray) -> np.ndarray:
    """Layer 0's projection x_t Wx (+ the cell's input bias) of every step: ids (T, N) -> (T, N, G*H)."""
    p, spec = model.params, model.spec
    x = p["embed.W"][ids_tm] @ p["rnn.0.Wx"] if spec.embed_dim else p["rnn.0.Wx"][ids_tm]
    bias = CELLS[spec.cell].input_bias
    return x + p["rnn.0." + bias] if bias else np.array(x)


def state_gradients(model: CharLM, ids: np.ndarray) -> dict[str, np.ndarray]:
    """dL/ds_{T-k} for every k, as in the module docstring.

    Inputs: a one-layer model, ids (N, T+1) windows of text (the last column is the target).
    Returns: {state name: (T+1, N, H)}; row k is the gradient on the state k steps before the last
    (row T: on the initial state). Row 0 of c is zero: L reads h_T only.
    """
    _check_one_layer(model)
    cell = numpy_cell(model.spec.cell)
    ids = np.asarray(ids)
    ids_tm = np.ascontiguousarray(ids[:, :-1].T)
    T, N = ids_tm.shape
    H = model.spec.hidden
    p = layer_params(model)
    proj = input_projection(model, ids_tm)  # (T, N, G*H)
    state = tuple(np.zeros((N, H), proj.dtype) for _ in cell.spec.state_names)
    caches = []
    for t in range(T):
        hs, state, cache = cell.forward(proj[t:t + 1].copy(), state, p)
        caches.append(cache)
    # dL/dh_T: the softmax-loss gradient (probabilities - one-hot) through the head.
    dlogits = softmax(hs[-1] @ model.params["head.W"] + model.params["head.b"])
    dlogits[np.arange(N), ids[:, -1]] -= 1.0
    g_top = dlogits @ model.params["head.W"].T  # (N, H)
    out = {name: np.zeros((T + 1, N, H)) for name in cell.spec.state_names}
    out["h"][0] = g_top
    dstate = None
    for k in range(1, T + 1):
        dhs = (g_top if k == 1 else np.zeros((N, H), proj.dtype))[None].copy()
        _, dstate, _ = cell.backward(dhs, caches[T - k], dstate)
        for name, d in zip(cell.spec.state_names, dstate):
            out[name][k] = d
    return out


def gradient_norms(model: CharLM, ids: np.ndarray) -> dict[str, np.ndarray]:
    """||dL/ds_{T-k}|| of every window: {state name: (T+1, N)}."""
    return {name: np.linalg.norm(g, axis=-1) for name, g in state_gradients(model, ids).items()}


def summarize(norms: np.ndarray) -> dict:
    """JSON-ready summary of (T+1, N) norms over the windows: median, 10th and 90th percentiles,
    mean, and the median relative to the median of dL/dh_T (``relative``)."""
    med = np.median(norms, axis=1)
    q10, q90 = np.percentile(norms, [10, 90], axis=1)
    return {"distance": list(range(norms.shape[0])), "median": med.tolist(), "q10": q10.tolist(),
            "q90": q90.tolist(), "mean": norms.mean(axis=1).tolist()}


def largest_singular_value(W: np.ndarray) -> float:
    return float(np.linalg.norm(W, 2))


def with_recurrent_gain(model: CharLM, sigma: float) -> CharLM:
    """A copy of ``model`` whose recurrent weights Wh are scaled so that their largest singular
    value is ``sigma`` (every other parameter shared)."""
    params = dict(model.params)
    Wh = model.params["rnn.0.Wh"]
    params["rnn.0.Wh"] = Wh * (sigma / largest_singular_value(Wh))
    return CharLM(model.spec, params)


def windows(ids: np.ndarray, n: int, steps: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random windows of ``steps + 1`` consecutive ids: (n, steps + 1)."""
    if ids.size < steps + 2:
        raise ValueError(f"the text has {ids.size} characters; windows of {steps + 1} need more")
    starts = rng.integers(0, ids.size - steps - 1, size=n)
    return np.stack([ids[s:s + steps + 1] for s in starts]).astype(np.int64)


def sgd_run(model: CharLM, ids: np.ndarray, steps: int, batch: int, seq_len: int, lr: float,
            clip: float | None = None, optimizer: str = "sgd") -> dict:
    """Train ``model`` in place with truncated BPTT over ``ids`` (1-D) for ``steps`` steps.

    ``clip``: scale the gradient to this global norm when larger (None: never). Returns
    ``{"loss": [bits per character], "grad_norm": [before clipping]}``; a step whose loss or
    gradient is not finite ends the run (the rest of the lists is None: the model diverged).
    """
    stream = TBPTTStream(ids, batch, seq_len)
    opt = make_optimizer(optimizer, lr)
    state = model.init_state(batch)
    losses, norms = [], []
    for _ in range(steps):
        if stream.at_start:
            state = model.init_state(batch)
        x, y = stream.next_batch()
        with np.errstate(all="ignore"):
            loss, grads, state = model.loss(x, y, state)
            norm = clip_grad_norm(grads, clip if clip is not None else math.inf)
        if not (math.isfinite(loss) and math.isfinite(norm)):
            break
        losses.append(loss / math.log(2.0))
        norms.append(norm)
        opt.step(model.params, grads)
    missing = [None] * (steps - len(losses))
    return {"loss": losses + missing, "grad_norm": norms + missing}
