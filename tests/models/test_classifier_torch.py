"""The sequence classifier in the torch engine: the shared parameter format, float64 parity with the
NumPy engine (loss and every gradient, fused and explicit paths, ragged batches, both directions,
every pool), padding invariance, cells without a fused kernel, and the round trip through arrays."""

import numpy as np
import pytest
from gradutil import assert_close

torch = pytest.importorskip("torch")

from rnnkit.errors import UsageError  # noqa: E402
from rnnkit.models.classifier.numpy_model import Classifier  # noqa: E402
from rnnkit.models.classifier.spec import ClassifierSpec  # noqa: E402
from rnnkit.models.classifier.torch_model import TorchClassifier  # noqa: E402
from rnnkit.torch_engine.bidirectional import reverse_index, reverse_rows  # noqa: E402
from rnnkit.torch_engine.options import TorchOptions  # noqa: E402

N, T, H, E, V, C = 3, 5, 3, 3, 7, 3
LENGTHS = np.array([5, 2, 4])
PARITY = 1e-9


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: one thread. With several, every op waits for all of them, and on a busy
    machine a descheduled thread turns milliseconds into seconds."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def ragged_batch(rng, lengths=LENGTHS, steps=T):
    """ids (N, T) with random ids in the padding too (they must not matter), mask, labels."""
    mask = np.arange(steps)[None, :] < np.asarray(lengths)[:, None]
    return rng.integers(0, V, (len(lengths), steps)), mask, rng.integers(0, C, len(lengths))


def spec_of(**fields):
    return ClassifierSpec(**{"vocab_size": V, "embed_dim": E, "hidden": H, "classes": C, **fields})


def random_arrays(spec, seed=1):
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(s) * 0.5 for k, s in spec.param_shapes().items()}


def torch_model(spec, arrays, path="auto"):
    return TorchClassifier.from_arrays(spec, arrays, TorchOptions(path=path), dtype=torch.float64)


def torch_loss_and_grads(model, ids, mask, labels):
    model.zero_grad()
    loss, state = model.loss(ids, mask, labels)
    loss.backward()
    assert state is None
    return loss.item(), {name: p.grad.numpy() for name, p in model.named_parameters()}


@pytest.mark.parametrize("cell", ["lstm", "gru", "lnlstm", "mingru"])
def test_named_parameters_are_the_spec_in_order(cell):
    spec = spec_of(cell=cell, layers=3, bidirectional=True)
    model = TorchClassifier(spec)
    assert model.param_shapes() == spec.param_shapes()
    assert list(model.param_shapes()) == list(spec.param_shapes())
    assert [p.shape for p in model.parameters()] == [torch.Size(s) for s in spec.param_shapes().values()]


