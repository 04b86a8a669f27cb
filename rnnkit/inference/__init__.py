"""Inference shared by every sequence model and both engines: decoding over a step function.

``greedy_decode`` and ``beam_search`` (with GNMT length normalisation, per-sentence ``max_len`` and
n-best lists) see a model only as ``step_fn(prev_ids, state) -> (log_probs, state)``, in NumPy;
``reorder_state`` gathers such a state's hypotheses by index; ``ensemble_step`` makes several
models' step functions one (the mean of their probabilities). Sampling with a temperature is
``rnnkit.sampling``.
"""

from rnnkit.inference.beam import Hypothesis, beam_search, gnmt_length_penalty, greedy_decode, reorder_state
from rnnkit.inference.ensemble import ensemble_step

__all__ = ["Hypothesis", "beam_search", "ensemble_step", "gnmt_length_penalty", "greedy_decode", "reorder_state"]
