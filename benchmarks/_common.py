"""Shared pieces of the benchmark scripts: thread settings, a description of the machine, timing,
tables, and the plain PyTorch character LSTM that rnnkit is compared with.

Threads. NumPy's BLAS (OpenBLAS in the NumPy wheels) reads ``OPENBLAS_NUM_THREADS`` once, when
NumPy is imported, and cannot be changed afterwards without extra packages; PyTorch's intra-op
pool is set with ``torch.set_num_threads``. So every script calls :func:`set_threads_from_argv`
*before* it imports NumPy, PyTorch or rnnkit, and :func:`configure_torch` once PyTorch is
imported. This module therefore imports only the standard library at its top; NumPy and PyTorch
are imported inside the functions that need them.

The PyTorch baseline (:class:`TorchBaseline`) is the loop a PyTorch user would write without
tricks: ``nn.Embedding(V, E) -> nn.LSTM(E, H, num_layers=L, batch_first=True) -> nn.Linear(H, V)``,
cross-entropy (mean over the N*T characters of a chunk), Adam at a constant 2e-3,
``clip_grad_norm_(5)``, and truncated BPTT: the (h, c) of one chunk, detached, start the next.
It reads its batches from rnnkit's own :class:`rnnkit.data.TBPTTStream`, so both models see
exactly the same characters in the same order, and it exposes ``init_state``/``eval_chunk`` so
that :func:`rnnkit.training.evaluate.evaluate_tokens` evaluates it with the very same code, stream
layout and state carrying as rnnkit's own models.
"""

from __future__ import annotations

import os
import platform
import re
import statistics
import sys
import time

#: Environment variables that size the thread pools of the BLAS and OpenMP runtimes NumPy and
#: PyTorch may load. They are read when the library loads, hence set before any import.
THREAD_ENV_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


# -- threads ------------------------------------------------------------------------------------

def machine_cores() -> int:
    """The cores this process may run on (its CPU affinity), else os.cpu_count()."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _threads_in_argv(argv) -> int | None:
    """The value of ``--threads N`` or ``--threads=N`` in argv, or None."""
    for i, arg in enumerate(argv):
        value = None
        if arg == "--threads" and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--threads="):
            value = arg.split("=", 1)[1]
        if value is not None:
            try:
                n = int(value)
            except ValueError:
                return None  # argparse reports the bad value later, with the usual message
            return n if n >= 1 else None
    return None


def set_threads_from_argv(argv=None) -> int:
    """Fix the thread count for NumPy's BLAS and PyTorch, before either is imported.

    The count is ``--threads N`` from argv when given; else ``OMP_NUM_THREADS`` from the
    environment when set (so ``OMP_NUM_THREADS=1 python benchmarks/x.py`` means one thread for
    both libraries); else every core of the machine. It is written to all of
    :data:`THREAD_ENV_VARS`. Returns the count; pass it on to :func:`configure_torch`.
    """
    argv = sys.argv[1:] if argv is None else argv
    n = _threads_in_argv(argv)
    if n is None:
        try:
            n = int(os.environ.get("OMP_NUM_THREADS", ""))
        except ValueError:
            n = None
    if n is None or n < 1:
        n = machine_cores()
    late = [name for name in ("numpy", "torch") if name in sys.modules]
    if late:
        print(f"warning: {', '.join(late)} was imported before the thread count was set; "
              "its BLAS may use another number of threads", file=sys.stderr)
    for var in THREAD_ENV_VARS:
        os.environ[var] = str(n)
    return n


def add_threads_argument(parser, threads: int) -> None:
    """``--threads`` on a script's parser (its value was already applied by set_threads_from_argv)."""
    parser.add_argument("--threads", type=int, default=threads,
                        help="threads for NumPy's BLAS and for PyTorch (default: $OMP_NUM_THREADS "
                             f"if set, else all cores; here {threads})")


def configure_torch(threads: int):
    """Import PyTorch with ``threads`` intra-op threads (CPU only). Returns the torch module."""
    import torch

    torch.set_num_threads(threads)
    return torch


