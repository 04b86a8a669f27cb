"""Load on the playground's server: many sampling requests at once against `rnnkit serve` on this
machine, with throughput, latency percentiles and errors.

    .venv/bin/python benchmarks/serve_load.py runs/charlm                 # 100 requests at once
    .venv/bin/python benchmarks/serve_load.py --hidden 128                 # an untrained LSTM, H = 128
    .venv/bin/python benchmarks/serve_load.py --quick                      # smoke run, seconds

The server runs as its own process (`python -m rnnkit serve RUN --host 127.0.0.1 --port 0`), as a
user starts it; the client opens every connection at once from one asyncio loop (the standard
library's streams, HTTP/1.1, `Connection: close`) and reads each response to its end. Only
127.0.0.1 is ever contacted. A request counts as an error unless it gets a 200 and exactly the
characters asked for (prime + length lines). Latency is from sending the request to the last
byte; "first character" is from sending it to the first line of the stream (a queued request
waits for a generation slot first).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import describe_machine, set_threads_from_argv  # noqa: E402

HOST = "127.0.0.1"


def untrained_run(folder: Path, hidden: int) -> Path:
    """A checkpoint of an untrained LSTM over the stdlib corpus's characters (its speed is a trained
    one's: sampling does the same arithmetic)."""
    import numpy as np

    from rnnkit.data.corpora import stdlib_text
    from rnnkit.data.vocab import Vocab
    from rnnkit.models.charlm.spec import CharLMSpec
    from rnnkit.training.checkpoint import save_checkpoint

    vocab = Vocab.build(stdlib_text(200_000))
    spec = CharLMSpec(cell="lstm", vocab_size=len(vocab), hidden=hidden)
    params = spec.init_params(np.random.default_rng(0))
    meta = {"model": {"kind": "charlm", "spec": spec.to_json()}, "tokenizers": {"chars": vocab.to_json()},
            "task": {"name": "charlm", "data": "stdlib"}}
    path = folder / f"untrained-lstm-{hidden}"
    save_checkpoint(path / "checkpoint.npz", meta, {f"param/{k}": v.astype(np.float32) for k, v in params.items()})
    return path


def start_server(run: Path, max_concurrent: int) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-m", "rnnkit", "serve", str(run), "--host", HOST, "--port", "0",
                             "--max-concurrent", str(max_concurrent), "--max-waiting", "1000"],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    found = re.search(r"http://127\.0\.0\.1:(\d+)", line)
    if not found:
        proc.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    return proc, int(found.group(1))


async def one_request(port: int, body: dict) -> dict:
    payload = json.dumps(body).encode()
    head = (f"POST /api/sample HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n").encode()
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(head + payload)
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    while (await reader.readline()) not in (b"\r\n", b""):
        pass  # headers
    first, lines = None, 0
    data = b""
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            break
        if first is None:
            first = time.perf_counter() - started
        data += chunk
    writer.close()
    text = _dechunk(data)
    lines = sum(1 for line in text.splitlines() if line.startswith(b"["))
    return {"status": status, "lines": lines, "latency": time.perf_counter() - started, "first": first}


def _dechunk(data: bytes) -> bytes:
    """The body of a chunked HTTP/1.1 response."""
    out, i = b"", 0
    while i < len(data):
        end = data.index(b"\r\n", i)
        size = int(data[i:end].split(b";")[0], 16)
        if size == 0:
            break
        out += data[end + 2:end + 2 + size]
        i = end + 2 + size + 2
    return out


async def load(port: int, requests: int, body: dict) -> tuple[list[dict], float]:
    started = time.perf_counter()
    results = await asyncio.gather(*(one_request(port, {**body, "seed": k}) for k in range(requests)),
                                   return_exceptions=True)
    return results, time.perf_counter() - started


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))]


def main() -> int:
    threads = set_threads_from_argv()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", nargs="?", help="a character model's run folder (default: an untrained LSTM, --hidden)")
    p.add_argument("--hidden", type=int, default=128, help="hidden size of the untrained LSTM (default: 128)")
    p.add_argument("--requests", type=int, default=100, help="requests sent at once (default: 100)")
    p.add_argument("--length", type=int, default=200, help="characters each request generates (default: 200)")
    p.add_argument("--prime", default="def ", help="prime of every request (default: 'def ')")
    p.add_argument("--max-concurrent", type=int, default=4, help="the server's generation slots (default: 4)")
    p.add_argument("--threads", type=int, default=threads, help="BLAS threads of the server (default: all cores)")
    p.add_argument("--quick", action="store_true", help="10 requests of 20 characters, H = 32: checks the script")
    args = p.parse_args()
    if args.quick:
        args.requests, args.length, args.hidden = 10, 20, 32
    with tempfile.TemporaryDirectory() as folder:
        run = Path(args.run) if args.run and not args.quick else untrained_run(Path(folder), args.hidden)
        proc, port = start_server(run, args.max_concurrent)
        try:
            body = {"prime": args.prime, "length": args.length, "temperature": 1.0, "probe": "h", "unit": 0}
            results, wall = asyncio.run(load(port, args.requests, body))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    ok = [r for r in results if isinstance(r, dict) and r["status"] == 200
          and r["lines"] == len(args.prime) + args.length]
    errors = len(results) - len(ok)
    for line in describe_machine(args.threads):
        print(line)
    print(f"model: {run.name}; {args.requests} requests at once, {args.length} characters each after a "
          f"{len(args.prime)}-character prime; server: {args.max_concurrent} generation slots")
    print()
    print("| requests | errors | wall s | requests/s | chars/s | latency p50 s | p99 s | first char p50 s | p99 s |")
    print("|---|---|---|---|---|---|---|---|---|")
    lat = [r["latency"] for r in ok] or [float("nan")]
    first = [r["first"] for r in ok if r["first"] is not None] or [float("nan")]
    print(f"| {args.requests} | {errors} | {wall:.2f} | {len(ok) / wall:.1f} | {len(ok) * args.length / wall:,.0f} "
          f"| {statistics.median(lat):.2f} | {percentile(lat, 99):.2f} | {statistics.median(first):.2f} "
          f"| {percentile(first, 99):.2f} |")
    for r in results:
        if not isinstance(r, dict):
            print(f"error: {r!r}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
