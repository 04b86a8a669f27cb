"""The translation model as a PyTorch module, in the shared model format (the NumPy engine's twin).

Dimensions: N batch, S source steps, T target steps, Vt target vocabulary, E embedding width,
H hidden size, K encoder directions. rnnkit/models/seq2seq/spec.py has the equations.

    encoder  src -> dropout(enc.embed.W[src]) -> per layer l: ragged_forward over each row's real
             steps (rnnkit/torch_engine/bidirectional.py; PyTorch's fused kernels for rnn, lstm,
             gru: one call per layer and direction) -> memory (N, S, K*H); layer l's final h read
             off its output at the row's last real step (forward) and at step 0 (backward)
    bridge   h0_l = tanh([h_fwd; h_rev]_l bridge.l.W + bridge.l.b), c0 = 0
    decoder  a loop of T steps over the explicit cells (Recurrent.step): input feeding makes the
             input at t depend on htilde_{t-1}, so no fused kernel can run the decoder in one
             call; the embedding's half of layer 0's input product is still done for all T steps
             at once before the loop (rnn, lstm, gru: their projection is x Wx + b)
    output   logits = dropout(htilde) W_out + out.b (N, T, Vt), one product for all steps

Autograd does the backward; the parity tests hold it to the NumPy engine's hand-written one in
float64. ``encode`` / ``decode_step`` take and return NumPy arrays, so rnnkit/inference/beam.py and
the shared ``translate`` (rnnkit/models/seq2seq/translate.py) drive either engine.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.errors import UsageError
from rnnkit.models.seq2seq.batch import check_ids
from rnnkit.models.seq2seq.spec import PAD_ID, Seq2SeqSpec
from rnnkit.models.seq2seq.translate import Translator
from rnnkit.torch_engine.arrays import SharedArrays
from rnnkit.torch_engine.attention import AdditiveAttention, DotAttention
from rnnkit.torch_engine.bidirectional import ragged_forward
from rnnkit.torch_engine.fused import fusable
from rnnkit.torch_engine.layers import Affine, Embedding
from rnnkit.torch_engine.losses import temporal_softmax_loss
from rnnkit.torch_engine.minrnn import MinCell
from rnnkit.torch_engine.options import TorchOptions
from rnnkit.torch_engine.recurrent import CELL_TYPES, Recurrent


class _TiedOutput(nn.Module):
    """The tied output layer's own parameters: proj (H, E) when H != E, and b (Vt,)."""

    def __init__(self, spec: Seq2SeqSpec) -> None:
        super().__init__()
        if spec.projects_tied:
            bound = 1.0 / spec.hidden ** 0.5
            self.proj = nn.Parameter(torch.empty(spec.hidden, spec.embed).uniform_(-bound, bound))
        else:
            self.register_parameter("proj", None)
        self.b = nn.Parameter(torch.zeros(spec.tgt_vocab))


