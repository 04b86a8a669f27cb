"""DRAW written plainly in PyTorch, as one would from the paper: nn.LSTMCell for the encoder and the
decoder, nn.Linear for everything else, the Gaussian filterbanks in a few lines, autograd for the
backward pass. The baseline of benchmarks/draw_speed.py: the same sizes and arithmetic as rnnkit's
torch engine (rnnkit/models/draw/torch_model.py), none of its code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def filterbank(p, A, B, n, eps=1e-8):
    """F_X (N, n, A), F_Y (N, n, B), gamma (N,) from the 5 attention numbers p (N, 5)."""
    gx = (A - 1) / 2 * (p[:, 0] + 1)
    gy = (B - 1) / 2 * (p[:, 1] + 1)
    var = p[:, 2].exp()
    delta = (max(A, B) - 1) / max(n - 1, 1) * p[:, 3].exp()
    grid = torch.arange(n, device=p.device, dtype=p.dtype) - (n - 1) / 2
    mx = gx[:, None] + grid * delta[:, None]
    my = gy[:, None] + grid * delta[:, None]
    a = torch.arange(A, device=p.device, dtype=p.dtype)
    b = torch.arange(B, device=p.device, dtype=p.dtype)
    fx = torch.exp(-((a - mx[..., None]) ** 2) / (2 * var[:, None, None]))
    fy = torch.exp(-((b - my[..., None]) ** 2) / (2 * var[:, None, None]))
    return fx / (fx.sum(-1, keepdim=True) + eps), fy / (fy.sum(-1, keepdim=True) + eps), p[:, 4].exp()


class PlainDraw(nn.Module):
    def __init__(self, B, A, hidden, latent, T, attention, read_n, write_n):
        super().__init__()
        self.B, self.A, self.T, self.attention = B, A, T, attention
        self.read_n, self.write_n, self.latent = read_n, write_n, latent
        read = 2 * (read_n**2 if attention else B * A)
        self.encoder = nn.LSTMCell(read + hidden, hidden)
        self.decoder = nn.LSTMCell(latent, hidden)
        self.mu = nn.Linear(hidden, latent)
        self.logsigma = nn.Linear(hidden, latent)
        self.write = nn.Linear(hidden, write_n**2 if attention else B * A)
        if attention:
            self.read_att = nn.Linear(hidden, 5)
            self.write_att = nn.Linear(hidden, 5)

    def forward(self, x):
        """The mean bound (nats per image) of x (N, B*A) with fresh noise."""
        N = x.shape[0]
        H = self.encoder.hidden_size
        h_enc = c_enc = h_dec = c_dec = x.new_zeros(N, H)
        canvas = torch.zeros_like(x)
        kl = 0.0
        img = x.view(N, self.B, self.A)
        for _ in range(self.T):
            xhat = x - torch.sigmoid(canvas)
            if self.attention:
                fx, fy, gamma = filterbank(self.read_att(h_dec), self.A, self.B, self.read_n)
                g = lambda im: (gamma[:, None, None] * (fy @ im @ fx.transpose(1, 2))).flatten(1)  # noqa: E731
                r = torch.cat([g(img), g(xhat.view(N, self.B, self.A))], 1)
            else:
                r = torch.cat([x, xhat], 1)
            h_enc, c_enc = self.encoder(torch.cat([r, h_dec], 1), (h_enc, c_enc))
            mu, logsigma = self.mu(h_enc), self.logsigma(h_enc)
            z = mu + logsigma.exp() * torch.randn_like(mu)
            kl = kl + 0.5 * (mu**2 + (2 * logsigma).exp() - 2 * logsigma - 1).sum(1)
            h_dec, c_dec = self.decoder(z, (h_dec, c_dec))
            w = self.write(h_dec)
            if self.attention:
                fx, fy, gamma = filterbank(self.write_att(h_dec), self.A, self.B, self.write_n)
                w = (fy.transpose(1, 2) @ w.view(N, self.write_n, self.write_n) @ fx / gamma[:, None, None]).flatten(1)
            canvas = canvas + w
        recon = F.binary_cross_entropy_with_logits(canvas, x, reduction="none").sum(1)
        return (recon + kl).mean()
