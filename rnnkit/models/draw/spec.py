"""DRAW's spec: parameter names, shapes and initialisation, for both engines.

Dimensions: N batch, B image height, A image width (P = B*A pixels), H hidden size of both LSTMs,
Z latent size, T drawing steps, n_r / n_w read / write patch sides.

Per step t = 1..T (Gregor et al. 2015), from c_0 = 0 and zero LSTM states:

    xhat_t = x - sigmoid(c_{t-1})                                           (N, P)
    r_t    = [x, xhat_t]                                   without attention (N, 2P)
           = [read(x, h_dec_{t-1}), read(xhat_t, h_dec_{t-1})]   with      (N, 2 n_r^2)
    h_enc_t = LSTM_enc(h_enc_{t-1}, [r_t, h_dec_{t-1}])                     (N, H)
    mu_t = h_enc_t mu.W + mu.b;  log sigma_t = h_enc_t logsigma.W + logsigma.b   (N, Z)
    z_t  = mu_t + sigma_t * eps_t,  eps_t ~ N(0, I)                        (N, Z)
    h_dec_t = LSTM_dec(h_dec_{t-1}, z_t)                                    (N, H)
    c_t = c_{t-1} + write(h_dec_t)        w = h_dec_t write.W + write.b: the image itself (P) or
                                          an n_w x n_w patch through the transposed filterbanks

    loss = sum_pixels BCE(sigmoid(c_T), x) + sum_t KL(N(mu_t, sigma_t^2) || N(0, I))   nats per image
    KL_t = 1/2 sum_z (mu^2 + sigma^2 - 2 log sigma - 1)

read / write windows: ``read_att`` / ``write_att`` (H, 5) linear layers of h_dec (filterbank.py).
Parameters, in this order: ``enc.0.Wx (2R + H, 4H)``, ``enc.0.Wh``, ``enc.0.b`` (R = P or n_r^2),
``dec.0.Wx (Z, 4H)``, ``dec.0.Wh``, ``dec.0.b``, ``mu.W (H, Z)``, ``mu.b``, ``logsigma.W``,
``logsigma.b``, ``write.W (H, P or n_w^2)``, ``write.b``, and with attention ``read_att.W (H, 5)``,
``read_att.b``, ``write_att.W (H, 5)``, ``write_att.b``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from rnnkit.config import dataclass_from_json
from rnnkit.errors import UsageError
from rnnkit.models.draw.filterbank import spanning_stride
from rnnkit.recurrent_spec import RecurrentSpec

KIND = "draw"
MAX_SIDE = 1024
MAX_WIDTH = 1 << 16
MAX_STEPS = 4096


def _bounded_int(name, value, minimum, maximum):
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise UsageError(f"{name.replace('_', '-')} must be an integer from {minimum} to {maximum:,}, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class DrawSpec:
    """Shape of a DRAW model (see the module docstring). Fields are keywords only.

    Attributes:
        height, width: B and A, the image size (fixed by the data).
        hidden: H, the hidden size of the encoder and the decoder LSTM.
        latent: Z, the size of z_t.
        steps_t: T, the drawing steps.
        attention: read and write through Gaussian filterbanks (else the whole image).
        read_n, write_n: the patch sides n_r and n_w (used with attention).
    """

    height: int
    width: int
    hidden: int = 256
    latent: int = 100
    steps_t: int = 64
    attention: bool = True
    read_n: int = 2
    write_n: int = 5

    kind = KIND
    #: What the shared commands print about any model (train's "model:" line).
    cell = "lstm"
    layers = 1
    #: The loss draws noise: the NumPy runtime hands its generators to every loss call.
    stochastic = True

    def __post_init__(self) -> None:
        for name, minimum, maximum in (("height", 2, MAX_SIDE), ("width", 2, MAX_SIDE), ("hidden", 1, MAX_WIDTH),
                                       ("latent", 1, MAX_WIDTH), ("steps_t", 1, MAX_STEPS),
                                       ("read_n", 1, MAX_SIDE), ("write_n", 1, MAX_SIDE)):
            _bounded_int(name, getattr(self, name), minimum, maximum)
        if not isinstance(self.attention, bool):
            raise UsageError(f"attention must be true or false, got {self.attention!r}")

    @property
    def dropout(self) -> float:
        """No dropout (the runtimes ask every model)."""
        return 0.0

    @property
    def pixels(self) -> int:
        """P = B*A."""
        return self.height * self.width

    @property
    def read_size(self) -> int:
        """R, the width of one read: P without attention, n_r^2 with."""
        return self.read_n**2 if self.attention else self.pixels

    @property
    def write_size(self) -> int:
        """The width of one write: P without attention, n_w^2 with."""
        return self.write_n**2 if self.attention else self.pixels

    @property
    def encoder(self) -> RecurrentSpec:
        return RecurrentSpec("lstm", 2 * self.read_size + self.hidden, self.hidden)

    @property
    def decoder(self) -> RecurrentSpec:
        return RecurrentSpec("lstm", self.latent, self.hidden)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "DrawSpec":
        if isinstance(data, dict) and not {"height", "width"} <= set(data):
            raise UsageError("model configuration: height and width are missing")
        return dataclass_from_json(cls, data, "model configuration")

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """The name and shape of every parameter, in the order of the module docstring."""
        H, Z = self.hidden, self.latent
        shapes = dict(self.encoder.param_shapes("enc."))
        shapes.update(self.decoder.param_shapes("dec."))
        shapes.update({"mu.W": (H, Z), "mu.b": (Z,), "logsigma.W": (H, Z), "logsigma.b": (Z,),
                       "write.W": (H, self.write_size), "write.b": (self.write_size,)})
        if self.attention:
            shapes.update({"read_att.W": (H, 5), "read_att.b": (5,), "write_att.W": (H, 5), "write_att.b": (5,)})
        return shapes

    def initial_log_variance(self, n: int) -> float:
        """log sigma^2 of a fresh n x n window: sigma = half the stride that spans the image, so
        neighbouring filters meet. With unit variance a 2x2 read would sample two thin lines at
        the image's borders, where MNIST is blank: the encoder saw nothing and the KL term stayed
        at zero (the plateau of docs/draw.md)."""
        stride = spanning_stride(self.width, self.height, n)
        return float(2.0 * np.log(max(stride / 2.0, 1.0)))

    def init_params(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Float64 initial weights: the LSTMs by rnnkit/cells.py's rules, every affine layer
        U(-1/sqrt(H), 1/sqrt(H)) with zero bias, except that the windows start centred, with the
        stride that spans the image (log delta~ = 0), unit intensity, and filters as wide as half
        that stride (:meth:`initial_log_variance`): the read sees the whole image blurred and the
        write paints smooth blobs, both sharpening as they learn."""
        params = self.encoder.init_params(rng, "enc.")
        params.update(self.decoder.init_params(rng, "dec."))
        bound = 1.0 / np.sqrt(self.hidden)
        for name, shape in self.param_shapes().items():
            if name.startswith(("enc.", "dec.")):
                continue
            params[name] = rng.uniform(-bound, bound, size=shape) if name.endswith(".W") else np.zeros(shape)
        if self.attention:
            params["read_att.b"][2] = self.initial_log_variance(self.read_n)
            params["write_att.b"][2] = self.initial_log_variance(self.write_n)
        return {name: params[name] for name in self.param_shapes()}
