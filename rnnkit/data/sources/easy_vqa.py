"""easy-VQA: questions about 64x64 pictures of one coloured shape, read offline.

Source: the ``easy-vqa==1.0`` package on PyPI (Victor Zhou, MIT licence). Its ``easy_vqa/data/``
holds ``{train,test}/images/<id>.png`` (64x64 RGB; ids 0..n-1), ``{train,test}/questions.json``
(a list of ``[question, answer, image_id]``) and ``answers.txt`` (the 13 answers, one a line). It is
read from the installed package where there is one (``pip install easy-vqa==1.0``), else from its
wheel in the data folder (``pip download --no-deps easy-vqa==1.0 -d <data folder>``), and decoded
once into ``prepared/easy-vqa-<key>.npz``.

Sizes: train 4,000 images and 38,575 questions, test 1,000 images and 9,673 questions.

Every question follows one of 24 templates and asks for one of three kinds of answer
(:func:`question_type`): ``"yesno"`` ("is there a red shape?", "does the image not contain a
circle?": yes or no), ``"color"`` ("what color is the triangle?", "what is the color of the
shape?": one of 8 colours) and ``"shape"`` ("what is the blue shape?", "what shape is present?":
circle, rectangle or triangle).
"""

from __future__ import annotations

import importlib.util
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnnkit.data.sources.cache import (cached, files_key, find_download, missing_source,
                                       pip_download_command)
from rnnkit.data.sources.png import decode_png
from rnnkit.errors import UsageError

SPEC = "easy-vqa==1.0"
WHEEL_PATTERN = "easy_vqa-1.0-*.whl"
SPLITS = ("train", "test")
IMAGE_SIZE = 64
QUESTION_TYPES = ("yesno", "color", "shape")
_VERSION = 1


def question_type(question: str) -> str:
    """``"yesno"``, ``"color"`` or ``"shape"``: the kind of answer an easy-VQA question asks for.

    Questions that start with "is" or "does" ask yes or no; the others ask for a colour when they
    say "color" and for a shape otherwise. Raises UsageError for text that fits none of these.
    """
    words = question.lower().replace("?", " ").split()
    if words and words[0] in ("is", "does", "are", "do"):
        return "yesno"
    if "color" in words or "colour" in words:
        return "color"
    if "shape" in words or "what" in words:
        return "shape"
    raise UsageError(f"not an easy-VQA question: {question!r}")


@dataclass(frozen=True)
class VQASplit:
    """One split.

    Attributes:
        images: (n_images, 64, 64, 3) uint8 RGB; row i is the picture with id i.
        questions: (n,) the question texts.
        answers: (n,) int64 indices into :attr:`EasyVQA.answers`.
        image_index: (n,) int64, the row of ``images`` each question is about.
    """

    images: np.ndarray
    questions: tuple[str, ...]
    answers: np.ndarray
    image_index: np.ndarray

    def __len__(self) -> int:
        return len(self.questions)

    def question_types(self) -> np.ndarray:
        """(n,) the :func:`question_type` of each question."""
        return np.array([question_type(text) for text in self.questions])


@dataclass(frozen=True)
class EasyVQA:
    """The train and test splits and the answer vocabulary (13 answers in ``answers.txt`` order)."""

    splits: dict[str, VQASplit]
    answers: tuple[str, ...]
    origin: Path
    cache: Path | None = field(default=None)

    def __getitem__(self, split: str) -> VQASplit:
        return self.splits[split]


class _Files:
    """The package's ``data`` folder, on disk or inside the wheel: names relative to it."""

    def __init__(self, origin: Path):
        self.origin = origin
        self.zip = zipfile.ZipFile(origin) if origin.is_file() else None

    def read(self, name: str) -> bytes:
        try:
            if self.zip is not None:
                return self.zip.read(f"easy_vqa/data/{name}")
            return (self.origin / name).read_bytes()
        except (KeyError, OSError) as error:
            raise UsageError(f"easy-VQA: cannot read {name} from {self.origin}: {error}") from None

    def images(self, split: str) -> list[str]:
        if self.zip is not None:
            prefix = f"easy_vqa/data/{split}/images/"
            return [name[len("easy_vqa/data/"):] for name in self.zip.namelist()
                    if name.startswith(prefix) and name.endswith(".png")]
        folder = self.origin / split / "images"
        return [f"{split}/images/{path.name}" for path in folder.glob("*.png")]

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()

    def key(self) -> str:
        if self.zip is not None:
            return files_key(_VERSION, [self.origin])
        names = [*sorted(self.origin.glob("*/questions.json")),
                 *sorted(self.origin.glob("*/images/*.png"))]
        return files_key(_VERSION, [self.origin / "answers.txt", *names], self.origin)