@pytest.mark.parametrize("path", ["fused", "explicit"])
@pytest.mark.parametrize("pool", ["last", "mean", "max"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_float64_parity_with_the_numpy_engine(cell, layers, bidirectional, pool, path):
    spec = spec_of(cell=cell, layers=layers, bidirectional=bidirectional, pool=pool, dropout=0.3)
    arrays = random_arrays(spec)
    ids, mask, labels = ragged_batch(np.random.default_rng(2))
    reference = Classifier(spec, {k: v.copy() for k, v in arrays.items()})
    loss, grads, _ = reference.loss(ids, mask, labels)  # no rng: no dropout
    model = torch_model(spec, arrays, path).eval()        # eval: no dropout
    assert model.uses_fused == (path == "fused")
    torch_loss, torch_grads = torch_loss_and_grads(model, ids, mask, labels)
    assert torch_loss == pytest.approx(loss, rel=PARITY)
    for name, grad in grads.items():
        assert_close(torch_grads[name], grad, name, PARITY)


def test_dropout_is_applied_only_when_training():
    spec = spec_of(layers=2, bidirectional=True, pool="mean", dropout=0.5)
    model = torch_model(spec, random_arrays(spec))
    ids, mask, labels = ragged_batch(np.random.default_rng(3))
    torch.manual_seed(0)
    losses = {model.loss(ids, mask, labels)[0].item() for _ in range(3)}
    assert len(losses) == 3
    model.eval()
    assert model.loss(ids, mask, labels)[0].item() == model.loss(ids, mask, labels)[0].item()
    model.train()  # evaluate and predict_proba never drop, whatever the mode
    stats, _ = model.evaluate(ids, mask, labels)
    reference = Classifier(spec, random_arrays(spec))
    assert stats["nats"] == pytest.approx(reference.evaluate(ids, mask, labels)[0]["nats"], rel=PARITY)
    assert_close(model.predict_proba(ids, mask).numpy(), reference.predict_proba(ids, mask), tol=PARITY)


@pytest.mark.parametrize("cell,path", [("lstm", "fused"), ("gru", "explicit"), ("lnlstm", "auto"),
                                       ("mingru", "auto"), ("minlstm", "auto")])
@pytest.mark.parametrize("pool", ["last", "mean", "max"])
def test_padding_changes_no_probability_or_gradient(cell, path, pool):
    """Each row alone, unpadded, gives the probabilities of its row in a ragged bidirectional batch
    (whatever ids fill the padding), and the batch's gradient is the mean of the rows' own."""
    spec = spec_of(cell=cell, layers=2, bidirectional=True, pool=pool)
    model = torch_model(spec, random_arrays(spec), path)
    ids, mask, labels = ragged_batch(np.random.default_rng(4), steps=T + 2)
    proba = model.predict_proba(ids, mask).numpy()
    _, grads = torch_loss_and_grads(model, ids, mask, labels)
    assert_close(model.predict_proba(np.where(mask, ids, (ids + 3) % V), mask).numpy(), proba)
    mean = {name: np.zeros_like(g) for name, g in grads.items()}
    for n, length in enumerate(LENGTHS):
        row = (ids[n:n + 1, :length], mask[n:n + 1, :length])
        assert_close(model.predict_proba(*row).numpy(), proba[n:n + 1], f"row {n}", 1e-12)
        for name, g in torch_loss_and_grads(model, *row, labels[n:n + 1])[1].items():
            mean[name] += g / len(LENGTHS)
    for name, g in grads.items():
        assert_close(g, mean[name], name, 1e-12)


@pytest.mark.parametrize("cell", ["lnlstm", "minlstm", "gru"])
def test_last_pool_reads_each_direction_after_the_whole_row(cell):
    """The head reads [forward cell over the row][-1], [backward cell over the flipped row][-1]."""
    spec = spec_of(cell=cell, bidirectional=True, pool="last")
    model = torch_model(spec, random_arrays(spec), "explicit")
    ids, mask, _ = ragged_batch(np.random.default_rng(5))
    scores = model.scores(ids, mask, training=False)
    for n, length in enumerate(LENGTHS):
        x = model.embed(torch.as_tensor(ids[n:n + 1, :length]))
        cell_fwd, cell_rev = model.rnn[0], model.rnn_rev[0]
        fwd = cell_fwd(x, cell_fwd.init_state(1))[0][:, -1]
        rev = cell_rev(x.flip(1), cell_rev.init_state(1))[0][:, -1]
        expected = model.head(torch.cat([fwd, rev], dim=1))
        assert_close(scores[n:n + 1].detach().numpy(), expected.detach().numpy(), f"row {n}", 1e-12)


def test_reverse_index_reverses_real_steps_and_is_its_own_inverse():
    lengths = torch.tensor([3, 1, 4])
    index = reverse_index(lengths, 4)
    assert index.tolist() == [[2, 1, 0, 3], [0, 1, 2, 3], [3, 2, 1, 0]]
    x = torch.randn(3, 4, 2)
    assert torch.equal(reverse_rows(reverse_rows(x, index), index), x)
    assert torch.equal(reverse_rows(x, None), x.flip(1))


@pytest.mark.parametrize("bidirectional", [False, True])
def test_round_trip_through_arrays_gives_the_numpy_engine_the_same_probabilities(bidirectional):
    spec = spec_of(cell="gru", layers=2, bidirectional=bidirectional, pool="max")
    ids, mask, _ = ragged_batch(np.random.default_rng(6))
    model = TorchClassifier.create(spec, seed=3)  # float32, initialised as the NumPy engine does
    numpy_model = Classifier(spec, model.to_arrays())
    assert all(a.dtype == np.float32 for a in numpy_model.params.values())
    assert_close(numpy_model.predict_proba(ids, mask), model.predict_proba(ids, mask).numpy(), tol=1e-5)
    exact = Classifier(spec, torch_model(spec, random_arrays(spec)).to_arrays(np.float64))
    reference = Classifier(spec, random_arrays(spec))
    assert_close(exact.predict_proba(ids, mask), reference.predict_proba(ids, mask))
    created = Classifier.create(spec, seed=3, dtype=np.float32).params
    assert all(np.array_equal(created[k], v) for k, v in model.to_arrays().items())


def test_bad_arrays_masks_and_paths_are_refused():
    spec = spec_of(bidirectional=True)
    arrays = random_arrays(spec)
    with pytest.raises(UsageError, match="missing"):
        TorchClassifier.from_arrays(spec, {k: v for k, v in arrays.items() if k != "rnn_rev.0.Wh"})
    with pytest.raises(UsageError, match="rnn.0.Wx"):
        TorchClassifier.from_arrays(spec, {**arrays, "rnn.0.Wx": arrays["rnn.0.Wx"].T})
    with pytest.raises(UsageError, match="fused"):
        TorchClassifier(spec_of(cell="mingru"), TorchOptions(path="fused"))
    model = torch_model(spec, arrays)
    ids, mask, labels = ragged_batch(np.random.default_rng(7))
    with pytest.raises(ValueError, match="right padding"):
        model.loss(ids, mask[:, ::-1].copy(), labels)
    mask[1] = False
    with pytest.raises(ValueError, match="real step"):
        model.loss(ids, mask, labels)
    assert model.init_state(N) is None


def test_evaluate_sums_nats_and_counts_correct_predictions():
    spec = spec_of(pool="mean", bidirectional=True)
    model = torch_model(spec, random_arrays(spec))
    ids, mask, labels = ragged_batch(np.random.default_rng(8))
    stats, state = model.evaluate(ids, mask, labels)
    proba = model.predict_proba(ids, mask).numpy()
    assert state is None and stats["count"] == N and isinstance(stats["nats"], float)
    assert stats["correct"] == int(np.sum(proba.argmax(axis=1) == labels))
    assert stats["nats"] == pytest.approx(-np.log(proba[np.arange(N), labels]).sum(), rel=1e-12)
    assert stats["nats"] / N == pytest.approx(model.loss(ids, mask, labels)[0].item(), rel=1e-12)
