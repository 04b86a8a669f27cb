"""Write a captioning source as a COCO-format folder of feature grids, the input of
``--data coco:DIR`` with ``.npy`` grids (rnnkit/data/coco_captions.py).

``rnnkit grids`` uses it to put a pretrained network's view of Tux Paint's stamps (or the scenes,
or a user's COCO-format pictures) where the captioner reads it; any function from pictures to
grids will do, so nothing here needs torch.

What it writes, for each split in train, val, test:

```
OUT/captions_<split>.json   {"info": {...}, "images": [{"id": i, "file_name": "00000", "source": ...}],
                             "annotations": [{"id": k, "image_id": i, "caption": text}]}
OUT/<split>/00000.npy       the grid of image 0, (h, w, F) float32
```

The folder appears whole or not at all: it is written under a temporary name beside OUT and
renamed at the end, so a failure (or Ctrl-C) leaves no half-written OUT.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Callable

import numpy as np

from rnnkit.data.caption_sets import SPLITS, load_caption_data
from rnnkit.errors import UsageError


def write_grid_folder(data: str, out: str | Path, to_grids: Callable[[np.ndarray], np.ndarray], *,
                      image_size: int, size: int | None = None, force: bool = False,
                      info: dict | None = None, progress: Callable[[str], None] = print) -> dict:
    """Turn every split of ``data`` into grids with ``to_grids`` and write them under ``out``.

    Args:
        data: a caption source (``scenes``, ``tuxpaint``, ``coco:DIR`` with pictures).
        to_grids: (n, S, S, C) uint8 pictures -> (n, h, w, F) float grids.
        image_size: the side S the pictures are read at.
        size: the first ``size`` images of each split (scenes: that many drawn); None for all.
        force: replace an existing ``out``.
        info: written into each JSON's ``"info"`` (what made the grids).

    Returns:
        {split: (images, grid shape)}.

    Raises:
        UsageError: ``out`` exists (without ``force``) or is a file, the source is missing or
            already grids, or ``to_grids`` returns the wrong number or shape of grids.
    """
    out = Path(out)
    refuse_existing(out, force)
    partial = out.resolve().with_name(f".{out.resolve().name}.partial-{os.getpid()}")   # "." has no name
    shutil.rmtree(partial, ignore_errors=True)
    summary = {}
    try:
        for split in SPLITS:
            started = time.perf_counter()
            source = load_caption_data(data, split, size=size, image_size=image_size,
                                       **({"features": False} if data.startswith("coco:") else {}))
            grids = np.asarray(to_grids(source.images), np.float32)
            if grids.ndim != 4 or len(grids) != len(source.images):
                raise UsageError(f"the grid function gave shape {grids.shape} for {len(source.images)} "
                                 "pictures; it must give (n, h, w, F)")
            _write_split(partial, split, grids, source, info or {})
            summary[split] = (len(grids), tuple(grids.shape[1:]))
            progress(f"{split}: {len(grids):,} pictures -> grids {grids.shape[1:]} "
                     f"({time.perf_counter() - started:.1f} s)")
        if out.exists():
            shutil.rmtree(out)
        partial.rename(out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return summary


def refuse_existing(out: Path, force: bool) -> None:
    """UsageError where ``out`` exists, unless it is a folder and ``force`` replaces it; never the
    current folder or one that holds it (replacing it would delete where the command runs)."""
    here = Path.cwd().resolve()
    if out.resolve() == here or out.resolve() in here.parents:
        raise UsageError(f"--out {out} is the current folder or holds it; name a new folder")
    if out.exists() and not (force and out.is_dir()):
        raise UsageError(f"{out} already exists" + ("; pass --force to replace it" if out.is_dir()
                                                    else " and is not a folder"))


def _write_split(folder: Path, split: str, grids: np.ndarray, source, info: dict) -> None:
    (folder / split).mkdir(parents=True, exist_ok=True)
    images, notes = [], []
    for i, (grid, refs) in enumerate(zip(grids, source.references)):
        name = f"{i:05d}"
        np.save(folder / split / f"{name}.npy", grid, allow_pickle=False)
        entry = {"id": i, "file_name": name}
        if source.ids:
            entry["source"] = source.ids[i]
        images.append(entry)
        notes.extend({"id": len(notes), "image_id": i, "caption": ref} for ref in refs)
    document = {"info": dict(info, split=split), "images": images, "annotations": notes}
    (folder / f"captions_{split}.json").write_text(json.dumps(document, ensure_ascii=False, indent=1),
                                                   encoding="utf-8")
