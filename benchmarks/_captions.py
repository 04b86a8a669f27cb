"""Captions the captioning benchmarks compare, decoded in-process: a run's (or several runs'
together), and the retrieval baseline's, both lower-cased the way ``rnnkit eval`` scores them.

Shared by caption_quality.py (the paired bootstrap, retrieval's BLEU) and caption_grams.py (where
the 4-grams come from). NumPy and rnnkit are imported inside the functions, so the scripts may
import this before they set their thread count.
"""

from __future__ import annotations

from pathlib import Path


def ensemble_captions(runs: list[Path], split: str, beam: int, alpha: float) -> list[str]:
    """The captions of ``split`` decoded by the runs together (``rnnkit eval FIRST --ensemble
    OTHERS --beam BEAM --length-penalty ALPHA``; one run decodes alone), in the split's order."""
    from rnnkit.runtime import make_runtime
    from rnnkit.tasks.caption import CaptionTask
    from rnnkit.training.checkpoint import load_checkpoint

    checkpoints = [load_checkpoint(Path(run), training_state=False) for run in runs]
    runtimes = [make_runtime("numpy", c.spec, params=c.params) for c in checkpoints]
    task = CaptionTask.from_checkpoint(checkpoints[0].train_config(batch=1), checkpoints[0], train=False)
    return task.evaluate(runtimes[0], split, limit=0, beam=beam, return_captions=True, alpha=alpha,
                         ensemble=runtimes[1:])["captions"]


def retrieval_captions(data: str, split: str = "test") -> tuple[list[str], list[list[str]]]:
    """(the nearest-neighbour caption of each image of ``split``, its references), both lower-cased
    the way ``rnnkit eval`` scores the model (``normalised``)."""
    from rnnkit.data import caption_sets
    from rnnkit.tasks.caption_metrics import normalised

    train, query = caption_sets.load_caption_data(data, "train"), caption_sets.load_caption_data(data, split)
    guesses = [normalised(g, caption_sets) for g in caption_sets.nearest_neighbour_captions(train, query.images)]
    return guesses, [[normalised(r, caption_sets) for r in refs] for refs in query.references]
