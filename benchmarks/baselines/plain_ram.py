"""RAM written plainly in PyTorch, as one would from Mnih et al. 2014: a retina cut with unfold-free
indexing and average pooling, nn.Linear for the glimpse, location, baseline and classifier
networks, nn.LSTMCell for the core, autograd for the backward pass, and the hybrid loss
(cross-entropy + baseline MSE + REINFORCE with a Gaussian policy of fixed std). The baseline of
benchmarks/glimpse_speed.py: the same sizes and arithmetic as rnnkit's torch engine
(rnnkit/models/ram/torch_model.py), none of its code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def retina(images, loc, g, k):
    """(N, k, g, g): k patches of sides g * 2^i around loc (N, 2) in [-1, 1], each pooled to g x g."""
    N, S, _ = images.shape
    pad = g * 2 ** (k - 1) // 2 + 1
    padded = F.pad(images, (pad, pad, pad, pad))
    centre = (loc.detach().clamp(-1, 1) + 1) * S / 2
    out = []
    for i in range(k):
        side = g * 2 ** i
        corner = torch.floor(centre - side / 2 + 0.5).long() + pad
        idx = torch.arange(side, device=images.device)
        rows = (corner[:, 0:1] + idx)[:, :, None]
        cols = (corner[:, 1:2] + idx)[:, None, :]
        patch = padded[torch.arange(N, device=images.device)[:, None, None], rows, cols]
        out.append(F.avg_pool2d(patch[:, None], 2 ** i)[:, 0] if i else patch)
    return torch.stack(out, 1)


class PlainRAM(nn.Module):
    def __init__(self, size, glimpses, g, k, hg=128, hl=128, go=256, hidden=256, classes=10, std=0.1,
                 loc_grad=False):
        super().__init__()
        self.size, self.glimpses, self.g, self.k, self.std = size, glimpses, g, k, std
        self.loc_grad = loc_grad    # False: REINFORCE trains only self.loc (rnnkit's RAM default)
        self.fc_g, self.fc_l = nn.Linear(k * g * g, hg), nn.Linear(2, hl)
        self.fc_go, self.fc_lo = nn.Linear(hg, go, bias=False), nn.Linear(hl, go)
        self.core = nn.LSTMCell(go, hidden)
        self.loc, self.baseline, self.head = nn.Linear(hidden, 2), nn.Linear(hidden, 1), nn.Linear(hidden, classes)

    def forward(self, images, labels):
        N = images.shape[0]
        loc = images.new_zeros(N, 2)
        state = None
        log_pis, baselines = [], []
        for t in range(self.glimpses):
            x = retina(images, loc, self.g, self.k).flatten(1)
            gv = F.relu(self.fc_go(F.relu(self.fc_g(x))) + self.fc_lo(F.relu(self.fc_l(loc))))
            state = self.core(gv, state)
            h = state[0]
            if t < self.glimpses - 1:
                mu = torch.tanh(self.loc(h if self.loc_grad else h.detach()))
                sample = (mu + self.std * torch.randn_like(mu)).detach()
                log_pis.append(torch.distributions.Normal(mu, self.std).log_prob(sample).sum(1))
                baselines.append(self.baseline(h.detach())[:, 0])
                loc = sample.clamp(-1, 1)
        scores = self.head(h)
        reward = (scores.argmax(1) == labels).float()
        loss = F.cross_entropy(scores, labels)
        if log_pis:
            b, log_pi = torch.stack(baselines, 1), torch.stack(log_pis, 1)
            loss = loss + F.mse_loss(b, reward[:, None].expand_as(b))
            loss = loss - ((reward[:, None] - b).detach() * log_pi).sum(1).mean()
        return loss
