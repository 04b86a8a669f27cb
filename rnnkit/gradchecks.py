"""Gradient checks of every hand-written backward pass: the table behind ``rnnkit gradcheck``.

Each check builds a small random problem in float64, turns the layer's outputs into a scalar
f = sum(out * dout) with a random upstream gradient dout (so every input gets a gradient of order
one), and compares the layer's backward pass with central differences of f, input by input.
The whole models (the character model with every cell, highway gates, one-hot and embedded input)
are checked through their real losses.

Each row reports two errors between the analytic gradient a and the numerical one n:
- ``rel_error``: ||a - n|| / (||a|| + ||n||) over the whole array, the pass mark: <= 1e-7, or
  <= 1e-6 for the weights and states of a recurrence (whose gradient is a long sum over time steps);
- ``max_entry``: CS231n's worst entry, max |a - n| / max(1e-8, |a| + |n|), for information: it is
  large where an entry's true gradient is tiny next to the loss (there central differences carry
  more rounding noise than signal), so it is held only to a loose bound (1e-4) that still catches
  a single wrong entry.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rnnkit.models.charlm.numpy_model import CharLM
from rnnkit.models.charlm.spec import CharLMSpec
from rnnkit.numpy_engine import gru, layers, losses, lstm, rnn
from rnnkit.numpy_engine.gradcheck import eval_numerical_gradient, rel_error, rel_error_norm

TOLERANCE = 1e-7
ENTRY_TOLERANCE = 1e-4
RECURRENT_TOLERANCE = 1e-6
N, T, D, H, V = 3, 4, 5, 6, 7


def _check_layer(fn: Callable, inputs: dict, douts: list, backward: Callable, names: list[str]):
    """Compare ``backward`` with numerical gradients of f = sum_k sum(out_k * dout_k).

    fn(**inputs) -> tuple of outputs; backward(cache-carrying result) -> gradients in ``names`` order.
    """
    def f():
        outs = fn(**inputs)[0]
        return sum(float(np.sum(o * d)) for o, d in zip(outs, douts))

    analytic = dict(zip(names, backward(fn(**inputs))))
    return {name: _compare(analytic[name], eval_numerical_gradient(lambda _: f(), inputs[name])) for name in names}


def _compare(analytic, numerical):
    return rel_error_norm(analytic, numerical), rel_error(analytic, numerical)


def _rng_inputs(rng, **shapes):
    return {k: rng.standard_normal(s) for k, s in shapes.items()}


def check_rnn(rng):
    step = _rng_inputs(rng, x=(N, D), prev_h=(N, H), Wx=(D, H), Wh=(H, H), b=(H,))
    dh = rng.standard_normal((N, H))
    results = {("rnn_step", k): v for k, v in _check_layer(
        lambda **a: ((rnn.rnn_step_forward(**a)[0],), rnn.rnn_step_forward(**a)[1]), step, [dh],
        lambda r: rnn.rnn_step_backward(dh, r[1]), ["x", "prev_h", "Wx", "Wh", "b"]).items()}
    seq = _rng_inputs(rng, x=(N, T, D), h0=(N, H), Wx=(D, H), Wh=(H, H), b=(H,))
    dhs, dhT = rng.standard_normal((N, T, H)), rng.standard_normal((N, H))

    def forward(**a):
        h, cache = rnn.rnn_forward(**a)
        return (h, cache.hT), cache

    results.update({("rnn_forward", k): v for k, v in _check_layer(
        forward, seq, [dhs, dhT], lambda r: rnn.rnn_backward(dhs.copy(), r[1], dhT=dhT),
        ["x", "h0", "Wx", "Wh", "b"]).items()})
    return results


def check_lstm(rng):
    step = _rng_inputs(rng, x=(N, D), prev_h=(N, H), prev_c=(N, H), Wx=(D, 4 * H), Wh=(H, 4 * H), b=(4 * H,))
    dh, dc = rng.standard_normal((N, H)), rng.standard_normal((N, H))

    def step_fn(**a):
        h, c, cache = lstm.lstm_step_forward(**a)
        return (h, c), cache

    results = {("lstm_step", k): v for k, v in _check_layer(
        step_fn, step, [dh, dc], lambda r: lstm.lstm_step_backward(dh, dc, r[1]),
        ["x", "prev_h", "prev_c", "Wx", "Wh", "b"]).items()}
    seq = _rng_inputs(rng, x=(N, T, D), h0=(N, H), Wx=(D, 4 * H), Wh=(H, 4 * H), b=(4 * H,), c0=(N, H))
    dhs, dhT, dcT = rng.standard_normal((N, T, H)), rng.standard_normal((N, H)), rng.standard_normal((N, H))

    def forward(**a):
        h, cache = lstm.lstm_forward(**a)
        return (h, cache.hT, cache.cT), cache

    grads = lambda r: lstm.lstm_backward(dhs.copy(), r[1], dhT=dhT, dcT=dcT, return_dc0=True)  # noqa: E731
    results.update({("lstm_forward", k): v for k, v in _check_layer(
        forward, seq, [dhs, dhT, dcT], grads, ["x", "h0", "Wx", "Wh", "b", "c0"]).items()})
    return results


def check_gru(rng):
    step = _rng_inputs(rng, x=(N, D), prev_h=(N, H), Wx=(D, 3 * H), Wh=(H, 3 * H), bx=(3 * H,), bh=(3 * H,))
    dh = rng.standard_normal((N, H))
    results = {("gru_step", k): v for k, v in _check_layer(
        lambda **a: ((gru.gru_step_forward(**a)[0],), gru.gru_step_forward(**a)[1]), step, [dh],
        lambda r: gru.gru_step_backward(dh, r[1]), ["x", "prev_h", "Wx", "Wh", "bx", "bh"]).items()}
    seq = _rng_inputs(rng, x=(N, T, D), h0=(N, H), Wx=(D, 3 * H), Wh=(H, 3 * H), bx=(3 * H,), bh=(3 * H,))
    dhs, dhT = rng.standard_normal((N, T, H)), rng.standard_normal((N, H))

    def forward(**a):
        h, cache = gru.gru_forward(**a)
        return (h, cache.hT), cache

    results.update({("gru_forward", k): v for k, v in _check_layer(
        forward, seq, [dhs, dhT], lambda r: gru.gru_backward(dhs.copy(), r[1], dhT=dhT),
        ["x", "h0", "Wx", "Wh", "bx", "bh"]).items()})
    return results


def check_layers(rng):
    ids = rng.integers(0, V, size=(N, T))
    emb = {"W": rng.standard_normal((V, D))}
    dout = rng.standard_normal((N, T, D))
    results = {("word_embedding", k): v for k, v in _check_layer(
        lambda W: ((layers.word_embedding_forward(ids, W)[0],), layers.word_embedding_forward(ids, W)[1]),
        emb, [dout], lambda r: (layers.word_embedding_backward(dout, r[1]),), ["W"]).items()}
    aff = _rng_inputs(rng, x=(N, T, D), w=(D, V), b=(V,))
    dout = rng.standard_normal((N, T, V))
    results.update({("temporal_affine", k): v for k, v in _check_layer(
        lambda **a: ((layers.temporal_affine_forward(**a)[0],), layers.temporal_affine_forward(**a)[1]),
        aff, [dout], lambda r: layers.temporal_affine_backward(dout, r[1]), ["x", "w", "b"]).items()})
    scores = {"x": rng.standard_normal((N, T, V))}
    y, mask = rng.integers(0, V, size=(N, T)), rng.random((N, T)) > 0.3
    results.update({("temporal_softmax_loss", k): v for k, v in _check_layer(
        lambda x: ((np.array(losses.temporal_softmax_loss(x, y, mask)[0]),), None), scores, [np.array(1.0)],
        lambda r: (losses.temporal_softmax_loss(scores["x"], y, mask)[1],), ["x"]).items()})
    drop = {"x": rng.standard_normal((N, T, D))}
    dout = rng.standard_normal((N, T, D))
    seeded = lambda x: layers.dropout_forward(x, 0.4, np.random.default_rng(7))  # noqa: E731  same mask each call
    results.update({("dropout", k): v for k, v in _check_layer(
        lambda x: ((seeded(x)[0],), seeded(x)[1]), drop, [dout],
        lambda r: (layers.dropout_backward(dout, r[1]),), ["x"]).items()})
    return results


def check_classification_loss(rng):
    """softmax_loss, the many-to-one models' loss."""
    scores, labels = {"x": rng.standard_normal((N, V))}, rng.integers(0, V, size=N)
    return {("softmax_loss", k): v for k, v in _check_layer(
        lambda x: ((np.array(losses.softmax_loss(x, labels)[0]),), None), scores, [np.array(1.0)],
        lambda r: (losses.softmax_loss(scores["x"], labels)[1],), ["x"]).items()}


