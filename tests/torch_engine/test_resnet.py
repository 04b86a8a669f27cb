"""rnnkit's torchvision-compatible ResNet (rnnkit/torch_engine/resnet.py): torchvision's parameter
counts and names, the grid is what the classifier pools, saved weights load back exactly, ImageNet
normalisation and grey pictures, and every foreign or unsafe weights file refused with a message.

torchvision itself is not installed here (its wheel is a CUDA build that does not load with the
CPU torch). The counts below are torchvision's published ``num_params``; on 2026-12-03 the layout
was also checked once against torchvision 0.28.0's own ResNets, imported past its C extension:
the same names in the same order and bit-identical outputs for all five (docs/captioning.md)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnkit.errors import UsageError  # noqa: E402
from rnnkit.torch_engine.resnet import IMAGENET_MEAN, ResNet, load_resnet, picture_grids  # noqa: E402

#: torchvision's ``num_params`` of its ImageNet weights.
TORCHVISION_PARAMS = {"resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032}


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A resnet18 with random weights and non-trivial batch-norm statistics, saved as torchvision does."""
    torch.manual_seed(0)
    model = ResNet("resnet18")
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    path = tmp_path_factory.mktemp("weights") / "resnet18.pth"
    torch.save(model.state_dict(), path)
    return path, model


@pytest.mark.parametrize("arch", sorted(TORCHVISION_PARAMS))
def test_parameter_counts_are_torchvisions(arch):
    assert sum(p.numel() for p in ResNet(arch).parameters()) == TORCHVISION_PARAMS[arch]


def test_parameter_names_are_torchvisions():
    small, large = ResNet("resnet18").state_dict(), ResNet("resnet50").state_dict()
    for name in ("conv1.weight", "bn1.running_var", "layer1.0.conv2.weight", "layer2.0.downsample.0.weight",
                 "layer2.0.downsample.1.num_batches_tracked", "layer4.1.bn2.bias", "fc.weight", "fc.bias"):
        assert name in small, name
    assert "layer1.0.downsample.0.weight" not in small       # basic blocks keep layer1's width
    assert "layer1.0.downsample.0.weight" in large           # bottlenecks widen it to 256
    assert tuple(large["layer4.2.conv3.weight"].shape) == (2048, 512, 1, 1)


def test_the_grid_is_what_the_classifier_pools(weights):
    _, model = weights
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        grid = model.grid(x)
        assert grid.shape == (2, 512, 2, 2)
        torch.testing.assert_close(model.fc(grid.mean(dim=(2, 3))), model(x))


def test_saved_weights_load_back_exactly(weights):
    path, model = weights
    loaded = load_resnet("resnet18", path)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    assert not loaded.training


def test_pictures_are_normalised_and_grey_is_repeated(weights):
    _, model = weights
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (2, 32, 32, 1), dtype=np.uint8)
    grids = picture_grids(model, grey, batch=1)
    assert grids.shape == (2, 1, 1, 512) and grids.dtype == np.float32
    np.testing.assert_allclose(grids, picture_grids(model, np.repeat(grey, 3, axis=-1), batch=1), rtol=1e-4, atol=1e-6)
    # a picture of the ImageNet mean colour is the zero input after normalisation (to rounding)
    mean = np.broadcast_to(np.round(np.array(IMAGENET_MEAN) * 255), (1, 32, 32, 3)).astype(np.uint8)
    with torch.no_grad():
        zero = model.grid(torch.zeros(1, 3, 32, 32)).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(picture_grids(model, mean), zero, atol=0.05)


class Payload:
    """Anything that is not a tensor: torch.load(weights_only=True) must refuse to build it."""

    def __reduce__(self):
        return (print, ("this must never run",))


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "no weights file"),
    (lambda p: p.write_bytes(b"\x00not a torch file" * 8), "cannot be read safely"),
    (lambda p: torch.save({"conv1.weight": Payload()}, p), "cannot be read safely"),
    (lambda p: torch.save([torch.zeros(1)], p), "does not hold a state dict"),
    (lambda p: torch.save(ResNet("resnet34").state_dict(), p), "does not fit resnet18: 0 missing"),
    (lambda p: torch.save({k: v for k, v in ResNet("resnet18").state_dict().items() if k != "fc.bias"}, p),
     "1 missing (fc.bias)"),
    (lambda p: torch.save({**ResNet("resnet18").state_dict(), "fc.weight": torch.zeros(10, 512)}, p),
     "fc.weight is (10, 512), resnet18 needs (1000, 512)"),
])
def test_foreign_or_unsafe_weights_are_refused(tmp_path, capsys, make, message):
    path = tmp_path / "weights.pth"
    make(path)
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_resnet("resnet18", path)
    assert "this must never run" not in capsys.readouterr().out


def test_unknown_architecture():
    with pytest.raises(UsageError, match="unknown architecture 'resnet9'"):
        ResNet("resnet9")


def test_the_command_offers_every_architecture():
    from rnnkit.commands.grids import ARCH_NAMES      # kept apart so that building the parser needs no torch
    from rnnkit.torch_engine.resnet import ARCHS

    assert ARCH_NAMES == tuple(ARCHS)
