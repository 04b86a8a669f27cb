"""A tiny easy-VQA look-alike, generated: 16x16 pictures of one red or blue square or bar on white,
with easy-VQA's kinds of questions about them (yes/no, colour, shape). Written as the package's
wheel (``easy_vqa/data/``: PNGs, questions.json, answers.txt) for the commands, or built in memory."""

import json
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from rnnkit.data.sources.easy_vqa import EasyVQA, VQASplit

ANSWERS = ("red", "blue", "rectangle", "circle", "yes", "no")
COLOURS = {"red": (220, 30, 30), "blue": (30, 30, 220)}
SIZE = 16


def picture(rng, colour: str, shape: str) -> np.ndarray:
    """(16, 16, 3) uint8: white, with a 6x6 block ("circle" stands for it) or a 2x10 bar ("rectangle")."""
    image = np.full((SIZE, SIZE, 3), 255, np.uint8)
    h, w = (6, 6) if shape == "circle" else (2, 10)
    top, left = rng.integers(0, SIZE - h + 1), rng.integers(0, SIZE - w + 1)
    image[top:top + h, left:left + w] = COLOURS[colour]
    return image


def make_split(rng, n_images: int):
    images, rows = [], []
    for i in range(n_images):
        colour, shape = rng.choice(list(COLOURS)), rng.choice(["rectangle", "circle"])
        images.append(picture(rng, colour, shape))
        other = "blue" if colour == "red" else "red"
        rows += [["what color is the shape?", colour, i], ["what shape is in the image?", shape, i],
                 [f"is there a {colour} shape?", "yes", i], [f"is there a {other} shape?", "no", i]]
    return np.stack(images), rows


def fake_data(seed: int = 0, train: int = 40, test: int = 10) -> EasyVQA:
    rng = np.random.default_rng(seed)
    splits = {}
    for name, count in (("train", train), ("test", test)):
        images, rows = make_split(rng, count)
        splits[name] = VQASplit(images, tuple(r[0] for r in rows), np.array([ANSWERS.index(r[1]) for r in rows]),
                                np.array([r[2] for r in rows]))
    return EasyVQA(splits, ANSWERS, Path("fake"))


def encode_png(rgb: np.ndarray) -> bytes:
    """An 8-bit PNG of (H, W, 3) RGB (colour type 2) or (H, W, 4) RGBA (colour type 6), every row
    unfiltered."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    height, width, channels = rgb.shape
    colour_type = {3: 2, 4: 6}[channels]
    raw = b"".join(b"\x00" + row.tobytes() for row in rgb.astype(np.uint8))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def write_wheel(path: Path, seed: int = 0, train: int = 40, test: int = 10) -> Path:
    """The fake data as easy-VQA's wheel at ``path``, pictures scaled to easy-VQA's 64x64 (each
    pixel a 4x4 block, as the reader requires); returns the path."""
    rng = np.random.default_rng(seed)
    members = {"answers.txt": ("\n".join(ANSWERS) + "\n").encode()}
    for name, count in (("train", train), ("test", test)):
        images, rows = make_split(rng, count)
        for i, image in enumerate(images):
            members[f"{name}/images/{i}.png"] = encode_png(image.repeat(4, 0).repeat(4, 1))
        members[f"{name}/questions.json"] = json.dumps(rows).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as wheel:
        for name, payload in members.items():
            wheel.writestr(f"easy_vqa/data/{name}", payload)
    return path