def check_charlm(rng, cell: str, layers_: int = 2, embed_dim: int = 0, batch: int = N, highway: bool = False):
    """The whole model through its real loss, with a carried-in state as truncated BPTT has.

    With an embedding, a batch of more than V characters takes the product-table path of layer 0
    and a smaller one multiplies the embedded characters by Wx: both are checked.
    """
    config = CharLMSpec(cell=cell, vocab_size=V, hidden=H, layers=layers_, embed_dim=embed_dim, highway=highway)
    model = CharLM.create(config, seed=int(rng.integers(1 << 30)), dtype=np.float64)
    for value in model.params.values():  # larger weights than at initialisation: gradients of order one
        value[...] = rng.standard_normal(value.shape) * 0.5
    ids, targets = rng.integers(0, V, size=(batch, T)), rng.integers(0, V, size=(batch, T))
    state = [tuple(rng.standard_normal((batch, H)) for _ in s) for s in model.init_state(batch)]
    # Sum over the characters (not the mean) keeps gradients well above the finite-difference noise.
    scale = batch * T
    _, grads, _ = model.loss(ids, targets, state)
    grads = {k: g * scale for k, g in grads.items()}
    loss = lambda _: model.loss(ids, targets, state)[0] * scale  # noqa: E731
    name = (f"charlm {cell} x{layers_}" + (" highway" if highway else "") + (f" embed {embed_dim}" if embed_dim else "")
            + (f" N={batch}" if batch != N else ""))
    return {(name, k): _compare(grads[k], eval_numerical_gradient(loss, p)) for k, p in model.params.items()}


