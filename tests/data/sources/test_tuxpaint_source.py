"""The Tux Paint reader on a tiny generated stamp folder."""

import numpy as np
import pytest
from sourcefakes import encode_png

from rnnkit.data.sentiment import split_name
from rnnkit.data.sources.tuxpaint import load_tuxpaint, read_caption
from rnnkit.errors import UsageError


def stamp(folder, name, caption=None, png=None, svg=False):
    folder.mkdir(parents=True, exist_ok=True)
    if caption is not None:
        (folder / f"{name}.txt").write_text(caption, encoding="utf-8")
    if png is not None:
        (folder / f"{name}.png").write_bytes(encode_png(png, 6))
    if svg:
        (folder / f"{name}.svg").write_text("<svg/>")


@pytest.fixture()
def stamps(tmp_path):
    root = tmp_path / "stamps"
    red = np.zeros((8, 4, 4), np.uint8)
    red[..., 0], red[..., 3] = 255, 255          # opaque red, twice as high as wide
    clear = np.zeros((4, 4, 4), np.uint8)        # fully transparent
    stamp(root / "animals" / "amphibians", "frog", "A  frog.\nes.utf8=Una rana.\n", red)
    stamp(root / "things", "both", "Drawn twice.", clear, svg=True)    # PNG and SVG: read the PNG
    stamp(root / "things", "vector", "Only a vector.", svg=True)       # SVG only: skipped
    stamp(root / "things", "gift", "A gift.")                          # no picture at all
    stamp(root / "things", "frog_mirror", png=red)                     # a PNG without a caption
    stamp(root / "things", "blank", "", red)                           # an empty caption
    (root / "things" / "sound.ogg").write_bytes(b"OggS")
    return root


def test_reads_captioned_pngs_and_counts_the_rest(stamps, tmp_path):
    data = load_tuxpaint(stamps, size=8, data=tmp_path / "data")
    assert data.paths == ("animals/amphibians/frog.png", "things/both.png")
    assert data.captions == ("A frog.", "Drawn twice.")
    assert (data.skipped_svg, data.no_image, data.uncaptioned) == (1, 1, 2)
    assert data.images.shape == (2, 8, 8, 3) and data.images.dtype == np.uint8
    frog = data.images[0]
    assert (frog[:, 2:6] == [255, 0, 0]).all()                  # centred, aspect kept
    assert (frog[:, :2] == 255).all() and (frog[:, 6:] == 255).all()   # white padding
    assert (data.images[1] == 255).all()                        # transparent -> white
    assert data.split.tolist() == [split_name(path) for path in data.paths]
    assert "skipped 1 SVG-only" in data.describe()
    assert data.cache.name.startswith("tuxpaint-8-") and data.cache.is_file()


def test_select_one_split(stamps, tmp_path):
    data = load_tuxpaint(stamps, size=4, data=tmp_path)
    for name in ("train", "val", "test"):
        part = data.select(name)
        assert set(part.split.tolist()) <= {name} and len(part.images) == len(part.captions)
    assert sum(len(data.select(name)) for name in ("train", "val", "test")) == len(data)


def test_cache_follows_the_files(stamps, tmp_path):
    first = load_tuxpaint(stamps, size=4, data=tmp_path)
    (stamps / "animals" / "amphibians" / "frog.txt").write_text("A green frog.")
    second = load_tuxpaint(stamps, size=4, data=tmp_path)
    assert second.captions[0] == "A green frog." and second.cache != first.cache


def test_read_caption(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("  A   US 1 cent piece ($.01).\r\nfr.utf8=Une pièce.\n", encoding="utf-8")
    assert read_caption(path) == "A US 1 cent piece ($.01)."
    path.write_text("")
    assert read_caption(path) == ""


def test_missing_folder_names_the_install_command(tmp_path):
    with pytest.raises(UsageError, match="apt-get install -y --no-install-recommends "
                                         "tuxpaint-stamps-default"):
        load_tuxpaint(tmp_path / "none", data=tmp_path)
    with pytest.raises(UsageError, match="must be positive"):
        load_tuxpaint(tmp_path, size=0)
