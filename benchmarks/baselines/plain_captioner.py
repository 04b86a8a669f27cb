"""The captioner written plainly in PyTorch, the usual way (CS231n's graph, and Show, Attend and
Tell's soft attention as tutorials write it): nn.Conv2d / nn.MaxPool2d channels first, nn.Linear,
nn.Embedding, nn.LSTM for the whole caption without attention, an nn.LSTMCell loop with an
additive-attention MLP with it, F.cross_entropy, autograd. The baseline of
benchmarks/caption_speed.py: the same sizes and arithmetic as rnnkit's torch engine
(rnnkit/models/captioner/torch_model.py), none of its code.

    images (N, H, W, C) -> NCHW -> [conv 3x3 -> ReLU -> maxpool 2]^L -> grid (N, C_L, h, w)
    features = grid mean (N, C_L);  h0 = Linear(features), c0 = 0
    none: LSTM(embed(words_in), (h0, c0)) -> Linear -> scores
    soft: per step e = softmax(v . tanh(W_q h + W_k a)), z = e a, LSTMCell([embed(w); z]) -> Linear
    loss = cross-entropy summed over the real words, averaged over the batch
           + penalty * sum_cells (1 - sum_t e)^2 / N
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PlainCaptioner(nn.Module):
    def __init__(self, vocab: int, channels_in: int, channels=(16, 32, 32), embed: int = 64, hidden: int = 128,
                 attention: bool = True, attention_size: int = 64, penalty: float = 0.02):
        super().__init__()
        layers, c = [], channels_in
        for c_out in channels:
            layers += [nn.Conv2d(c, c_out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            c = c_out
        self.cnn = nn.Sequential(*layers)
        self.init_h = nn.Linear(c, hidden)
        self.embed = nn.Embedding(vocab, embed)
        self.attention, self.penalty = attention, penalty
        if attention:
            self.att_q = nn.Linear(hidden, attention_size)
            self.att_k = nn.Linear(c, attention_size, bias=False)
            self.att_v = nn.Linear(attention_size, 1, bias=False)
            self.cell = nn.LSTMCell(embed + c, hidden)
        else:
            self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, images, captions, mask):
        """Loss of images (N, H, W, C) float, captions (N, T+1) ids, mask (N, T) bool."""
        grid = self.cnn(images.permute(0, 3, 1, 2))                   # (N, C, h, w)
        a = grid.flatten(2).transpose(1, 2)                           # (N, L, C)
        h = self.init_h(a.mean(dim=1))
        c = torch.zeros_like(h)
        x = self.embed(captions[:, :-1])                              # (N, T, E)
        penalty = 0.0
        if self.attention:
            keys = self.att_k(a)                                      # (N, L, A)
            outs, alphas = [], []
            for t in range(x.shape[1]):
                e = torch.softmax(self.att_v(torch.tanh(keys + self.att_q(h)[:, None])).squeeze(2), dim=1)
                z = (e[:, :, None] * a).sum(dim=1)
                h, c = self.cell(torch.cat([x[:, t], z], dim=1), (h, c))
                outs.append(h)
                alphas.append(e)
            y = torch.stack(outs, dim=1)
            coverage = (torch.stack(alphas, dim=1) * mask[:, :, None]).sum(dim=1)
            penalty = self.penalty * ((1 - coverage) ** 2).sum() / len(images)
        else:
            y, _ = self.lstm(x, (h[None], c[None]))
        scores = self.out(y)
        targets = captions[:, 1:].masked_fill(~mask, -100)
        loss = F.cross_entropy(scores.reshape(-1, scores.shape[-1]), targets.reshape(-1), ignore_index=-100,
                               reduction="sum") / len(images)
        return loss + penalty

    def load_rnnkit(self, params: dict) -> None:
        """Copy rnnkit's parameters (the shared format, rnnkit/models/captioner/spec.py) in, so that
        benchmarks/caption_speed.py can show both compute the same loss. rnnkit's LSTM gates are
        i, f, o, g; PyTorch's i, f, g, o; rnnkit adds the context through ctx.W, the cell here reads
        [word; context], the same product split in two."""
        def t(name):
            return torch.as_tensor(params[name], dtype=self.out.weight.dtype)

        def gates(w):                                   # (..., 4H) i f o g -> (4H, ...) i f g o
            i, f, o, g = w.chunk(4, dim=-1)
            return torch.cat([i, f, g, o], dim=-1).T

        with torch.no_grad():
            convs = [m for m in self.cnn if isinstance(m, nn.Conv2d)]
            for l, conv in enumerate(convs):
                conv.weight.copy_(t(f"enc.conv{l}.W").permute(3, 2, 0, 1))
                conv.bias.copy_(t(f"enc.conv{l}.b"))
            self.init_h.weight.copy_(t("feat.W").T)
            self.init_h.bias.copy_(t("feat.b"))
            self.embed.weight.copy_(t("embed.W"))
            self.out.weight.copy_(t("head.W").T)
            self.out.bias.copy_(t("head.b"))
            if self.attention:
                self.att_q.weight.copy_(t("att.Wq").T)
                self.att_q.bias.copy_(t("att.b"))
                self.att_k.weight.copy_(t("att.Wk").T)
                self.att_v.weight.copy_(t("att.v")[None])
                cell = self.cell
                cell.weight_ih.copy_(gates(torch.cat([t("rnn.0.Wx"), t("ctx.W")], dim=0)))
                cell.weight_hh.copy_(gates(t("rnn.0.Wh")))
                cell.bias_ih.copy_(gates(t("rnn.0.b")[None])[:, 0])
                cell.bias_hh.zero_()
            else:
                lstm = self.lstm
                lstm.weight_ih_l0.copy_(gates(t("rnn.0.Wx")))
                lstm.weight_hh_l0.copy_(gates(t("rnn.0.Wh")))
                lstm.bias_ih_l0.copy_(gates(t("rnn.0.b")[None])[:, 0])
                lstm.bias_hh_l0.zero_()