def tolerance(check: str, param: str) -> float:
    """1e-6 for the hidden-to-hidden weights and the states a recurrence carries, else 1e-7."""
    recurrent = param in ("Wh", "h0", "c0", "prev_h", "prev_c") or param.endswith((".Wh", ".gh"))
    return RECURRENT_TOLERANCE if recurrent else TOLERANCE


def run_all(seed: int = 0) -> list[dict]:
    """Every check; one row per (layer, input) with its relative error, tolerance and verdict."""
    rng = np.random.default_rng(seed)
    results = {}
    for check in (check_rnn, check_lstm, check_gru, check_layers):
        results.update(check(rng))
    for cell in ("rnn", "lstm", "gru"):
        results.update(check_charlm(rng, cell))
    results.update(check_charlm(rng, "lstm", layers_=1, embed_dim=4))
    results.update(check_charlm(rng, "gru", layers_=2, embed_dim=4, batch=1))
    results.update(check_classification_loss(rng))
    for cell in ("lnlstm", "mingru", "minlstm"):
        results.update(check_charlm(rng, cell, embed_dim=4, highway=True))
    from rnnkit.gradchecks_draw import run_draw  # DRAW: its filterbank attention and the whole model

    results.update(run_draw(rng))
    from rnnkit.gradchecks_frames import run_frames  # (it reuses this module's conventions)

    results.update(run_frames(rng))
    from rnnkit.gradchecks_frames import check_tagger

    # the tagger whose head also reads the frame: a generator of its own, so the rows after it draw
    # what they drew before it existed (their worst-entry errors depend on the draws)
    results.update(check_tagger(np.random.default_rng([seed, 13]), "image", skip=True))
    from rnnkit.gradchecks_glimpse import run_glimpse  # RAM, DRAM: glimpse network, policy, whole models

    results.update(run_glimpse(rng))
    from rnnkit.gradchecks_seq2seq import run_seq2seq  # the translation model, one per attention

    results.update(run_seq2seq(rng))
    from rnnkit.models.vqa.gradcheck import check_vqa  # VQA: encoder, question LSTM, hops, head, dgrid

    for hops in (1, 2):  # a generator of its own: the rows' draws do not depend on the checks before
        results.update(check_vqa(np.random.default_rng([seed, 9, hops]), hops))
    from rnnkit.models.captioner.gradcheck import check_captioner  # CS231n captioner, encoder included

    for attention in ("none", "soft"):
        results.update(check_captioner(rng, "lstm", attention=attention))
    for k, attention in enumerate(("none", "soft")):  # on feature grids (no encoder); a generator of their own
        results.update(check_captioner(np.random.default_rng([seed, 11, k]), "lstm", attention=attention, grids=True))
    # the flat global feature (the grid in place) with soft attention: both gradients into the encoder
    results.update(check_captioner(np.random.default_rng([seed, 12]), "lstm", attention="soft", global_feature="flat"))
    rows = []
    for (layer, param), (err, worst) in results.items():
        tol = tolerance(layer, param)
        ok = err <= tol and worst <= ENTRY_TOLERANCE
        rows.append({"layer": layer, "input": param, "rel_error": err, "tolerance": tol,
                     "max_entry": worst, "ok": "ok" if ok else "FAIL"})
    return rows
