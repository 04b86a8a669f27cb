"""A web playground for trained models, in the NumPy engine (torch is not needed): sample from a
character model with a prime, a temperature and top-k, streamed as it is generated and coloured
by a chosen unit's activation; classify sentences with a sentiment model. One panel for each kind
of model given. Open the address it prints in a browser.

Safe by default: it listens on 127.0.0.1 only (--host to change that, knowingly), bounds every
input (the limits below, and the request body), runs at most --max-concurrent generations at once
and answers a bad request with a 4xx and a message.

examples:
  rnnkit serve runs/charlm                           # http://127.0.0.1:8000
  rnnkit serve runs/charlm runs/mr --port 8080
"""

from __future__ import annotations

import ipaddress
import socket

from rnnkit.commands._args import positive_float, positive_int


def add_arguments(p) -> None:
    p.add_argument("runs", nargs="+", metavar="RUN", help="run folders or checkpoints (charlm, sentiment)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this machine only; 0.0.0.0 exposes it)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 picks a free one)")
    p.add_argument("--max-concurrent", type=positive_int, default=4,
                   help="generations running at once; more wait in a queue (default: 4)")
    p.add_argument("--max-waiting", type=positive_int, default=256,
                   help="requests that may wait for a generation; more get a 503 (default: 256)")
    p.add_argument("--max-length", type=positive_int, default=2000,
                   help="characters one request may generate (default: 2000)")
    p.add_argument("--max-prime", type=positive_int, default=1000, help="characters of a prime (default: 1000)")
    p.add_argument("--max-body", type=positive_int, default=16384, help="bytes of a request body (default: 16384)")
    p.add_argument("--wait-timeout", type=positive_float, default=60.0,
                   help="seconds a request waits for a generation slot before a 503 (default: 60)")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def run(args) -> int:
    from rnnkit.errors import UsageError
    from rnnkit.viz import require

    require("starlette", "uvicorn")
    import uvicorn

    from rnnkit.viz.server import LOOPBACK_HOSTS, create_app
    from rnnkit.viz.serving import Limits, load_models

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be in 0..65535, got {args.port}")
    limits = Limits(max_prime=args.max_prime, max_length=args.max_length, max_body=args.max_body,
                    max_concurrent=args.max_concurrent, max_waiting=args.max_waiting, wait_timeout=args.wait_timeout)
    models = load_models(args.runs)
    app = create_app(models, limits, allowed_hosts=LOOPBACK_HOSTS if is_loopback(args.host) else None)
    try:  # bound here, so that a busy port is a one-line error and port 0 prints the one chosen
        family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
        sock = socket.create_server((args.host.strip("[]"), args.port), family=family)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    port = sock.getsockname()[1]
    shown = f"[{args.host.strip('[]')}]" if family == socket.AF_INET6 else args.host
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    print(f"rnnkit serve: {', '.join(models)} on http://{shown}:{port} (Ctrl-C stops it)", flush=True)
    uvicorn.Server(config).run(sockets=[sock])
    return 0
