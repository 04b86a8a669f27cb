"""Feature grids from a pretrained ResNet, for captioning with an encoder you did not train.

Reads every split of a caption source (scenes, tuxpaint, or coco:DIR with pictures), runs each
picture through a ResNet up to its last convolutional map, and writes a COCO-format folder of
.npy grids that `rnnkit train --task caption --data coco:OUT` reads (docs/captioning.md,
"Feature grids instead of pictures").

The weights are a file you already have: torchvision's ImageNet weights (for ResNet-18,
https://download.pytorch.org/models/resnet18-f37072fd.pth, or wherever torchvision cached them:
~/.cache/torch/hub/checkpoints/), or any torchvision ResNet saved with
torch.save(model.state_dict(), FILE). Nothing is downloaded and torchvision is not needed: rnnkit
lays the network out as torchvision does (rnnkit/torch_engine/resnet.py) and reads the file with
torch.load(weights_only=True), which refuses anything but tensors.

examples:
  rnnkit grids --data tuxpaint --weights resnet18-f37072fd.pth --out data/tux-resnet18
  rnnkit train --task caption --data coco:data/tux-resnet18 --attention soft --minutes 15 --out runs/tux-r18
  rnnkit grids --data coco:/data/flickr8k --arch resnet50 --weights resnet50-11ad3fa6.pth --out data/f8k-r50
"""

from __future__ import annotations

from pathlib import Path

from rnnkit.commands._args import positive_int
from rnnkit.errors import UsageError

ARCH_NAMES = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")


def add_arguments(p) -> None:
    p.add_argument("--data", default="tuxpaint",
                   help="the caption source: scenes, tuxpaint or coco:DIR with pictures (default: tuxpaint)")
    p.add_argument("--weights", required=True, metavar="FILE",
                   help="a torchvision ResNet state dict (.pth) of the --arch; nothing is downloaded")
    p.add_argument("--arch", choices=ARCH_NAMES, default="resnet18", help="the network (default: resnet18)")
    p.add_argument("--out", required=True, help="the folder to write (refused if it exists, unless --force)")
    p.add_argument("--image-size", type=positive_int, default=224,
                   help="the side the pictures are read at; the grid is about a 32nd of it (default: 224, 7x7 cells)")
    p.add_argument("--size", type=positive_int, help="the first N pictures of each split (default: all)")
    p.add_argument("--batch", type=positive_int, default=32, help="pictures a forward pass (default: 32)")
    p.add_argument("--threads", type=positive_int, help="PyTorch threads (default: PyTorch's choice)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")


def run(args) -> int:
    try:
        import torch
    except ImportError:
        raise UsageError("rnnkit grids runs the ResNet in PyTorch: pip install 'rnnkit[torch]'") from None
    from rnnkit.data.grid_folder import refuse_existing, write_grid_folder
    from rnnkit.torch_engine.resnet import load_resnet, picture_grids

    if args.image_size < 32:
        raise UsageError(f"--image-size must be at least 32 (the ResNet halves it five times), got {args.image_size}")
    refuse_existing(Path(args.out), args.force)      # before loading the weights; checked again when writing
    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_resnet(args.arch, args.weights)
    print(f"{args.arch} from {args.weights}: grids of {model.features} features from "
          f"{args.image_size}x{args.image_size} pictures of --data {args.data}", flush=True)
    info = {"description": f"rnnkit grids: {args.arch} layer4 of --data {args.data}",
            "arch": args.arch, "weights": str(args.weights), "image_size": args.image_size}
    write_grid_folder(args.data, args.out, lambda images: picture_grids(model, images, args.batch),
                      image_size=args.image_size, size=args.size, force=args.force, info=info,
                      progress=lambda line: print(line, flush=True))
    print(f"wrote {args.out}; train with: rnnkit train --task caption --data coco:{args.out} "
          "--attention soft --out RUN")
    return 0