# -- the machine --------------------------------------------------------------------------------

def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else platform.processor()."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def numpy_blas() -> str:
    """The BLAS NumPy was built with, e.g. 'scipy-openblas 0.3.31'."""
    import numpy as np

    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # the layout of show_config is not a stable API
        return "unknown"


def torch_blas(torch) -> str:
    """PyTorch's BLAS as its build settings name it (BLAS_INFO=...), e.g. 'mkl'."""
    try:
        found = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    except Exception:  # __config__ is informational, not a stable API
        found = None
    return found.group(1) if found else "unknown"


#: The vector extensions that decide which kernels the libraries pick (a flag of /proc/cpuinfo).
VECTOR_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16",
                "amx_tile", "amx_bf16")


def cpu_vector_extensions() -> str:
    """The CPU's vector extensions among :data:`VECTOR_FLAGS`, e.g. 'sse4_2 avx avx2 fma'.

    An AVX-512 CPU runs PyTorch's oneDNN and MKL kernels at twice the vector width of an AVX2 one,
    while NumPy's OpenBLAS may not use it; the ratio of the two engines depends on this line."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return " ".join(flag for flag in VECTOR_FLAGS if flag in flags) or "none of " + " ".join(VECTOR_FLAGS)
    except OSError:
        pass
    return "unknown"


def numpy_simd() -> str:
    """The SIMD levels NumPy dispatches to on this CPU, e.g. 'X86_V3' (AVX2) or 'X86_V4' (AVX-512)."""
    import numpy as np

    try:
        return " ".join(np.show_config(mode="dicts")["SIMD Extensions"]["found"]) or "baseline only"
    except Exception:  # show_config's layout is not a stable API
        return "unknown"


def blas_kernels() -> str:
    """The kernel family OpenBLAS chose for this CPU (threadpoolctl's 'architecture', e.g.
    'Haswell', 'SkylakeX', 'Zen'), or '' when threadpoolctl is not installed."""
    try:
        import threadpoolctl
    except ImportError:
        return ""
    kernels = {info.get("architecture") for info in threadpoolctl.threadpool_info()
               if info.get("internal_api") == "openblas" and info.get("architecture")}
    return ", ".join(sorted(kernels))


def torch_cpu_capability(torch) -> str:
    """The vector level PyTorch's CPU kernels run at here ('AVX2', 'AVX512', ...)."""
    try:
        return torch.backends.cpu.get_cpu_capability()
    except Exception:  # older PyTorch
        return "unknown"


def describe_machine(threads: int, torch=None) -> list[str]:
    """Lines that say where a measurement was taken: CPU, cores, threads, library versions."""
    import numpy as np

    lines = [
        f"cpu:     {cpu_model()}, {machine_cores()} cores available ({os.cpu_count()} online)",
        f"threads: {threads} ({', '.join(f'{v}={os.environ.get(v)}' for v in THREAD_ENV_VARS)}"
        + (f", torch.get_num_threads()={torch.get_num_threads()}" if torch is not None else "") + ")",
        f"python:  {platform.python_version()} on {platform.system()} {platform.machine()}",
        f"vectors: {cpu_vector_extensions()}",
        f"numpy:   {np.__version__} (BLAS: {numpy_blas()}"
        + (f", {kernels} kernels" if (kernels := blas_kernels()) else "") + f"; SIMD: {numpy_simd()})",
    ]
    if torch is not None:
        lines.append(f"torch:   {torch.__version__} (BLAS: {torch_blas(torch)}; CPU kernels: {torch_cpu_capability(torch)})")
    try:
        load = os.getloadavg()
        lines.append(f"load:    {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1, 5, 15 min; "
                     "a load above the thread count means others share the cores)")
    except OSError:
        pass
    return lines


def print_header(title: str, threads: int, torch=None) -> None:
    print(title)
    print("=" * len(title))
    for line in describe_machine(threads, torch):
        print(line)
    print()


