"""The translation model in the torch engine: the shared parameter format, float64 parity with the
NumPy engine's hand-written backward (loss and every entry of every gradient, for every cell x
attention x encoder direction and the variants, fused and explicit encoders, ragged batches),
evaluate, decoding (the same hypotheses, log-probabilities and attention from either engine), the
round trip through arrays, and dropout only when training."""

import numpy as np
import pytest
from gradutil import assert_close
from seq2seq_data import ragged_batch, reversal

torch = pytest.importorskip("torch")

from rnnkit.models.seq2seq.numpy_model import Seq2Seq  # noqa: E402
from rnnkit.models.seq2seq.spec import Seq2SeqSpec  # noqa: E402
from rnnkit.models.seq2seq.torch_model import TorchSeq2Seq  # noqa: E402
from rnnkit.runtime.blas import blas_threads_here  # noqa: E402
from rnnkit.torch_engine.options import TorchOptions  # noqa: E402

VS, VT = 7, 9
PARITY = 1e-9


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors and arrays: one thread each (a busy machine makes thread waits costly)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with blas_threads_here(1):
        yield
    torch.set_num_threads(before)


def numpy_model(seed=0, **fields):
    spec = Seq2SeqSpec(**{"src_vocab": VS, "tgt_vocab": VT, "embed": 3, "hidden": 4, "layers": 2, **fields})
    model = Seq2Seq.create(spec, seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed + 1)
    for p in model.params.values():
        p += 0.3 * rng.standard_normal(p.shape)
    return model


def assert_parity(model, batch, options=None):
    loss, grads, _ = model.loss(*batch)
    twin = TorchSeq2Seq.from_arrays(model.spec, model.params, options, dtype=torch.float64)
    assert list(twin.param_shapes().items()) == list(model.spec.param_shapes().items())
    twin_loss, state = twin.loss(*batch)
    assert state is None
    twin_loss.backward()
    assert_close(twin_loss.item(), loss, "loss", PARITY)
    for name, p in twin.named_parameters():
        assert_close(p.grad.numpy(), grads[name], "d" + name, PARITY)
    return twin


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("attention", ["none", "additive", "dot"])
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_loss_and_every_gradient_equal_the_numpy_engine(cell, attention, bidirectional):
    model = numpy_model(cell=cell, attention=attention, bidirectional=bidirectional)
    twin = assert_parity(model, ragged_batch(np.random.default_rng(0), pad=None))
    assert twin.uses_fused


@pytest.mark.parametrize("fields", [
    {"input_feeding": False},
    {"tie_embeddings": True, "attention": "dot"},
    {"tie_embeddings": True, "embed": 4},
    {"cell": "rnn", "attention": "dot"},
    {"cell": "lnlstm", "layers": 1, "bidirectional": True},
    {"cell": "mingru", "layers": 1},
    {"cell": "minlstm", "layers": 1, "attention": "none"},
], ids=["no-feeding", "tied-proj", "tied", "rnn", "lnlstm", "mingru", "minlstm"])
def test_parity_of_the_variants(fields):
    assert_parity(numpy_model(seed=2, **fields), ragged_batch(np.random.default_rng(1)))


def test_the_explicit_encoder_computes_what_the_fused_one_computes():
    model = numpy_model(seed=3, cell="lstm", bidirectional=True)
    twin = assert_parity(model, ragged_batch(np.random.default_rng(2)), TorchOptions(path="explicit"))
    assert not twin.uses_fused


def test_full_length_rows_and_evaluate():
    model = numpy_model(seed=4, attention="dot", bidirectional=True)
    batch = ragged_batch(np.random.default_rng(3), src_len=[5, 5, 5], tgt_len=[4, 4, 4])
    twin = assert_parity(model, batch)
    batch = ragged_batch(np.random.default_rng(4))
    stats, _ = model.evaluate(*batch)
    twin_stats, state = TorchSeq2Seq.from_arrays(model.spec, model.params, dtype=torch.float64).evaluate(*batch)
    assert state is None and twin_stats["tokens"] == stats["tokens"] and twin_stats["correct"] == stats["correct"]
    assert twin_stats["loss_sum"] == pytest.approx(stats["loss_sum"], rel=1e-12)
    tensors = tuple(torch.as_tensor(a) for a in batch)  # what the torch runtime hands the model
    assert twin.evaluate(*tensors)[0]["tokens"] == stats["tokens"]


@pytest.mark.parametrize("attention", ["none", "additive", "dot"])
def test_both_engines_decode_alike(attention):
    model = numpy_model(seed=5, attention=attention, bidirectional=True, cell="gru")
    twin = TorchSeq2Seq.from_arrays(model.spec, model.params, dtype=torch.float64)
    src, src_len, *_ = ragged_batch(np.random.default_rng(5))
    for beam in (1, 3):
        ours, attn = model.translate(src, src_len, beam=beam, max_len=6, return_attention=True)
        theirs, twin_attn = twin.translate(src, src_len, beam=beam, max_len=6, return_attention=True)
        for a, b in zip(ours, theirs):
            assert a.ids == b.ids and a.finished == b.finished
            assert a.log_prob == pytest.approx(b.log_prob, abs=1e-10)
        for a, b in zip(attn, twin_attn):
            assert (a is None and b is None) or np.allclose(a, b, atol=1e-12)
    state, twin_state = model.encode(src, src_len), twin.encode(src, src_len)
    assert sorted(state) == sorted(twin_state)
    assert all(isinstance(a, np.ndarray) for a in twin_state.values() if not isinstance(a, list))


def test_arrays_round_trip_between_the_engines():
    model = numpy_model(seed=6, attention="additive", tie_embeddings=True)
    twin = TorchSeq2Seq.from_arrays(model.spec, model.params)  # float32
    back = twin.to_arrays(np.float64)
    assert list(back) == list(model.params)
    for name in back:
        assert_close(back[name], model.params[name], name, 1e-6)
    created = TorchSeq2Seq.create(model.spec, seed=9, dtype=torch.float64).to_arrays(np.float64)
    expected = Seq2Seq.create(model.spec, seed=9, dtype=np.float64).params
    assert all(np.array_equal(created[k], expected[k]) for k in expected)


def test_dropout_only_when_training_and_the_model_learns():
    spec = Seq2SeqSpec(src_vocab=10, tgt_vocab=10, embed=8, hidden=16, cell="gru", attention="additive",
                       dropout=0.3, layers=2)
    torch.manual_seed(0)
    twin = TorchSeq2Seq.create(spec, seed=0)
    batch = reversal(np.random.default_rng(0), 16)
    twin.eval()
    assert twin.loss(*batch)[0].item() == twin.loss(*batch)[0].item()
    evaluated = twin.evaluate(*batch)[0]
    twin.train()
    assert twin.loss(*batch)[0].item() != twin.loss(*batch)[0].item()
    assert twin.evaluate(*batch)[0] == evaluated  # evaluate never drops, whatever the module's mode
    opt = torch.optim.Adam(twin.parameters(), lr=0.02)
    first = None
    for _ in range(30):
        loss, _ = twin.loss(*batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.item() < 0.7 * first
