"""An ensemble of decoders as one step function for rnnkit/inference/beam.py.

K models trained alike (different seeds, say) decode together: at every step each member gives
its next-token log-probabilities from its own state, and the ensemble's are the log of their mean
probability,

    log p(y_t | y_<t) = log( (1/K) sum_k p_k(y_t | y_<t) )
                      = m + log( (1/K) sum_k exp(log p_k - m) ),    m = max_k log p_k

(the max taken out so that exp never underflows all K terms; a token every member forbids keeps
log-probability -inf). The rows still sum to one, so beam search and its length normalisation read
them as they read one model's. Averaging probabilities rather than log-probabilities keeps a word
that one member is sure of and the others doubt, where a product would let one member's doubt
veto it.

The ensemble's state is the tuple of the members' states; beam search gathers every member's
hypotheses with it, so all members follow the same hypotheses.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rnnkit.inference.beam import StepFn


def mean_probabilities(log_probs: np.ndarray) -> np.ndarray:
    """log of the mean of exp(log_probs) over axis 0: (K, M, V) -> (M, V), -inf where all are -inf."""
    log_probs = np.asarray(log_probs, dtype=np.float64)
    top = log_probs.max(axis=0)
    shift = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):   # log(0) = -inf where every member forbids the token
        return shift + np.log(np.exp(log_probs - shift).mean(axis=0))


def ensemble_step(step_fns: Sequence[StepFn]) -> StepFn:
    """``step(prev_ids (M,), states) -> (log_probs (M, V), states)`` of the members' mean
    probability; ``states`` is a tuple with one state per member, in the order of ``step_fns``."""
    if not step_fns:
        raise ValueError("an ensemble needs at least one member")

    def step(prev_ids, states):
        if len(states) != len(step_fns):
            raise ValueError(f"{len(step_fns)} members but {len(states)} states")
        results = [fn(prev_ids, state) for fn, state in zip(step_fns, states)]
        shapes = {np.shape(lp) for lp, _ in results}
        if len(shapes) != 1:
            raise ValueError(f"the members disagree on the vocabulary: log-probability shapes {sorted(shapes)}")
        return mean_probabilities(np.stack([lp for lp, _ in results])), tuple(s for _, s in results)

    return step
