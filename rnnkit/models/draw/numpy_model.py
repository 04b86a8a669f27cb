"""DRAW in the NumPy engine: the T-step loop forward, and backpropagation through it by hand.

Dimensions: N batch, P = B*A pixels, H hidden size, Z latent size, T steps (spec.py has the
equations). The LSTM steps are the core's ``lstm_step_forward`` / ``lstm_step_backward``; the
filterbank attention is filterbank.py; the loss is the sum of the Bernoulli cross-entropy of the
final canvas and the KL terms, averaged over the batch (nats per image).

Backward runs the steps in reverse. Four gradients travel back in time: on the canvas c_t (it
collects every write and feeds the next step's error image xhat = x - sigmoid(c)), on h_dec_t (the
next step's read window and encoder input, and its own recurrence), and on both LSTMs' states.

The noise eps (N, T, Z) is drawn from the ``rng`` given to :meth:`DrawModel.loss` in one call, or
given (``eps=``): the torch engine takes the same array, so a parity test feeds both the same noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.models.draw import filterbank as fb
from rnnkit.models.numpy_base import NumpyModel
from rnnkit.numpy_engine.lstm import lstm_step_backward, lstm_step_forward, sigmoid


@dataclass
class _StepCache:
    s_prev: np.ndarray      # (N, P) sigmoid(c_{t-1})
    h_dec_prev: np.ndarray  # (N, H)
    enc: object             # LSTMStepCache
    dec: object
    eps: np.ndarray         # (N, Z)
    sigma: np.ndarray       # (N, Z)
    mu: np.ndarray          # (N, Z)
    h_enc: np.ndarray       # (N, H)
    h_dec: np.ndarray       # (N, H)
    read: tuple | None      # (filterbank cache, read cache of x, read cache of xhat)
    write: tuple | None     # (filterbank cache, write cache)


class DrawModel(NumpyModel):
    """DRAW: its spec (rnnkit/models/draw/spec.py) and a flat dict of named parameter arrays."""

    @property
    def dtype(self):
        return self.params["write.W"].dtype

    def init_state(self, n: int) -> None:
        """Nothing runs on from batch to batch."""
        return None

    def _images(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=self.dtype)
        spec = self.spec
        if x.ndim == 3:
            if x.shape[1:] != (spec.height, spec.width):
                raise ValueError(f"images are {x.shape[1]}x{x.shape[2]}, the model draws {spec.height}x{spec.width}")
            x = x.reshape(len(x), -1)
        if x.ndim != 2 or x.shape[1] != spec.pixels:
            raise ValueError(f"images must be (N, {spec.height}, {spec.width}) or (N, {spec.pixels}), got {x.shape}")
        return x

    def forward(self, x, eps):
        """The final canvas and the KL terms.

        Inputs: x (N, P) or (N, B, A) in [0, 1]; eps (N, T, Z).
        Returns: c_T (N, P) canvas logits, kl (N,) summed over steps and latents, step caches.
        """
        p, spec = self.params, self.spec
        B, A = spec.height, spec.width
        x = self._images(x)
        N, H = x.shape[0], spec.hidden
        c = np.zeros_like(x)
        h_enc = c_enc = h_dec = c_dec = np.zeros((N, H), dtype=x.dtype)
        kl = np.zeros(N, dtype=x.dtype)
        caches = []
        for t in range(spec.steps_t):
            s_prev = sigmoid(c)
            xhat = x - s_prev
            read = None
            if spec.attention:
                FX, FY, gamma, fcache = fb.filterbank_forward(h_dec @ p["read_att.W"] + p["read_att.b"], A, B, spec.read_n)
                gx, rx = fb.read_forward(x.reshape(N, B, A), FX, FY, gamma)
                gxh, rxh = fb.read_forward(xhat.reshape(N, B, A), FX, FY, gamma)
                r = np.concatenate([gx.reshape(N, -1), gxh.reshape(N, -1)], axis=1)
                read = (fcache, rx, rxh)
            else:
                r = np.concatenate([x, xhat], axis=1)
            enc_in = np.concatenate([r, h_dec], axis=1)
            h_dec_prev = h_dec
            h_enc, c_enc, enc_cache = lstm_step_forward(enc_in, h_enc, c_enc, p["enc.0.Wx"], p["enc.0.Wh"], p["enc.0.b"])
            mu = h_enc @ p["mu.W"] + p["mu.b"]
            logsigma = h_enc @ p["logsigma.W"] + p["logsigma.b"]
            sigma = np.exp(logsigma)
            e = eps[:, t]
            z = mu + sigma * e
            kl += 0.5 * np.sum(mu**2 + sigma**2 - 2 * logsigma - 1, axis=1)
            h_dec, c_dec, dec_cache = lstm_step_forward(z, h_dec, c_dec, p["dec.0.Wx"], p["dec.0.Wh"], p["dec.0.b"])
            w = h_dec @ p["write.W"] + p["write.b"]
            write = None
            if spec.attention:
                FX, FY, gamma, fcache = fb.filterbank_forward(h_dec @ p["write_att.W"] + p["write_att.b"], A, B,
                                                              spec.write_n)
                patch, wcache = fb.write_forward(w.reshape(N, spec.write_n, spec.write_n), FX, FY, gamma)
                c = c + patch.reshape(N, -1)
                write = (fcache, wcache)
            else:
                c = c + w
            caches.append(_StepCache(s_prev, h_dec_prev, enc_cache, dec_cache, e, sigma, mu, h_enc, h_dec, read, write))
        return c, kl, (x, caches)

    @staticmethod
    def reconstruction(c, x) -> np.ndarray:
        """sum_pixels BCE(sigmoid(c), x) (N,), computed stably as softplus(c) - x c."""
        return np.sum(np.logaddexp(0, c) - x * c, axis=1)

    def _eps(self, N, eps, rng):
        shape = (N, self.spec.steps_t, self.spec.latent)
        if eps is None:
            if rng is None:
                raise ValueError("DRAW's loss draws noise: give an rng or eps")
            eps = rng.standard_normal(shape)
        eps = np.asarray(eps, dtype=self.dtype)
        if eps.shape != shape:
            raise ValueError(f"eps must be {shape}, got {eps.shape}")
        return eps

    def loss(self, x, state=None, rng=None, eps=None):
        """The bound in nats per image, averaged over the batch, and its gradient on every parameter.

        Inputs: x (N, P) or (N, B, A) in [0, 1]; state unused; rng draws eps (N, T, Z) in one
        call, unless ``eps`` is given.
        Returns: loss (float), grads (dict like params, same order), None.
        """
        x = self._images(x)
        eps = self._eps(len(x), eps, rng)
        c, kl, cache = self.forward(x, eps)
        N = len(x)
        loss = float(np.sum(self.reconstruction(c, x) + kl) / N)
        return loss, self.backward((sigmoid(c) - x) / N, cache), None

    def backward(self, dc, cache) -> dict:
        """Gradients of every parameter given dc (N, P), the loss's gradient on c_T; the KL terms'
        gradients enter at their steps (with the same 1/N)."""
        p, spec = self.params, self.spec
        B, A = spec.height, spec.width
        x, caches = cache
        N, H = x.shape[0], spec.hidden
        scale = 1.0 / N
        grads = {name: np.zeros_like(value) for name, value in p.items()}
        dh_dec = dc_dec = dh_enc = dc_enc = np.zeros((N, H), dtype=x.dtype)
        R = spec.read_size
        for k in reversed(caches):
            # c_t = c_{t-1} + write(h_dec_t)
            if spec.attention:
                fcache, wcache = k.write
                dw, dFX, dFY, dgamma = fb.write_backward(dc.reshape(N, B, A), wcache)
                dw = dw.reshape(N, -1)
                dpw = fb.filterbank_backward(dFX, dFY, dgamma, fcache)
                grads["write_att.W"] += k.h_dec.T @ dpw
                grads["write_att.b"] += dpw.sum(axis=0)
                dh_dec = dh_dec + dpw @ p["write_att.W"].T
            else:
                dw = dc
            grads["write.W"] += k.h_dec.T @ dw
            grads["write.b"] += dw.sum(axis=0)
            dh_dec = dh_dec + dw @ p["write.W"].T
            dz, dh_dec, dc_dec, dWx, dWh, db = lstm_step_backward(dh_dec, dc_dec, k.dec)
            grads["dec.0.Wx"] += dWx
            grads["dec.0.Wh"] += dWh
            grads["dec.0.b"] += db
            # z = mu + sigma eps; KL = 1/2 (mu^2 + sigma^2 - 2 log sigma - 1), scaled by 1/N
            dmu = dz + scale * k.mu
            dlogsigma = dz * k.eps * k.sigma + scale * (k.sigma**2 - 1)
            grads["mu.W"] += k.h_enc.T @ dmu
            grads["mu.b"] += dmu.sum(axis=0)
            grads["logsigma.W"] += k.h_enc.T @ dlogsigma
            grads["logsigma.b"] += dlogsigma.sum(axis=0)
            dh_enc = dh_enc + dmu @ p["mu.W"].T + dlogsigma @ p["logsigma.W"].T
            denc_in, dh_enc, dc_enc, dWx, dWh, db = lstm_step_backward(dh_enc, dc_enc, k.enc)
            grads["enc.0.Wx"] += dWx
            grads["enc.0.Wh"] += dWh
            grads["enc.0.b"] += db
            dh_dec = dh_dec + denc_in[:, 2 * R:]     # h_dec_{t-1} fed the encoder
            dr = denc_in[:, :2 * R]
            if spec.attention:
                fcache, rx, rxh = k.read
                n = spec.read_n
                _, dFX1, dFY1, dg1 = fb.read_backward(dr[:, :R].reshape(N, n, n), rx)
                dxhat, dFX2, dFY2, dg2 = fb.read_backward(dr[:, R:].reshape(N, n, n), rxh)
                dxhat = dxhat.reshape(N, -1)
                dpr = fb.filterbank_backward(dFX1 + dFX2, dFY1 + dFY2, dg1 + dg2, fcache)
                grads["read_att.W"] += k.h_dec_prev.T @ dpr
                grads["read_att.b"] += dpr.sum(axis=0)
                dh_dec = dh_dec + dpr @ p["read_att.W"].T
            else:
                dxhat = dr[:, R:]
            # xhat_t = x - sigmoid(c_{t-1}): the canvas's gradient gains the error image's
            dc = dc - dxhat * k.s_prev * (1 - k.s_prev)
        return {name: grads[name] for name in spec.param_shapes()}

    def evaluate(self, x, eps=None, state=None):
        """Summed statistics of a batch, no gradient: ({"nats": summed bound, "recon": summed
        reconstruction, "kl": summed KL, "count": N}, None). ``eps`` (N, T, Z) is the noise; the
        task draws it from a fixed seed so that both engines and every evaluation agree."""
        x = self._images(x)
        eps = self._eps(len(x), eps, np.random.default_rng(0) if eps is None else None)
        c, kl, _ = self.forward(x, eps)
        recon = self.reconstruction(c, x)
        return {"nats": float(np.sum(recon + kl)), "recon": float(np.sum(recon)), "kl": float(np.sum(kl)),
                "count": len(x)}, None

    def generate(self, z):
        """Draw images from the prior: no encoder, z_t given.

        Inputs: z (N, T, Z) samples of N(0, I).
        Returns: canvases (T, N, P) float64 logits after each step, and windows (T, N, 5) of the write
        attention (gX, gY, delta, sigma^2, gamma; zeros without attention).
        """
        p, spec = self.params, self.spec
        z = np.asarray(z, dtype=self.dtype)
        N = z.shape[0]
        h = c_cell = np.zeros((N, spec.hidden), dtype=self.dtype)
        c = np.zeros((N, spec.pixels), dtype=self.dtype)
        canvases = np.zeros((spec.steps_t, N, spec.pixels))
        windows = np.zeros((spec.steps_t, N, 5))
        for t in range(spec.steps_t):
            h, c_cell, _ = lstm_step_forward(z[:, t], h, c_cell, p["dec.0.Wx"], p["dec.0.Wh"], p["dec.0.b"])
            w = h @ p["write.W"] + p["write.b"]
            if spec.attention:
                params = h @ p["write_att.W"] + p["write_att.b"]
                FX, FY, gamma, _ = fb.filterbank_forward(params, spec.width, spec.height, spec.write_n)
                patch, _ = fb.write_forward(w.reshape(N, spec.write_n, spec.write_n), FX, FY, gamma)
                c = c + patch.reshape(N, -1)
                windows[t] = np.stack(fb.window(params, spec.width, spec.height, spec.write_n), axis=1)
            else:
                c = c + w
            canvases[t] = c
        return canvases, windows
