"""The translation model in the NumPy engine (rnnkit/models/seq2seq/): every parameter's gradient
against central differences in float64 (sampled entries; tests/models/test_seq2seq_torch.py holds
every entry to autograd) for every cell x attention x encoder direction on ragged batches, with
2 layers, input feeding off, tied embeddings and dropout too; padding invariance;
evaluate's statistics; decode_step against teacher forcing; the spec's validation; and a model
that learns to reverse sequences, then translates held-out ones by greedy and beam search."""

import numpy as np
import pytest
from gradutil import assert_close
from seq2seq_data import BOS, EOS, ragged_batch, reversal

from rnnkit.errors import UsageError
from rnnkit.models.seq2seq.numpy_model import Seq2Seq
from rnnkit.models.seq2seq.spec import Seq2SeqSpec
from rnnkit.numpy_engine.losses import log_softmax
from rnnkit.numpy_engine.optim import Adam, clip_grad_norm
from rnnkit.runtime.blas import blas_threads_here

VS, VT = 7, 9


@pytest.fixture(autouse=True)
def one_blas_thread():
    """Tiny products: BLAS threads only cost time (and much of it on a busy machine)."""
    with blas_threads_here(1):
        yield


def float64_model(seed=0, **fields):
    """A small model with weights moved off their initial values (so no gradient is trivially 0)."""
    spec = Seq2SeqSpec(**{"src_vocab": VS, "tgt_vocab": VT, "embed": 3, "hidden": 4, "layers": 2, **fields})
    model = Seq2Seq.create(spec, seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed + 1)
    for p in model.params.values():
        p += 0.3 * rng.standard_normal(p.shape)
    return model


def check_model_gradients(model, batch, entries, rng_seed=None, h=1e-5):
    """Central differences at ``entries`` random entries of every parameter (all when None)."""
    def loss():
        rng = None if rng_seed is None else np.random.default_rng(rng_seed)  # the same dropout masks
        return model.loss(*batch, rng=rng)[0]

    _, grads, _ = model.loss(*batch, rng=None if rng_seed is None else np.random.default_rng(rng_seed))
    assert list(grads) == list(model.spec.param_shapes())
    pick = np.random.default_rng(7)
    for name, p in model.params.items():
        flat = range(p.size) if entries is None else pick.choice(p.size, min(entries, p.size), replace=False)
        for i in flat:
            ix = np.unravel_index(i, p.shape)
            old = p[ix]
            p[ix] = old + h
            up = loss()
            p[ix] = old - h
            down = loss()
            p[ix] = old
            numerical = (up - down) / (2 * h)
            assert abs(grads[name][ix] - numerical) <= 1e-8 + 1e-6 * abs(numerical), \
                f"d{name}{ix}: analytic {grads[name][ix]:.10g}, numerical {numerical:.10g}"
    return grads


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("attention", ["none", "additive", "dot"])
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_gradients_match_central_differences(cell, attention, bidirectional):
    model = float64_model(cell=cell, attention=attention, bidirectional=bidirectional, layers=1)
    batch = ragged_batch(np.random.default_rng(0), pad=None)
    grads = check_model_gradients(model, batch, entries=1)
    assert all(np.any(g != 0) for g in grads.values())


@pytest.mark.parametrize("fields", [
    {"input_feeding": False, "attention": "additive"},
    {"tie_embeddings": True, "attention": "dot"},                     # H != E: through out.proj
    {"tie_embeddings": True, "embed": 4, "attention": "additive"},    # H == E: the embedding itself
    {"cell": "rnn", "attention": "dot", "layers": 1},
    {"cell": "lnlstm", "attention": "additive", "layers": 1},
    {"cell": "lstm", "attention": "additive", "bidirectional": True},  # 2 layers: the bridge per layer
    {"cell": "gru", "attention": "dot", "bidirectional": True},
    {"cell": "mingru", "attention": "dot", "layers": 1},
    {"cell": "minlstm", "attention": "none", "layers": 1, "bidirectional": True},
], ids=["no-feeding", "tied-proj", "tied", "rnn", "lnlstm", "lstm-2-layers", "gru-2-layers", "mingru", "minlstm"])
def test_gradients_of_the_variants(fields):
    check_model_gradients(float64_model(seed=3, **fields), ragged_batch(np.random.default_rng(1)), entries=1)


