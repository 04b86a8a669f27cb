"""Check rnnkit's ResNets (rnnkit/torch_engine/resnet.py) against torchvision's own: the same
parameter names in the same order, and the same class scores given the same random weights.

Needs torchvision's Python files (``pip install --no-deps torchvision`` of the version that goes
with your torch). Where its C extension does not load (a CUDA wheel beside a CPU torch, as on the
machine this was first run on), the models are imported past it: ResNets need none of its
compiled operators. Downloads nothing.

    python scripts/check_resnet_layout.py
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import types

import torch


def torchvision_resnet_module():
    """torchvision.models.resnet, imported normally or, failing that, without torchvision's __init__."""
    try:
        from torchvision.models import resnet
        return resnet
    except Exception:  # noqa: BLE001 - any failure of the C extension
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]
    spec = importlib.util.find_spec("torchvision")
    if spec is None:
        sys.exit("torchvision is not installed: pip install --no-deps torchvision==<the version of your torch>")
    package = types.ModuleType("torchvision")
    package.__path__ = [os.path.dirname(spec.origin)]
    sys.modules["torchvision"] = package
    from torchvision.models import resnet
    return resnet


def main() -> int:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from rnnkit.torch_engine.resnet import ARCHS, load_resnet

    reference = torchvision_resnet_module()
    torch.manual_seed(0)
    failed = 0
    with tempfile.TemporaryDirectory() as folder:
        for arch in ARCHS:
            theirs = getattr(reference, arch)(weights=None)
            for m in theirs.modules():          # batch-norm statistics away from 0 and 1, so eval mode matters
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.running_mean.uniform_(-0.1, 0.1)
                    m.running_var.uniform_(0.5, 1.5)
            theirs.eval()
            path = os.path.join(folder, f"{arch}.pth")
            torch.save(theirs.state_dict(), path)
            ours = load_resnet(arch, path)
            same_names = list(ours.state_dict()) == list(theirs.state_dict())
            x = torch.randn(2, 3, 96, 96)
            with torch.no_grad():
                gap = float((ours(x) - theirs(x)).abs().max())
            params = sum(p.numel() for p in ours.parameters())
            ok = same_names and gap == 0.0
            failed += not ok
            print(f"{arch:10s} {params:>11,} parameters  names {'same' if same_names else 'DIFFER'}  "
                  f"max |score difference| {gap:.3g}  {'ok' if ok else 'FAILED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
