"""The playground's server without a browser (Starlette's TestClient, and uvicorn on a local port
for the queue): streaming samples with activations, the sentiment panel, every bound and every bad
request answered with a 4xx and a message, never a traceback."""

import json
import threading
import urllib.request

import pytest

pytest.importorskip("starlette")
TestClient = pytest.importorskip("starlette.testclient", reason="needs httpx2: pip install 'rnnkit[test]'").TestClient

from rnnkit.cli import main  # noqa: E402
from rnnkit.commands.serve import is_loopback  # noqa: E402
from rnnkit.viz.server import create_app, running_server  # noqa: E402
from rnnkit.viz.serving import Limits, load_models  # noqa: E402

LIMITS = Limits(max_prime=50, max_length=300, max_text=100, max_body=2048, max_concurrent=2, max_waiting=3,
                wait_timeout=5.0)


@pytest.fixture(scope="module")
def models(char_run, sentiment_run):
    return load_models([char_run, sentiment_run])


@pytest.fixture
def client(models):
    with TestClient(create_app(models, LIMITS, allowed_hosts=["testserver"]), raise_server_exceptions=False) as c:
        yield c


def lines(response):
    return [json.loads(line) for line in response.text.splitlines()]


def test_models_lists_both_panels_and_the_limits(client):
    body = client.get("/api/models").json()
    tasks = {m["task"]: m for m in body["models"]}
    assert set(tasks) == {"charlm", "sentiment"}
    assert [p["name"] for p in tasks["charlm"]["probes"]] == ["h", "c", "i", "f", "o", "g"]
    assert body["limits"]["max_length"] == 300
    page = client.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/static/app.js").status_code == 200


def test_sample_streams_every_character_with_its_activation(client):
    request = {"model": "charlm", "prime": "def ", "length": 40, "temperature": 0.7, "top_k": 5, "seed": 3,
               "probe": "f", "layer": 0, "unit": 2}
    first = client.post("/api/sample", json=request)
    assert first.status_code == 200 and first.headers["content-type"].startswith("application/x-ndjson")
    rows = lines(first)
    assert len(rows) == 44 and "".join(c for c, _, _ in rows[:4]) == "def "
    assert all(-1.0 <= shown <= 1.0 and 0.0 <= raw <= 1.0 for _, shown, raw in rows)  # a gate, stretched
    assert len({shown for _, shown, _ in rows}) > 1
    assert lines(client.post("/api/sample", json=request)) == rows  # the seed repeats the sample
    assert len(lines(client.post("/api/sample", json={"length": 5}))) == 6  # the one model, default prime


def test_classify(client):
    result = client.post("/api/classify", json={"model": "sentiment", "text": "a great lovely film"}).json()
    assert result["label"] in ("negative", "positive")
    assert sum(result["probabilities"].values()) == pytest.approx(1.0)


@pytest.mark.parametrize("path, body, status, words", [
    ("/api/sample", {"length": 301}, 400, "length must be between 1 and 300"),
    ("/api/sample", {"length": "many"}, 400, "length must be an integer"),
    ("/api/sample", {"length": True}, 400, "length must be an integer"),
    ("/api/sample", {"temperature": 0}, 400, "temperature must be between"),
    ("/api/sample", {"top_k": 0}, 400, "top_k must be between 1"),
    ("/api/sample", {"prime": "x" * 51}, 400, "at most 50"),
    ("/api/sample", {"prime": "\u2603"}, 400, "never saw"),
    ("/api/sample", {"prime": 5}, 400, "prime must be a string"),
    ("/api/sample", {"probe": "r"}, 400, "probe must be one of h, c, i, f, o, g"),
    ("/api/sample", {"unit": 16}, 400, "unit must be between 0 and 15"),
    ("/api/sample", {"layer": 1}, 400, "layer must be between 0 and 0"),
    ("/api/sample", {"model": "nope"}, 404, "no charlm model 'nope'"),
    ("/api/sample", {"model": "sentiment"}, 404, "served: charlm"),
    ("/api/sample", [1, 2], 400, "must be a JSON object"),
    ("/api/classify", {"text": ""}, 400, "non-empty"),
    ("/api/classify", {"text": "x" * 101}, 400, "at most 100"),
    ("/api/classify", {"text": ["a"]}, 400, "non-empty string"),
])
def test_bad_requests_get_a_4xx_with_a_message(client, path, body, status, words):
    response = client.post(path, json=body)
    assert response.status_code == status
    assert words in response.json()["error"]
    assert "Traceback" not in response.text


