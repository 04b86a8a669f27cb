"""Where a Tux Paint BLEU-4 comes from: per stamp, the 4-grams the model's caption shares with the
reference against those the retrieval baseline's caption shares.

Corpus BLEU-4 is the brevity penalty times the geometric mean of the four n-gram precisions, and
its 4-gram precision is (matched 4-grams) / (4-grams written), summed over the split: a caption of
three words ("a frog .") writes none, so a handful of long, templated captions decides it. This
script lists every stamp where either side matches a 4-gram, then the totals (4-grams matched and
written, words written), in sacrebleu's own tokenisation (13a, lower-cased text as ``rnnkit eval``
scores it). The model's captions are decoded as ``rnnkit eval RUN [--ensemble ...] --beam 3``.

    python benchmarks/caption_grams.py runs/tux6/tuxpaint-soft-0 runs/tux6/tuxpaint-soft-{1,2,3,4,5} --split val
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _captions import ensemble_captions, retrieval_captions  # noqa: E402


def grams(tokens: list[str], n: int = 4) -> collections.Counter:
    return collections.Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def matched(hypothesis: list[str], reference: list[str]) -> tuple[int, int]:
    """(clipped 4-gram matches, 4-grams written) of one caption against its one reference."""
    written, wanted = grams(hypothesis), grams(reference)
    return sum(min(count, wanted[g]) for g, count in written.items()), sum(written.values())


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", help="one run, or several decoded together (the first leads)")
    p.add_argument("--split", choices=("val", "test"), default="val", help="default: val")
    p.add_argument("--beam", type=int, default=3)
    p.add_argument("--length-penalty", type=float, default=0.0)
    args = p.parse_args()

    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    ours = ensemble_captions(args.runs, args.split, args.beam, args.length_penalty)
    theirs, references = retrieval_captions("tuxpaint", args.split)
    references = [refs[0] for refs in references]                                   # Tux Paint: one each

    tokenize = Tokenizer13a()
    totals = collections.Counter()
    rows = []
    for reference, model, retrieval in zip(references, ours, theirs):
        ref, hyp, nn = tokenize(reference).split(), tokenize(model).split(), tokenize(retrieval).split()
        (m_hit, m_all), (r_hit, r_all) = matched(hyp, ref), matched(nn, ref)
        totals.update(model_matched=m_hit, model_written=m_all, retrieval_matched=r_hit, retrieval_written=r_all,
                      reference_words=len(ref), model_words=len(hyp), retrieval_words=len(nn))
        if m_hit or r_hit:
            rows.append((m_hit, m_all, r_hit, r_all, reference, model, retrieval))
    print(f"{'model':>7} {'retr.':>7}  reference | model | retrieval   (4-grams matched/written)")
    for m_hit, m_all, r_hit, r_all, reference, model, retrieval in sorted(rows, key=lambda r: -(r[0] + r[2])):
        print(f"{m_hit:>3}/{m_all:<3} {r_hit:>3}/{r_all:<3}  {reference[:50]} | {model[:40]} | {retrieval[:40]}")
    t = totals
    print(f"\n{args.split}, {len(references)} stamps: model {t['model_matched']}/{t['model_written']} 4-grams, "
          f"{t['model_words']} words; retrieval {t['retrieval_matched']}/{t['retrieval_written']} 4-grams, "
          f"{t['retrieval_words']} words; references {t['reference_words']} words")
    return 0


if __name__ == "__main__":
    sys.exit(main())
