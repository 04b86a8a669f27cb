"""Fault injection shared by the tests (a few cases) and benchmarks/stress_faults.py (hundreds):
Ctrl-C at a random moment of a training run, and hostile or damaged checkpoints.

- :func:`interrupt_trial` trains in a fresh process group, sends SIGINT after a delay (to the
  group, as a terminal's Ctrl-C does, or to the main process only), and reports whether the run
  ended in time, its exit code, whether a traceback was printed and the step it saved.
- :func:`mutants` turns one checkpoint file into damaged copies of many kinds (the header's JSON,
  the arrays, the zip around them, the bytes), each with a name saying what was done.
- :func:`run_limited` runs a command with a wall-clock limit and reports its peak memory.
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WORDS = "the quick brown fox jumps over a lazy dog while seven wizards box and hum".split()


def words_text(lines: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    return "\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9))) for _ in range(lines)) + "\n"


def reviews_text(count: int, seed: int = 0) -> str:
    """A sentiment TSV (label TAB text) that a small classifier learns in a few dozen steps."""
    positive, negative = "good great superb moving delightful".split(), "bad dull awful boring clumsy".split()
    neutral = "the film a story of this and with its plot cast".split()
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        pos, neg = rng.randrange(3), rng.randrange(3)
        pos += pos == neg
        words = rng.choices(neutral, k=rng.randint(2, 8)) + rng.choices(positive, k=pos) + rng.choices(negative, k=neg)
        rng.shuffle(words)
        lines.append(f"{'positive' if pos > neg else 'negative'}\t{' '.join(words)}\n")
    return "".join(lines)


def rnnkit_env(cache: Path | None = None) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if cache is not None:
        env["RNNKIT_CACHE"] = str(cache)
    return env


def rnnkit(*argv) -> list[str]:
    return [sys.executable, "-m", "rnnkit", *map(str, argv)]


# -- limits -----------------------------------------------------------------------------------

#: Runs a command and writes its peak resident memory (kB) to a file. The peak of a child forked
#: from a large process (a test runner holding torch) would count the parent's pages until exec, so
#: the command is started from this small, freshly started interpreter instead.
_MEASURE = ("import resource, subprocess, sys\n"
            "code = subprocess.call(sys.argv[2:])\n"
            "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
            "sys.exit(code if code >= 0 else 128 - code)\n")


def run_limited(cmd, timeout: float, env=None, cwd=None) -> dict:
    """Run ``cmd`` to its end or ``timeout`` seconds (then kill its process group). Returns
    {rc, out, err, seconds, peak_mb, timed_out}; peak_mb is the command's peak resident memory."""
    import tempfile

    start = time.monotonic()
    with tempfile.TemporaryDirectory() as folder, open(os.devnull, "rb") as stdin, _Capture() as out, \
            _Capture() as err:
        report = Path(folder) / "peak"
        proc = subprocess.Popen([sys.executable, "-c", _MEASURE, str(report), *map(str, cmd)], stdin=stdin,
                                stdout=out.file, stderr=err.file, env=env, cwd=cwd, start_new_session=True)
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc.pid)
            proc.wait()
        _kill_group(proc.pid)  # workers left behind, if any
        peak_kb = float(report.read_text()) if report.exists() else float("nan")
    return {"rc": proc.returncode, "out": out.text, "err": err.text, "seconds": time.monotonic() - start,
            "peak_mb": peak_kb / 1024, "timed_out": timed_out}


class _Capture:
    def __enter__(self):
        import tempfile

        self.file = tempfile.TemporaryFile()
        return self

    def __exit__(self, *exc):
        self.file.seek(0)
        self.text = self.file.read().decode("utf-8", "replace")
        self.file.close()


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def one_line_error(result: dict, command: str) -> bool:
    """Exit 2 with a one-line ``rnnkit <command>: error: ...`` last on stderr, and no traceback."""
    lines = [line for line in result["err"].splitlines() if line.strip()]
    return (result["rc"] == 2 and "Traceback" not in result["err"] and bool(lines)
            and lines[-1].startswith(f"rnnkit {command}: error: ")
            and not any(line.startswith(("  File ", "During handling")) for line in lines))


# -- Ctrl-C -----------------------------------------------------------------------------------

