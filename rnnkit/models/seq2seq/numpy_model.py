"""The translation model in the NumPy engine: encoder, bridge, attentive decoder, all backward by hand.

Dimensions: N batch, S source steps, T target steps, Vt target vocabulary, E embedding width,
H hidden size, K encoder directions. rnnkit/models/seq2seq/spec.py has the equations; this file
composes the shared pairs:

    encoder  src -> dropout(enc.embed.W[src^T]) (S, N, E) -> stack_forward with src_len
             -> memory (N, S, K*H), final states                 rnnkit/numpy_engine/recurrent.py
    bridge   h0_l = tanh(s_l bridge.l.W + bridge.l.b), s_l = [h_fwd; h_rev] of encoder layer l
    decoder  the embedded tgt_in's half of layer 0's input product for all T steps at once, then
             T steps of numpy_decoder.decoder_step_forward (teacher forcing: it reads tgt_in)
             -> htilde (N, T, H) -> dropout -> logits = . W_out + out.b (N, T, Vt)
    loss     temporal_softmax_loss(logits, tgt_out, mask, average="tokens")   nats per target token

Backward runs the chain in reverse: the output layer for all steps at once; the decoder loop from
t = T-1 down to 0 (the stack's step backward, rnnkit/numpy_engine/step.py), each step's input
gradient split into the embedding's and htilde_{t-1}'s (input feeding); the additive attention's
key projection once; the bridge; the encoder through ``stack_backward`` with the bridge's gradient
on its final states, which a ragged batch reads at each row's last real step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.models.numpy_base import NumpyModel
from rnnkit.models.seq2seq.batch import check_batch, check_ids, length_mask
from rnnkit.models.seq2seq.numpy_decoder import (Memory, decoder_step_backward, decoder_step_forward, project_inputs,
                                                  project_inputs_backward)
from rnnkit.models.seq2seq.translate import Translator
from rnnkit.models.seq2seq.spec import PAD_ID
from rnnkit.numpy_engine.attention import project_keys_backward, project_keys_forward
from rnnkit.numpy_engine.layers import dropout_backward, dropout_forward, scatter_add_rows
from rnnkit.numpy_engine.losses import log_softmax, temporal_softmax_loss
from rnnkit.numpy_engine.recurrent import stack_backward, stack_forward


@dataclass
class _Encoded:
    src_tm: np.ndarray     # (S, N) ids, 0 at padding
    mask: np.ndarray       # (N, S) bool
    embed_dropout: object
    stack: object          # the stack's cache
    keys: object           # project_keys' cache (additive attention), else None
    s: list                # per layer (N, K*H) the bridge's input
    h0: list               # per layer (N, H) the decoder's initial h


class Seq2Seq(Translator, NumpyModel):
    """An encoder-decoder with attention: its spec and a flat dict of named parameter arrays."""

    @property
    def dtype(self):
        return self.params["out.b"].dtype

    def init_state(self, n: int) -> None:
        """Nothing is carried from batch to batch."""
        return None

    # ---- encoder and bridge -------------------------------------------------------------------

    def _encode(self, src, src_len, rng=None):
        """Memory and the decoder's initial state; returns (Memory, state, _Encoded)."""
        p, spec = self.params, self.spec
        N, S = src.shape
        mask = length_mask(src_len, S)
        src_tm = np.ascontiguousarray(np.where(mask, src, PAD_ID).T)
        x, embed_dropout = dropout_forward(p["enc.embed.W"][src_tm], spec.dropout, rng)  # (S, N, E)
        full = bool(np.all(src_len == S))  # then plain reversal, the stack's fastest path
        y, final, stack_cache = stack_forward(x, None, p, spec.encoder, "enc.rnn.", rng,
                                              lengths=None if full else src_len)
        values = np.ascontiguousarray(y.transpose(1, 0, 2))  # (N, S, K*H)
        keys_proj = keys_cache = None
        if spec.attention == "additive":
            keys_proj, keys_cache = project_keys_forward(values, p["att.Wk"])
        width = spec.encoder.state_width
        state, ss, h0s = [], [], []
        for l in range(spec.layers):
            s = final[l][0] if spec.directions == 1 else np.concatenate([final[l][0], final[l][width]], axis=1)
            h0 = np.tanh(s @ p[f"bridge.{l}.W"] + p[f"bridge.{l}.b"])
            # The decoder's c (an (h, c) cell) starts at zero: see the spec's notes on the bridge.
            state.append((h0,) + tuple(np.zeros_like(h0) for _ in range(spec.state_width - 1)))
            ss.append(s)
            h0s.append(h0)
        encoded = _Encoded(src_tm, mask, embed_dropout, stack_cache, keys_cache, ss, h0s)
        return Memory(values, mask, keys_proj), state, encoded

    def _encode_backward(self, dvalues, dkeys_proj, dstate0, enc: _Encoded, grads):
        p, spec = self.params, self.spec
        if dkeys_proj is not None:
            dkeys, grads["att.Wk"] = project_keys_backward(dkeys_proj, enc.keys)
            dvalues = dkeys if dvalues is None else dvalues + dkeys
        width, H = spec.encoder.state_width, spec.hidden
        dfinal = []
        for l in range(spec.layers):
            dpre = dstate0[l][0] * (1.0 - enc.h0[l] ** 2)
            grads[f"bridge.{l}.W"] = enc.s[l].T @ dpre
            grads[f"bridge.{l}.b"] = dpre.sum(axis=0)
            ds = dpre @ p[f"bridge.{l}.W"].T  # (N, K*H)
            per_direction = [(ds[:, k * H:(k + 1) * H],) + (None,) * (width - 1) for k in range(spec.directions)]
            dfinal.append(sum(per_direction, ()))
        S, N = enc.src_tm.shape
        dy = np.zeros((S, N, spec.memory_size), dtype=self.dtype) if dvalues is None \
            else np.ascontiguousarray(dvalues.transpose(1, 0, 2))
        dx, _ = stack_backward(dy, enc.stack, p, grads, dfinal=dfinal)
        dx = dropout_backward(dx, enc.embed_dropout)
        real = enc.mask.T
        grads["enc.embed.W"] = scatter_add_rows(enc.src_tm[real], dx[real], spec.src_vocab)

    # ---- output layer -------------------------------------------------------------------------

    def _output_weight(self):
        """W_out (H, Vt): out.W, or the tied embedding (through out.proj when H != E)."""
        p, spec = self.params, self.spec
        if not spec.tie_embeddings:
            return p["out.W"]
        E_T = p["dec.embed.W"].T
        return p["out.proj"] @ E_T if spec.projects_tied else E_T

    def _output_backward(self, dW, grads):
        p, spec = self.params, self.spec
        if not spec.tie_embeddings:
            grads["out.W"] = dW
        elif spec.projects_tied:
            grads["out.proj"] = dW @ p["dec.embed.W"]
            grads["dec.embed.W"] += dW.T @ p["out.proj"]
        else:
            grads["dec.embed.W"] += dW.T

    # ---- teacher forcing ----------------------------------------------------------------------

    def forward(self, src, src_len, tgt_in, tgt_len, rng=None):
        """Logits (N, T, Vt) of every target step, reading tgt_in; and a cache for backward."""
        p, spec = self.params, self.spec
        memory, state, enc = self._encode(src, src_len, rng)
        N, T = tgt_in.shape
        tmask = length_mask(tgt_len, T)
        tgt_in = np.where(tmask, tgt_in, PAD_ID)
        e, e_dropout = dropout_forward(p["dec.embed.W"][tgt_in], spec.dropout, rng)  # (N, T, E)
        pe = project_inputs(e, p, spec)  # (N, T, G*H) one product for all steps
        feed = np.zeros((N, spec.hidden), dtype=self.dtype)
        caches, htildes = [], np.empty((N, T, spec.hidden), dtype=self.dtype)
        for t in range(T):
            feed, state, _, cache = decoder_step_forward(pe[:, t], feed, state, memory, p, spec, rng)
            htildes[:, t] = feed
            caches.append(cache)
        top, out_dropout = dropout_forward(htildes, spec.dropout, rng)
        W = self._output_weight()
        logits = (top.reshape(N * T, -1) @ W).reshape(N, T, -1)
        logits += p["out.b"]
        return logits, (memory, enc, tgt_in, tmask, e, e_dropout, caches, top, out_dropout, W)

    def backward(self, dlogits, cache) -> dict:
        """Gradients of every parameter given dlogits (N, T, Vt)."""
        p, spec = self.params, self.spec
        memory, enc, tgt_in, tmask, e, e_dropout, caches, top, out_dropout, W = cache
        N, T, V = dlogits.shape
        d2 = dlogits.reshape(N * T, V)
        grads = {"out.b": d2.sum(axis=0)}
        dW = top.reshape(N * T, -1).T @ d2
        dhtildes = dropout_backward((d2 @ W.T).reshape(N, T, -1), out_dropout)
        dpe = np.empty((N, T, p["dec.rnn.0.Wx"].shape[1]), dtype=self.dtype)  # (N, T, G*H)
        dfeed = np.zeros((N, spec.hidden), dtype=self.dtype)
        dstate = dvalues = dkeys_proj = None
        for t in range(T - 1, -1, -1):
            dpe[:, t], dfeed, dstate, dv_t, dk_t = decoder_step_backward(
                dhtildes[:, t] + dfeed, dstate, caches[t], memory, p, spec, grads)
            if dv_t is not None:
                dvalues = dv_t if dvalues is None else dvalues + dv_t
            if dk_t is not None:
                dkeys_proj = dk_t if dkeys_proj is None else dkeys_proj + dk_t
        de = dropout_backward(project_inputs_backward(dpe, e, p, spec, grads), e_dropout)
        grads["dec.embed.W"] = scatter_add_rows(tgt_in[tmask], de[tmask], spec.tgt_vocab)
        self._output_backward(dW, grads)
        self._encode_backward(dvalues, dkeys_proj, dstate, enc, grads)
        return {name: grads[name] for name in spec.param_shapes()}

    def loss(self, src, src_len, tgt_in, tgt_out, tgt_len, state=None, rng=None):
        """Mean cross-entropy per real target token and its gradient on every parameter.

        Inputs: the batch (rnnkit/models/seq2seq/batch.py); state unused (None); rng for dropout.
        Returns: loss (float), grads (dict like params, same order), None.
        """
        src, src_len, tgt_in, tgt_out, tgt_len = check_batch(self.spec, src, src_len, tgt_in, tgt_out, tgt_len)
        logits, cache = self.forward(src, src_len, tgt_in, tgt_len, rng)
        tmask = cache[3]
        loss, dlogits = temporal_softmax_loss(logits, np.where(tmask, tgt_out, PAD_ID), tmask, average="tokens")
        return loss, self.backward(dlogits, cache), None

    def loss_weight(self, src, src_len, tgt_in, tgt_out, tgt_len) -> float:
        """The loss is a mean over real target tokens: their number (weights the worker shards)."""
        return float(np.sum(tgt_len))

    def evaluate(self, src, src_len, tgt_in, tgt_out, tgt_len, state=None):
        """Summed statistics of a batch, without dropout or gradients.

        Returns: ({"loss_sum": summed nats over real target tokens, "tokens": their number,
        "correct": tokens whose argmax is the reference}, None).
        """
        src, src_len, tgt_in, tgt_out, tgt_len = check_batch(self.spec, src, src_len, tgt_in, tgt_out, tgt_len)
        logits, cache = self.forward(src, src_len, tgt_in, tgt_len)
        tmask = cache[3]
        logp = log_softmax(logits.astype(np.float64))[tmask]  # (M, Vt) the real tokens
        ref = tgt_out[tmask]
        loss_sum = -float(logp[np.arange(len(ref)), ref].sum())
        return {"loss_sum": loss_sum, "tokens": int(tmask.sum()),
                "correct": int(np.sum(logp.argmax(axis=1) == ref))}, None

    # ---- inference (rnnkit/inference/beam.py drives these) ------------------------------------

    def encode(self, src, src_len) -> dict:
        """The decoder's starting state for N sentences: {"values" (N, S, K*H), "mask" (N, S),
        "keys" (N, S, A) (additive attention; else absent), "rnn" the decoder stack's state,
        "feed" (N, H) zeros}; every array has the sentences on axis 0."""
        src, src_len = check_ids(src, src_len, self.spec.src_vocab, "source")
        memory, state, _ = self._encode(src, src_len)
        out = {"values": memory.values, "mask": memory.mask, "rnn": state,
               "feed": np.zeros((len(src), self.spec.hidden), dtype=self.dtype)}
        if memory.keys_proj is not None:
            out["keys"] = memory.keys_proj
        return out

    def decode_step(self, prev_ids, state: dict):
        """One step for M hypotheses: prev_ids (M,) -> log-probabilities (M, Vt) float64 (padding
        and <bos> at -inf: never generated) and the new state, whose "attention" (M, S) holds the
        step's weights (absent without attention)."""
        p, spec = self.params, self.spec
        memory = Memory(state["values"], state["mask"], state.get("keys"))
        pe = project_inputs(p["dec.embed.W"][np.asarray(prev_ids)], p, spec)
        htilde, rnn, weights, _ = decoder_step_forward(pe, state["feed"], state["rnn"], memory, p, spec)
        logits = htilde @ self._output_weight() + p["out.b"]
        new_state = dict(state, rnn=rnn, feed=htilde)
        if weights is not None:
            new_state["attention"] = weights
        return self.mask_log_probs(log_softmax(logits.astype(np.float64))), new_state
