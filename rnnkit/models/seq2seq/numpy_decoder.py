"""One step of the translation model's decoder in the NumPy engine, forward and backward by hand.

Dimensions: N batch, S source steps, E embedding width, H hidden size, K*H the memory's width,
A = H the attention size.

    x_t      = [e_t; htilde_{t-1}]  (input feeding)  or  e_t           (N, E + H) or (N, E)
    p_t      = x_t Wx + b = (e_t Wx_e + b) + htilde_{t-1} Wx_h          (N, G*H)  layer 0's projection:
               e_t's half for all T steps at once (:func:`project_inputs`), htilde's half per step
    h_t, state_t = stack_step_forward(p_t, state_{t-1})                 (N, H)   rnnkit/numpy_engine/step.py
    c_t, a_t = attention(h_t, memory, mask)                             (N, K*H), (N, S)
    z_t      = [c_t; h_t]                                               (N, K*H + H)
    htilde_t = tanh(z_t comb.W + comb.b)                                (N, H)
    (attention none: htilde_t = h_t, no c_t or a_t)

Backward of a step, from dhtilde_t (what the output layer and the next step's input feeding send):

    dpre = dhtilde_t (1 - htilde_t^2);  dcomb.W += z_t^T dpre;  dcomb.b += sum dpre;  dz = dpre comb.W^T
    dc_t, dh_t = dz split;  attention backward: dh_t += dquery, dmemory += dkeys + dvalues (dot), or
    dkeys_proj += ... (additive: keys Wk is computed once a sentence, its backward runs once after
    the loop, in the model);  then the stack's step backward gives dp_t, and
    dhtilde_{t-1} = dp_t Wx_h^T,  dWx_h += htilde_{t-1}^T dp_t;  de_t = dp_t Wx_e^T and dWx_e
    = e^T dp for all steps at once after the loop (:func:`project_inputs_backward`).

Every parameter is used at every step: its gradient is summed into ``grads`` (``+=``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.numpy_engine.attention import (additive_attention_projected_backward, additive_attention_projected_forward,
                                           dot_attention_backward, dot_attention_forward)
from rnnkit.numpy_engine.cells import numpy_cell
from rnnkit.numpy_engine.step import stack_step_backward, stack_step_forward


@dataclass
class Memory:
    """What every decoder step reads of the encoder, batch first."""

    values: np.ndarray            # (N, S, K*H) the encoder's outputs
    mask: np.ndarray              # (N, S) bool, True at real source steps
    keys_proj: np.ndarray | None  # (N, S, A) memory att.Wk (additive attention), else None


@dataclass
class StepCache:
    feed: np.ndarray       # (N, H) htilde_{t-1}, what the step read
    stack: object          # the stack step's cache
    attention: object      # the attention's cache (None without attention)
    z: np.ndarray | None   # (N, K*H + H) [c_t; h_t]
    htilde: np.ndarray     # (N, H)


def _add(grads: dict, name: str, g) -> None:
    if name in grads:
        grads[name] += g
    else:
        grads[name] = np.array(g)


def project_inputs(e, params, spec):
    """The embeddings' half of layer 0's projection, input bias included: e (..., E) -> (..., G*H)."""
    E = spec.embed
    proj = e @ params["dec.rnn.0.Wx"][:E]
    bias = numpy_cell(spec.cell).spec.input_bias
    if bias:
        proj += params["dec.rnn.0." + bias]
    return proj


def project_inputs_backward(dproj, e, params, spec, grads):
    """Backward of :func:`project_inputs` over all steps: dproj (N, T, G*H), e (N, T, E).
    Returns de (N, T, E); sets the embeddings' rows of dWx (the rows of htilde's half, which the
    steps summed into ``grads["dec.rnn.0.Wx"]``, stay)."""
    E = spec.embed
    W = params["dec.rnn.0.Wx"]
    dWe = e.reshape(-1, E).T @ dproj.reshape(-1, W.shape[1])
    if "dec.rnn.0.Wx" in grads:
        grads["dec.rnn.0.Wx"][:E] = dWe
    else:
        grads["dec.rnn.0.Wx"] = dWe
    return dproj @ W[:E].T


def decoder_step_forward(pe_t, feed, state, memory: Memory, params, spec, rng=None):
    """One decoder step.

    Inputs: pe_t (N, G*H) the embedded previous token's half of layer 0's projection
    (:func:`project_inputs`, after dropout on the embedding); feed (N, H) htilde_{t-1} (zeros at
    t = 0; ignored without input feeding); state the decoder stack's state (a list of per-layer
    tuples); memory; params; spec a Seq2SeqSpec; rng for dropout between layers.
    Returns: htilde_t (N, H), the new state, the attention weights a_t (N, S) (None without
    attention), and a cache.
    """
    p0 = pe_t + feed @ params["dec.rnn.0.Wx"][spec.embed:] if spec.input_feeding else pe_t.copy()
    h, state, stack_cache = stack_step_forward(None, state, params, spec.decoder, "dec.rnn.", rng, proj0_t=p0)
    if spec.attention == "none":
        return h, state, None, StepCache(feed, stack_cache, None, None, h)
    if spec.attention == "additive":
        context, weights, att_cache = additive_attention_projected_forward(
            h, memory.keys_proj, memory.values, memory.mask, params["att.Wq"], params["att.b"], params["att.v"])
    else:
        context, weights, att_cache = dot_attention_forward(h, memory.values, memory.values, memory.mask,
                                                            params["att.W"])
    z = np.concatenate([context, h], axis=1)
    htilde = np.tanh(z @ params["comb.W"] + params["comb.b"])
    return htilde, state, weights, StepCache(feed, stack_cache, att_cache, z, htilde)


def decoder_step_backward(dhtilde, dstate, cache: StepCache, memory: Memory, params, spec, grads: dict):
    """Backward through one :func:`decoder_step_forward`.

    Inputs: dhtilde (N, H) the gradient on htilde_t; dstate the gradient on the state the step
    returned (None: zeros); the step's cache; memory; params; spec; grads (summed into).
    Returns: dpe_t (N, G*H) the gradient on the step's pe_t, dfeed (N, H) the gradient on
    htilde_{t-1} (zeros without input feeding), dstate_prev, dvalues (N, S, K*H) or None,
    dkeys_proj (N, S, A) or None. htilde's rows of dWx are summed into ``grads`` here.
    """
    dvalues = dkeys_proj = None
    if spec.attention == "none":
        dh = dhtilde
    else:
        dpre = dhtilde * (1.0 - cache.htilde**2)
        _add(grads, "comb.W", cache.z.T @ dpre)
        _add(grads, "comb.b", dpre.sum(axis=0))
        dz = dpre @ params["comb.W"].T
        KH = memory.values.shape[2]
        dcontext, dh = dz[:, :KH], dz[:, KH:]
        if spec.attention == "additive":
            dquery, dkeys_proj, dvalues, dWq, db, dv = additive_attention_projected_backward(dcontext, cache.attention)
            _add(grads, "att.Wq", dWq)
            _add(grads, "att.b", db)
            _add(grads, "att.v", dv)
        else:
            dquery, dkeys, dvalues, dW = dot_attention_backward(dcontext, cache.attention)
            dvalues = dvalues + dkeys
            _add(grads, "att.W", dW)
        dh = dh + dquery
    dp0, dstate_prev = stack_step_backward(dh, dstate, cache.stack, params, grads)
    if not spec.input_feeding:
        return dp0, np.zeros_like(dhtilde), dstate_prev, dvalues, dkeys_proj
    W = params["dec.rnn.0.Wx"]
    E = spec.embed
    if "dec.rnn.0.Wx" not in grads:
        grads["dec.rnn.0.Wx"] = np.zeros_like(W)
    grads["dec.rnn.0.Wx"][E:] += cache.feed.T @ dp0
    return dp0, dp0 @ W[E:].T, dstate_prev, dvalues, dkeys_proj
