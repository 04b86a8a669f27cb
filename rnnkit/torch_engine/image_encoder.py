"""The convolutional image encoder (rnnkit/image_encoder.py) as a torch module.

Dimensions: N images, H x W pixels, C_0 input channels, C_l filters of layer l, (h, w) the grid.

    x_l = maxpool2x2(relu(conv(x_{l-1})))   channels last (rnnkit/torch_engine/conv.py)
    grid = x_L (N, h, w, C_L);  features = grid's mean over its h*w cells (N, C_L)

Its parameters are named ``conv{l}.W`` (k, k, C_{l-1}, C_l) and ``conv{l}.b`` (C_l,): registered
under a model's ``enc`` attribute they are the shared format's ``enc.conv{l}.W / .b``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.image_encoder import ImageEncoderSpec
from rnnkit.torch_engine.conv import conv_stack


class _Conv(nn.Module):
    def __init__(self, k: int, c_in: int, c_out: int) -> None:
        super().__init__()
        self.W = nn.Parameter(torch.zeros(k, k, c_in, c_out))
        self.b = nn.Parameter(torch.zeros(c_out))


class ImageEncoder(nn.Module):
    """Images (N, H, W) or (N, H, W, C_0) -> (features (N, C_L), grid (N, h, w, C_L)).

    Parameters start at zero: models load ``spec.init_params`` into them (``from_arrays``), so
    both engines start from the same values.
    """

    def __init__(self, spec: ImageEncoderSpec) -> None:
        super().__init__()
        self.spec = spec
        c_in = spec.in_channels
        for l, c_out in enumerate(spec.channels):
            setattr(self, f"conv{l}", _Conv(spec.kernel, c_in, c_out))
            c_in = c_out

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        spec = self.spec
        x = images[..., None] if images.dim() == 3 else images
        if x.dim() != 4 or tuple(x.shape[1:]) != (spec.height, spec.width, spec.in_channels):
            raise ValueError(f"images must be (N, {spec.height}, {spec.width}) for this encoder, "
                             f"got {tuple(images.shape)}")
        convs = [getattr(self, f"conv{l}") for l in range(spec.layers)]
        x = conv_stack(x, [(conv.W, conv.b) for conv in convs], spec.pool)
        return x.mean(dim=(1, 2)), x
