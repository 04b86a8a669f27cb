"""The character-level language model: whole-model gradient checks (2 layers, one-hot and embedding
input, dropout with a fixed mask), agreement with the public layer functions, the gradient-check
table (and proof that it can fail), and learning: `rnnkit hello` and a small LSTM on the stdlib
corpus going well below the corpus's unigram entropy."""

import math

import numpy as np
import pytest
from gradutil import TOL, TOL_RECURRENT, assert_close, assert_grad

from rnnkit.cli import main
from rnnkit.models.charlm.spec import CharLMSpec
from rnnkit.models.charlm import numpy_model as charlm_module
from rnnkit import gradchecks as checks
from rnnkit.numpy_engine import gru, lstm, rnn
from rnnkit.models.charlm.numpy_model import CharLM
from rnnkit.numpy_engine.gradcheck import eval_numerical_gradient
from rnnkit.numpy_engine.losses import temporal_softmax_loss
from rnnkit.numpy_engine.layers import (
    temporal_affine_backward, temporal_affine_forward, word_embedding_backward,
    word_embedding_forward,
)

CELLS = ("rnn", "lstm", "gru")
N, T, H, V, E = 3, 4, 5, 7, 4


def float64_model(cell, layers=2, embed_dim=0, dropout=0.0, seed=0):
    config = CharLMSpec(cell=cell, vocab_size=V, hidden=H, layers=layers, embed_dim=embed_dim, dropout=dropout)
    model = CharLM.create(config, seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed + 1)
    for value in model.params.values():
        value[...] = rng.standard_normal(value.shape) * 0.5
    ids, targets = rng.integers(0, V, (N, T)), rng.integers(0, V, (N, T))
    state = [tuple(rng.standard_normal((N, H)) for _ in layer) for layer in model.init_state(N)]
    return model, ids, targets, state


def assert_rows_pass(rows):
    failed = [r for r in rows if r["ok"] != "ok"]
    assert not failed, f"gradient checks failed: {failed}"
    for r in rows:
        assert r["rel_error"] <= r["tolerance"] and r["max_entry"] <= checks.ENTRY_TOLERANCE


@pytest.mark.parametrize("cell", CELLS)
def test_check_charlm_two_layers_with_embedding_passes(cell):
    """run_all checks 2-layer one-hot models of every cell (test below); here 2 layers with embedding."""
    embed_dim = E
    results = checks.check_charlm(np.random.default_rng(11), cell, layers_=2, embed_dim=embed_dim)
    assert {param for _, param in results} == set(CharLMSpec(cell=cell, vocab_size=V, hidden=H, layers=2,
                                                              embed_dim=embed_dim).param_shapes())
    for (_, param), (err, worst) in results.items():
        assert err <= checks.tolerance("charlm", param), (param, err)
        assert worst <= checks.ENTRY_TOLERANCE, (param, worst)


@pytest.mark.parametrize("embed_dim", [0, E], ids=["one-hot", "embedding"])
@pytest.mark.parametrize("cell", CELLS)
def test_whole_model_gradcheck_with_dropout_and_a_fixed_mask(cell, embed_dim):
    """An independent check: every parameter, dropout 0.3 between the layers and before the head
    (the mask fixed by reseeding its generator on every call), a carried-in state."""
    model, ids, targets, state = float64_model(cell, embed_dim=embed_dim, dropout=0.3, seed=2)
    fixed = lambda: np.random.default_rng(42)  # noqa: E731
    loss, grads, _ = model.loss(ids, targets, state, rng=fixed())
    assert loss != pytest.approx(model.loss(ids, targets, state)[0])  # the mask does something
    scale = N * T  # the loss is a mean over N*T characters; a sum keeps gradients above rounding noise
    assert grads.keys() == model.params.keys()
    for name, p in model.params.items():
        numerical = eval_numerical_gradient(lambda _: model.loss(ids, targets, state, rng=fixed())[0] * scale, p)
        assert_grad(grads[name] * scale, numerical, name, TOL_RECURRENT if name.endswith("Wh") else TOL)


SEQUENCE = {"rnn": (rnn.rnn_forward, rnn.rnn_backward), "lstm": (lstm.lstm_forward, lstm.lstm_backward),
            "gru": (gru.gru_forward, gru.gru_backward)}


@pytest.mark.parametrize("embed_dim", [0, E], ids=["one-hot", "embedding"])
@pytest.mark.parametrize("cell", CELLS)
def test_charlm_equals_the_composition_of_the_public_layer_functions(cell, embed_dim):
    """CharLM runs its own time-major stack; built from the CS231n-style functions instead it must give
    the same loss and the same gradients."""
    model, ids, targets, state = float64_model(cell, embed_dim=embed_dim, seed=3)
    p = model.params
    bias = lambda pre: [p[pre + "bx"], p[pre + "bh"]] if cell == "gru" else [p[pre + "b"]]  # noqa: E731
    fwd, bwd = SEQUENCE[cell]
    if embed_dim:
        x, emb_cache = word_embedding_forward(ids, p["embed.W"])
    else:
        x = np.eye(V)[ids]  # one-hot (N, T, V)
    caches = []
    for layer in range(2):
        pre = f"rnn.{layer}."
        kw = {"c0": state[layer][1]} if cell == "lstm" else {}
        x, cache = fwd(x, state[layer][0], p[pre + "Wx"], p[pre + "Wh"], *bias(pre), **kw)
        caches.append(cache)
    scores, aff_cache = temporal_affine_forward(x, p["head.W"], p["head.b"])
    loss, dscores = temporal_softmax_loss(scores, targets, np.ones((N, T)))
    loss, dscores = loss / T, dscores / T  # sum over time, mean over batch -> mean over N*T

    want = {}
    dx, want["head.W"], want["head.b"] = temporal_affine_backward(dscores, aff_cache)
    for layer in (1, 0):
        pre = f"rnn.{layer}."
        dx, _, want[pre + "Wx"], want[pre + "Wh"], *db = bwd(dx, caches[layer])[:6 if cell == "gru" else 5]
        for name, g in zip(["bx", "bh"] if cell == "gru" else ["b"], db):
            want[pre + name] = g
    if embed_dim:
        want["embed.W"] = word_embedding_backward(dx, emb_cache)

    got_loss, got, _ = model.loss(ids, targets, state)
    assert got_loss == pytest.approx(loss, rel=1e-12)
    assert got.keys() == want.keys()
    for name in want:
        assert_close(got[name], want[name], name)


