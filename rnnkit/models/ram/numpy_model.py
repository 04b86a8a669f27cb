"""The recurrent attention model (RAM, and DRAM with ``spec.dram``) in the NumPy engine: forward
and backward by hand (spec.py has the equations, parts.py the layer pairs).

Dimensions: N batch, S image side, T = digits * glimpses steps, P sampled locations (T - 1 for
RAM, whose first glimpse is at the centre; T for DRAM, whose first location the context aims),
H hidden size, C classes, D digits.

The hybrid loss of a batch (images (N, S, S), labels (N, D)):

    loss = sum_j CE(scores_j, y_j)                                classification, mean over rows
         + (1 / (N P)) sum_{n, t} (R_n - b_{n,t})^2               baseline, trained by MSE
         - (1 / N) sum_{n, t} (R_n - b_{n,t}) log pi(l_{n,t} | mu_{n,t})   REINFORCE
    R_n = 1 when every digit of row n is classified right, else 0

The advantage R - b is a constant to the REINFORCE term, and the baseline reads the emitting state
detached, so the MSE trains only baseline.W and baseline.b. The REINFORCE term's gradient reaches
the location network and, with ``loc_grad`` (as in Mnih et al.; the task's default for DRAM), the recurrent state
that emits the locations and everything below it; that is also what trains DRAM's context network
and upper layer, which the cross-entropy never reaches. The reported loss is this whole surrogate,
whose gradient is what the optimizer follows (rnnkit/gradchecks.py checks it by differences with
the noise held fixed).

Sampling: ``loss`` draws eps ~ N(0, I) from ``rng``, or takes it as ``noise`` (N, P, 2) so that
tests can fix the locations; with neither, locations are the means (no exploration). Evaluation
and prediction always follow the means.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.models.numpy_base import NumpyModel
from rnnkit.models.ram import parts
from rnnkit.numpy_engine.glimpse import clip_locations, coarse_view, glimpse_sensor, prepare_retina
from rnnkit.numpy_engine.losses import cross_entropy_sum, log_softmax, softmax_loss
from rnnkit.numpy_engine.recurrent import zero_state
from rnnkit.numpy_engine.step import stack_step_backward, stack_step_forward


def sampled_locations(spec) -> int:
    """P, the locations the policy samples per image."""
    return spec.steps if spec.dram else spec.steps - 1


@dataclass
class _Trace:
    """Everything a forward pass keeps for backward and for the loss."""

    scores: list          # D arrays (N, C)
    tops: list            # D arrays (N, H): h1 at each classification step
    locs: np.ndarray      # (N, T, 2) the (clipped) locations glimpsed
    mus: list             # P arrays (N, 2)
    samples: list         # P arrays (N, 2), unclipped
    baselines: list       # P arrays (N,)
    policy: list          # P PolicyCaches
    baseline_in: list     # P arrays (N, H)
    glimpse: list         # T GlimpseNetCaches
    core: list            # T stack caches
    upper: list           # T stack caches (DRAM)
    context: tuple | None  # (coarse (N, g*g), c (N, H)) for DRAM


def _at(array, k):
    """Row block k of (N, P, 2) draws, or None."""
    return None if array is None else array[:, k]


class RAM(NumpyModel):
    """A recurrent attention model: its spec and a flat dict of named parameter arrays."""

    def init_state(self, n: int) -> None:
        """Nothing: every image is read on its own."""
        return None

    def _emit(self, e, noise, given, trace):
        """Sample the next location from the state e (N, H) (or take ``given``, (N, 2)); record the
        mean, the sample and the baseline."""
        p, spec = self.params, self.spec
        loc, mu, cache = parts.policy_forward(e, p["loc.W"], p["loc.b"], spec.loc_std, noise)
        if given is not None:
            loc = given
        trace.mus.append(mu)
        trace.samples.append(loc)
        trace.policy.append(cache)
        trace.baseline_in.append(e)
        trace.baselines.append((e @ p["baseline.W"] + p["baseline.b"])[:, 0])
        return clip_locations(loc)

    def forward(self, images, noise=None, locations=None) -> _Trace:
        """Glimpse the images for T steps.

        Inputs: images (N, S, S) floats; noise (N, P, 2) standard normals, or None for the means;
        locations (N, P, 2): the sampled locations themselves (then ``noise`` is not used).
        Returns: the trace (scores of every digit, locations, caches).
        """
        p, spec = self.params, self.spec
        images = np.asarray(images, dtype=self.dtype)
        N = images.shape[0]
        if images.shape[1:] != (spec.image_size, spec.image_size):
            raise ValueError(f"images must be (N, {spec.image_size}, {spec.image_size}), got {images.shape}")
        trace = _Trace([], [], np.zeros((N, spec.steps, 2), self.dtype), [], [], [], [], [], [], [], [], None)
        state1 = zero_state(spec.core, N, self.dtype)
        state2 = None
        if spec.dram:
            coarse = coarse_view(images, spec.patch).reshape(N, -1)
            c = np.maximum(coarse @ p["context.W"] + p["context.b"], 0.0)
            trace.context = (coarse, c)
            state2 = zero_state(spec.upper, N, self.dtype)
            state2 = [(c,) + state2[0][1:]]
            loc = self._emit(c, _at(noise, 0), _at(locations, 0), trace)
        else:
            loc = np.zeros((N, 2), self.dtype)
        retina = prepare_retina(images, spec.patch, spec.scales, spec.scale_factor)  # once for T glimpses
        for t in range(spec.steps):
            trace.locs[:, t] = loc
            rho = glimpse_sensor(images, loc, spec.patch, spec.scales, spec.scale_factor, retina)
            g, gcache = parts.glimpse_net_forward(rho, loc, p)
            h1, state1, c1 = stack_step_forward(g, state1, p, spec.core, "rnn.")
            trace.glimpse.append(gcache)
            trace.core.append(c1)
            e = h1
            if spec.dram:
                e, state2, c2 = stack_step_forward(h1, state2, p, spec.upper, "rnn2.")
                trace.upper.append(c2)
            if (t + 1) % spec.glimpses == 0:
                trace.tops.append(h1)
                trace.scores.append(h1 @ p["head.W"] + p["head.b"])
            if t < spec.steps - 1:
                k = len(trace.mus)
                loc = self._emit(e, _at(noise, k), _at(locations, k), trace)
        return trace

    def _given(self, n, name, value):
        value = np.asarray(value, dtype=self.dtype)
        expected = (n, sampled_locations(self.spec), 2)
        if value.shape != expected:
            raise ValueError(f"{name} must be {expected}, got {value.shape}")
        return value

    def _noise(self, n, rng, noise):
        if noise is not None:
            return self._given(n, "noise", noise)
        if rng is None:
            return None
        return rng.standard_normal((n, sampled_locations(self.spec), 2)).astype(self.dtype)

    def loss(self, images, labels, state=None, rng=None, noise=None, locations=None, advantage=None):
        """The hybrid loss (module docstring) and its gradient on every parameter.

        Inputs: images (N, S, S); labels (N, D) ints in [0, C) (or (N,) when D = 1); state unused;
        rng draws the locations' noise; noise (N, P, 2) fixes it instead; locations (N, P, 2) fixes
        the sampled locations themselves (so that they do not move with the parameters: what a
        gradient check by differences needs); advantage (N, P) fixes R - b in the REINFORCE term
        (the constant it is to the gradient; None: computed).
        Returns: loss (float), grads (dict like params, same order), None.
        """
        p, spec = self.params, self.spec
        labels = np.asarray(labels).reshape(len(labels), -1)
        N = labels.shape[0]
        given = None if locations is None else self._given(N, "locations", locations)
        trace = self.forward(images, None if given is not None else self._noise(N, rng, noise), given)
        loss, dscores, correct = 0.0, [], np.ones(N, dtype=bool)
        for j, scores in enumerate(trace.scores):
            value, d = softmax_loss(scores, labels[:, j])
            loss += value
            dscores.append(d)
            correct &= scores.argmax(axis=1) == labels[:, j]
        reward = correct.astype(self.dtype)                                   # (N,)
        grads = {name: np.zeros_like(value) for name, value in p.items()}
        P = len(trace.mus)
        dpolicy = []
        for k in range(P):
            error = reward - trace.baselines[k]                               # (N,)
            loss += float((error ** 2).sum()) / (N * P)
            db = -2.0 * error / (N * P)
            adv = error if advantage is None else np.asarray(advantage, dtype=self.dtype)[:, k]
            logp = parts.log_prob(trace.samples[k], trace.mus[k], spec.loc_std)
            loss -= float((adv * logp).sum()) / N
            grads["baseline.W"] += trace.baseline_in[k].T @ db[:, None]
            grads["baseline.b"] += db.sum()
            dmu = parts.reinforce_dmu(trace.samples[k], trace.mus[k], spec.loc_std, adv) / N
            de, dW, dbias = parts.policy_backward(dmu, trace.policy[k], p["loc.W"])
            grads["loc.W"] += dW
            grads["loc.b"] += dbias
            dpolicy.append(de if spec.loc_grad else None)
        self._backward(trace, dscores, dpolicy, grads)
        return loss, grads, None

    def _backward(self, trace: _Trace, dscores, dpolicy, grads) -> None:
        """Backpropagation through the T steps; ``dpolicy[k]`` the gradient on the state that emitted
        sampled location k (None: none reaches it)."""
        p, spec = self.params, self.spec
        offset = 1 if spec.dram else 0  # DRAM's location k was emitted after step k - 1
        dstate1 = dstate2 = None
        for t in reversed(range(spec.steps)):
            k = t + offset
            de = dpolicy[k] if k < len(dpolicy) else None
            dh1 = np.zeros((trace.glimpse[t].g.shape[0], spec.hidden), self.dtype)
            if spec.dram:
                dup = de if de is not None else np.zeros_like(dh1)
                dx2, dstate2 = stack_step_backward(dup, dstate2, trace.upper[t], p, grads)
                dh1 += dx2
            elif de is not None:
                dh1 += de
            if (t + 1) % spec.glimpses == 0:
                j = (t + 1) // spec.glimpses - 1
                grads["head.W"] += trace.tops[j].T @ dscores[j]
                grads["head.b"] += dscores[j].sum(axis=0)
                dh1 += dscores[j] @ p["head.W"].T
            dg, dstate1 = stack_step_backward(dh1, dstate1, trace.core[t], p, grads)
            parts.glimpse_net_backward(dg, trace.glimpse[t], p, grads)
        if spec.dram:
            coarse, c = trace.context
            dc = dstate2[0][0] + (dpolicy[0] if dpolicy[0] is not None else 0.0)
            dac = dc * (c > 0)
            grads["context.W"] += coarse.T @ dac
            grads["context.b"] += dac.sum(axis=0)

    def evaluate(self, images, labels, state=None):
        """Summed statistics along the mean path, no sampling, no gradient: ({"nats": summed
        cross-entropy over digits, "correct": rows with every digit right, "digits_correct",
        "count": rows}, None)."""
        labels = np.asarray(labels).reshape(len(labels), -1)
        trace = self.forward(images)
        nats, digits, correct = 0.0, 0, np.ones(len(labels), dtype=bool)
        for j, scores in enumerate(trace.scores):
            nats += cross_entropy_sum(scores, labels[:, j])
            right = scores.argmax(axis=1) == labels[:, j]
            digits += int(right.sum())
            correct &= right
        return {"nats": nats, "correct": int(correct.sum()), "digits_correct": digits,
                "count": len(labels)}, None

    def predict_proba(self, images) -> np.ndarray:
        """Class probabilities (N, D, C) float64 along the mean path."""
        trace = self.forward(images)
        return np.stack([np.exp(log_softmax(s.astype(np.float64))) for s in trace.scores], axis=1)

    def locations(self, images) -> np.ndarray:
        """The locations glimpsed along the mean path, (N, T, 2) float64, (row, column) in [-1, 1]."""
        return self.forward(images).locs.astype(np.float64)
