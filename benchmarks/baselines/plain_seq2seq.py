"""A plain PyTorch encoder-decoder with additive attention, written the usual way: the other side of
benchmarks/translate_quality.py and benchmarks/translate_speed.py.

It follows the PyTorch tutorial "NLP From Scratch: Translation with a Sequence to Sequence Network
and Attention" (an embedding and a GRU encoder; a decoder whose Bahdanau attention is queried with
the previous decoder state, reads [embedding; context] into a GRU cell and predicts with a linear
layer), batched as a user would batch it: padded sources packed for the encoder, a mask on the
attention scores, teacher forcing over the whole target, cross-entropy that ignores padding, Adam
and ``clip_grad_norm_``. Sizes follow rnnkit's flags (E, H, cell gru or lstm, a bidirectional
encoder whose final states a linear layer maps to the decoder's initial h), so that the two are
compared at the same size; ``n_params`` says how close.

Shapes: N batch, S source steps, T target steps, E embedding, H hidden, V vocabulary sizes.

Only PyTorch: nothing of rnnkit is imported here; the benchmark hands it rnnkit's batches (the
same pairs and subword ids) as NumPy arrays.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class BahdanauAttention(nn.Module):
    """score(q, k_s) = v . tanh(W q + U k_s); weights = softmax over the real source steps."""

    def __init__(self, query: int, key: int, hidden: int):
        super().__init__()
        self.W = nn.Linear(query, hidden)
        self.U = nn.Linear(key, hidden, bias=False)
        self.v = nn.Linear(hidden, 1, bias=False)

    def forward(self, query, keys_proj, values, mask):
        """query (N, H), keys_proj (N, S, H) = U keys (computed once), values (N, S, K*H), mask (N, S)
        -> context (N, K*H), weights (N, S)."""
        scores = self.v(torch.tanh(self.W(query)[:, None, :] + keys_proj)).squeeze(2)   # (N, S)
        weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=1)
        return torch.bmm(weights[:, None, :], values).squeeze(1), weights


class PlainSeq2Seq(nn.Module):
    """Encoder (embedding -> GRU/LSTM, optionally bidirectional) and an attentive decoder cell."""

    def __init__(self, src_vocab: int, tgt_vocab: int, embed: int, hidden: int, cell: str = "gru",
                 bidirectional: bool = True, dropout: float = 0.0, pad_id: int = 0, bos_id: int = 2, eos_id: int = 3):
        super().__init__()
        rnn = {"gru": nn.GRU, "lstm": nn.LSTM}[cell]
        cell_type = {"gru": nn.GRUCell, "lstm": nn.LSTMCell}[cell]
        k = 2 if bidirectional else 1
        self.cell, self.pad_id, self.bos_id, self.eos_id = cell, pad_id, bos_id, eos_id
        self.src_embed = nn.Embedding(src_vocab, embed, padding_idx=pad_id)
        self.encoder = rnn(embed, hidden, batch_first=True, bidirectional=bidirectional)
        self.bridge = nn.Linear(k * hidden, hidden)
        self.tgt_embed = nn.Embedding(tgt_vocab, embed, padding_idx=pad_id)
        self.attention = BahdanauAttention(hidden, k * hidden, hidden)
        self.decoder = cell_type(embed + k * hidden, hidden)
        self.out = nn.Linear(hidden, tgt_vocab)
        self.drop = nn.Dropout(dropout)

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def encode(self, src, src_len):
        """src (N, S), src_len (N,) -> values (N, S, K*H), keys_proj (N, S, H), mask (N, S), decoder state."""
        packed = pack_padded_sequence(self.drop(self.src_embed(src)), src_len.cpu(), batch_first=True,
                                      enforce_sorted=False)
        out, final = self.encoder(packed)
        values, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
        h_n = final[0] if self.cell == "lstm" else final                      # (K, N, H)
        h0 = torch.tanh(self.bridge(torch.cat(list(h_n), dim=1)))             # (N, H)
        state = (h0, torch.zeros_like(h0)) if self.cell == "lstm" else h0
        mask = torch.arange(src.shape[1], device=src.device)[None, :] < src_len[:, None]
        return values, self.attention.U(values), mask, state

    def step(self, prev, state, memory):
        """prev (N,) ids, the decoder state -> logits (N, V), new state, attention weights (N, S)."""
        values, keys_proj, mask = memory
        h = state[0] if self.cell == "lstm" else state
        context, weights = self.attention(h, keys_proj, values, mask)
        state = self.decoder(torch.cat([self.drop(self.tgt_embed(prev)), context], dim=1), state)
        h = state[0] if self.cell == "lstm" else state
        return self.out(self.drop(h)), state, weights

    def forward(self, src, src_len, tgt_in):
        """Teacher forcing: logits (N, T, V) of every target step."""
        values, keys_proj, mask, state = self.encode(src, src_len)
        logits = []
        for t in range(tgt_in.shape[1]):
            step_logits, state, _ = self.step(tgt_in[:, t], state, (values, keys_proj, mask))
            logits.append(step_logits)
        return torch.stack(logits, dim=1)

    @torch.no_grad()
    def greedy(self, src, src_len, max_len: int) -> list[list[int]]:
        """The most probable token at every step until <eos> or max_len tokens, per sentence."""
        self.eval()
        values, keys_proj, mask, state = self.encode(src, src_len)
        prev = torch.full((src.shape[0],), self.bos_id, dtype=torch.long, device=src.device)
        outputs, done = [], torch.zeros(src.shape[0], dtype=torch.bool, device=src.device)
        for _ in range(max_len):
            logits, state, _ = self.step(prev, state, (values, keys_proj, mask))
            logits[:, [self.pad_id, self.bos_id]] = float("-inf")
            prev = logits.argmax(dim=1)
            outputs.append(prev)
            done |= prev == self.eos_id
            if bool(done.all()):
                break
        rows = torch.stack(outputs, dim=1).tolist()
        return [row[:row.index(self.eos_id)] if self.eos_id in row else row for row in rows]


class PlainTrainer:
    """Adam, masked cross-entropy (mean over real target tokens), gradient-norm clipping: one
    ``step(batch)`` per rnnkit batch ``(src, src_len, tgt_in, tgt_out, tgt_len)`` of NumPy arrays."""

    def __init__(self, model: PlainSeq2Seq, lr: float = 2e-3, clip: float = 5.0):
        self.model, self.clip = model, clip
        self.optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        self.loss_fn = nn.CrossEntropyLoss(ignore_index=model.pad_id)

    def step(self, batch) -> float:
        src, src_len, tgt_in, tgt_out, _ = (torch.as_tensor(np.asarray(a), dtype=torch.long) for a in batch)
        self.model.train()
        logits = self.model(src, src_len, tgt_in)
        loss = self.loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
        self.optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
        self.optimizer.step()
        return loss.detach().item()

    def translate(self, sources: list[np.ndarray], max_ratio: float = 2.0, batch: int = 64) -> list[list[int]]:
        """Greedy output ids of each source id sequence, in order."""
        results = [None] * len(sources)
        order = np.argsort([len(s) for s in sources], kind="stable")
        for start in range(0, len(order), batch):
            index = order[start:start + batch]
            lengths = torch.as_tensor([len(sources[i]) for i in index])
            src = torch.zeros((len(index), int(lengths.max())), dtype=torch.long)
            for row, i in enumerate(index):
                src[row, :len(sources[i])] = torch.as_tensor(sources[i])
            limit = int(np.ceil(max_ratio * int(lengths.max()))) + 10
            for i, ids in zip(index, self.model.greedy(src, lengths, limit)):
                results[i] = ids
        return results
