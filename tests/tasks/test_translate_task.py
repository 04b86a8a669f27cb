"""The translation task end to end, as a user runs it: train on a tiny generated parallel TSV with
either engine, evaluate (BLEU, chrF, loss), translate (text, --file, --json, --attention-png), the
checkpoint of one engine translating in the other (and without torch), bad input answered with one
line and exit code 2, and a few real verse pairs where the SWORD modules are installed.

The generated language: each source is 2-6 words of a 12-word vocabulary; its target is the same
words, reversed and in capitals ("b a d" -> "D A B"), so a model must read the whole source.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sentencepiece", reason="needs pip install -e '.[translate]'")
pytest.importorskip("sacrebleu", reason="needs pip install -e '.[translate]'")

from clirun import cli  # noqa: E402

from rnnkit.cli import main  # noqa: E402
from rnnkit.data.parallel import bible_installed, load_parallel  # noqa: E402
from rnnkit.data.subword import SubwordTokenizer  # noqa: E402
from rnnkit.training.checkpoint import BEST, LATEST, load_checkpoint  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
WORDS = "a b c d e f g h i j k l".split()
SMALL = ["--src-vocab", "300", "--tgt-vocab", "300", "--hidden", "16", "--embed", "8", "--batch", "16",
         "--eval-every", "20", "--lr", "0.01", "--dropout", "0", "--cell", "gru"]


def reversed_pairs(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n):
        words = list(rng.choice(WORDS, rng.integers(2, 7)))
        lines.append(" ".join(words) + "\t" + " ".join(w.upper() for w in reversed(words)))
    return lines


@pytest.fixture(scope="module")
def tsv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "pairs.tsv"
    path.write_text("\n".join(reversed_pairs(400)) + "\n", encoding="utf-8")
    return path


def train(data, out, *extra):
    return main(["train", "--task", "translate", "--data", str(data), *SMALL, "--out", str(out), *extra])


@pytest.fixture(scope="module")
def run(tsv, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "numpy"
    assert train(tsv, out, "--steps", "40", "--max-len", "12") == 0
    return out


def test_training_writes_a_run_with_both_tokenizers(run):
    assert {p.name for p in run.iterdir()} >= {LATEST, BEST, "metrics.jsonl", "config.json"}
    checkpoint = load_checkpoint(run)
    assert checkpoint.kind == "seq2seq" and checkpoint.task["name"] == "translate"
    assert set(checkpoint.tokenizers) == {"source", "target"}
    assert checkpoint.task["options"]["max_len"] == 12
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert {"val_bleu", "val_chrf", "val_loss", "val_perplexity", "train_loss"} <= records[-1].keys()
    # It learns: the validation loss after 40 steps is well below the uniform guess over the pieces.
    assert records[-1]["val_loss"] < 0.8 * np.log(checkpoint.spec.tgt_vocab)


def test_eval_prints_bleu_chrf_and_loss(run, capsys):
    code, out, err = cli(["eval", run, "--split", "test", "--beam", "3", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert {"bleu", "chrf", "loss", "perplexity"} <= result.keys()
    assert 0 <= result["bleu"] <= 100 and 0 <= result["chrf"] <= 100
    assert result["perplexity"] == pytest.approx(np.exp(result["loss"]))
    assert result["split"] == "test" and result["beam"] == 3 and result["count"] > 0
    code, out, _ = cli(["eval", run, "--split", "val", "--beam", "1"], capsys)
    assert code == 0 and out.startswith("BLEU ")


def test_predict_text_file_json_and_attention(run, tmp_path, capsys):
    code, out, err = cli(["predict", run, "a b c", "d e", "--beam", "2"], capsys)
    assert code == 0, err
    assert len(out.splitlines()) == 2
    inputs = tmp_path / "inputs.txt"
    inputs.write_text("a b c\nk l\n", encoding="utf-8")
    png = tmp_path / "att.png"
    args = ["predict", run, "--file", inputs, "--json", "--beam", "1"]
    if _has("matplotlib"):
        args += ["--attention-png", png]
    code, out, err = cli(args, capsys)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["input"] for r in rows] == ["a b c", "k l"]
    assert all(isinstance(r["translation"], str) for r in rows)
    if "--attention-png" in args:
        assert png.stat().st_size > 1000 and (tmp_path / "att-2.png").is_file()
        assert rows[0]["attention_png"] == str(png)


def _has(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def test_unseen_script_translates_through_byte_fallback_with_a_warning(run, capsys):
    code, out, err = cli(["predict", run, "a b 世界", "--json"], capsys)
    assert code == 0 and json.loads(out)["translation"] is not None
    assert "warning: input 1 has characters the training text never had (6 bytes)" in err


def test_an_overlong_sentence_is_truncated_with_a_warning(run, capsys):
    code, out, err = cli(["predict", run, " ".join(WORDS * 3), "--beam", "1"], capsys)
    assert code == 0 and len(out.splitlines()) == 1
    assert "the model reads the first 12" in err


@pytest.mark.parametrize("args, words", [
    (["predict", "RUN", ""], "input 1 is empty"),
    (["predict", "RUN", "   "], "input 1 is empty"),
    (["predict", "RUN", "a b", "--beam", "0"], "--beam: must be a positive integer"),
    (["eval", "RUN", "--beam", "0"], "--beam: must be a positive integer"),
    (["eval", "RUN", "--split", "all"], "train, val and test"),
    (["train", "--task", "sentiment", "--attention", "dot"], "--attention is a flag of --task translate"),
    (["train", "--task", "translate", "--data", "NOTAB", "--out", "OUT"], "line 3 has no tab"),
    (["train", "--task", "translate", "--data", "TSV", "--src-vocab", "100", "--out", "OUT"],
     "src-vocab must be an integer >= 265"),
], ids=["empty", "blank", "beam-0", "eval-beam-0", "bad-split", "foreign-flag", "no-tab", "tiny-vocab"])
def test_bad_input_is_one_line_and_exit_2(run, tsv, tmp_path, capsys, args, words):
    notab = tmp_path / "notab.tsv"
    notab.write_text("a b\tB A\nc\tC\nno tab here\n", encoding="utf-8")
    names = {"RUN": str(run), "NOTAB": str(notab), "TSV": str(tsv), "OUT": str(tmp_path / "out")}
    code, out, err = cli([names.get(a, a) for a in args], capsys)
    assert code == 2 and words in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("rnnkit ")
    assert not (tmp_path / "out").exists()


def test_resume_is_exact_and_reverse_swaps_the_languages(tsv, tmp_path):
    """N steps then --resume to 2N: the same parameters, optimizer state and data position as 2N
    steps in one run (dropout on, batches shuffled and bucketed); --reverse reads the columns the
    other way."""
    common = ["--threads", "1", "--dropout", "0.2", "--eval-every", "4", "--reverse"]
    assert train(tsv, tmp_path / "whole", "--steps", "8", *common) == 0
    assert train(tsv, tmp_path / "split", "--steps", "4", *common) == 0
    assert main(["train", "--resume", str(tmp_path / "split"), "--steps", "8"]) == 0
    whole, split = (load_checkpoint(tmp_path / name, prefer_best=False) for name in ("whole", "split"))
    assert whole.meta["data_position"] == split.meta["data_position"]
    for name, value in whole.arrays.items():
        assert np.array_equal(value, split.arrays[name]), name
    assert whole.task["options"]["reverse"] is True
    # Reversed, the targets are the lower-case column: its tokenizer has pieces for "a b c" (the
    # capitals' tokenizer would spell them in bytes).
    target = SubwordTokenizer.from_json(whole.tokenizers["target"])
    assert target.byte_pieces(target.encode("a b c")) == 0 and target.byte_pieces(target.encode("A B C")) > 0


def run_without_torch(*argv):
    """``rnnkit argv`` in a fresh interpreter where ``import torch`` fails: its stdout."""
    code = ("import sys; sys.modules['torch'] = None\n"
            "from rnnkit.cli import main\n"
            f"code = main({list(argv)!r})\n"
            "sys.exit(code)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _predict_json(capsys, folder, texts, beam, *engine):
    capsys.readouterr()
    assert main(["predict", str(folder), *texts, "--json", "--beam", beam, *engine]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def _same(rows_a, rows_b):
    for a, b in zip(rows_a, rows_b, strict=True):
        assert a["translation"] == b["translation"]
        assert a["score"] == pytest.approx(b["score"], abs=1e-4)


def test_checkpoints_translate_alike_in_both_engines(run, tsv, tmp_path, capsys):
    """A NumPy-trained model translates the same in torch, and a torch-trained one the same in
    NumPy, also without torch installed (greedy and beam search)."""
    pytest.importorskip("torch")
    torch_run = tmp_path / "torch"
    assert train(tsv, torch_run, "--steps", "3", "--eval-every", "3", "--engine", "torch", "--device", "cpu") == 0
    texts = ["a b c d", "e f", "g h i j k"]
    torch_engine = ("--engine", "torch", "--device", "cpu")
    for folder in (run, torch_run):
        for beam in ("1", "3"):
            _same(_predict_json(capsys, folder, texts, beam, *torch_engine),
                  _predict_json(capsys, folder, texts, beam, "--engine", "numpy"))
    without_torch = [json.loads(line) for line in
                     run_without_torch("predict", str(torch_run), *texts, "--json", "--beam", "3").splitlines()]
    _same(_predict_json(capsys, torch_run, texts, "3", *torch_engine), without_torch)


@pytest.mark.skipif(not bible_installed(), reason="needs apt-get install -y sword-text-kjv sword-text-sparv")
def test_a_few_real_verse_pairs_train_and_translate(tmp_path, capsys):
    data = load_parallel("bible-en-es")
    lines = [f"{s}\t{t}" for s, t in zip(data.train.sources[:240], data.train.targets[:240])]
    path = tmp_path / "verses.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["train", "--task", "translate", "--data", str(path), *SMALL, "--src-vocab", "500", "--tgt-vocab", "500",
                 "--steps", "4", "--eval-every", "4", "--max-len", "60", "--out", str(tmp_path / "bible")]) == 0
    code, out, err = cli(["predict", tmp_path / "bible", "And God said, Let there be light: and there was light.",
                          "--json", "--beam", "2"], capsys)
    assert code == 0, err
    assert isinstance(json.loads(out)["translation"], str)


def test_the_toy_language_is_learnt_with_a_realistic_vocabulary(tmp_path):
    """With 300-piece vocabularies (256 byte pieces among them, as every real tokenizer has) the
    model must leave the target's unigram loss (about 2.3 nats here) within 200 steps: it sat there
    for hundreds of steps while the embeddings started at N(0, 0.1^2)."""
    data = tmp_path / "toy.tsv"
    data.write_text("\n".join(reversed_pairs(1000, seed=3)) + "\n", encoding="utf-8")
    out = tmp_path / "run"
    assert main(["train", "--task", "translate", "--data", str(data), "--engine", "torch", "--device", "cpu",
                 "--src-vocab", "300", "--tgt-vocab", "300", "--hidden", "32", "--embed", "16", "--batch", "32",
                 "--eval-every", "200", "--lr", "0.01", "--dropout", "0", "--cell", "gru", "--steps", "200",
                 "--sample-length", "0", "--out", str(out)]) == 0
    last = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["step"] == 200
    assert last["val_loss"] < 1.2 and last["val_token_accuracy"] > 0.6, last
