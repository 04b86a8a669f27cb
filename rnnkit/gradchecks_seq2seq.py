"""Gradient checks of the translation model (rnnkit/models/seq2seq/): rows of the ``rnnkit
gradcheck`` table (rnnkit/gradchecks.py runs them with the others).

The whole model through its real loss, summed over the target tokens (so that its gradients stand
well above the finite-difference noise), on a ragged batch with random ids in the padding, with
weights drawn N(0, 1), larger than at initialisation, so that the attention's gradients too are of
order one (at half that scale some fall to where central differences are mostly noise). The
problems are drawn from a fixed seed, not from the table's generator, so that the rows do not
change when checks are added before them. Two models, one per attention
(additive, dot; none is the same code without it), between them both cells, both encoder
directions, two layers, input feeding on and off and a tied output layer; tests/models/test_seq2seq_numpy.py checks every combination
and tests/models/test_seq2seq_torch.py holds every gradient to autograd.
"""

from __future__ import annotations

import numpy as np

from rnnkit.models.seq2seq.numpy_model import Seq2Seq
from rnnkit.models.seq2seq.spec import Seq2SeqSpec
from rnnkit.numpy_engine.gradcheck import eval_numerical_gradient, rel_error, rel_error_norm

SRC_LEN, TGT_LEN = np.array([4, 2, 3]), np.array([3, 1, 2])
VS, VT, S, T = 5, 6, 4, 3
CONFIGS = (
    {"cell": "lstm", "attention": "additive", "bidirectional": True},
    {"cell": "gru", "attention": "dot", "layers": 2, "tie_embeddings": True, "input_feeding": False},
)


def _batch(rng):
    def ids(lengths, vocab, steps):
        return rng.integers(0, vocab, (len(lengths), steps))  # padding random too: it must not matter

    return ids(SRC_LEN, VS, S), SRC_LEN, ids(TGT_LEN, VT, T), ids(TGT_LEN, VT, T), TGT_LEN


def check_seq2seq(rng, **fields) -> dict:
    spec = Seq2SeqSpec(src_vocab=VS, tgt_vocab=VT, embed=2, hidden=2, **fields)
    model = Seq2Seq.create(spec, seed=int(rng.integers(1 << 30)), dtype=np.float64)
    for value in model.params.values():
        value[...] = rng.standard_normal(value.shape)
    batch = _batch(rng)
    scale = float(TGT_LEN.sum())  # the summed loss
    _, grads, _ = model.loss(*batch)
    loss = lambda _: model.loss(*batch)[0] * scale  # noqa: E731
    name = f"seq2seq {spec.cell} {spec.attention}" + (" bi" if spec.bidirectional else "") + \
        (f" x{spec.layers}" if spec.layers > 1 else "") + (" tied" if spec.tie_embeddings else "") + \
        ("" if spec.input_feeding else " no-feeding")
    results = {}
    for k, p in model.params.items():
        numerical = eval_numerical_gradient(loss, p)
        analytic = grads[k] * scale
        results[(name, k)] = (1.0, 1.0) if np.linalg.norm(numerical) < 1e-9 else \
            (rel_error_norm(analytic, numerical), rel_error(analytic, numerical))
    return results


#: The seed of the problems (see the module notes).
SEED = 1


def run_seq2seq(rng=None) -> dict:
    """Every row; ``rng`` is accepted like the other checks' and unused (the problems are fixed)."""
    rng = np.random.default_rng(SEED)
    results = {}
    for fields in CONFIGS:
        results.update(check_seq2seq(rng, **fields))
    return results
