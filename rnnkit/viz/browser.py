"""The playground in a real browser: headless Chromium from the system's package (Debian's
``chromium``), driven by Playwright with that executable (Playwright's own browser download is
never used). The browser tests and the documentation's screenshot both go through here.

    python -m rnnkit.viz.browser RUN [RUN...] --out docs/images/playground.png --prime "def " --probe c --unit 5

starts ``rnnkit serve``'s application on a free local port, samples in the page, and writes a
screenshot.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

#: How to get what the browser tests need, for their skip message.
INSTALL = "apt-get install -y chromium (as root; `make test` does it), and pip install 'rnnkit[test]' for Playwright"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The system Chromium's executable: $RNNKIT_CHROMIUM, else the first of :data:`CANDIDATES` on PATH."""
    explicit = os.environ.get("RNNKIT_CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def sample_in_browser(url: str, chromium: str, *, prime: str = "", length: int = 200, temperature: float = 0.8,
                      probe: str | None = None, unit: int | None = None, seed: int | None = 1,
                      sentence: str | None = None, screenshot=None, timeout: float = 60.0) -> dict:
    """Open the playground at ``url``, sample once (and classify ``sentence`` when a sentiment panel
    shows), and read back what the page shows: ``{"text", "colours" (one CSS colour a character),
    "state" ("done" when the stream ended), "error", "classified"}``; ``screenshot`` a PNG path."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # --no-sandbox: Chromium's sandbox refuses to run as root, which CI and `make test` do.
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 650})
            page.set_default_timeout(timeout * 1000)
            page.goto(url)
            page.wait_for_selector("body[data-ready=true]", state="attached")
            page.fill("#prime", prime)
            page.fill("#length", str(length))
            page.fill("#temperature", str(temperature))
            page.fill("#seed", "" if seed is None else str(seed))
            if probe is not None:
                page.select_option("#probe", probe)
            if unit is not None:
                page.fill("#unit", str(unit))
            page.click("#sample-button")
            # Selector waits, not wait_for_function: the page's CSP forbids the eval that one needs.
            page.wait_for_selector("#output[data-state=done], #output[data-state=stopped]", state="attached")
            cells = page.eval_on_selector_all(
                "#output span", "spans => spans.map(s => [s.textContent, s.style.backgroundColor])")
            classified = None
            if sentence is not None and page.is_visible("#sentiment-panel"):
                page.fill("#sentence", sentence)
                page.click("#classify-button")
                page.wait_for_selector("#classify-result div, #error:not(:empty)")
                classified = page.inner_text("#classify-result")
            result = {"text": "".join(c for c, _ in cells), "colours": [colour for _, colour in cells],
                      "state": page.get_attribute("#output", "data-state"), "error": page.inner_text("#error"),
                      "classified": classified}
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=True)
            return result
        finally:
            browser.close()


def _shrink(path) -> None:
    """The screenshot with a palette of 128 colours, a third of the bytes (when Pillow is there)."""
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=128)
    small.save(path, format="PNG", optimize=True)


def main(argv=None) -> int:
    from rnnkit.errors import UsageError
    from rnnkit.viz.server import create_app, running_server
    from rnnkit.viz.serving import load_models

    p = argparse.ArgumentParser(prog="python -m rnnkit.viz.browser", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", metavar="RUN")
    p.add_argument("--out", required=True, help="the screenshot, a .png file")
    p.add_argument("--prime", default="")
    p.add_argument("--length", type=int, default=400)
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--probe")
    p.add_argument("--unit", type=int)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--sentence", help="a sentence to classify when a sentiment model is served")
    args = p.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        print(f"no Chromium found: {INSTALL}", file=sys.stderr)
        return 2
    try:
        app = create_app(load_models(args.runs))
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with running_server(app) as url:
        result = sample_in_browser(url, chromium, prime=args.prime, length=args.length, temperature=args.temperature,
                                   probe=args.probe, unit=args.unit, seed=args.seed, sentence=args.sentence,
                                   screenshot=args.out)
    _shrink(args.out)
    print(f"{len(result['text'])} characters, {len(set(result['colours']))} colours; wrote {args.out}")
    return 0 if result["state"] == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
