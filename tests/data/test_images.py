"""rnnkit/data/images.py: the picture-file reading that the caption and VQA readers and the COCO
folder reader share: the size limit, the messages, compositing and fitting to the model's size."""

import io

import numpy as np
import pytest

import rnnkit.data.images as images
from rnnkit.errors import UsageError


def test_read_image_file_refuses_a_missing_or_too_large_file(tmp_path, monkeypatch):
    with pytest.raises(UsageError, match="no such image file"):
        images.read_image_file(tmp_path / "absent.png")
    path = tmp_path / "big.png"
    path.write_bytes(b"x" * 2048)
    assert images.read_image_file(path) == (path, b"x" * 2048)
    assert images.read_image_bytes(path, count=8) == b"x" * 8
    monkeypatch.setattr(images, "MAX_IMAGE_BYTES", 1024)
    with pytest.raises(UsageError, match=r"big.png is larger than 0 MB; give a small PNG$"):
        images.read_image_file(path)
    with pytest.raises(UsageError, match=r"big.png is larger than 0 MB$"):
        images.read_image_bytes(path)
    monkeypatch.setattr(images, "MAX_IMAGE_BYTES", 1 << 20)
    with pytest.raises(UsageError, match="cannot read"):
        images.read_image_bytes(tmp_path)   # a folder: stat works, reading does not


def test_fit_to_model_composites_on_white_and_resizes_with_a_warning():
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0], rgba[0, 0, 3] = 255, 255          # one opaque red pixel, the rest transparent
    warn = io.StringIO()
    out = images.fit_to_model(rgba, "p.png", 4, 4, warn)
    assert out.dtype == np.float32 and out.shape == (4, 4, 3) and warn.getvalue() == ""
    np.testing.assert_allclose(out[0, 0], [1, 0, 0])
    np.testing.assert_allclose(out[1:, 1:], 1.0)       # transparent -> white
    small = images.fit_to_model(rgba, "p.png", 2, 2, warn)
    assert small.shape == (2, 2, 3) and "p.png is 4x4; the model reads 2x2 images" in warn.getvalue()
    np.testing.assert_allclose(small[0, 0], [1, 0.75, 0.75], atol=1 / 255)   # red averaged with 3 white (uint8)
    with pytest.raises(UsageError, match="p.png is 4x4; this model reads only 4x2 images"):
        images.fit_to_model(rgba, "p.png", 2, 4, warn)
