"""The captioner's decoder with soft attention (Show, Attend and Tell), forward and backward by hand.

Dimensions: N batch, T steps, L grid locations, C feature width, E embedding width, H hidden size,
A attention size, G the cell's gate blocks. Equations in rnnkit/models/captioner/spec.py.

The context z_t depends on h_{t-1}, so the stack runs one step at a time (numpy_engine/step.py)
with layer 0's projection given: the words' part (embed(w) rnn.0.Wx + bias) is one product for
all steps; each step adds z_t ctx.W. Backward through time, t = T-1 .. 0:

    dh_t (output)  = the head's gradient at t + the query's gradient from step t+1's attention
    dproj_t, dstate = stack_step_backward(dh_t, dstate, cache_t)
    dz_t = dproj_t ctx.W^T -> additive attention's backward (with the regulariser's de_t)
           -> dquery (to h_{t-1}), d(a att.Wk) (summed over t), da as values (summed over t)

then the words' part (rnn.0.Wx and the embedding: one product each over all steps), a att.Wk's
backward once, and the query of step 0 (h_0) joins the initial state's gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.numpy_engine.attention import (additive_attention_projected_backward, additive_attention_projected_forward,
                                           project_keys_backward, project_keys_forward)
from rnnkit.numpy_engine.cells import numpy_cell
from rnnkit.numpy_engine.step import stack_step_backward, stack_step_forward


@dataclass
class SoftCache:
    x: np.ndarray          # (T*N, E) the embedded words
    keys: object           # project_keys cache
    steps: list            # per step: (attention cache, step cache, z_t (N, C))
    weights: np.ndarray    # (N, T, L)
    mask: np.ndarray       # (N, T) float


def soft_decode_forward(x, grid, state, params, spec, mask, rng=None):
    """Inputs: x (T, N, E) embedded words; grid (N, L, C); state the initial state (a list per
    layer); mask (N, T) real steps. Returns: y (T, N, H), the penalty (a float), and a cache."""
    T, N, E = x.shape
    rec = spec.recurrent
    bias = numpy_cell(rec.cell).spec.input_bias
    x2 = x.reshape(T * N, E)
    words = (x2 @ params["rnn.0.Wx"]).reshape(T, N, -1)                 # (T, N, G*H)
    if bias:
        words += params["rnn.0." + bias]
    keys_proj, keys_cache = project_keys_forward(grid, params["att.Wk"])  # (N, L, A)
    ys, steps, weights = [], [], []
    for t in range(T):
        query = state[-1][0]                                             # h_{t-1}, top layer
        z, e, att = additive_attention_projected_forward(query, keys_proj, grid, None, params["att.Wq"],
                                                         params["att.b"], params["att.v"])
        h, state, step = stack_step_forward(None, state, params, rec, rng=rng, proj0_t=words[t] + z @ params["ctx.W"])
        ys.append(h)
        steps.append((att, step, z))
        weights.append(e)
    weights = np.stack(weights, axis=1)                                  # (N, T, L)
    m = np.asarray(mask, dtype=weights.dtype)
    coverage = (m[:, :, None] * weights).sum(axis=1)                     # (N, L): sum over real steps
    penalty = spec.penalty * float(((1.0 - coverage) ** 2).sum()) / N
    return np.stack(ys), penalty, SoftCache(x2, keys_cache, steps, weights, m)


def soft_decode_backward(dy, cache: SoftCache, params, spec, grads: dict):
    """Inputs: dy (T, N, H) the head's gradient on every output; grads receives the stack's, the
    attention's and ctx.W's gradients (the penalty's included).
    Returns: dgrid (N, L, C), dstate0 (the gradient on the initial state, like the state)."""
    T, N, _ = dy.shape
    c = cache
    coverage = (c.mask[:, :, None] * c.weights).sum(axis=1)              # (N, L)
    dweights = (-2.0 * spec.penalty / N) * (1.0 - coverage)[:, None, :] * c.mask[:, :, None]   # (N, T, L)
    dstate, dquery = None, None
    dkeys_proj, dgrid = None, None
    dprojs = []
    acc = {"att.Wq": 0.0, "att.b": 0.0, "att.v": 0.0, "ctx.W": 0.0}
    for t in range(T - 1, -1, -1):
        att, step, z = c.steps[t]
        dh = dy[t] if dquery is None else dy[t] + dquery
        dproj, dstate = stack_step_backward(dh, dstate, step, params, grads)   # (N, G*H)
        dprojs.append(dproj)
        acc["ctx.W"] = acc["ctx.W"] + z.T @ dproj
        dz = dproj @ params["ctx.W"].T                                    # (N, C)
        dquery, dkp, dvalues, dWq, db, dv = additive_attention_projected_backward(dz, att, dweights[:, t])
        dkeys_proj = dkp if dkeys_proj is None else dkeys_proj + dkp
        dgrid = dvalues if dgrid is None else dgrid + dvalues
        acc["att.Wq"], acc["att.b"], acc["att.v"] = acc["att.Wq"] + dWq, acc["att.b"] + db, acc["att.v"] + dv
    dstate = [list(layer) for layer in dstate]
    dstate[-1][0] = dstate[-1][0] + dquery                                # step 0's query is h_0
    dproj_all = np.stack(dprojs[::-1]).reshape(T * N, -1)                # (T*N, G*H)
    grads["rnn.0.Wx"] = c.x.T @ dproj_all
    dx = (dproj_all @ params["rnn.0.Wx"].T).reshape(T, N, -1)            # (T, N, E)
    dkeys, grads["att.Wk"] = project_keys_backward(dkeys_proj, c.keys)
    grads.update(acc)
    return dgrid + dkeys, [tuple(layer) for layer in dstate], dx


def soft_greedy_step(word_x, state, keys_proj, grid, params, spec):
    """One closed-loop step: (h (N, H), new state, weights (N, L)) after the embedded word (N, E)."""
    rec = spec.recurrent
    bias = numpy_cell(rec.cell).spec.input_bias
    proj = word_x @ params["rnn.0.Wx"] + (params["rnn.0." + bias] if bias else 0.0)
    z, e, _ = additive_attention_projected_forward(state[-1][0], keys_proj, grid, None, params["att.Wq"],
                                                   params["att.b"], params["att.v"])
    h, state, _ = stack_step_forward(None, state, params, rec, proj0_t=proj + z @ params["ctx.W"])
    return h, state, e
