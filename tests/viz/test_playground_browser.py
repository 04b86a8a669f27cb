"""The playground in a real browser: Debian's headless Chromium driven by Playwright (with the
system executable). Loads the page, samples, checks that the text streams in and that the
activation colours change, classifies a sentence. Skips, naming the install command, where
Chromium or Playwright is missing."""

import pytest

from rnnkit.viz.browser import INSTALL, find_chromium

pytest.importorskip("starlette")
CHROMIUM = find_chromium()
if CHROMIUM is None:
    pytest.skip(f"Chromium is not installed: {INSTALL}", allow_module_level=True)
try:
    import playwright.sync_api  # noqa: F401
except ImportError:
    pytest.skip(f"Playwright is not installed: {INSTALL}", allow_module_level=True)

from rnnkit.viz.browser import sample_in_browser  # noqa: E402
from rnnkit.viz.server import create_app, running_server  # noqa: E402
from rnnkit.viz.serving import load_models  # noqa: E402


def test_sample_streams_coloured_text_and_classify_answers_in_the_browser(char_run, sentiment_run, tmp_path):
    shot = tmp_path / "playground.png"
    with running_server(create_app(load_models([char_run, sentiment_run]))) as url:
        result = sample_in_browser(url, CHROMIUM, prime="def ", length=120, probe="c", unit=1, seed=2,
                                   sentence="a great lovely film", screenshot=shot)
    assert result["state"] == "done" and result["error"] == ""
    assert result["text"].startswith("def ") and len(result["text"]) == 124
    assert all(c.startswith("rgb(") for c in result["colours"])
    assert len(set(result["colours"])) > 3  # the activation changes from character to character
    assert "positive" in result["classified"] and "negative" in result["classified"]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