class TorchSeq2Seq(Translator, SharedArrays, nn.Module):
    """An encoder-decoder with attention built from a :class:`Seq2SeqSpec`.

    Its ``named_parameters()`` are exactly ``spec.param_shapes()``, names, shapes and order.
    Batches may be tensors or NumPy arrays (rnnkit/models/seq2seq/batch.py).
    """

    def __init__(self, spec: Seq2SeqSpec, options: TorchOptions | None = None) -> None:
        super().__init__()
        self.spec = self.config = spec
        self.options = options or TorchOptions()
        cls = CELL_TYPES[spec.cell]
        kwargs = {"scan": self.options.scan} if issubclass(cls, MinCell) else {}
        H, KH, enc = spec.hidden, spec.memory_size, spec.encoder

        def direction():
            return nn.ModuleList([cls(enc.layer_input(l), H, **kwargs) for l in range(spec.layers)])

        self.enc = nn.Module()
        self.enc.embed = Embedding(spec.src_vocab, spec.embed)
        self.enc.rnn = direction()
        self.enc.rnn_rev = direction() if spec.bidirectional else None
        self.bridge = nn.ModuleList([Affine(KH, H) for _ in range(spec.layers)])
        self.dec = nn.Module()
        self.dec.embed = Embedding(spec.tgt_vocab, spec.embed)
        self.dec.rnn = Recurrent(spec.cell, spec.decoder.input_size, H, spec.layers, spec.dropout,
                                 path="explicit", scan=self.options.scan)
        if spec.attention == "additive":
            self.att = AdditiveAttention(H, KH, H)
        elif spec.attention == "dot":
            self.att = DotAttention(H, KH, general=True)
        if spec.attention != "none":
            self.comb = Affine(KH + H, H)
        self.out = _TiedOutput(spec) if spec.tie_embeddings else Affine(H, spec.tgt_vocab)
        if self.options.path == "fused" and not fusable(list(self.enc.rnn)):
            raise UsageError(f"PyTorch has no fused kernel for {spec.cell!r} cells")

    @property
    def uses_fused(self) -> bool:
        """Whether the encoder runs through PyTorch's fused kernels."""
        return self.options.path != "explicit" and fusable(list(self.enc.rnn))

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, nn.Parameter]]:
        """The parameters in ``spec.param_shapes()`` order (module order differs)."""
        found = dict(super().named_parameters(prefix, recurse, remove_duplicate))
        if not recurse:
            return iter(found.items())
        dot = prefix + "." if prefix else ""
        return iter([(dot + name, found[dot + name]) for name in self.spec.param_shapes()])

    def init_state(self, n: int) -> None:
        """Nothing is carried from batch to batch."""
        return None

    @property
    def _device(self):
        return self.out.b.device

    def _long(self, *arrays) -> list[Tensor]:
        return [torch.as_tensor(np.asarray(a) if not isinstance(a, Tensor) else a, device=self._device).long()
                for a in arrays]

    # ---- encoder and bridge -------------------------------------------------------------------

    def _encode(self, src: Tensor, src_len: Tensor, training: bool):
        """memory (N, S, K*H), mask (N, S), keys_proj (N, S, H) or None, the decoder's state."""
        spec = self.spec
        N, S = src.shape
        mask = torch.arange(S, device=src.device)[None, :] < src_len[:, None]
        x = F.dropout(self.enc.embed(src.masked_fill(~mask, PAD_ID)), spec.dropout, training)
        full = bool(src_len.min() == S)
        rows, last = torch.arange(N, device=src.device), src_len - 1
        state = []
        for l in range(spec.layers):
            if l > 0:
                x = F.dropout(x, spec.dropout, training)
            directions = [[self.enc.rnn[l]]] + ([[self.enc.rnn_rev[l]]] if spec.bidirectional else [])
            x = ragged_forward(directions, x, None if full else src_len, 0.0, training, fused=self.uses_fused)
            s = x[rows, last, :spec.hidden]
            if spec.bidirectional:  # the backward direction ends at step 0, after reading the row backwards
                s = torch.cat([s, x[:, 0, spec.hidden:]], dim=1)
            h0 = torch.tanh(self.bridge[l](s))
            state.append((h0,) + tuple(torch.zeros_like(h0) for _ in range(spec.state_width - 1)))
        keys = self.att.project_keys(x) if spec.attention == "additive" else None
        return x, mask, keys, state

    # ---- decoder ------------------------------------------------------------------------------

    def _split_input(self) -> bool:
        """Whether layer 0's input product is split in two: e_t's half for all T steps at once,
        htilde_{t-1}'s half at each step. Exact for the cells whose projection is x Wx + b."""
        return self.spec.input_feeding and self.dec.rnn.cells[0].fused_mode is not None

    def _project0(self, x_t: Tensor) -> Tensor:
        """Layer 0's projection of a whole step input x_t (N, D) -> (N, G*H)."""
        return self.dec.rnn.cells[0].project(x_t[:, None])[:, 0]

    def _step(self, p0: Tensor, state, memory: Tensor, mask: Tensor, keys: Tensor | None, training: bool):
        """One decoder step from layer 0's projected input p0 (N, G*H): htilde (N, H), state,
        weights (N, S). The stack's step as Recurrent.step computes it (dropout between layers when
        ``training``), with layer 0's input product left to the caller."""
        cells = self.dec.rnn.cells
        new_state = [cells[0].step(p0, state[0])]
        h = new_state[0][0]
        for cell, prev in zip(cells[1:], state[1:]):
            x = F.dropout(h, self.spec.dropout, training)
            new_state.append(cell.step(cell.project(x[:, None])[:, 0], prev))
            h = new_state[-1][0]
        state = new_state
        if self.spec.attention == "none":
            return h, state, None
        if self.spec.attention == "additive":
            context, weights = self.att(h, memory, memory, mask, keys_proj=keys)
        else:
            context, weights = self.att(h, memory, memory, mask)
        return torch.tanh(self.comb(torch.cat([context, h], dim=1))), state, weights

    def _output_weight(self) -> Tensor:
        if not self.spec.tie_embeddings:
            return self.out.W
        E_T = self.dec.embed.W.t()
        return self.out.proj @ E_T if self.out.proj is not None else E_T

    def _logits(self, htilde: Tensor) -> Tensor:
        W = self._output_weight()
        return torch.addmm(self.out.b, htilde.reshape(-1, W.shape[0]), W).reshape(*htilde.shape[:-1], -1)

    def logits(self, src, src_len, tgt_in, tgt_len, training: bool | None = None) -> Tensor:
        """Logits (N, T, Vt) of every target step under teacher forcing (dropout when training)."""
        training = self.training if training is None else training
        spec = self.spec
        src, src_len, tgt_in, tgt_len = self._long(src, src_len, tgt_in, tgt_len)
        memory, mask, keys, state = self._encode(src, src_len, training)
        N, T = tgt_in.shape
        tmask = torch.arange(T, device=tgt_in.device)[None, :] < tgt_len[:, None]
        e = F.dropout(self.dec.embed(tgt_in.masked_fill(~tmask, PAD_ID)), spec.dropout, training)  # (N, T, E)
        feed = memory.new_zeros(N, spec.hidden)
        split = self._split_input()
        if split:  # e_t's half of layer 0's product (and its bias) for every step: one product
            cell0 = self.dec.rnn.cells[0]
            pe, W_feed = cell0.project(F.pad(e, (0, spec.hidden))).unbind(1), cell0.Wx[spec.embed:]
        htildes = []
        for t, e_t in enumerate(e.unbind(1)):
            if split:
                p0 = pe[t] + feed @ W_feed
            else:
                p0 = self._project0(torch.cat([e_t, feed], dim=1) if spec.input_feeding else e_t)
            feed, state, _ = self._step(p0, state, memory, mask, keys, training)
            htildes.append(feed)
        return self._logits(F.dropout(torch.stack(htildes, dim=1), spec.dropout, training))

    def forward(self, src, src_len, tgt_in, tgt_len) -> Tensor:
        return self.logits(src, src_len, tgt_in, tgt_len)

    def _targets(self, tgt_out, tgt_len):
        tgt_out, tgt_len = self._long(tgt_out, tgt_len)
        tmask = torch.arange(tgt_out.shape[1], device=tgt_out.device)[None, :] < tgt_len[:, None]
        return tgt_out.masked_fill(~tmask, PAD_ID), tmask

    def loss(self, src, src_len, tgt_in, tgt_out, tgt_len, state=None) -> tuple[Tensor, None]:
        """Mean cross-entropy per real target token (a scalar tensor), and None (no state)."""
        targets, tmask = self._targets(tgt_out, tgt_len)
        return temporal_softmax_loss(self(src, src_len, tgt_in, tgt_len), targets, tmask, average="tokens"), None

    @torch.no_grad()
    def evaluate(self, src, src_len, tgt_in, tgt_out, tgt_len, state=None) -> tuple[dict, None]:
        """({"loss_sum", "tokens", "correct"} summed over real target tokens, None); no dropout."""
        targets, tmask = self._targets(tgt_out, tgt_len)
        logits = self.logits(src, src_len, tgt_in, tgt_len, training=False)
        if logits.dtype in (torch.float16, torch.bfloat16):  # sums over many tokens need float32
            logits = logits.float()
        logp = torch.log_softmax(logits, dim=-1)[tmask]
        ref = targets[tmask]
        loss_sum = -logp.gather(1, ref[:, None]).sum()
        correct = (logp.argmax(dim=1) == ref).sum()
        return {"loss_sum": float(loss_sum), "tokens": int(tmask.sum()), "correct": int(correct)}, None

    # ---- inference: NumPy in and out ----------------------------------------------------------

    def _numpy(self, t: Tensor) -> np.ndarray:
        return t.detach().cpu().numpy()

    @torch.no_grad()
    def encode(self, src, src_len) -> dict:
        """As the NumPy engine's ``encode``: a dict of NumPy arrays with the sentences on axis 0."""
        src, src_len = check_ids(src, src_len, self.spec.src_vocab, "source")
        memory, mask, keys, state = self._encode(*self._long(src, src_len), training=False)
        out = {"values": self._numpy(memory), "mask": self._numpy(mask),
               "rnn": [tuple(self._numpy(s) for s in layer) for layer in state],
               "feed": np.zeros((len(src), self.spec.hidden), dtype=self._numpy(memory).dtype)}
        if keys is not None:
            out["keys"] = self._numpy(keys)
        return out

    @torch.no_grad()
    def decode_step(self, prev_ids, state: dict):
        """As the NumPy engine's ``decode_step``: log-probabilities (M, Vt) float64 and the state."""
        dev = self._device

        def tensor(a):
            return torch.as_tensor(a, device=dev)

        e = self.dec.embed(self._long(prev_ids)[0])
        x_t = torch.cat([e, tensor(state["feed"])], dim=1) if self.spec.input_feeding else e
        rnn = [tuple(tensor(s) for s in layer) for layer in state["rnn"]]
        keys = tensor(state["keys"]) if "keys" in state else None
        htilde, rnn, weights = self._step(self._project0(x_t), rnn, tensor(state["values"]), tensor(state["mask"]),
                                          keys, training=False)
        log_probs = torch.log_softmax(self._logits(htilde).double(), dim=-1)
        new_state = dict(state, rnn=[tuple(self._numpy(s) for s in layer) for layer in rnn], feed=self._numpy(htilde))
        if weights is not None:
            new_state["attention"] = self._numpy(weights)
        return self.mask_log_probs(self._numpy(log_probs).copy()), new_state

    @classmethod
    def create(cls, spec: Seq2SeqSpec, seed: int = 0, options: TorchOptions | None = None, *,
               dtype: torch.dtype = torch.float32, device=None) -> "TorchSeq2Seq":
        """A new model initialised like the NumPy engine's (``spec.init_params``, the same seed)."""
        return cls.from_arrays(spec, spec.init_params(np.random.default_rng(seed)), options,
                               dtype=dtype, device=device)

