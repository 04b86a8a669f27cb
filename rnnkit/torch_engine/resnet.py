"""ResNet (He et al. 2016) in plain PyTorch, laid out exactly as torchvision lays it out, so that a
user who has torchvision's pretrained ImageNet weights (for example ``resnet18-f37072fd.pth``) can
turn pictures into feature grids without torchvision installed (``rnnkit grids``).

Nothing here downloads anything: the weights are a file the user already has.

Layout (parameter names as in torchvision's ``resnet.py``; N batch, S picture side):

```
pictures (N, 3, S, S), ImageNet-normalised
conv1 7x7/2 -> bn1 -> relu -> maxpool 3x3/2                    (N, 64, S/4, S/4)
layer1 .. layer4: blocks, the first of layers 2-4 with stride 2 (N, F, S/32, S/32)   the grid
avgpool -> fc                                                   (N, 1000)  ImageNet classes, unused by grids
```

ResNet-18/34 stack basic blocks (two 3x3 convolutions, F = 512); ResNet-50/101/152 bottleneck
blocks (1x1, 3x3 with the stride, 1x1 widening by 4, F = 2048: torchvision's "v1.5"). A block's
shortcut is the identity, or ``downsample`` (1x1 convolution with the stride, then batch norm)
where the shape changes. Batch norm runs on its stored statistics (eval mode) throughout.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from rnnkit.errors import UsageError

#: arch name -> (block kind, blocks in layer1..layer4), as torchvision defines them.
ARCHS = {
    "resnet18": ("basic", (2, 2, 2, 2)),
    "resnet34": ("basic", (3, 4, 6, 3)),
    "resnet50": ("bottleneck", (3, 4, 6, 3)),
    "resnet101": ("bottleneck", (3, 4, 23, 3)),
    "resnet152": ("bottleneck", (3, 8, 36, 3)),
}
#: The per-channel mean and standard deviation torchvision's ImageNet weights were trained with.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _conv(cin: int, cout: int, k: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False)


class BasicBlock(nn.Module):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), both convolutions 3x3."""

    expansion = 1

    def __init__(self, cin: int, width: int, stride: int):
        super().__init__()
        self.conv1, self.bn1 = _conv(cin, width, 3, stride), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = _conv(width, width, 3), nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(cin, width, stride)

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    """1x1 (width) -> 3x3 (width, the stride here) -> 1x1 (4 width), plus the shortcut."""

    expansion = 4

    def __init__(self, cin: int, width: int, stride: int):
        super().__init__()
        self.conv1, self.bn1 = _conv(cin, width, 1), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = _conv(width, width, 3, stride), nn.BatchNorm2d(width)
        self.conv3, self.bn3 = _conv(width, width * 4, 1), nn.BatchNorm2d(width * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(cin, width * 4, stride)

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + (x if self.downsample is None else self.downsample(x)))


def _shortcut(cin: int, cout: int, stride: int):
    """None where the block keeps its input's shape; else torchvision's ``downsample``."""
    if stride == 1 and cin == cout:
        return None
    return nn.Sequential(_conv(cin, cout, 1, stride), nn.BatchNorm2d(cout))


class ResNet(nn.Module):
    """A torchvision-compatible ResNet; :meth:`grid` is the last convolutional map."""

    def __init__(self, arch: str = "resnet18"):
        super().__init__()
        if arch not in ARCHS:
            raise UsageError(f"unknown architecture {arch!r}: choose {', '.join(ARCHS)}")
        kind, depths = ARCHS[arch]
        block = BasicBlock if kind == "basic" else Bottleneck
        self.arch = arch
        self.conv1, self.bn1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        cin = 64
        for index, (width, depth) in enumerate(zip((64, 128, 256, 512), depths), start=1):
            blocks = []
            for b in range(depth):
                blocks.append(block(cin, width, 2 if b == 0 and index > 1 else 1))
                cin = width * block.expansion
            setattr(self, f"layer{index}", nn.Sequential(*blocks))
        self.features = cin
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, 1000)
        self.eval()

    def grid(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) normalised pictures -> (N, F, ceil(S/32), ceil(S/32)) features."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1000) ImageNet class scores: the grid's mean through ``fc``."""
        return self.fc(torch.flatten(self.avgpool(self.grid(x)), 1))


def load_resnet(arch: str, path: str | Path) -> ResNet:
    """A :class:`ResNet` holding the state dict saved in ``path`` (torchvision's ``.pth`` files, or
    ``torch.save(model.state_dict(), path)`` of a torchvision ResNet).

    The file is read with ``torch.load(weights_only=True)``, which admits tensors and plain
    containers and refuses any other pickled object. Every parameter and buffer must be there
    with its shape (``strict``).

    Raises:
        UsageError: no such file, not a PyTorch file, not a plain state dict, or the weights of
            another architecture.
    """
    model = ResNet(arch)
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"no weights file {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - torch raises many kinds for a foreign file
        # Random bytes and a pickle of other objects both end as an UnpicklingError here, so
        # the message names both causes rather than torch's long advice to load unsafely.
        raise UsageError(f"{path} cannot be read safely: torch.load(weights_only=True) refused it "
                         "(not a PyTorch file, or it holds objects other than tensors)") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UsageError(f"{path} does not hold a state dict (a mapping of names to tensors)")
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        raise UsageError(f"{path} does not fit {arch}: {len(missing)} missing ({', '.join(missing[:3]) or '-'}) "
                         f"and {len(unexpected)} unexpected ({', '.join(unexpected[:3]) or '-'}) parameters")
    wrong = [k for k, v in expected.items() if state[k].shape != v.shape]
    if wrong:
        k = wrong[0]
        raise UsageError(f"{path} does not fit {arch}: {k} is {tuple(state[k].shape)}, "
                         f"{arch} needs {tuple(expected[k].shape)} ({len(wrong)} shapes differ)")
    model.load_state_dict(state)
    return model.eval()


def picture_grids(model: ResNet, images, batch: int = 32) -> np.ndarray:
    """(n, S, S, C) uint8 pictures (C 1 or 3) -> (n, h, w, F) float32 grids of ``model``.

    Grey pictures are repeated into three channels; all are scaled to [0, 1] and normalised with
    the ImageNet mean and deviation, as the pretrained weights expect.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise UsageError(f"pictures must be (n, S, S, 1 or 3), got shape {images.shape}")
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch):
            x = torch.from_numpy(np.ascontiguousarray(images[start:start + batch])).float() / 255.0
            x = x.permute(0, 3, 1, 2).expand(-1, 3, -1, -1)
            out.append(model.grid((x - mean) / std).permute(0, 2, 3, 1).numpy().astype(np.float32))
    return np.concatenate(out) if out else np.zeros((0, 1, 1, model.features), np.float32)
