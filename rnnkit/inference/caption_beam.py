"""Captions from a trained captioner: greedy decoding and beam search of rnnkit/inference/beam.py,
driven by the NumPy engine's decoder step.

Dimensions: N images, M live hypotheses, L grid locations, C feature width, H hidden size, V words.

The shared search sees the captioner through ``step_fn(prev_ids (M,), state) -> (log_probs (M, V),
state)``. The state is a dict of arrays with the hypotheses on axis 0, so the search gathers it
when it reorders hypotheses:

    "rnn"   the stack's state, one tuple (h,) or (h, c) of (M, H) per layer, from
            h_0 = features feat.W + feat.b (rnnkit/models/captioner/spec.py)
    "grid"  (M, L, C) the encoder's grid, or the given feature grid (soft attention only)
    "keys"  (M, L, A) grid att.Wk, projected once per image (soft attention only)

A step embeds the previous word, runs the stack one step (with attention: the context of h_{t-1}
over the grid joins layer 0's input, ``soft_greedy_step``), and returns log softmax(h head.W +
head.b) in float64 with ``<pad>``, ``<start>`` and ``<unk>`` at -inf: a caption never contains them.

Both engines decode here: a torch runtime's weights are read out as NumPy arrays
(``runtime.params_numpy()``), so a caption is the same words whichever engine trained or loaded the
model, and decoding needs no torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rnnkit.inference.beam import Hypothesis, beam_search, greedy_decode
from rnnkit.inference.ensemble import ensemble_step
from rnnkit.models.captioner.numpy_model import Captioner
from rnnkit.models.captioner.soft_attention import soft_greedy_step
from rnnkit.numpy_engine.losses import log_softmax
from rnnkit.numpy_engine.step import stack_step_forward

#: Images decoded at once (beam search holds K rows per image).
DECODE_BATCH = 64


def numpy_captioner(runtime) -> Captioner:
    """The runtime's captioner as a NumPy model (the NumPy runtime's own; a copy of a torch one's weights)."""
    model = getattr(runtime, "model", None)
    if isinstance(model, Captioner):
        return model
    return Captioner(runtime.spec, {k: np.asarray(v) for k, v in runtime.params_numpy().items()})


def start_state(model: Captioner, images: np.ndarray) -> dict:
    """The decoder's state before the first word for images (N, Hi, Wi, C_0), or feature grids
    (N, h, w, C) for a model of grids (module docstring)."""
    p, spec = model.params, model.spec
    images = np.asarray(images, dtype=model.dtype)
    features, grid, _ = model.encode(images)
    state = {"rnn": model.initial_state(features)}
    if spec.attention == "soft":
        a = np.ascontiguousarray(grid.reshape(grid.shape[0], -1, grid.shape[-1]))     # (N, L, C)
        state.update(grid=a, keys=a @ p["att.Wk"])                                      # keys (N, L, A)
    return state


def step_function(model: Captioner, forbidden=()):
    """``step_fn(prev_ids (M,), state) -> (log_probs (M, V) float64, state)`` for the shared search;
    the ids in ``forbidden`` get log-probability -inf."""
    p, spec = model.params, model.spec
    forbidden = np.asarray(forbidden, dtype=np.int64)

    def step(prev_ids, state):
        x = p["embed.W"][np.asarray(prev_ids, dtype=np.int64)]                          # (M, E)
        if spec.attention == "soft":
            h, rnn, _ = soft_greedy_step(x, state["rnn"], state["keys"], state["grid"], p, spec)
        else:
            h, rnn, _ = stack_step_forward(x, state["rnn"], p, spec.recurrent)
        log_probs = log_softmax((h @ p["head.W"] + p["head.b"]).astype(np.float64))     # (M, V)
        log_probs[:, forbidden] = -np.inf
        return log_probs, dict(state, rnn=rnn)

    return step


def decode(model: Captioner | Sequence[Captioner], images: np.ndarray, start_id: int, end_id: int, max_len: int,
           beam: int = 1, alpha: float = 0.0, forbidden=()) -> list[Hypothesis]:
    """The best caption of each image (N, Hi, Wi, C_0) or feature grid (N, h, w, C): greedy for
    ``beam`` 1, else beam search with GNMT length normalisation ``alpha``; at most ``max_len`` words
    (``<end>`` counted). Images go through in batches of :data:`DECODE_BATCH`.

    ``model`` may be a list of captioners of one vocabulary and input shape: they decode as an
    ensemble, the mean of their probabilities at every step (rnnkit/inference/ensemble.py)."""
    if isinstance(beam, bool) or not isinstance(beam, int) or beam < 1:
        raise ValueError(f"beam must be a positive integer, got {beam!r}")
    members = [model] if isinstance(model, Captioner) else list(model)
    single = len(members) == 1
    step = step_function(members[0], forbidden) if single else ensemble_step([step_function(m, forbidden)
                                                                              for m in members])
    best = []
    for first in range(0, len(images), DECODE_BATCH):
        states = tuple(start_state(m, images[first:first + DECODE_BATCH]) for m in members)
        state = states[0] if single else states
        if beam == 1:
            best += greedy_decode(step, state, start_id, end_id, max_len)
        else:
            best += [pool[0] for pool in beam_search(step, state, start_id, end_id, beam, max_len,
                                                     length_penalty=alpha)]
    return best


def attention_of(model: Captioner, image: np.ndarray, word_ids, start_id: int) -> np.ndarray:
    """Soft attention's weights (n + 1, L) while the captioner reads ``<start> word_ids`` for one
    image (Hi, Wi, C_0) or feature grid (h, w, C): row t is where it looked when it wrote word t
    (the last row: ``<end>``).
    Teacher-forced, so these are the weights of exactly the given caption."""
    words_in = np.array([[start_id, *word_ids]], dtype=np.int64)
    return model.attention(np.asarray(image, dtype=model.dtype)[None], words_in)[0]
