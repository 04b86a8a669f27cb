"""rnnkit.viz.gradflow: the gradients it reads off the NumPy engine's backward pass equal the product
of the step Jacobians, computed directly (central differences of the step functions), on tiny models
of every cell it draws; the vanishing bound of the vanilla RNN; and the command end to end."""

import json

import numpy as np
import pytest

from rnnkit.cli import main
from rnnkit.models.charlm.numpy_model import CharLM
from rnnkit.models.charlm.spec import CharLMSpec
from rnnkit.numpy_engine import gru_step_forward, lstm_step_forward, rnn_step_forward
from rnnkit.viz import gradflow as gf

V, H, E, T, N = 6, 4, 3, 7, 3


def tiny(cell, seed=0):
    model = CharLM.create(CharLMSpec(cell=cell, vocab_size=V, hidden=H, embed_dim=E), seed=seed, dtype=np.float64)
    for name, value in model.params.items():  # biases off zero, so that every term of the Jacobian counts
        if value.ndim == 1:
            value += np.random.default_rng(seed + 1).normal(0, 0.3, value.shape)
    return model


def step(cell, p, x, s):
    """The state after one step, from the engine's step functions: s = concat(h[, c]) (N, S)."""
    if cell == "rnn":
        return rnn_step_forward(x, s, p["rnn.0.Wx"], p["rnn.0.Wh"], p["rnn.0.b"])[0]
    if cell == "lstm":
        h, c, _ = lstm_step_forward(x, s[:, :H], s[:, H:], p["rnn.0.Wx"], p["rnn.0.Wh"], p["rnn.0.b"])
        return np.concatenate([h, c], axis=1)
    return gru_step_forward(x, s, p["rnn.0.Wx"], p["rnn.0.Wh"], p["rnn.0.bx"], p["rnn.0.bh"])[0]


def jacobian(f, s, eps=1e-6):
    """d f(s)[n] / d s[n] for every row n by central differences: (N, S_out, S_in)."""
    cols = []
    for j in range(s.shape[1]):
        d = np.zeros_like(s)
        d[:, j] = eps
        cols.append((f(s + d) - f(s - d)) / (2 * eps))
    return np.stack(cols, axis=2)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_measured_gradients_equal_the_product_of_step_jacobians(cell):
    model = tiny(cell)
    p = model.params
    rng = np.random.default_rng(3)
    ids = rng.integers(0, V, size=(N, T + 1))
    measured = gf.state_gradients(model, ids)
    width = 2 * H if cell == "lstm" else H

    # forward with the step functions, keeping the state entering every step
    x = p["embed.W"][ids[:, :T]]  # (N, T, E)
    s = np.zeros((N, width))
    entering = []
    for t in range(T):
        entering.append(s)
        s = step(cell, p, x[:, t], s)
    # dL/dh_T by central differences of the loss at the last step
    def loss(h):
        z = h @ p["head.W"] + p["head.b"]
        z = z - z.max(axis=1, keepdims=True)
        return -(z[np.arange(N), ids[:, -1]] - np.log(np.exp(z).sum(axis=1)))
    h_T = s[:, :H]
    g = np.stack([(loss(h_T + d) - loss(h_T - d)) / 2e-6 for d in np.eye(H) * 1e-6], axis=1)
    g = np.concatenate([g, np.zeros((N, width - H))], axis=1)
    for k in range(T + 1):
        expected = g
        got = np.concatenate([measured[name][k] for name in ("h", "c") if name in measured], axis=1)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-9, err_msg=f"{cell}, k = {k}")
        if k < T:  # one step further back: g_{k+1} = g_k J_{T-k}
            J = jacobian(lambda s0, t=T - 1 - k: step(cell, p, x[:, t], s0), entering[T - 1 - k])
            g = np.einsum("ni,nij->nj", g, J)
    norms = gf.gradient_norms(model, ids)
    np.testing.assert_allclose(norms["h"], np.linalg.norm(measured["h"], axis=-1))


def test_vanilla_rnn_gradient_shrinks_at_least_as_fast_as_the_largest_singular_value():
    model = gf.with_recurrent_gain(tiny("rnn"), 0.7)
    assert gf.largest_singular_value(model.params["rnn.0.Wh"]) == pytest.approx(0.7)
    norms = gf.gradient_norms(model, np.random.default_rng(0).integers(0, V, size=(N, T + 1)))["h"]
    # dh_{t-1} = dh_t diag(tanh') Wh^T with tanh' <= 1: ||g_k|| <= 0.7^k ||g_0||
    bound = norms[0] * 0.7 ** np.arange(T + 1)[:, None]
    assert np.all(norms <= bound * (1 + 1e-9))
    assert norms[-1].max() < norms[0].min()


def test_exploding_gain_grows_the_gradient_and_clipping_bounds_the_update():
    model = gf.with_recurrent_gain(tiny("rnn"), 4.0)
    model.params["embed.W"] *= 1e-6  # a small state: tanh stays near linear and the gain shows
    model.params["rnn.0.b"][:] = 0.0
    norms = gf.gradient_norms(model, np.random.default_rng(0).integers(0, V, size=(N, T + 1)))["h"]
    assert np.median(norms[-1]) > 10 * np.median(norms[0])
    ids = np.random.default_rng(1).integers(0, V, size=400)
    run = gf.sgd_run(CharLM(model.spec, {k: v.copy() for k, v in model.params.items()}), ids, 5, 2, 8, 0.1, clip=0.5)
    assert len(run["loss"]) == 5 and all(np.isfinite(run["loss"]))


def test_summary_and_windows():
    norms = np.abs(np.random.default_rng(0).normal(size=(5, 8)))
    s = gf.summarize(norms)
    assert s["distance"] == [0, 1, 2, 3, 4] and len(s["median"]) == 5
    assert all(lo <= m <= hi for lo, m, hi in zip(s["q10"], s["median"], s["q90"]))
    w = gf.windows(np.arange(50), 4, 9, np.random.default_rng(0))
    assert w.shape == (4, 10) and np.all(np.diff(w, axis=1) == 1)
    with pytest.raises(ValueError):
        gf.windows(np.arange(5), 2, 9, np.random.default_rng(0))


@pytest.fixture
def text_file(tmp_path):
    rng = np.random.default_rng(0)
    words = ["def", "return", "(x)", "'a'", "    ", "\n", "self", "=", "+"]
    path = tmp_path / "code.txt"
    path.write_text("".join(words[i] + " " for i in rng.integers(0, len(words), 3000)), encoding="utf-8")
    return path


SMALL = ["--hidden", "8", "--steps-back", "12", "--windows", "4", "--train-steps", "3", "--clip-steps", "3",
         "--sigmas", "0.5,2"]


def test_gradflow_command_json(text_file, capsys):
    assert main(["gradflow", "--data", str(text_file), *SMALL, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["untrained"]) == set(result["trained"]) == {"rnn", "lstm", "gru"}
    assert set(result["untrained"]["lstm"]["states"]) == {"h", "c"}
    assert len(result["untrained"]["rnn"]["states"]["h"]["median"]) == 13
    assert set(result["sigma_sweep"]) == {"0.5", "2"}
    assert set(result["clipping"]["runs"]) == {"no clipping", "clip at 1"}


def test_gradflow_command_png_and_checkpoint_refusals(text_file, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "flow.png"
    assert main(["gradflow", "--data", str(text_file), *SMALL, "--cells", "rnn,gru", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["gradflow", "--data", str(text_file), *SMALL, "--checkpoint", str(tmp_path / "none")]) == 2
    assert "no such checkpoint" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["gradflow", "--cells", "rnn,bogus"])
