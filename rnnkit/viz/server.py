"""The playground's web application (Starlette), served by uvicorn from ``rnnkit serve``.

    GET  /                 the page (static/index.html, app.js, style.css: no build step, no CDN)
    GET  /api/models       the served models, their probes, and the limits
    POST /api/sample       {"model", "prime", "length", "temperature", "top_k", "seed", "probe",
                           "layer", "unit"} -> a stream of JSON lines, one per character as it is
                           generated: ["c", shown activation in [-1, 1], raw activation]
    POST /api/classify     {"model", "text"} -> {"label", "probability", "probabilities", "note"}

Safe by default: every field is checked and bounded (serving.Limits), the body is read up to
``max_body`` bytes, at most ``max_concurrent`` generations run at once (the rest wait in a bounded
queue, then get a 503), and every error is a JSON ``{"error": message}`` with a 4xx status; an
unexpected failure is a 500 saying only that, its traceback goes to the server's log. A Host header
check (when bound to a loopback address) keeps other web sites' pages from reaching the API by DNS
rebinding, and the pages forbid scripts from anywhere but this server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
import threading
import time
from pathlib import Path

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from rnnkit.viz.serving import CharModel, Limits, SentimentModel, chunks

STATIC = Path(__file__).parent / "static"
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
log = logging.getLogger("rnnkit.serve")


class ClientError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every response (pure ASGI: streams pass through untouched)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers if scope["type"] == "http" else send)


class SlotStream(StreamingResponse):
    """A streamed response that gives its generation slot back when it ends, however it ends:
    finished, the client gone (even before the first character), or an error."""

    def __init__(self, content, release, **kwargs):
        super().__init__(content, **kwargs)
        self._release = release

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


_HOST = re.compile(r"(\[[0-9a-f:.]+\]|[^:\[\]]+)(?::[0-9]+)?")  # a name or [IPv6], then an optional port


class HostCheck:
    """Answers 400 to a request whose Host header (its port aside) is not in ``allowed``: bound to a
    loopback address, only loopback names reach the application, so a page elsewhere that makes its
    own name resolve to 127.0.0.1 (DNS rebinding) cannot call the API."""

    def __init__(self, app, allowed):
        self.app, self.allowed = app, {h.lower() for h in allowed}

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1").lower()
            parsed = _HOST.fullmatch(host)
            if parsed is None or parsed.group(1) not in self.allowed:
                await _error(400, "this server answers only to its own address (the Host header)")(scope, receive, send)
                return
        await self.app(scope, receive, send)


class Playground:
    """The application's state: the models, the limits and the generation slots."""

    def __init__(self, models: dict, limits: Limits):
        self.models, self.limits = models, limits
        self.slots = asyncio.Semaphore(limits.max_concurrent)
        self.waiting = 0

    async def read_json(self, request: Request) -> dict:
        """The request's JSON object, read up to ``max_body`` bytes."""
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise ClientError(415, "send the request as JSON (Content-Type: application/json)")
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limits.max_body):
            raise ClientError(413, f"the request body is limited to {self.limits.max_body} bytes")
        body = bytearray()
        async for part in request.stream():
            body += part
            if len(body) > self.limits.max_body:
                raise ClientError(413, f"the request body is limited to {self.limits.max_body} bytes")
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ClientError(400, "the request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise ClientError(400, "the request body must be a JSON object")
        return data

    def model(self, data: dict, kind):
        name = data.get("model")
        if name is None and len([m for m in self.models.values() if isinstance(m, kind)]) == 1:
            return next(m for m in self.models.values() if isinstance(m, kind))
        model = self.models.get(name) if isinstance(name, str) else None
        if not isinstance(model, kind):
            names = ", ".join(m.id for m in self.models.values() if isinstance(m, kind)) or "none"
            raise ClientError(404, f"no {kind.task} model {name!r}; served: {names}")
        return model

    async def acquire(self) -> None:
        """A generation slot, waiting in a bounded queue for at most ``wait_timeout`` seconds."""
        if not self.slots.locked():
            # A free slot is taken at once, without a switch to another request in between, so
            # ``waiting`` counts only the requests that really wait (wait_for below runs the
            # acquire as a task: a request counted there while a slot was free took a place in
            # the queue that it never used, and turned away requests the queue had room for).
            await self.slots.acquire()
            return
        if self.waiting >= self.limits.max_waiting:
            raise ClientError(503, "too many generations are queued; try again shortly")
        self.waiting += 1
        try:
            await asyncio.wait_for(self.slots.acquire(), self.limits.wait_timeout)
        except asyncio.TimeoutError:
            raise ClientError(503, "every generation slot stayed busy; try again shortly") from None
        finally:
            self.waiting -= 1

    # -- routes -----------------------------------------------------------------------------

    async def index(self, request: Request):
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    async def list_models(self, request: Request):
        return JSONResponse({"models": [m.info() for m in self.models.values()], "limits": self.limits.to_json()})

    async def sample(self, request: Request):
        data = await self.read_json(request)
        model = self.model(data, CharModel)
        try:
            args = model.request(data, self.limits)
        except ValueError as exc:
            raise ClientError(400, str(exc)) from None
        await self.acquire()
        return SlotStream(self._stream(chunks(model.generate(**args))), self.slots.release,
                          media_type="application/x-ndjson", headers={"cache-control": "no-store"})

    async def _stream(self, take):
        """JSON lines of the generated characters, a group of them per thread hop."""
        while True:
            group = await anyio.to_thread.run_sync(take)
            if not group:
                return
            yield "".join(json.dumps([c, round(a, 4), round(r, 5)]) + "\n" for c, a, r in group)

    async def classify(self, request: Request):
        data = await self.read_json(request)
        model = self.model(data, SentimentModel)
        try:
            result = await anyio.to_thread.run_sync(model.classify, data, self.limits)
        except ValueError as exc:
            raise ClientError(400, str(exc)) from None
        return JSONResponse(result)


async def _client_error(request, exc: ClientError):
    return _error(exc.status, exc.message)


async def _http_error(request, exc: HTTPException):
    return _error(exc.status_code, exc.detail if isinstance(exc.detail, str) else "bad request")


async def _server_error(request, exc: Exception):
    log.exception("rnnkit serve: %s %s failed", request.method, request.url.path, exc_info=exc)
    return _error(500, "internal error (the server's log has the details)")


def create_app(models: dict, limits: Limits | None = None, allowed_hosts=None) -> Starlette:
    """The playground for ``models`` ({id: CharModel or SentimentModel}); ``allowed_hosts`` the Host
    headers accepted (None: any, for a server bound to a public address by choice)."""
    playground = Playground(models, limits or Limits())
    routes = [
        Route("/", playground.index),
        Route("/api/models", playground.list_models),
        Route("/api/sample", playground.sample, methods=["POST"]),
        Route("/api/classify", playground.classify, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(SecurityHeaders)]
    if allowed_hosts is not None:
        middleware.append(Middleware(HostCheck, allowed=allowed_hosts))
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={ClientError: _client_error, HTTPException: _http_error,
                                        Exception: _server_error})
    app.state.playground = playground
    return app


@contextlib.contextmanager
def running_server(app, host: str = "127.0.0.1"):
    """Serve ``app`` with uvicorn on a free port of ``host`` in a background thread; yields its base
    URL and stops the server on exit (for tests, the load benchmark and the screenshot)."""
    import uvicorn

    sock = socket.create_server((host, 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the playground's server did not start")
            time.sleep(0.02)
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
