"""DRAW as a PyTorch module, in the shared model format (the torch engine: batched, autograd).

Dimensions: N batch, P = B*A pixels, H hidden size, Z latent size, T steps; spec.py has the
equations, numpy_model.py the same model with its backward by hand. The LSTMs are the core's
``LSTMCell`` (rnnkit/torch_engine/cells.py; one ``addmm`` for the input and bias, one for the
recurrence), the attention is torch_filterbank.py.

The noise eps (N, T, Z) is drawn with ``torch.randn`` in one call unless it is given, so a parity
test can feed the NumPy engine's.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.models.draw import torch_filterbank as fb
from rnnkit.models.draw.spec import DrawSpec
from rnnkit.torch_engine.arrays import SharedArrays
from rnnkit.torch_engine.cells import LSTMCell
from rnnkit.torch_engine.layers import Affine


class TorchDraw(SharedArrays, nn.Module):
    """DRAW built from a :class:`DrawSpec`; ``named_parameters()`` are ``spec.param_shapes()``."""

    def __init__(self, spec: DrawSpec, options=None) -> None:
        super().__init__()
        self.spec = self.config = spec
        H = spec.hidden
        self.enc = nn.ModuleList([LSTMCell(spec.encoder.input_size, H)])
        self.dec = nn.ModuleList([LSTMCell(spec.latent, H)])
        self.mu = Affine(H, spec.latent)
        self.logsigma = Affine(H, spec.latent)
        self.write = Affine(H, spec.write_size)
        if spec.attention:
            self.read_att = Affine(H, 5)
            self.write_att = Affine(H, 5)

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, nn.Parameter]]:
        """The parameters in ``spec.param_shapes()`` order."""
        found = dict(super().named_parameters(prefix, recurse, remove_duplicate))
        if not recurse:
            return iter(found.items())
        dot = prefix + "." if prefix else ""
        return iter([(dot + name, found[dot + name]) for name in self.spec.param_shapes()])

    def init_state(self, n: int) -> None:
        return None

    def _tensor(self, a) -> Tensor:
        W = self.write.W
        return torch.as_tensor(a, dtype=W.dtype, device=W.device)

    def _images(self, x) -> Tensor:
        x = self._tensor(x)
        return x.reshape(x.shape[0], -1)

    def run(self, x: Tensor, eps: Tensor):
        """c_T (N, P) logits and kl (N,) for images x (N, P) and noise eps (N, T, Z)."""
        spec = self.spec
        B, A, H = spec.height, spec.width, spec.hidden
        N = x.shape[0]
        enc, dec = self.enc[0], self.dec[0]
        c = torch.zeros_like(x)
        zeros = x.new_zeros(N, H)
        enc_state, dec_state = (zeros, zeros), (zeros, zeros)
        kl = x.new_zeros(N)
        img = x.view(N, B, A)
        for t in range(spec.steps_t):
            h_dec = dec_state[0]
            xhat = x - torch.sigmoid(c)
            if spec.attention:
                FX, FY, gamma = fb.filterbank(self.read_att(h_dec), A, B, spec.read_n)
                r = torch.cat([fb.read(img, FX, FY, gamma).reshape(N, -1),
                               fb.read(xhat.view(N, B, A), FX, FY, gamma).reshape(N, -1)], dim=1)
            else:
                r = torch.cat([x, xhat], dim=1)
            enc_in = torch.cat([r, h_dec], dim=1)
            enc_state = enc.step(torch.addmm(enc.b, enc_in, enc.Wx), enc_state)
            h_enc = enc_state[0]
            mu, logsigma = self.mu(h_enc), self.logsigma(h_enc)
            sigma = torch.exp(logsigma)
            kl = kl + 0.5 * torch.sum(mu**2 + sigma**2 - 2 * logsigma - 1, dim=1)
            z = mu + sigma * eps[:, t]
            dec_state = dec.step(torch.addmm(dec.b, z, dec.Wx), dec_state)
            h_dec = dec_state[0]
            w = self.write(h_dec)
            if spec.attention:
                FX, FY, gamma = fb.filterbank(self.write_att(h_dec), A, B, spec.write_n)
                c = c + fb.write(w.view(N, spec.write_n, spec.write_n), FX, FY, gamma).reshape(N, -1)
            else:
                c = c + w
        return c, kl

    def _eps(self, N: int, eps) -> Tensor:
        shape = (N, self.spec.steps_t, self.spec.latent)
        if eps is None:
            W = self.write.W
            return torch.randn(shape, dtype=W.dtype, device=W.device)
        eps = self._tensor(eps)
        if tuple(eps.shape) != shape:
            raise ValueError(f"eps must be {shape}, got {tuple(eps.shape)}")
        return eps

    def nats(self, x, eps=None) -> tuple[Tensor, Tensor, Tensor]:
        """Per image: the bound, the reconstruction term and the KL term, each (N,)."""
        x = self._images(x)
        c, kl = self.run(x, self._eps(x.shape[0], eps))
        recon = F.binary_cross_entropy_with_logits(c, x, reduction="none").sum(dim=1)
        return recon + kl, recon, kl

    def forward(self, x, eps=None) -> Tensor:
        return self.nats(x, eps)[0].mean()

    def loss(self, x, state=None, eps=None) -> tuple[Tensor, None]:
        """The bound in nats per image averaged over the batch (a scalar tensor), and None."""
        return self(x, eps), None

    @torch.no_grad()
    def evaluate(self, x, eps=None, state=None) -> tuple[dict, None]:
        """({"nats", "recon", "kl", "count"} summed over the batch, None); eps as the NumPy engine's."""
        if eps is None:
            eps = np.random.default_rng(0).standard_normal((len(x), self.spec.steps_t, self.spec.latent))
        total, recon, kl = self.nats(x, eps)
        return {"nats": float(total.sum()), "recon": float(recon.sum()), "kl": float(kl.sum()),
                "count": int(total.shape[0])}, None

    @torch.no_grad()
    def generate(self, z):
        """Images from the prior, as the NumPy engine's ``generate``: canvases (T, N, P) and the
        write windows (T, N, 5), float64 NumPy arrays."""
        spec = self.spec
        z = self._tensor(z)
        N = z.shape[0]
        dec = self.dec[0]
        zeros = z.new_zeros(N, spec.hidden)
        state, c = (zeros, zeros), z.new_zeros(N, spec.pixels)
        canvases, windows = [], []
        for t in range(spec.steps_t):
            state = dec.step(torch.addmm(dec.b, z[:, t], dec.Wx), state)
            w = self.write(state[0])
            if spec.attention:
                params = self.write_att(state[0])
                FX, FY, gamma = fb.filterbank(params, spec.width, spec.height, spec.write_n)
                c = c + fb.write(w.view(N, spec.write_n, spec.write_n), FX, FY, gamma).reshape(N, -1)
                windows.append(torch.stack(fb.window(params, spec.width, spec.height, spec.write_n), dim=1))
            else:
                c = c + w
                windows.append(z.new_zeros(N, 5))
            canvases.append(c)
        return torch.stack(canvases).double().cpu().numpy(), torch.stack(windows).double().cpu().numpy()

    @classmethod
    def create(cls, spec: DrawSpec, seed: int = 0, options=None, *, dtype: torch.dtype = torch.float32,
               device=None) -> "TorchDraw":
        """A new model initialised like the NumPy engine's (``spec.init_params``, the same seed)."""
        return cls.from_arrays(spec, spec.init_params(np.random.default_rng(seed)), options, dtype=dtype,
                               device=device)