# -- tables -------------------------------------------------------------------------------------

def format_table(headers, rows) -> str:
    """A plain-text table: text columns left-aligned, the others (numbers) right-aligned."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [all(_looks_numeric(row[i]) for row in cells[1:]) for i in range(len(headers))]

    def line(row):
        return "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(row, widths, numeric)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule] + [line(r) for r in cells[1:]])


def _looks_numeric(text: str) -> bool:
    stripped = text.replace(",", "").replace("x", "").replace("%", "").replace("+", "").strip()
    try:
        float(stripped)
        return True
    except ValueError:
        return text in ("", "-", "n/a")


def print_table(headers, rows) -> None:
    print(format_table(headers, rows))
    print()


def rate(value: float) -> str:
    """12,345 for characters per second."""
    return f"{value:,.0f}"


# -- timing -------------------------------------------------------------------------------------

def time_call(fn) -> float:
    """Seconds one call of fn() takes (wall clock, time.perf_counter)."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved_step_times(steps: dict, warmup: int, rounds: int, per_round: int) -> dict:
    """Time several training-step functions side by side.

    ``steps`` maps a name to a function doing one training step. Each first runs ``warmup``
    untimed steps (allocations, caches, BLAS thread start-up, PyTorch's first-call costs); then
    ``rounds`` rounds follow, each running ``per_round`` timed steps of every function in turn, so a
    change in the machine's load during the run falls on all of them alike. Returns name -> the
    list of per-step seconds (rounds * per_round of them); summarise with the median, which
    ignores the odd step slowed by another process.
    """
    for fn in steps.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in steps}
    for _ in range(rounds):
        for name, fn in steps.items():
            times[name] += [time_call(fn) for _ in range(per_round)]
    return times


def median(values) -> float:
    return statistics.median(values)


# -- the plain PyTorch baseline -----------------------------------------------------------------

def make_torch_charlstm(vocab_size: int, hidden: int, layers: int, embed_dim: int, seed: int = 0):
    """``nn.Embedding(V, E) -> nn.LSTM(E, H, L, batch_first=True) -> nn.Linear(H, V)`` with
    PyTorch's default initialisation (seeded by ``seed``)."""
    import torch
    from torch import nn

    class TorchCharLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab_size, embed_dim)
            self.lstm = nn.LSTM(embed_dim, hidden, num_layers=layers, batch_first=True)
            self.head = nn.Linear(hidden, vocab_size)

        def forward(self, ids, state):
            out, state = self.lstm(self.embed(ids), state)
            return self.head(out), state

    torch.manual_seed(seed)
    return TorchCharLSTM()


