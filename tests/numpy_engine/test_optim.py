"""Optimizers and clipping against torch.optim / torch.nn.utils in float64, plus state round trips."""

import json
import tracemalloc

import numpy as np
import pytest

from rnnkit.numpy_engine.optim import (
    OPTIMIZERS, SGD, Adam, clip_grad_norm, clip_grad_value, make_optimizer,
)

SHAPES = {"rnn.0.Wx": (3, 8), "rnn.0.Wh": (2, 8), "rnn.0.b": (8,), "head.W": (2, 5)}
STEPS = 5

# (registry name, numpy kwargs, torch class name, torch kwargs): the same rule on both sides.
CASES = [
    ("sgd", {}, "SGD", {}),
    ("momentum", {}, "SGD", {"momentum": 0.9}),
    ("sgd", {"momentum": 0.5, "nesterov": True}, "SGD", {"momentum": 0.5, "nesterov": True}),
    ("adagrad", {}, "Adagrad", {"eps": 1e-10}),
    ("rmsprop", {"alpha": 0.9}, "RMSprop", {"alpha": 0.9, "eps": 1e-8}),
    ("adam", {}, "Adam", {}),
    ("adam", {"betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1},
     "Adam", {"betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
]
CASE_IDS = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adam-wd"]


def make_params(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(s).astype(dtype) for k, s in SHAPES.items()}


def grad_sequence(steps, seed=1):
    """A fixed list of gradient dicts, one per step, with varied scales per step."""
    rng = np.random.default_rng(seed)
    return [{k: rng.standard_normal(s) * 10.0 ** rng.integers(-2, 2) for k, s in SHAPES.items()}
            for _ in range(steps)]


def run_torch(torch_name, torch_kw, params, grads_seq, lr):
    torch = pytest.importorskip("torch", reason="PyTorch not installed (pip install torch==2.13.0)")
    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    opt = getattr(torch.optim, torch_name)(list(tensors.values()), lr=lr, **torch_kw)
    for grads in grads_seq:
        for k, t in tensors.items():
            t.grad = torch.tensor(grads[k], dtype=torch.float64)
        opt.step()
    return {k: t.detach().numpy() for k, t in tensors.items()}


@pytest.mark.torch
@pytest.mark.parametrize("name, kw, torch_name, torch_kw", CASES, ids=CASE_IDS)
def test_matches_torch_optim(name, kw, torch_name, torch_kw):
    lr = 0.05
    params, grads_seq = make_params(), grad_sequence(STEPS)
    expected = run_torch(torch_name, torch_kw, params, grads_seq, lr)
    opt = make_optimizer(name, lr, **kw)
    refs = dict(params)
    for grads in grads_seq:
        opt.step(params, grads)
    for k in params:
        assert params[k] is refs[k], "step must update the arrays in place"
        np.testing.assert_allclose(params[k], expected[k], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name, kw", [(c[0], c[1]) for c in CASES], ids=CASE_IDS)
def test_state_dict_round_trip_continues_identically(name, kw):
    grads_seq = grad_sequence(2 * STEPS)
    a_params = make_params()
    a = make_optimizer(name, 0.01, **kw)
    for grads in grads_seq[:STEPS]:
        a.step(a_params, grads)
    js, arrays = a.state_dict()
    # The JSON half must survive real serialization.
    js = json.loads(json.dumps(js))
    b_params = {k: v.copy() for k, v in a_params.items()}
    b = make_optimizer(js["name"], js["lr"])
    b.load_state_dict(js, arrays)
    for grads in grads_seq[STEPS:]:
        a.step(a_params, grads)
        b.step(b_params, grads)
    for k in a_params:
        np.testing.assert_array_equal(a_params[k], b_params[k])


def test_state_dict_names_slots_by_parameter():
    params = make_params()
    opt = Adam(1e-3)
    opt.step(params, grad_sequence(1)[0])
    js, arrays = opt.state_dict()
    assert js == {"name": "adam", "step": 1, "lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8,
                  "weight_decay": 0.0}
    assert set(arrays) == {f"{slot}/{k}" for slot in ("m", "v") for k in SHAPES}


def test_load_rejects_foreign_state():
    js, arrays = Adam(1e-3).state_dict()
    with pytest.raises(ValueError, match="adam"):
        SGD(0.1).load_state_dict(js, arrays)
    opt = Adam(1e-3)
    with pytest.raises(ValueError, match="unknown optimizer state"):
        opt.load_state_dict(js, {"momentum/head.W": np.zeros((2, 5))})
    opt.load_state_dict(js, {"m/head.W": np.zeros((3, 3))})
    with pytest.raises(ValueError, match="shape"):
        opt.step(make_params(), grad_sequence(1)[0])


def test_lr_override_drives_one_step_only():
    params, grads = make_params(), grad_sequence(1)[0]
    expected = {k: v - 0.5 * grads[k] for k, v in params.items()}
    opt = SGD(0.1)
    opt.step(params, grads, lr=0.5)
    assert opt.lr == 0.1
    for k in params:
        np.testing.assert_allclose(params[k], expected[k], rtol=1e-15)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_float32_params_stay_float32(name):
    params = make_params(dtype=np.float32)
    grads = {k: g.astype(np.float32) for k, g in grad_sequence(1)[0].items()}
    opt = make_optimizer(name, 0.01)
    opt.step(params, grads)
    assert all(p.dtype == np.float32 for p in params.values())
    assert all(a.dtype == np.float32 for a in opt.state_dict()[1].values())


def test_mismatched_names_and_bad_hyperparameters_raise():
    with pytest.raises(KeyError):
        SGD(0.1).step(make_params(), {"head.W": np.zeros((2, 5))})
    with pytest.raises(ValueError, match="unknown optimizer"):
        make_optimizer("adamw", 0.1)
    with pytest.raises(ValueError):
        SGD(0.1, nesterov=True)
    with pytest.raises(ValueError):
        Adam(0.1, betas=(1.0, 0.999))
    with pytest.raises(ValueError):
        SGD(-1.0)


@pytest.mark.torch
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(max_norm):
    torch = pytest.importorskip("torch", reason="PyTorch not installed (pip install torch==2.13.0)")
    grads = grad_sequence(1)[0]
    tensors = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in SHAPES.values()]
    for t, g in zip(tensors, grads.values()):
        t.grad = torch.tensor(g)
    expected_norm = torch.nn.utils.clip_grad_norm_(tensors, max_norm).item()
    norm = clip_grad_norm(grads, max_norm)
    assert norm == pytest.approx(expected_norm, rel=1e-12)
    for t, g in zip(tensors, grads.values()):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-12, atol=0)


def test_clip_grad_norm_clips_to_max_norm_in_place():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[0.0], [4.0]])}
    ref = grads["a"]
    assert clip_grad_norm(grads, 1.0) == 5.0
    assert grads["a"] is ref
    total = np.sqrt(sum((g ** 2).sum() for g in grads.values()))
    assert total == pytest.approx(1.0, rel=1e-5)


def test_clip_grad_value():
    grads = {"a": np.array([-3.0, 0.5, 2.0])}
    clip_grad_value(grads, 1.0)
    np.testing.assert_array_equal(grads["a"], [-1.0, 0.5, 1.0])


@pytest.mark.parametrize("name, kw", [(c[0], c[1]) for c in CASES], ids=CASE_IDS)
def test_step_allocates_no_parameter_sized_arrays(name, kw):
    params = {"big": np.zeros((256, 256))}
    grads = {"big": np.ones((256, 256))}
    opt = make_optimizer(name, 0.01, **kw)
    opt.step(params, grads)  # the first step creates the slots and scratch buffers
    tracemalloc.start()
    try:
        opt.step(params, grads)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < params["big"].nbytes // 8
