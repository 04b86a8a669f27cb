"""Visual question answering on easy-VQA: test accuracy, overall and per question type, after a
time budget, against the always-"yes" answer and a bag-of-words + CNN baseline.

1. rnnkit: ``rnnkit train --task vqa --data easy-vqa --minutes M`` as a user types it (the task's
   defaults: torch engine, the stacked-attention model of rnnkit/models/vqa), then
   ``rnnkit eval RUN --split test --json``. The budget counts training time only (the trainer
   does not count evaluation), so the run's wall time is longer.
2. bag of words + CNN (the data set author's kind of baseline): the same convolutional encoder
   (rnnkit/torch_engine/image_encoder.py, its global feature, mean over the grid) and a binary
   bag of the question's words, concatenated -> Linear(64) -> ReLU -> Linear(answers); Adam,
   batch 64, trained for the same M minutes in this process, evaluated on the test split.
3. always "yes": the share of test questions whose answer is yes.

Run on a quiet machine; the threads of NumPy's BLAS and PyTorch are set by ``--threads``:

    python benchmarks/vqa.py --threads 2 --minutes 30        # the issue's target: >= 97% in 30 min
    python benchmarks/vqa.py --quick                          # seconds: checks that it runs; numbers mean nothing
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_threads_argument, configure_torch, print_header, print_table, set_threads_from_argv  # noqa: E402

THREADS = set_threads_from_argv()

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from _runs import ROOT, train_then_eval  # noqa: E402

sys.path.insert(0, str(ROOT))

from rnnkit.config import TrainConfig  # noqa: E402
from rnnkit.data.sources.easy_vqa import QUESTION_TYPES  # noqa: E402
from rnnkit.image_encoder import ImageEncoderSpec  # noqa: E402
from rnnkit.tasks.vqa import VQATask  # noqa: E402

TYPES = QUESTION_TYPES   # yesno, color, shape


def run_rnnkit(minutes: float, out: Path, extra: list[str]) -> tuple[dict, float]:
    """(the eval JSON of the test split, wall seconds of the training command)."""
    return train_then_eval(["--task", "vqa", "--data", "easy-vqa", "--minutes", f"{minutes:g}", "--out", str(out),
                            "--force", *extra], out)


def bag_of_words_cnn(torch, task: VQATask, minutes: float, seed: int = 0) -> dict:
    """Train the baseline of the module docstring for ``minutes``; its test accuracy per type."""
    from torch import nn

    from rnnkit.torch_engine.image_encoder import ImageEncoder

    torch.manual_seed(seed)
    V, answers = len(task.vocab), len(task.data.answers)
    spec = ImageEncoderSpec(height=64, width=64, in_channels=3)

    class BowCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = ImageEncoder(spec)
            start = spec.init_params(np.random.default_rng(seed), "")   # the shared initial values
            with torch.no_grad():
                for name, p in self.enc.named_parameters():
                    p.copy_(torch.as_tensor(start[name]))
            self.mlp = nn.Sequential(nn.Linear(spec.features + V, 64), nn.ReLU(), nn.Linear(64, answers))

        def forward(self, images, ids, mask):
            bag = torch.zeros(ids.shape[0], V).scatter_(1, ids * mask, 1.0)   # binary, padding -> id 0
            bag[:, 0] = 0.0
            return self.mlp(torch.cat([self.enc(images)[0], bag], dim=1))

    model = BowCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    steps, deadline = 0, time.perf_counter() + 60 * minutes
    while time.perf_counter() < deadline:
        images, ids, mask, labels = (torch.as_tensor(a) for a in task.next_batch()[0])
        loss = nn.functional.cross_entropy(model(images, ids, mask.long()), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        steps += 1
    model.eval()
    correct = {kind: [0, 0] for kind in TYPES}
    types = task.question_types("test")
    with torch.no_grad():
        for start in range(0, len(types), 256):
            rows = np.arange(start, min(start + 256, len(types)))
            images, ids, mask, labels = (torch.as_tensor(a) for a in task.batch_of("test", rows))
            right = (model(images, ids, mask.long()).argmax(1) == labels).numpy()
            for kind in TYPES:
                chosen = types[rows] == kind
                correct[kind][0] += int(right[chosen].sum())
                correct[kind][1] += int(chosen.sum())
    total = sum(c for c, _ in correct.values()) / sum(n for _, n in correct.values())
    return {"accuracy": total, **{k: c / n for k, (c, n) in correct.items() if n}, "steps": steps}


def always_yes(task: VQATask) -> dict:
    split, types = task.splits["test"], task.question_types("test")
    yes = np.asarray(split.answers) == task.data.answers.index("yes")
    return {"accuracy": float(yes.mean()), **{k: float(yes[types == k].mean()) for k in TYPES}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_threads_argument(parser, THREADS)
    parser.add_argument("--minutes", type=float, default=30.0, help="training budget of each model (default: 30)")
    parser.add_argument("--train-flags", default="", help="more flags for rnnkit train (e.g. '--hops 1')")
    parser.add_argument("--no-baseline", action="store_true", help="skip the bag-of-words + CNN baseline")
    parser.add_argument("--quick", action="store_true", help="a few seconds each: checks that the script runs")
    args = parser.parse_args()
    minutes = 0.05 if args.quick else args.minutes
    torch = configure_torch(THREADS)
    print_header(f"easy-VQA: test accuracy after {minutes:g} minutes of training", THREADS, torch)
    task = VQATask(TrainConfig(data="easy-vqa", batch=64, seed=0))
    print(task.describe() + "\n")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        extra = args.train_flags.split() + (["--eval-every", "20"] if args.quick else [])
        result, seconds = run_rnnkit(minutes, Path(folder) / "vqa", extra)
        rows.append(["rnnkit vqa (stacked attention, LSTM question)", *[f"{100 * result[k]:.2f}"
                     for k in ("accuracy", *TYPES)], f"{seconds:.0f}"])
    if not args.no_baseline:
        start = time.perf_counter()
        base = bag_of_words_cnn(torch, task, minutes)
        rows.append([f"bag of words + CNN ({base['steps']:,} steps)", *[f"{100 * base[k]:.2f}"
                     for k in ("accuracy", *TYPES)], f"{time.perf_counter() - start:.0f}"])
    yes = always_yes(task)
    rows.append(['always "yes"', *[f"{100 * yes[k]:.2f}" for k in ("accuracy", *TYPES)], ""])
    print_table(["model", "test %", *[f"{k} %" for k in TYPES], "wall s"], rows)


if __name__ == "__main__":
    main()