class TorchBaseline:
    """The plain PyTorch char-LSTM, its Adam optimizer and the carried (h, c).

    ``train_step(x, y)`` takes one optimizer step on a (B, T) chunk of int ids, like rnnkit's
    runtimes; ``init_state``/``eval_chunk`` follow rnnkit's runtime interface (state = one (h, c)
    tuple per layer, each (N, H)) so that ``evaluate_tokens`` can evaluate it.
    """

    def __init__(self, vocab_size: int, hidden: int, layers: int = 1, embed_dim: int = 64,
                 lr: float = 2e-3, clip: float = 5.0, seed: int = 0):
        import torch

        self.torch = torch
        self.model = make_torch_charlstm(vocab_size, hidden, layers, embed_dim, seed)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.clip = clip
        self.vocab_size, self.hidden, self.layers, self.embed_dim = vocab_size, hidden, layers, embed_dim
        self.state = None

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def reset_state(self, batch: int) -> None:
        zeros = self.torch.zeros(self.layers, batch, self.hidden)
        self.state = (zeros, zeros.clone())

    def train_step(self, x, y) -> float:
        """Forward, backward through this chunk only, clip the global norm, Adam step.

        The final (h, c) is detached before it starts the next chunk: that is where truncated
        BPTT stops the gradient. Returns the mean loss in nats.
        """
        torch = self.torch
        if self.state is None or self.state[0].shape[1] != x.shape[0]:
            self.reset_state(x.shape[0])
        self.model.train()
        logits, (h, c) = self.model(torch.from_numpy(x), self.state)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, self.vocab_size),
                                                 torch.from_numpy(y).reshape(-1))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
        self.optimizer.step()
        self.state = (h.detach(), c.detach())
        return loss.item()

    # rnnkit's evaluation interface --------------------------------------------------------------

    def init_state(self, batch: int) -> list:
        return [(self.torch.zeros(batch, self.hidden), self.torch.zeros(batch, self.hidden))
                for _ in range(self.layers)]

    def eval_chunk(self, x, y, state):
        """Summed cross-entropy in nats over the chunk, no gradient -> (nats, new state)."""
        torch = self.torch
        self.model.eval()
        with torch.no_grad():
            h0 = torch.stack([layer[0] for layer in state]).contiguous()
            c0 = torch.stack([layer[1] for layer in state]).contiguous()
            logits, (h, c) = self.model(torch.from_numpy(x), (h0, c0))
            nats = torch.nn.functional.cross_entropy(logits.reshape(-1, self.vocab_size).double(),
                                                     torch.from_numpy(y).reshape(-1), reduction="sum")
        return float(nats), [(h[l], c[l]) for l in range(self.layers)]


def train_for(step_fn, stream, reset_fn, seconds: float | None = None, steps: int | None = None,
              log_every: float | None = None, label: str = "training"):
    """The training loop of rnnkit's Trainer, for a model outside rnnkit.

    Each step reads the next chunk of ``stream`` and calls ``step_fn(x, y)`` (which returns the
    loss in nats); the carried state is reset (``reset_fn(batch)``) when the streams start over,
    as rnnkit does. Stops after ``seconds`` of training or ``steps`` steps, whichever comes first;
    with ``log_every`` it prints a progress line to stderr that often (seconds).
    Returns (steps, characters, seconds).
    """
    done, chars, losses = 0, 0, []
    start = time.monotonic()
    elapsed, last_log = 0.0, 0.0
    while (seconds is None or elapsed < seconds) and (steps is None or done < steps):
        if stream.at_start:
            reset_fn(stream.batch)
        x, y = stream.next_batch()
        losses.append(step_fn(x, y))
        done += 1
        chars += int(x.size)
        elapsed = time.monotonic() - start
        if log_every and elapsed - last_log >= log_every:
            bpc = sum(losses) / len(losses) / 0.6931471805599453
            print(f"{label}: {elapsed:6.0f} s  step {done:>6}  train bpc {bpc:.4f}  "
                  f"{chars / elapsed:,.0f} chars/s", file=sys.stderr, flush=True)
            last_log, losses = elapsed, []
    return done, chars, elapsed


def bpc_on(runtime, tokens, max_chars: int | None = None):
    """Held-out bits per character of any runtime with init_state/eval_chunk, measured by rnnkit's
    own :func:`~rnnkit.training.evaluate.evaluate_tokens` (64 streams, chunks of 128, the state
    carried). Returns (bpc, characters evaluated)."""
    from rnnkit.training.evaluate import evaluate_tokens
    from rnnkit.training.metrics import bits_per_char

    nats, count = evaluate_tokens(runtime, tokens, max_chars=max_chars)
    return bits_per_char(nats, count), count


def load_corpus_or_stdlib(spec: str, **kwargs):
    """``rnnkit.data.load_corpus(spec)``; when a named corpus is not installed, say so and fall back
    to the always-available ``stdlib`` corpus. Returns the corpus."""
    from rnnkit.data import load_corpus
    from rnnkit.errors import UsageError

    try:
        return load_corpus(spec, **kwargs)
    except UsageError as exc:
        if spec == "stdlib":
            raise
        print(f"note: corpus {spec!r} is not available ({exc}); using 'stdlib' instead\n")
        return load_corpus("stdlib", **kwargs)
