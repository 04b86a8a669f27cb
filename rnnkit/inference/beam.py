"""Decoding a token sequence from a step function: greedy and batched beam search, in NumPy.

The model is seen only through

    step_fn(prev_ids (M,), state) -> (log_probs (M, V), new_state)

log_probs are log-probabilities of the next token (rows of a log-softmax, so every entry is <= 0;
-inf forbids a token). state is any nesting of tuples, lists and dicts whose leaves are NumPy arrays
with the M hypotheses on the first axis; other leaves (None, numbers, strings, 0-d arrays) are shared
by all hypotheses and passed through. Between steps the decoder calls ``reorder_state(state, index)``
to gather the surviving hypotheses from their parents and drop finished sentences, so M changes
from call to call: N at the first step (one <bos> per sentence), then K per sentence still searching.
Per-sentence constants the step needs (encoder outputs, their mask, projected attention keys) go in
the state for that reason: they are gathered along with it.

Scores. A hypothesis of n generated tokens y_1..y_n (<eos> counted when it ended with one; <bos> never):

    log P(y) = sum_t log p(y_t | y_<t)
    score(y) = log P(y) / lp(n),    lp(n) = ((5 + n) / 6) ** alpha        (GNMT, Wu et al. 2016)

alpha = 0 ranks by log P alone, which favours short outputs; larger alpha favours longer ones.

Beam search, for each sentence with beam size K (all sentences at once, M = N*K rows):
- every live hypothesis is extended by every token; the 2K best extensions by log P are kept. At
  most K of them end in <eos> (one per parent), so at least K do not.
- those ending in <eos> that rank among the K best are finished: they join the sentence's pool,
  which keeps the n_best best by score;
- the K best not ending in <eos> are the next live hypotheses;
- at max_len tokens the live hypotheses join the pool as they are (truncated, finished=False);
- the sentence stops early once its pool is full and no live hypothesis can beat its worst: log P
  only falls as a hypothesis grows, so a live one with log P = s and n tokens can at best reach
  s / lp(n') for some n' in (n, max_len], largest at one of the two ends. Stopping then never
  changes the result, only saves steps.
With K = 1 and alpha = 0 this is greedy decoding (ties aside); with K at least the number of
extensions at every step it is exhaustive search over all sequences up to max_len.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from numbers import Number

import numpy as np

StepFn = Callable[[np.ndarray, object], tuple[np.ndarray, object]]


@dataclass
class Hypothesis:
    """One decoded sequence. ids: the tokens generated, without <bos> and <eos>; log_prob: log P
    summed over them (and <eos>); score: what the search ranked by, log_prob / lp(n) (greedy
    decoding: log_prob); finished: True if it ended with <eos>, False if max_len cut it."""

    ids: list[int]
    score: float
    log_prob: float
    finished: bool


def gnmt_length_penalty(length, alpha: float):
    """lp(n) = ((5 + n) / 6) ** alpha, the divisor of log P (1 for n = 1 or alpha = 0)."""
    return ((5.0 + np.asarray(length, dtype=np.float64)) / 6.0) ** alpha


def _map_arrays(state, fn):
    """state with every array leaf of at least one dimension replaced by fn(leaf)."""
    if isinstance(state, np.ndarray):
        return fn(state) if state.ndim else state
    if isinstance(state, dict):
        return type(state)((k, _map_arrays(v, fn)) for k, v in state.items())
    if isinstance(state, tuple) and hasattr(state, "_fields"):  # a namedtuple takes fields, not an iterable
        return type(state)(*(_map_arrays(v, fn) for v in state))
    if isinstance(state, (tuple, list)):
        return type(state)(_map_arrays(v, fn) for v in state)
    if state is None or isinstance(state, (Number, str, bytes)):
        return state
    # A tensor or another container left as it is would silently pair hypotheses with the wrong state.
    raise TypeError(f"decoder state leaves must be NumPy arrays (or None, numbers, strings), "
                    f"got {type(state).__name__}")


def reorder_state(state, index):
    """Gather every array of a state along its first axis: leaf -> leaf[index].

    Inputs: state, a nesting of tuples (namedtuples too), lists and dicts of arrays (M, ...);
    index (M',) integers in [0, M), repeats allowed (a hypothesis with several surviving children).
    Returns the state with the same structure and arrays (M', ...); other leaves unchanged.
    """
    index = np.asarray(index, dtype=np.int64)
    return _map_arrays(state, lambda a: a[index])


def _batch_size(state, max_len) -> int:
    """N: the common first axis of the state's arrays; without arrays, len(max_len), else 1."""
    sizes: set[int] = set()
    _map_arrays(state, lambda a: sizes.add(a.shape[0]))
    if len(sizes) > 1:
        raise ValueError(f"the state's arrays disagree on the first (batch) axis: {sorted(sizes)}")
    if sizes:
        return sizes.pop()
    return len(max_len) if np.ndim(max_len) else 1


def _max_lengths(max_len, N: int) -> np.ndarray:
    """max_len (an int, or one per sentence) as an (N,) int64 array of values >= 1."""
    limits = np.asarray(max_len)
    if limits.ndim == 0:
        limits = np.full(N, limits)
    if limits.shape != (N,) or limits.size == 0 or not np.all(limits == np.floor(limits)) or limits.min() < 1:
        raise ValueError(f"max_len must be an integer >= 1 or {N} of them, got {max_len!r}")
    return limits.astype(np.int64)


def _call(step_fn: StepFn, prev: np.ndarray, state):
    log_probs, state = step_fn(prev, state)
    log_probs = np.asarray(log_probs, dtype=np.float64)
    if log_probs.ndim != 2 or log_probs.shape[0] != prev.shape[0]:
        raise ValueError(f"step_fn must return log_probs of shape (M, V) with M = {prev.shape[0]}, "
                         f"got {log_probs.shape}")
    return log_probs, state


def greedy_decode(step_fn: StepFn, init_state, bos_id: int, eos_id: int, max_len) -> list[Hypothesis]:
    """The most probable token at every step, for N sentences at once.

    Inputs: step_fn as in the module docstring; init_state with first axis N; bos_id, eos_id;
    max_len an int or (N,) ints, the most tokens generated per sentence (<eos> included).
    Returns: N hypotheses (score = log_prob).
    """
    N = _batch_size(init_state, max_len)
    limits = _max_lengths(max_len, N)
    ids: list[list[int]] = [[] for _ in range(N)]
    log_p = np.zeros(N)
    finished = np.zeros(N, dtype=bool)
    active = np.arange(N)                        # sentences still decoding, in the state's row order
    prev = np.full(N, bos_id, dtype=np.int64)
    state, t = init_state, 0
    while active.size:
        t += 1
        log_probs, state = _call(step_fn, prev, state)
        token = log_probs.argmax(axis=1)
        gain = log_probs[np.arange(active.size), token]
        if not np.all(np.isfinite(gain)):
            raise ValueError("step_fn gave a row without a single finite log-probability")
        log_p[active] += gain
        ends = token == eos_id
        finished[active[ends]] = True
        for s, tok in zip(active[~ends], token[~ends]):
            ids[s].append(int(tok))
        keep = np.flatnonzero(~ends & (limits[active] > t))
        if keep.size < active.size:
            state = reorder_state(state, keep)
        prev, active = token[keep], active[keep]
    return [Hypothesis(ids[s], float(log_p[s]), float(log_p[s]), bool(finished[s])) for s in range(N)]


def _top(cand: np.ndarray, c: int) -> np.ndarray:
    """Column indices of each row's c largest entries, largest first (ties: lower index first)."""
    if c < cand.shape[1]:
        idx = np.sort(np.argpartition(-cand, c - 1, axis=1)[:, :c], axis=1)
    else:
        idx = np.broadcast_to(np.arange(cand.shape[1]), cand.shape)
    order = np.argsort(-np.take_along_axis(cand, idx, axis=1), axis=1, kind="stable")
    return np.take_along_axis(idx, order, axis=1)


def _offer(pool: list[Hypothesis], ids: np.ndarray, log_prob: float, n: int, alpha: float,
           finished: bool, n_best: int) -> None:
    """Add a hypothesis of n tokens to a pool kept sorted best first and at most n_best long (ties:
    the earlier first)."""
    score = float(log_prob / gnmt_length_penalty(n, alpha))
    pool.append(Hypothesis(ids.tolist(), score, float(log_prob), finished))
    pool.sort(key=lambda h: -h.score)
    del pool[n_best:]


def beam_search(step_fn: StepFn, init_state, bos_id: int, eos_id: int, beam_size: int, max_len,
                length_penalty: float = 0.0, n_best: int = 1) -> list[list[Hypothesis]]:
    """Beam search for N sentences at once, as in the module docstring.

    Inputs: step_fn; init_state with first axis N; bos_id, eos_id; beam_size K >= 1;
    max_len an int or (N,) ints, the most tokens generated per sentence (<eos> included);
    length_penalty alpha of lp(n) (0: rank by log P); n_best in [1, K] hypotheses to return.
    Returns: for each sentence its up to n_best hypotheses, best score first (fewer only when fewer
    sequences of finite log P exist), so ``result[i][0].ids`` is sentence i's translation.
    """
    if beam_size < 1 or not 1 <= n_best <= beam_size:
        raise ValueError(f"need beam_size >= 1 and 1 <= n_best <= beam_size, got {beam_size}, {n_best}")
    N = _batch_size(init_state, max_len)
    limits = _max_lengths(max_len, N)
    K = beam_size
    pools: list[list[Hypothesis]] = [[] for _ in range(N)]
    active = np.arange(N)                          # sentences still searching
    log_p = np.zeros((N, 1))                       # (n, k) live hypotheses' log P; -inf: an empty slot
    tokens = np.zeros((N, 1, 0), dtype=np.int64)   # (n, k, t) their tokens
    prev = np.full(N, bos_id, dtype=np.int64)
    state = init_state
    for t in range(1, int(limits.max()) + 1):      # t: tokens in a hypothesis after this step
        log_probs, state = _call(step_fn, prev, state)
        n, k = log_p.shape
        V = log_probs.shape[1]
        cand = (log_p[:, :, None] + log_probs.reshape(n, k, V)).reshape(n, k * V)
        top = _top(cand, min(2 * K, k * V))                                  # (n, c) ranked
        top_lp = np.take_along_axis(cand, top, axis=1)
        parent, token = np.divmod(top, V)
        ends = token == eos_id
        finite = np.isfinite(top_lp)
        finished = ends & finite & (np.arange(top.shape[1]) < K)
        for i, j in zip(*np.nonzero(finished)):
            _offer(pools[active[i]], tokens[i, parent[i, j]], top_lp[i, j], t, length_penalty, True, n_best)
        going = ~ends & finite
        if top.shape[1] < K:   # fewer extensions than slots (tiny V): pad with empty slots
            pad = ((0, 0), (0, K - top.shape[1]))
            top_lp, parent = np.pad(top_lp, pad, constant_values=-np.inf), np.pad(parent, pad)
            token, going = np.pad(token, pad, constant_values=bos_id), np.pad(going, pad)
        pick = np.argsort(~going, axis=1, kind="stable")[:, :K]   # the K best not ending, in rank order
        alive = np.take_along_axis(going, pick, axis=1)                      # (n, K)
        log_p = np.where(alive, np.take_along_axis(top_lp, pick, axis=1), -np.inf)
        parent = np.take_along_axis(parent, pick, axis=1)
        # Empty slots are fed <bos>, any valid id: their extensions score -inf and are never kept.
        token = np.where(alive, np.take_along_axis(token, pick, axis=1), bos_id)
        tokens = np.concatenate([tokens[np.arange(n)[:, None], parent], token[:, :, None]], axis=2)

        at_limit = limits[active] == t
        for i in np.flatnonzero(at_limit):
            for j in np.flatnonzero(alive[i]):
                _offer(pools[active[i]], tokens[i, j], log_p[i, j], t, length_penalty, False, n_best)
        best = log_p[:, 0]                                                   # alive slots come first
        reach = np.maximum(best / gnmt_length_penalty(t + 1, length_penalty),
                           best / gnmt_length_penalty(limits[active], length_penalty))
        worst = np.array([pools[s][-1].score if len(pools[s]) == n_best else -np.inf for s in active])
        done = at_limit | ~alive[:, 0] | (reach <= worst)
        keep = np.flatnonzero(~done)
        if keep.size == 0:
            break
        state = reorder_state(state, (keep[:, None] * k + parent[keep]).ravel())
        log_p, tokens, prev, active = log_p[keep], tokens[keep], token[keep].ravel(), active[keep]
    return pools
