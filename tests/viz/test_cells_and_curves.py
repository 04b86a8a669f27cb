"""rnnkit cells (text features, correlations, the page and the PNG) and rnnkit plot (curves of
several runs, PNG and SVG)."""

import json

import numpy as np
import pytest

from rnnkit.cli import main
from rnnkit.viz import cellviz
from rnnkit.viz.curves import read_run, series


def test_text_features_follow_quotes_brackets_lines_indentation_and_comments():
    text = 'def f(a, (b)):  # c(\n    x = "q(\\"z" + \'w\'\n    """doc\n  more""" \n'
    f = cellviz.text_features(text)
    assert len(f["in_quotes"]) == len(text)
    def at(feature, sub, offset=0):
        return f[feature][text.index(sub) + offset]
    assert at("paren_depth", "(b)", 1) == 2 and at("in_parens", "):") == 0  # the last ) closes
    assert at("in_comment", "c(") == 1 and at("paren_depth", "c(", 1) == 0  # a ( in a comment is no bracket
    assert at("in_quotes", "q(") == 1 and at("paren_depth", "q(", 1) == 0  # nor one in a string
    assert at("in_quotes", '\\"z', 2) == 1  # an escaped quote does not close it
    assert at("in_quotes", " + ") == 0 and at("in_quotes", "w") == 1
    assert at("in_quotes", "more") == 1  # a triple-quoted string runs across lines
    assert at("indent", "x =") == 4 and at("line_position", "x =") == 5
    assert f["line_position"][text.index("\n")] == 0


def test_correlations_find_the_unit_that_tracks_a_feature():
    rng = np.random.default_rng(0)
    feature = (rng.random(500) < 0.3).astype(float)
    acts = rng.normal(size=(500, 6))
    acts[:, 4] = 0.8 * feature + 0.1 * rng.normal(size=500)
    acts[:, 2] = 5.0  # a constant unit correlates with nothing (no NaN)
    r = cellviz.correlations(acts, {"f": feature, "constant": np.ones(500)})
    assert set(r) == {"f"} and np.argmax(np.abs(r["f"])) == 4 and r["f"][4] > 0.9 and r["f"][2] == 0
    layers = [{"h": acts}]
    best = cellviz.candidates(layers, "h", {"in_quotes": feature}, top=2)
    assert best[0] == {"feature": "in_quotes", "layer": 0, "probe": "h", "cell": 4, "r": pytest.approx(r["f"][4])}


def test_display_values_and_the_page():
    assert cellviz.display_values("f", np.array([0.0, 1.0])).tolist() == [-1.0, 1.0]
    assert cellviz.display_values("c", np.array([100.0]))[0] == pytest.approx(1.0)
    page = cellviz.render_page("t <x>", "intro", "a<b\n", [("unit 1", np.array([-1.0, -1.0, 0.0, 1.0]))])
    assert "t &lt;x&gt;" in page and '<span class="v0">a&lt;</span>' in page and "<script" not in page


def test_cells_command_writes_the_page_the_png_and_the_table(char_run, code_file, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    html, png = tmp_path / "cells.html", tmp_path / "cells.png"
    assert main(["cells", str(char_run), "--text", str(code_file), "--chars", "3000", "--show", "400",
                 "--cell", "3", "--html", str(html), "--png", str(png), "--lines", "4"]) == 0
    out = capsys.readouterr().out
    assert "in_quotes" in out and "indent" in out and "probe c" in out
    page = html.read_text(encoding="utf-8")
    assert "c cell 3 (chosen)" in page and page.count("<pre>") == 7  # the chosen cell and one per feature
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert main(["cells", str(char_run), "--text", str(code_file), "--probe", "f", "--json",
                 "--html", str(html)]) == 0
    found = json.loads(capsys.readouterr().out)["candidates"]
    assert {c["feature"] for c in found} == set(cellviz.FEATURES) and all(c["probe"] == "f" for c in found)


@pytest.mark.parametrize("argv, words", [
    (["--probe", "z"], "has the probes h, c, i, f, o, g"),
    (["--cell", "16"], "--cell must be below 16"),
    (["--layer", "1"], "--layer must be below 1"),
])
def test_cells_command_refuses_bad_choices(char_run, code_file, tmp_path, capsys, argv, words):
    assert main(["cells", str(char_run), "--text", str(code_file), "--html", str(tmp_path / "c.html"), *argv]) == 2
    assert words in capsys.readouterr().err


def test_plot_draws_several_runs_and_reads_torn_and_resumed_logs(char_run, sentiment_run, tmp_path, capsys):
    log = tmp_path / "resumed" / "metrics.jsonl"
    log.parent.mkdir()
    rows = [{"step": 10, "elapsed": 1.0, "train_bpc": 3.0, "val_bpc": 3.1},
            {"step": 20, "elapsed": 2.0, "train_bpc": 2.5, "val_bpc": None},
            {"step": 20, "elapsed": 2.5, "train_bpc": 2.4, "val_bpc": 2.6}]  # a resume logged step 20 again
    log.write_text("\n".join(json.dumps(r) for r in rows) + '\n{"step": 3', encoding="utf-8")
    run = read_run(log.parent)
    assert [r["step"] for r in run["records"]] == [10, 20]
    assert series(run["records"], "val_bpc", "step") == ([10.0, 20.0], [3.1, 2.6])
    pytest.importorskip("matplotlib")
    out = tmp_path / "figs" / "curves.png"
    assert main(["plot", str(char_run), str(sentiment_run), str(log.parent), "--out", str(out), "--title", "t"]) == 0
    assert (tmp_path / "figs" / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert "<svg" in (tmp_path / "figs" / "curves.svg").read_text(encoding="utf-8")[:500]
    assert main(["plot", str(tmp_path / "nothing")]) == 2
    assert "no metrics.jsonl" in capsys.readouterr().err
    assert main(["plot", str(char_run), "--labels", "a,b"]) == 2