def test_bad_bodies_methods_paths_and_hosts(client):
    r = client.post("/api/sample", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]
    r = client.post("/api/sample", content=b"\xff\xfe", headers={"content-type": "application/json"})
    assert r.status_code == 400
    r = client.post("/api/sample", content=b"length=3", headers={"content-type": "text/plain"})
    assert r.status_code == 415
    r = client.post("/api/sample", content=b'{"prime": "' + b"a" * 3000 + b'"}',
                    headers={"content-type": "application/json"})
    assert r.status_code == 413 and "2048 bytes" in r.json()["error"]
    chunked = (part for part in [b'{"prime": "', b"a" * 3000, b'"}'])  # no Content-Length: counted as read
    r = client.post("/api/sample", content=chunked, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert client.get("/api/sample").status_code == 405
    assert client.get("/nothing").json() == {"error": "Not Found"}
    r = client.get("/api/models", headers={"host": "evil.example"})
    assert r.status_code == 400 and "Host header" in r.json()["error"]


def test_only_loopback_names_reach_a_loopback_server(models):
    from rnnkit.viz.server import LOOPBACK_HOSTS

    with TestClient(create_app(models, LIMITS, allowed_hosts=LOOPBACK_HOSTS)) as c:
        for host in ("127.0.0.1:8000", "localhost", "[::1]:8000", "LOCALHOST:1"):
            assert c.get("/api/models", headers={"host": host}).status_code == 200, host
        for host in ("attacker.example", "127.0.0.1.attacker.example", "[::1].evil", ""):
            assert c.get("/api/models", headers={"host": host}).status_code == 400, host


def test_an_unexpected_failure_is_a_500_without_a_traceback(client, models, monkeypatch):
    def broken(self, body, limits):
        raise RuntimeError("secret detail")
    monkeypatch.setattr(type(models["sentiment"]), "classify", broken)
    r = client.post("/api/classify", json={"text": "fine"})
    assert r.status_code == 500 and "secret" not in r.text and "Traceback" not in r.text


def test_concurrent_generations_queue_and_a_full_queue_gets_503(models):
    """Two slots, three waiting: of eight long requests at once, five are served and three refused."""
    limits = Limits(max_length=2000, max_concurrent=2, max_waiting=3, wait_timeout=30.0)
    results = []

    def post(url):
        data = json.dumps({"model": "charlm", "length": 500, "seed": 1}).encode()
        req = urllib.request.Request(url + "/api/sample", data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as response:
                results.append((response.status, len(response.read().splitlines())))
        except urllib.error.HTTPError as exc:
            results.append((exc.code, json.loads(exc.read())["error"]))
        except Exception as exc:
            results.append((0, repr(exc)))

    with running_server(create_app(models, limits)) as url:
        threads = [threading.Thread(target=post, args=(url,)) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ok = [r for r in results if r[0] == 200]
        busy = [r for r in results if r[0] == 503]
        assert len(ok) + len(busy) == 8 and len(ok) >= 5, results
        assert all(n == 501 for _, n in ok) and all("queued" in message for _, message in busy)
        # every slot came back: a later request is served at once
        post(url)
        assert results[-1] == (200, 501)


def test_serve_command_refuses_bad_runs_and_knows_loopback(tmp_path, capsys):
    assert main(["serve", str(tmp_path / "missing")]) == 2
    assert "no such checkpoint" in capsys.readouterr().err
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")


def test_a_client_that_goes_away_frees_its_slot(models):
    import socket
    import time

    with running_server(create_app(models, Limits(max_concurrent=1, wait_timeout=5.0))) as url:
        host, port = url.removeprefix("http://").split(":")
        body = json.dumps({"model": "charlm", "length": 2000}).encode()
        with socket.create_connection((host, int(port))) as s:
            s.sendall(b"POST /api/sample HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body) + body)
            assert s.recv(64).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        req = urllib.request.Request(url + "/api/sample", data=json.dumps({"model": "charlm", "length": 5}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as response:
            assert len(response.read().splitlines()) == 6
        assert time.monotonic() - started < 4.0  # not the 5 s queue timeout: the slot was free


def test_the_playground_runs_where_torch_is_not_installed(char_run, sentiment_run):
    import subprocess
    import sys

    code = f"""
import sys
sys.modules["torch"] = None  # importing torch now fails
from starlette.testclient import TestClient
from rnnkit.viz.server import create_app
from rnnkit.viz.serving import load_models
app = create_app(load_models([{str(char_run)!r}, {str(sentiment_run)!r}]), allowed_hosts=["testserver"])
with TestClient(app) as c:
    assert len(c.post("/api/sample", json={{"model": "charlm", "length": 7}}).text.splitlines()) == 8
    assert c.post("/api/classify", json={{"text": "a great film"}}).json()["label"] in ("negative", "positive")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