def test_run_all_passes_and_covers_every_layer():
    rows = checks.run_all()
    assert_rows_pass(rows)
    layers = {r["layer"] for r in rows}
    for name in ("rnn_step", "rnn_forward", "lstm_step", "lstm_forward", "gru_step", "gru_forward",
                 "word_embedding", "temporal_affine", "temporal_softmax_loss", "dropout",
                 "charlm rnn x2", "charlm lstm x2", "charlm gru x2"):
        assert name in layers
    inputs = {(r["layer"], r["input"]) for r in rows}
    assert {("lstm_forward", "c0"), ("rnn_forward", "h0"), ("gru_forward", "bh")} <= inputs


def test_the_checker_reports_fail_for_a_wrong_gradient(monkeypatch):
    """Scale dWh by 1.001 in rnn_backward and in the char model's recurrence, and one single entry of
    the LSTM step's dWx: exactly those rows must fail."""
    real_rnn_backward = rnn.rnn_backward

    def rnn_backward_off(*args, **kwargs):
        dx, dh0, dWx, dWh, db = real_rnn_backward(*args, **kwargs)
        return dx, dh0, dWx, dWh * 1.001, db

    real_step = lstm.lstm_step_backward

    def lstm_step_backward_one_entry_off(*args, **kwargs):
        grads = list(real_step(*args, **kwargs))
        grads[3] = grads[3].copy()
        grads[3][0, 0] *= 1.001
        return tuple(grads)

    real_stack_backward = charlm_module.stack_backward

    def stack_backward_off(dy, cache, params, grads, dfinal=None):
        out = real_stack_backward(dy, cache, params, grads, dfinal)
        if cache.spec.cell == "gru":
            grads["rnn.1.Wh"] = grads["rnn.1.Wh"] * 1.001
        return out

    # Models that run_all imports lazily bind lstm_step_backward by name when first imported: import
    # them now, before the patch, or they would keep the wrong function after this test.
    import rnnkit.gradchecks_draw  # noqa: F401
    import rnnkit.models.draw.numpy_model  # noqa: F401

    real_check_charlm = checks.check_charlm  # only the GRU model, to save time
    monkeypatch.setattr(checks, "check_charlm",
                        lambda rng, cell, *a, **k: real_check_charlm(rng, cell, *a, **k) if cell == "gru" else {})
    monkeypatch.setattr(rnn, "rnn_backward", rnn_backward_off)
    monkeypatch.setattr(lstm, "lstm_step_backward", lstm_step_backward_one_entry_off)
    monkeypatch.setattr(charlm_module, "stack_backward", stack_backward_off)
    rows = checks.run_all()
    failed = {(r["layer"], r["input"]) for r in rows if r["ok"] == "FAIL"}
    assert failed == {("rnn_forward", "Wh"), ("lstm_step", "Wx"), ("charlm gru x2", "rnn.1.Wh"),
                      ("charlm gru x2 embed 4 N=1", "rnn.1.Wh")}


@pytest.mark.parametrize("cell", CELLS)
def test_rnnkit_hello_learns_hello(cell, capsys):
    assert main(["hello", "--cell", cell]) == 0
    out = capsys.readouterr().out
    assert "'hello'" in out.splitlines()[-1]
    final_probs = [float(v) for v in out.splitlines()[-2].split()[2:]]
    assert len(final_probs) == 4 and min(final_probs) > 0.9  # every next character learnt


def test_rnnkit_hello_reports_failure_when_it_has_not_learnt(capsys):
    assert main(["hello", "--steps", "1", "--greedy"]) == 1
    assert "did not learn" in capsys.readouterr().out


@pytest.mark.slow
def test_small_lstm_on_stdlib_goes_well_below_unigram_entropy(tmp_path, capsys):
    """~20 s of training. Measured on a shared 2-core machine: about 2.6 bpc against an entropy of
    4.5 bits; the bound leaves room for a machine that manages half the steps."""
    from rnnkit.data.corpora import load_corpus
    from rnnkit.training.checkpoint import load_checkpoint

    corpus = load_corpus("stdlib")
    counts = np.bincount(np.asarray(corpus.train), minlength=len(corpus.vocab))
    prob = counts[counts > 0] / counts.sum()
    entropy = float(-(prob * np.log2(prob)).sum())
    assert 3.5 < entropy < 6

    run = tmp_path / "run"
    code = main(["train", "--data", "stdlib", "--cell", "lstm", "--hidden", "96", "--batch", "16",
                 "--seq-len", "32", "--lr", "1e-2", "--warmup", "10", "--minutes", "0.3",
                 "--eval-every", "1000000", "--eval-chars", "50000", "--out", str(run), "--sample-length", "0"])
    assert code == 0
    progress = load_checkpoint(run / "checkpoint.npz").meta["progress"]
    bpc = progress["val"]["bpc"]
    print(f"validation bpc {bpc:.3f} after {progress['step']} steps; unigram entropy {entropy:.3f}")
    assert math.isfinite(bpc)
    assert bpc < entropy - 1.0
