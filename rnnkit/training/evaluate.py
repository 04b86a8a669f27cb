"""Bits per character of a model over a whole token array, whatever the engine.

The tokens are read as ``batch`` contiguous streams (rnnkit.data.iter_eval_batches) with the hidden
state carried from chunk to chunk, so every character is predicted from everything before it in its
stream, as in training; the few characters left over continue the last stream.
"""

from __future__ import annotations

import numpy as np

from rnnkit.data.streams import iter_eval_batches


def _last_row(state):
    """The state of the last stream, (1, H) per tensor: the remainder continues that stream."""
    return [tuple(s[-1:] for s in layer) for layer in state]


def evaluate_tokens(runtime, tokens, batch: int = 64, seq_len: int = 128, max_chars: int | None = None):
    """Summed cross-entropy over ``tokens`` (optionally only the first ``max_chars`` targets).

    Returns: (nats, count): the total negative log-likelihood in nats and how many characters it
    covers. Bits per character = nats / count / ln 2.
    """
    tokens = np.asarray(tokens) if max_chars is None else np.asarray(tokens[: max_chars + 1])
    state = runtime.init_state(batch)
    nats, count = 0.0, 0
    for x, y in iter_eval_batches(tokens, batch, seq_len):
        if x.shape[0] != len(state[0][0]):
            state = _last_row(state)
        stats, state = runtime.evaluate((x, y), state)
        nats += stats["nats"]
        count += y.size
    return nats, count