def test_gradients_with_dropout():
    model = float64_model(seed=5, cell="lstm", attention="additive", bidirectional=True, dropout=0.3)
    check_model_gradients(model, ragged_batch(np.random.default_rng(2)), entries=2, rng_seed=11)


def test_padding_changes_nothing():
    model = float64_model(seed=2, attention="additive", bidirectional=True)
    rng = np.random.default_rng(3)
    batch = ragged_batch(rng)
    src, src_len, tgt_in, tgt_out, tgt_len = batch
    wider = (np.pad(src, ((0, 0), (0, 3)), constant_values=5), src_len,
             np.pad(tgt_in, ((0, 0), (0, 2)), constant_values=4), np.pad(tgt_out, ((0, 0), (0, 2)), constant_values=6),
             tgt_len)
    garbage = ragged_batch(np.random.default_rng(3), pad=None)  # the same real ids, random padding
    loss, grads, _ = model.loss(*batch)
    for other in (wider, garbage):
        loss2, grads2, _ = model.loss(*other)
        assert_close(loss2, loss, "loss", 1e-12)
        for name in grads:
            assert_close(grads2[name], grads[name], "d" + name, 1e-12)
    assert model.evaluate(*wider)[0] == pytest.approx(model.evaluate(*batch)[0], rel=1e-12)


def test_evaluate_sums_what_loss_averages():
    model = float64_model(seed=4)
    batch = ragged_batch(np.random.default_rng(4))
    stats, state = model.evaluate(*batch)
    loss, _, _ = model.loss(*batch)
    assert state is None and stats["tokens"] == int(batch[4].sum())
    assert stats["loss_sum"] / stats["tokens"] == pytest.approx(loss, rel=1e-12)
    logits, cache = model.forward(batch[0], batch[1], batch[2], batch[4])
    real = cache[3]
    assert stats["correct"] == int(np.sum(logits.argmax(axis=2)[real] == batch[3][real]))


@pytest.mark.parametrize("attention", ["none", "additive", "dot"])
def test_decode_steps_compute_what_teacher_forcing_computes(attention):
    model = float64_model(seed=6, attention=attention, bidirectional=True)
    src, src_len, tgt_in, _, tgt_len = ragged_batch(np.random.default_rng(5))
    full = np.full_like(tgt_len, tgt_in.shape[1])
    logits, _ = model.forward(src, src_len, tgt_in, full)
    state = model.encode(src, src_len)
    for t in range(tgt_in.shape[1]):
        log_probs, state = model.decode_step(tgt_in[:, t], state)
        expected = log_softmax(logits[:, t])
        expected[:, [0, BOS]] = -np.inf  # padding and <bos> are never generated
        assert_close(np.where(np.isinf(log_probs), 0, log_probs), np.where(np.isinf(expected), 0, expected),
                     f"step {t}", 1e-12)
        assert np.array_equal(np.isinf(log_probs), np.isinf(expected))
        if attention == "none":
            assert "attention" not in state
        else:
            weights = state["attention"]
            assert weights.shape == src.shape and np.allclose(weights.sum(axis=1), 1.0)
            assert not weights[np.arange(src.shape[1])[None, :] >= src_len[:, None]].any()


