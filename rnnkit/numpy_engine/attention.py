"""Attention: masked softmax, dot (Luong) and additive (Bahdanau) attention, written by hand.

A decoder query attends over L keys (encoder states, or the locations of an image's feature map):

    s_l     = score(query, key_l)                            scores  (N, L)
    alpha   = softmax(s) over the unmasked l, 0 elsewhere    weights (N, L)
    context = sum_l alpha_l value_l                          context (N, Dv)

Dot, Luong et al. 2015 ("general"):   s_l = query W key_l^T,              W (Hq, Hk)
                         ("dot"):     s_l = query key_l^T  (W = None, Hq = Hk)
Additive, Bahdanau et al. 2015:       s_l = v . tanh(query Wq + key_l Wk + b),
                                      Wq (Hq, A), Wk (Hk, A), b (A,), v (A,)

Dimensions: N batch, L keys, Hq query size, Hk key size, Dv value size, A attention size,
Tq queries per example in the temporal (all queries known at once) form.

Masks: mask (N, L), True (or 1) for a real key, False (0) for padding. Masked scores are replaced by
-inf before the softmax, so masked weights are exactly 0 and no gradient reaches padded keys or
values. Padding only has to be finite (0 * value still enters the context sum). A row without a
single real key has no distribution: ValueError, not a row of NaN.

Step and sequence. ``dot_attention_*`` and ``additive_attention_*`` take one query per example (one
decoder step, for closed-loop decoding); ``temporal_dot_attention_*`` takes all Tq queries at once
(teacher forcing, attention over the decoder's outputs) with one batched product per stage.

Additive attention in a decoder loop: ``keys Wk`` does not depend on the step, so
``project_keys_forward`` computes it once per sequence and ``additive_attention_projected_forward``
uses it at every step. Backward: sum the steps' ``dkeys_proj`` and call ``project_keys_backward`` once
(one product for dkeys and one for dWk, instead of one of each per step).
``additive_attention_forward`` is the two composed, for a single step.

Every backward accepts ``dweights`` besides ``dcontext``: a loss may read the weights themselves
(Show, Attend and Tell's penalty on attention that does not sum to 1 over time).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SoftmaxCache:
    weights: np.ndarray  # (N, ..., L), exactly 0 at masked positions


def _broadcast_mask(mask, scores):
    """mask (N, L) as booleans shaped (N, 1, ..., 1, L) to broadcast against scores (N, ..., L)."""
    mask = np.asarray(mask).astype(bool)
    want = (scores.shape[0], scores.shape[-1])
    if scores.ndim < 2 or mask.shape != want:
        raise ValueError(f"mask must have shape (N, L) = {want} for scores of shape {scores.shape}, "
                         f"got {mask.shape}")
    empty = np.flatnonzero(~mask.any(axis=1))
    if empty.size:
        raise ValueError(f"mask rows {empty.tolist()} have no unmasked position: softmax is undefined")
    return mask.reshape(want[0], *([1] * (scores.ndim - 2)), want[1])


def masked_softmax_forward(scores, mask=None):
    """Softmax over the last axis, restricted to the unmasked positions.

    Inputs: scores (N, ..., L); mask (N, L) bool or 0/1, or None for no mask.
    Returns: weights (same shape as scores, rows sum to 1, exactly 0 where masked), cache.
    Raises ValueError if a mask row is all False.
    """
    if mask is not None:
        # np.where, not scores + log(mask): the masked scores are ignored even if they are inf.
        scores = np.where(_broadcast_mask(mask, scores), scores, -np.inf)
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights /= weights.sum(axis=-1, keepdims=True)
    return weights, SoftmaxCache(weights)


def masked_softmax_backward(dweights, cache: SoftmaxCache):
    """dscores = alpha * (dalpha - sum_l alpha_l dalpha_l); exactly 0 where masked (alpha = 0).

    Inputs: dweights (N, ..., L). Returns: dscores (N, ..., L).
    """
    w = cache.weights
    return w * (dweights - np.sum(dweights * w, axis=-1, keepdims=True))


@dataclass
class DotAttentionCache:
    query: np.ndarray       # (N, Tq, Hq)
    keys: np.ndarray        # (N, L, Hk)
    values: np.ndarray      # (N, L, Dv)
    W: np.ndarray | None    # (Hq, Hk), None for the plain dot product
    query_proj: np.ndarray  # (N, Tq, Hk) query W
    softmax: SoftmaxCache   # weights (N, Tq, L)


def temporal_dot_attention_forward(query, keys, values, mask=None, W=None):
    """Dot attention for Tq queries per example at once: s = (query W) keys^T.

    Inputs: query (N, Tq, Hq), keys (N, L, Hk), values (N, L, Dv), mask (N, L) or None (shared by
    all Tq queries of an example), W (Hq, Hk) or None for the plain dot product (Hq = Hk).
    Returns: context (N, Tq, Dv), weights (N, Tq, L), cache.
    """
    if query.ndim != 3 or keys.ndim != 3 or values.ndim != 3:
        raise ValueError(f"need query (N, Tq, Hq), keys (N, L, Hk), values (N, L, Dv); got "
                         f"{query.shape}, {keys.shape}, {values.shape}")
    query_proj = query if W is None else query @ W                  # (N, Tq, Hk)
    scores = query_proj @ keys.transpose(0, 2, 1)                    # (N, Tq, L)
    weights, softmax_cache = masked_softmax_forward(scores, mask)
    context = weights @ values                                       # (N, Tq, Dv)
    return context, weights, DotAttentionCache(query, keys, values, W, query_proj, softmax_cache)


def temporal_dot_attention_backward(dcontext, cache: DotAttentionCache, dweights=None):
    """Inputs: dcontext (N, Tq, Dv), dweights (N, Tq, L) or None.

    Returns: dquery (N, Tq, Hq), dkeys (N, L, Hk), dvalues (N, L, Dv), dW (Hq, Hk) (None if W is None).
    """
    c = cache
    weights = c.softmax.weights
    dw = dcontext @ c.values.transpose(0, 2, 1)                      # (N, Tq, L)
    if dweights is not None:
        dw = dw + dweights
    dvalues = weights.transpose(0, 2, 1) @ dcontext                  # (N, L, Dv)
    dscores = masked_softmax_backward(dw, c.softmax)                 # (N, Tq, L)
    dquery_proj = dscores @ c.keys                                   # (N, Tq, Hk)
    dkeys = dscores.transpose(0, 2, 1) @ c.query_proj                # (N, L, Hk)
    if c.W is None:
        return dquery_proj, dkeys, dvalues, None
    Hq, Hk = c.W.shape
    dW = c.query.reshape(-1, Hq).T @ dquery_proj.reshape(-1, Hk)     # one product over all N*Tq rows
    return dquery_proj @ c.W.T, dkeys, dvalues, dW


def dot_attention_forward(query, keys, values, mask=None, W=None):
    """Dot attention for one query per example (one decoder step).

    Inputs: query (N, Hq), keys (N, L, Hk), values (N, L, Dv), mask (N, L) or None,
    W (Hq, Hk) or None for the plain dot product (Hq = Hk).
    Returns: context (N, Dv), weights (N, L), cache.
    """
    if query.ndim != 2:
        raise ValueError(f"query must have shape (N, Hq), got {query.shape}")
    context, weights, cache = temporal_dot_attention_forward(query[:, None], keys, values, mask, W)
    return context[:, 0], weights[:, 0], cache


def dot_attention_backward(dcontext, cache: DotAttentionCache, dweights=None):
    """Inputs: dcontext (N, Dv), dweights (N, L) or None.

    Returns: dquery (N, Hq), dkeys (N, L, Hk), dvalues (N, L, Dv), dW (Hq, Hk) (None if W is None).
    """
    dweights = None if dweights is None else dweights[:, None]
    dquery, dkeys, dvalues, dW = temporal_dot_attention_backward(dcontext[:, None], cache, dweights)
    return dquery[:, 0], dkeys, dvalues, dW


@dataclass
class ProjectKeysCache:
    keys: np.ndarray  # (N, L, Hk)
    Wk: np.ndarray    # (Hk, A)


def project_keys_forward(keys, Wk):
    """keys Wk, the step-independent half of additive attention's scores: once per sequence.

    Inputs: keys (N, L, Hk), Wk (Hk, A). Returns: keys_proj (N, L, A), cache.
    """
    return keys @ Wk, ProjectKeysCache(keys, Wk)


def project_keys_backward(dkeys_proj, cache: ProjectKeysCache):
    """Inputs: dkeys_proj (N, L, A), summed over the decoder steps that used it.

    Returns: dkeys (N, L, Hk), dWk (Hk, A).
    """
    Hk, A = cache.Wk.shape
    dWk = cache.keys.reshape(-1, Hk).T @ dkeys_proj.reshape(-1, A)
    return dkeys_proj @ cache.Wk.T, dWk


@dataclass
class AdditiveAttentionCache:
    query: np.ndarray      # (N, Hq)
    values: np.ndarray     # (N, L, Dv)
    Wq: np.ndarray         # (Hq, A)
    v: np.ndarray          # (A,)
    hidden: np.ndarray     # (N, L, A) tanh(query Wq + keys_proj + b)
    softmax: SoftmaxCache  # weights (N, L)


def additive_attention_projected_forward(query, keys_proj, values, mask, Wq, b, v):
    """Additive attention for one query per example, with keys Wk already computed.

    Inputs: query (N, Hq), keys_proj (N, L, A) from project_keys_forward, values (N, L, Dv),
    mask (N, L) or None, Wq (Hq, A), b (A,), v (A,).
    Returns: context (N, Dv), weights (N, L), cache.
    """
    hidden = np.tanh((query @ Wq + b)[:, None, :] + keys_proj)      # (N, L, A)
    scores = hidden @ v                                              # (N, L)
    weights, softmax_cache = masked_softmax_forward(scores, mask)
    context = (weights[:, None, :] @ values)[:, 0]                   # (N, Dv)
    return context, weights, AdditiveAttentionCache(query, values, Wq, v, hidden, softmax_cache)


def additive_attention_projected_backward(dcontext, cache: AdditiveAttentionCache, dweights=None):
    """Inputs: dcontext (N, Dv), dweights (N, L) or None.

    Returns: dquery (N, Hq), dkeys_proj (N, L, A), dvalues (N, L, Dv), dWq (Hq, A), db (A,), dv (A,).
    """
    c = cache
    weights = c.softmax.weights
    dw = (c.values @ dcontext[:, :, None])[:, :, 0]                  # (N, L)
    if dweights is not None:
        dw = dw + dweights
    dvalues = weights[:, :, None] * dcontext[:, None, :]             # (N, L, Dv)
    dscores = masked_softmax_backward(dw, c.softmax)                 # (N, L)
    dv = np.tensordot(dscores, c.hidden, axes=([0, 1], [0, 1]))      # (A,)
    dpre = dscores[:, :, None] * c.v * (1.0 - c.hidden**2)           # (N, L, A), 0 where masked
    dquery_proj = dpre.sum(axis=1)                                   # (N, A): the query term is shared by all L
    return dquery_proj @ c.Wq.T, dpre, dvalues, c.query.T @ dquery_proj, dquery_proj.sum(axis=0), dv


@dataclass
class AdditiveFullCache:
    keys: ProjectKeysCache
    attend: AdditiveAttentionCache


def additive_attention_forward(query, keys, values, mask, Wq, Wk, b, v):
    """Additive attention for one query per example: project_keys then the projected form.

    Inputs: query (N, Hq), keys (N, L, Hk), values (N, L, Dv), mask (N, L) or None,
    Wq (Hq, A), Wk (Hk, A), b (A,), v (A,).
    Returns: context (N, Dv), weights (N, L), cache.
    """
    keys_proj, keys_cache = project_keys_forward(keys, Wk)
    context, weights, cache = additive_attention_projected_forward(query, keys_proj, values, mask, Wq, b, v)
    return context, weights, AdditiveFullCache(keys_cache, cache)


def additive_attention_backward(dcontext, cache: AdditiveFullCache, dweights=None):
    """Inputs: dcontext (N, Dv), dweights (N, L) or None.

    Returns: dquery (N, Hq), dkeys (N, L, Hk), dvalues (N, L, Dv), dWq (Hq, A), dWk (Hk, A),
    db (A,), dv (A,).
    """
    dquery, dkeys_proj, dvalues, dWq, db, dv = additive_attention_projected_backward(
        dcontext, cache.attend, dweights)
    dkeys, dWk = project_keys_backward(dkeys_proj, cache.keys)
    return dquery, dkeys, dvalues, dWq, dWk, db, dv