def _convert(files: _Files) -> dict[str, np.ndarray]:
    """Every split as arrays ``{split}_images``, ``{split}_questions``, ``{split}_answers``,
    ``{split}_image_index``, plus ``answers`` (the vocabulary)."""
    vocabulary = [line.strip() for line in files.read("answers.txt").decode("utf-8").splitlines()
                  if line.strip()]
    answer_id = {answer: i for i, answer in enumerate(vocabulary)}
    arrays = {"answers": np.array(vocabulary)}
    for split in SPLITS:
        names = {int(Path(name).stem): name for name in files.images(split)}
        if sorted(names) != list(range(len(names))):
            raise UsageError(f"easy-VQA {split}: image ids are not 0..{len(names) - 1}")
        images = np.empty((len(names), IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
        for image_id, name in names.items():
            rgba = decode_png(files.read(name), name)
            if rgba.shape[:2] != (IMAGE_SIZE, IMAGE_SIZE):
                raise UsageError(f"easy-VQA {name}: {rgba.shape[1]}x{rgba.shape[0]}, not 64x64")
            images[image_id] = rgba[..., :3]
        try:
            rows = json.loads(files.read(f"{split}/questions.json"))
            questions = [str(text) for text, _, _ in rows]
            answers = [answer_id[answer] for _, answer, _ in rows]
            image_index = [int(image) for _, _, image in rows]
        except (ValueError, TypeError, KeyError) as error:
            raise UsageError(f"easy-VQA {split}/questions.json: bad entry ({error})") from None
        if image_index and not 0 <= min(image_index) <= max(image_index) < len(images):
            raise UsageError(f"easy-VQA {split}: a question names an image that is missing")
        arrays.update({f"{split}_images": images, f"{split}_questions": np.array(questions),
                       f"{split}_answers": np.array(answers, np.int64),
                       f"{split}_image_index": np.array(image_index, np.int64)})
    return arrays


def find_easy_vqa(data: str | Path | None = None) -> Path | None:
    """The installed package's ``data`` folder, else the wheel in the data folder, else None."""
    spec = importlib.util.find_spec("easy_vqa")   # finds the package without running it
    if spec is not None and spec.origin:
        folder = Path(spec.origin).parent / "data"
        if (folder / "answers.txt").is_file():
            return folder
    return find_download(WHEEL_PATTERN, data)


def load_easy_vqa(data: str | Path | None = None, *, source: str | Path | None = None) -> EasyVQA:
    """easy-VQA's train and test splits (see :class:`VQASplit`).

    Args:
        data: the data folder (see :mod:`.cache`): where the wheel is looked for and the cache kept.
        source: the package's ``data`` folder or its wheel, if it lies elsewhere.
    """
    origin = Path(source) if source is not None else find_easy_vqa(data)
    if origin is None or not origin.exists():
        raise missing_source("easy-VQA", f"{pip_download_command(SPEC, data)}  "
                                          f"(or: python -m pip install {SPEC})")
    try:
        files = _Files(origin)
    except (OSError, zipfile.BadZipFile) as error:
        raise UsageError(f"cannot read the easy-VQA wheel {origin}: {error}") from None
    try:
        arrays, cache = cached("easy-vqa", files.key(), lambda: _convert(files), data)
    finally:
        files.close()
    splits = {split: VQASplit(arrays[f"{split}_images"],
                              tuple(arrays[f"{split}_questions"].tolist()),
                              arrays[f"{split}_answers"], arrays[f"{split}_image_index"])
              for split in SPLITS}
    return EasyVQA(splits, tuple(arrays["answers"].tolist()), origin, cache)
