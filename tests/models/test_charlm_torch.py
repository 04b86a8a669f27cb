"""TorchCharLM: shapes, loss normalisation, sampling steps, TBPTT and the shared array format."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnkit.models.charlm.spec import CharLMSpec  # noqa: E402
from rnnkit.errors import UsageError  # noqa: E402
from rnnkit.models.charlm.torch_model import TorchCharLM  # noqa: E402
from rnnkit.torch_engine import TorchOptions, detach_state  # noqa: E402

V, N, T = 11, 3, 6


def config(cell="lstm", embed_dim=0, **kwargs):
    return CharLMSpec(cell=cell, vocab_size=V, hidden=7, layers=2, embed_dim=embed_dim, **kwargs)


def ids(*shape, seed=0):
    return torch.randint(0, V, shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("highway", [False, True], ids=["plain", "highway"])
@pytest.mark.parametrize("embed_dim", [0, 5], ids=["one-hot", "embed"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "lnlstm", "mingru", "minlstm"])
def test_parameters_are_the_shared_format(cell, embed_dim, highway):
    cfg = config(cell, embed_dim, highway=highway)
    model = TorchCharLM(cfg)
    assert model.param_shapes() == cfg.param_shapes()
    assert list(model.param_shapes()) == list(cfg.param_shapes())  # same order too


def test_forward_shapes_and_loss_is_mean_nats_per_character():
    torch.manual_seed(0)
    model = TorchCharLM(config("gru", 4)).double()
    x, y = ids(N, T), ids(N, T, seed=1)
    logits, state = model(x)
    assert logits.shape == (N, T, V) and len(state) == 2
    loss, _ = model.loss(x, y)
    log_p = torch.log_softmax(logits, dim=-1).gather(-1, y[..., None])
    assert torch.allclose(loss, -log_p.mean())
    assert abs(loss.item() - math.log(V)) < 0.5  # small initial weights: close to uniform


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_step_by_step_sampling_equals_the_sequence(cell):
    torch.manual_seed(1)
    model = TorchCharLM(config(cell)).double().eval()
    x = ids(N, T)
    logits, _ = model(x)
    state = model.init_state(N)
    for t in range(T):
        step_logits, state = model.step(x[:, t], state)
        assert step_logits.shape == (N, V)
        assert torch.allclose(step_logits, logits[:, t], atol=1e-12, rtol=0)


@pytest.mark.parametrize("cfg", [config(), config("mingru", highway=True)], ids=["lstm", "mingru-highway"])
def test_loss_over_two_chunks_with_carried_state_equals_loss_over_both(cfg):
    torch.manual_seed(2)
    model = TorchCharLM(cfg).double()
    x, y = ids(N, 2 * T), ids(N, 2 * T, seed=3)
    whole, _ = model.loss(x, y)
    first, state = model.loss(x[:, :T], y[:, :T])
    second, _ = model.loss(x[:, T:], y[:, T:], detach_state(state))
    assert torch.allclose((first + second) / 2, whole, atol=1e-12, rtol=0)


def test_dropout_only_when_training():
    torch.manual_seed(3)
    model = TorchCharLM(config(dropout=0.5))
    x = ids(N, T)
    model.eval()
    assert torch.equal(model(x)[0], model(x)[0])
    model.train()
    assert not torch.equal(model(x)[0], model(x)[0])


@pytest.mark.parametrize(
    "cell, highway, options",
    [("lstm", False, TorchOptions()), ("lnlstm", True, TorchOptions()), ("mingru", False, TorchOptions(scan="sequential")),
     ("minlstm", False, TorchOptions(path="explicit"))],
    ids=["lstm", "lnlstm-highway", "mingru", "minlstm"],
)
def test_to_arrays_from_arrays_round_trip(cell, highway, options):
    torch.manual_seed(4)
    cfg = config(cell, embed_dim=4, highway=highway)
    model = TorchCharLM(cfg, options)
    arrays = model.to_arrays()
    assert list(arrays) == list(model.param_shapes())
    assert all(isinstance(a, np.ndarray) and a.dtype == np.float32 for a in arrays.values())
    with torch.no_grad():
        model.head.b.add_(1.0)  # the arrays are copies, not views of the parameters
    assert not np.array_equal(arrays["head.b"], model.to_arrays()["head.b"])
    loaded = TorchCharLM.from_arrays(cfg, arrays, options)
    assert all(np.array_equal(arrays[k], v) for k, v in loaded.to_arrays().items())


def test_from_arrays_in_float64_keeps_every_digit():
    cfg = config("gru")
    rng = np.random.default_rng(0)
    arrays = {name: rng.standard_normal(shape) for name, shape in cfg.param_shapes().items()}
    model = TorchCharLM.from_arrays(cfg, arrays, dtype=torch.float64)
    for name, p in model.named_parameters():
        assert p.dtype == torch.float64 and np.array_equal(p.detach().numpy(), arrays[name])


def test_from_arrays_rejects_arrays_of_another_model():
    cfg = config()
    arrays = TorchCharLM(cfg).to_arrays()
    with pytest.raises(UsageError, match="missing"):
        TorchCharLM.from_arrays(cfg, {k: v for k, v in arrays.items() if k != "head.W"})
    with pytest.raises(UsageError, match="unexpected"):
        TorchCharLM.from_arrays(cfg, {**arrays, "embed.W": np.zeros((V, 3), np.float32)})
    with pytest.raises(UsageError, match="rnn.0.Wx"):
        TorchCharLM.from_arrays(cfg, {**arrays, "rnn.0.Wx": arrays["rnn.0.Wx"][:-1]})
    with pytest.raises(UsageError, match="head.b"):
        TorchCharLM.from_arrays(cfg, {**arrays, "head.b": arrays["head.b"].astype(np.int64)})


def test_options_validate_and_round_trip_through_json():
    options = TorchOptions(path="explicit", scan="sequential")
    assert TorchOptions.from_json(options.to_json()) == options
    for bad in ({"cell": "mingru"}, {"path": "cudnn"}, {"scan": "fast"}, {"highway": True}, {"layers": 2}):
        with pytest.raises(UsageError):
            TorchOptions.from_json(bad)


def test_model_config_json_without_highway_still_loads():
    old = {"cell": "lstm", "vocab_size": V, "hidden": 7, "layers": 2, "embed_dim": 0, "dropout": 0.0}
    assert CharLMSpec.from_json(old) == config()
    with pytest.raises(UsageError, match="highway"):
        config(highway="yes")