def test_spec_round_trips_and_refuses_bad_values():
    spec = Seq2SeqSpec(src_vocab=11, tgt_vocab=13, attention="dot", cell="gru", tie_embeddings=True)
    assert Seq2SeqSpec.from_json(spec.to_json()) == spec
    assert spec.vocab_size == 13 and spec.memory_size == 2 * spec.hidden
    names = list(spec.param_shapes())
    assert names[0] == "enc.embed.W" and "enc.rnn_rev.0.Wx" in names and "out.W" not in names
    assert set(spec.init_params(np.random.default_rng(0))) == set(names)
    bad = [{"attention": "luong"}, {"cell": "transformer"}, {"hidden": 0}, {"dropout": 1.0},
           {"bos_id": 0}, {"eos_id": 13}, {"bos_id": 2, "eos_id": 2}, {"input_feeding": "yes"}]
    for fields in bad:
        with pytest.raises(UsageError):
            Seq2SeqSpec(**{"src_vocab": 11, "tgt_vocab": 13, **fields})
    with pytest.raises(UsageError, match="tgt_vocab is missing"):
        Seq2SeqSpec.from_json({"src_vocab": 11})
    with pytest.raises(UsageError, match="unknown fields"):
        Seq2SeqSpec.from_json({**spec.to_json(), "heads": 8})


def test_bad_batches_are_value_errors():
    model = float64_model()
    src, src_len, tgt_in, tgt_out, tgt_len = ragged_batch(np.random.default_rng(0))
    with pytest.raises(ValueError, match="lengths"):
        model.loss(src, np.array([5, 0, 3]), tgt_in, tgt_out, tgt_len)
    with pytest.raises(ValueError, match="ids must lie"):
        model.loss(src + VS, src_len, tgt_in, tgt_out, tgt_len)
    with pytest.raises(ValueError, match="agree"):
        model.loss(src, src_len, tgt_in[:, :3], tgt_out, np.minimum(tgt_len, 3))


def test_a_small_model_learns_to_reverse_and_translates_held_out_sequences():
    rng = np.random.default_rng(0)
    spec = Seq2SeqSpec(src_vocab=10, tgt_vocab=10, embed=16, hidden=32, cell="gru", attention="dot",
                       bidirectional=True, bos_id=BOS, eos_id=EOS)
    model = Seq2Seq.create(spec, seed=0)
    opt = Adam(0.005)
    for step in range(300):
        loss, grads, _ = model.loss(*reversal(rng, 32))
        clip_grad_norm(grads, 1.0)
        opt.step(model.params, grads, lr=0.005 if step < 200 else 0.001)  # the decay makes it reliable
    assert loss < 0.05
    src, src_len, *_ = reversal(np.random.default_rng(99), 40)
    greedy = model.translate(src, src_len, beam=1)
    beam, attention = model.translate(src, src_len, beam=3, alpha=0.0, return_attention=True)
    for n in range(len(src)):
        expected = list(src[n, :src_len[n]][::-1])
        assert greedy[n].ids == expected and beam[n].ids == expected and beam[n].finished
        assert beam[n].log_prob >= greedy[n].log_prob - 1e-5  # float32 sums
        assert attention[n].shape == (src_len[n] + 1, src_len[n])
        # Reversal: the weights of output token t peak on source position len - 1 - t, or on
        # another position that holds the same token (either serves equally).
        peaks = attention[n][:-1].argmax(axis=1)
        assert np.array_equal(src[n, peaks], src[n, np.arange(src_len[n])[::-1]])


def test_translate_limits_length_and_returns_n_best():
    model = float64_model(seed=8, attention="additive")
    src, src_len, *_ = ragged_batch(np.random.default_rng(6))
    hyps = model.translate(src, src_len, beam=1, max_len=2)
    assert all(len(h.ids) <= 2 for h in hyps)
    pools = model.translate(src, src_len, beam=4, n_best=3, max_len=3)
    assert len(pools) == len(src) and all(1 <= len(p) <= 3 for p in pools)
    assert all(p[0].score >= p[-1].score for p in pools)
    default = model.translate(src, src_len, beam=2, max_ratio=0.5)  # at most ceil(0.5 len) + 10 tokens
    assert all(len(h.ids) <= np.ceil(0.5 * n) + 10 for h, n in zip(default, src_len))
    with pytest.raises(ValueError, match="beam"):
        model.translate(src, src_len, beam=0)
