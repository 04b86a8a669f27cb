"""Reading images for a trained recurrent attention model, and what ``rnnkit predict`` prints.

An input is a PNG (grey or colour; its luminance is read, 0 black .. 1 white; transparent pixels
count as black) or a ``.npy`` array (S, S) of floats in [0, 1] or of bytes 0..255, loaded without
pickle. Digits are white ink on black, as in MNIST. The image must be exactly the model's S x S: a
model trained on 28 x 28 digits reads nothing else (a one-line error says so).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.errors import UsageError

MAX_BYTES = 64 << 20


def read_image(path, size: int) -> np.ndarray:
    """The image at ``path`` as (size, size) float32 in [0, 1]; UsageError when missing, unreadable,
    empty or of another size."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"no such image file: {path}")
    if path.stat().st_size == 0:
        raise UsageError(f"{path} is empty: give a PNG or .npy image")
    if path.stat().st_size > MAX_BYTES:
        raise UsageError(f"{path} is larger than {MAX_BYTES >> 20} MiB; give a {size} x {size} image")
    if path.suffix.lower() == ".npy":
        try:
            image = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise UsageError(f"{path} is not a NumPy array file without pickle ({exc})") from None
        if image.dtype.kind not in "uif" or image.ndim != 2:
            raise UsageError(f"{path} holds a {image.dtype} array of shape {image.shape}; give (S, S) numbers")
        image = image.astype(np.float32) / (255.0 if image.dtype.kind in "ui" else 1.0)
    else:
        from rnnkit.data.sources.png import decode_png

        rgba = decode_png(path.read_bytes(), where=str(path)).astype(np.float32) / 255.0
        grey = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        image = grey * rgba[..., 3]
    if image.shape != (size, size):
        raise UsageError(f"{path} is {image.shape[1]} x {image.shape[0]} pixels; "
                         f"the model reads {size} x {size} images")
    if not np.all(np.isfinite(image)):
        raise UsageError(f"{path} holds values that are not finite numbers")
    return np.clip(image, 0.0, 1.0)


def predict(checkpoint, runtime, paths, glimpses_png=None) -> list[dict]:
    """For each image: the digits read, their probabilities and the glimpse path; with
    ``glimpses_png`` the path drawn over the image (FILE, then FILE-2, FILE-3, ... for more images).
    Every file is read and checked before the model runs."""
    spec = checkpoint.spec
    names = checkpoint.task.get("labels") or [str(i) for i in range(spec.classes)]
    if not isinstance(names, list) or len(names) != spec.classes:
        names = [str(i) for i in range(spec.classes)]
    images = np.stack([read_image(p, spec.image_size) for p in paths])
    probs = runtime.call("predict_proba", images)      # (n, D, C)
    locs = runtime.call("locations", images)           # (n, T, 2)
    results = []
    for i, path in enumerate(paths):
        best = probs[i].argmax(axis=1)
        labels = [str(names[k]) for k in best]
        result = {"digits": "".join(labels), "labels": labels,
                  "probability": float(np.prod(probs[i][np.arange(len(best)), best])),
                  "locations": np.round(locs[i], 4).tolist()}
        if glimpses_png:
            from rnnkit.viz.glimpse_path import draw_glimpse_path

            base = Path(glimpses_png)
            out = base if i == 0 else base.with_name(f"{base.stem}-{i + 1}{base.suffix}")
            draw_glimpse_path(images[i], locs[i], spec, out, title=f"{path}: read {result['digits']}")
            result["glimpses_png"] = str(out)
        results.append(result)
    return results