def interrupt_trial(train_argv, run: Path, delay: float, whole_group: bool = True, env=None,
                    after: str | None = "training ", timeout: float = 60.0) -> dict:
    """Start ``rnnkit train *train_argv --out run``, send SIGINT ``delay`` seconds after the line
    starting with ``after`` appears on its stderr (training has begun; None: after the start),
    and wait for it to end.

    Returns {hung, rc, traceback, err}. A run that has not ended ``timeout`` seconds after the
    signal is killed and reported as hung."""
    cmd = rnnkit("train", *train_argv, "--out", run, "--sample-length", "0")
    # SIG_DFL before exec: Python then installs its KeyboardInterrupt handler even when the caller
    # runs with SIGINT ignored (a background job). A session of its own, so that the signal can go
    # to the whole process group, worker processes included, as a terminal's Ctrl-C does.
    with open(os.devnull, "rb") as stdin, _Capture() as out, _Capture() as err:
        proc = subprocess.Popen(cmd, stdin=stdin, stdout=out.file, stderr=err.file, env=env,
                                start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + timeout
        while after is not None and proc.poll() is None and time.monotonic() < deadline:
            if any(line.startswith(after) for line in os.pread(err.file.fileno(), 1 << 16, 0).decode("utf-8", "replace").splitlines()):
                break
            time.sleep(0.01)
        time.sleep(delay)
        try:
            if whole_group:
                os.killpg(proc.pid, signal.SIGINT)
            else:
                os.kill(proc.pid, signal.SIGINT)
        except ProcessLookupError:
            pass
        hung = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            hung = True
            _kill_group(proc.pid)
            proc.wait()
        leftover = False
        deadline = time.monotonic() + 5  # daemon workers end with their parent, within moments
        while _group_alive(proc.pid) and not hung:
            if time.monotonic() > deadline:
                leftover = True
                break
            time.sleep(0.05)
        _kill_group(proc.pid)
    return {"hung": hung, "rc": proc.returncode, "traceback": "Traceback" in err.text, "err": err.text,
            "leftover": leftover}


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` is still running (zombies waiting for a reaper aside)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
            return True
        except (ProcessLookupError, PermissionError):
            return False
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def final_params(run: Path) -> dict:
    with np.load(run / "checkpoint.npz", allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files if k.startswith("param/")}


def same_params(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


# -- checkpoint mutants -------------------------------------------------------------------------

_RAW = "\u0000RAW{}\u0000"  # a placeholder for JSON text that json.dumps cannot write


def read_npz(path: Path) -> tuple[dict, dict]:
    """(header, arrays) of a checkpoint, read with NumPy (a trusted file: the test's own)."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays.pop("__meta__").tobytes().decode("utf-8"))
    return meta, arrays


def write_npz(path: Path, meta, arrays: dict, raw: dict | None = None, compress: bool = False) -> None:
    """Write a checkpoint as rnnkit would, with ``raw`` texts substituted into the header's JSON."""
    text = json.dumps(meta)
    for key, value in (raw or {}).items():
        text = text.replace(json.dumps(_RAW.format(key)), value)
    payload = {**arrays, "__meta__": np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)}
    (np.savez_compressed if compress else np.savez)(path, **payload)


def _paths(value, prefix=()):
    """Every path into a JSON value (keys and list indices), the value's own first."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value[:50]):
            yield from _paths(item, prefix + (i,))


def _set(meta, path, value):
    meta = json.loads(json.dumps(meta))
    target = meta
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return meta


_DELETE = object()
#: Hostile JSON values: (name, value, raw JSON text or None).
HOSTILE_VALUES = [
    ("null", None, None), ("true", True, None), ("string", "x", None), ("empty-string", "", None),
    ("minus-one", -1, None), ("zero", 0, None), ("two-to-64", 2 ** 64, None), ("float", 2.5, None),
    ("1e308", 1e308, None), ("-1e308", -1e308, None), ("list", [1, 2], None), ("object", {"a": 1}, None),
    ("surrogate", _RAW.format("surrogate"), '"\\ud800"'),
    ("nan", _RAW.format("nan"), "NaN"), ("infinity", _RAW.format("infinity"), "Infinity"),
    ("5000-digits", _RAW.format("digits"), "9" * 5000),
    ("nested-100000", _RAW.format("nested"), "[" * 100_000 + "]" * 100_000),
    ("billion", 10 ** 9, None), ("long-list", list(range(3000)), None),
]


def _header_mutants(meta, arrays, rng, count):
    paths = [p for p in _paths(meta) if p and p[0] not in ("format",)]
    for _ in range(count):
        path = rng.choice(paths)
        if rng.random() < 0.12:
            yield f"header:delete:{'/'.join(map(str, path))}", _set(meta, path, _DELETE), arrays, None
            continue
        name, value, raw = rng.choice(HOSTILE_VALUES)
        raws = None if raw is None else {value[4:-1]: raw}
        yield f"header:{'/'.join(map(str, path))}={name}", _set(meta, path, value), arrays, raws


def _named_mutants(meta, arrays):
    """The cases the issue lists by name (issue 14, findings 6 and 7), for any model's checkpoint."""
    spec = ("model", "spec")
    tokenizer = next(iter(meta["tokenizers"]))
    vocab_key = next(k for k, v in meta["tokenizers"][tokenizer].items() if isinstance(v, list))
    vocab_path = ("tokenizers", tokenizer, vocab_key)
    symbols = list(meta["tokenizers"][tokenizer][vocab_key])
    optim = [k for k in arrays if k.startswith("optim/")]
    state = [k for k in arrays if k.startswith("state/")]
    head = dict(arrays)
    head["param/head.W"] = np.full_like(arrays["param/head.W"], 3e38)
    yield "named:layers=1e9", _set(meta, spec + ("layers",), 10 ** 9), arrays, None
    yield "named:hidden=1e9", _set(meta, spec + ("hidden",), 10 ** 9), arrays, None
    yield "named:vocab-of-3-million", _set(_set(meta, vocab_path, list(range(3_000_000))),
                                             spec + ("vocab_size",), 3_000_000), arrays, None
    for name, value in (("string", "0.1"), ("null", None), ("list", [0.1])):
        yield f"named:dropout={name}", _set(meta, spec + ("dropout",), value), arrays, None
    yield "named:symbol=2**64", _set(meta, vocab_path, symbols[:-1] + [2 ** 64]), arrays, None
    if all(isinstance(v, int) for v in symbols):  # code points: a surrogate one
        yield "named:surrogate-symbol", _set(meta, vocab_path, sorted(symbols[:-1] + [0xD800])), arrays, None
    else:  # words: a word holding a lone surrogate
        yield ("named:surrogate-symbol", _set(meta, vocab_path, symbols[:-1] + [_RAW.format("surrogate")]), arrays,
               {"surrogate": '"\\ud800"'})
    yield "named:nested-100000", _set(meta, ("task", "x"), _RAW.format("nested")), arrays, {"nested": "[" * 100_000 + "]" * 100_000}
    yield "named:5000-digits", _set(meta, spec + ("hidden",), _RAW.format("digits")), arrays, {"digits": "9" * 5000}
    yield "named:head=3e38", meta, head, None
    yield "named:no-train", _set(meta, ("train",), _DELETE), arrays, None
    yield "named:lr=string", _set(meta, ("train", "lr"), "0.01"), arrays, None
    yield "named:step=null", _set(meta, ("progress", "step"), None), arrays, None
    yield "named:step=1e308", _set(meta, ("progress", "step"), 1e308), arrays, None
    extra = dict(arrays)
    extra["param/extra.W"] = np.zeros((3, 3), dtype=np.float32)
    yield "named:extra-param", meta, extra, None
    for member in optim[:2] + state[:2]:
        wrong = dict(arrays)
        wrong[member] = np.zeros(arrays[member].shape[::-1] + (2,), dtype=arrays[member].dtype)
        yield f"named:{member}:wrong-shape", meta, wrong, None
        wrong = dict(arrays)
        wrong[member] = arrays[member].astype(np.int32)
        yield f"named:{member}:wrong-dtype", meta, wrong, None
    unknown = dict(arrays)
    unknown["junk/big"] = np.zeros(1 << 20, dtype=np.uint8)
    yield "named:unknown-member", meta, unknown, None


def _array_mutants(meta, arrays, rng, count):
    names = list(arrays)
    fills = [("nan", np.nan), ("inf", np.inf), ("3e38", 3e38), ("1e7", 1e7), ("zero", 0.0)]
    for _ in range(count):
        name = rng.choice(names)
        a = arrays[name]
        kind = rng.choice(["fill", "dtype", "shape", "delete", "scalar", "extra-row", "float64", "bool"])
        out = dict(arrays)
        if kind == "fill":
            label, value = rng.choice(fills)
            changed = a.astype(np.float32).copy()
            changed.flat[rng.randrange(changed.size)] = value
            out[name] = changed
            kind = f"fill-one-{label}"
        elif kind == "dtype":
            out[name] = a.astype(rng.choice([np.int64, np.uint8, np.int8, np.complex64]))
        elif kind == "float64":
            out[name] = a.astype(np.float64)
        elif kind == "bool":
            out[name] = a.astype(bool)
        elif kind == "shape":
            out[name] = a.reshape(-1)[: max(1, a.size - 1)]
        elif kind == "delete":
            del out[name]
        elif kind == "scalar":
            out[name] = np.float32(1.0)
        elif kind == "extra-row":
            out[name] = np.concatenate([a, a[:1]]) if a.ndim else a
        yield f"array:{name}:{kind}", meta, out, None


def _zip_mutants(path: Path, rng, count, bomb_mib: int = 2048):
    """Damage to the file itself: flipped bytes, truncation, junk, a zip bomb of ``bomb_mib`` MiB
    of deflated zeros, many members."""
    data = path.read_bytes()
    for i in range(count):
        kind = rng.choice(["flip", "truncate", "append"])
        if kind == "flip":
            changed = bytearray(data)
            for _ in range(rng.randint(1, 8)):
                changed[rng.randrange(len(changed))] ^= 1 << rng.randrange(8)
            yield f"bytes:flip#{i}", bytes(changed)
        elif kind == "truncate":
            yield f"bytes:truncate#{i}", data[: rng.randrange(len(data))]
        else:
            yield f"bytes:append#{i}", data + bytes(rng.randrange(256) for _ in range(rng.randint(1, 500)))
    bomb = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(bomb, "w") as out:
        for info in source.infolist():
            out.writestr(info.filename, source.read(info.filename))
        header = np.lib.format.header_data_from_array_1_0(np.zeros(1, np.float32))
        header["shape"] = (1 << 28,)
        with out.open("junk.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array_header_1_0(member, header)
        out.writestr(zipfile.ZipInfo("zeros.npy"), b"", compress_type=zipfile.ZIP_DEFLATED)
    yield "zip:unknown-and-empty-members", bomb.getvalue()
    deflated = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(deflated, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            out.writestr(info.filename, source.read(info.filename))
        zeros = np.lib.format.header_data_from_array_1_0(np.zeros(1, np.float32))
        zeros["shape"] = (bomb_mib << 18,)
        with out.open("optim/m/zeros.npy", "w", force_zip64=True) as member:  # zeros, deflated
            np.lib.format.write_array_header_1_0(member, zeros)
            block = bytes(1 << 20)
            for _ in range(bomb_mib):
                member.write(block)
    yield f"zip:bomb-{bomb_mib}MiB-deflated", deflated.getvalue()
    many = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(many, "w") as out:
        for info in source.infolist():
            out.writestr(info.filename, source.read(info.filename))
        small = io.BytesIO()
        np.save(small, np.zeros(1, np.float32))
        for k in range(20_000):
            out.writestr(f"state/{k % 10_000}/{k // 10_000 + 10}.npy", small.getvalue())
    yield "zip:20000-members", many.getvalue()


def mutants(source: Path, out_dir: Path, count: int, seed: int = 0, bomb_mib: int = 2048):
    """Write damaged copies of the checkpoint ``source`` into ``out_dir``; yields (name, path).

    The named cases of the issue come first, then ``count`` more drawn at random (JSON values
    in the header, arrays, bytes), then damage to the zip itself."""
    rng = random.Random(seed)
    meta, arrays = read_npz(source)
    out_dir.mkdir(parents=True, exist_ok=True)
    n = 0

    def emit(name, meta_, arrays_, raw):
        nonlocal n
        path = out_dir / f"m{n:04d}.npz"
        n += 1
        write_npz(path, meta_, arrays_, raw)
        return name, path

    for case in _named_mutants(meta, arrays):
        yield emit(*case)
    header_count = count * 5 // 10
    array_count = count * 3 // 10
    for case in _header_mutants(meta, arrays, rng, header_count):
        yield emit(*case)
    for case in _array_mutants(meta, arrays, rng, array_count):
        yield emit(*case)
    for name, data in _zip_mutants(source, rng, max(0, count - header_count - array_count), bomb_mib):
        path = out_dir / f"m{n:04d}.npz"
        n += 1
        path.write_bytes(data)
        yield name, path
