"""The on-premises endpoint backend against a fake OpenAI-compatible server on loopback."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from training.recipe.checkpoint import OK, Checkpoint
from training.recipe.config import BackendConfig
from training.recipe.endpoint import EndpointBackend, EndpointError, RateLimiter, check_host
from training.recipe.generate import generate
from training.recipe.prompts import Task


class FakeServer:
    """``POST /v1/chat/completions``: scripted ``(status, headers, body)`` answers first, then
    a valid reply naming the prompt's code. Every request is recorded."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str], str]] = []
        self.requests: list[tuple[dict[str, str], dict]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append((dict(self.headers), body))
                    scripted = server.script.pop(0) if server.script else None
                if self.path != "/v1/chat/completions":
                    scripted = (404, {}, "not found")
                status, headers, text = scripted or (200, {}, server.reply(body))
                data = text.encode()
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @staticmethod
    def reply(body: dict) -> str:
        code = re.search(r"ICD-10-CM code (\S+)\.", body["messages"][1]["content"]).group(1)
        content = json.dumps({"mentions": [{"text": f"mención de {code}", "style": "formal"}]})
        return json.dumps({
            "choices": [{"message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20},
        })  # fmt: skip


@pytest.fixture()
def server() -> Iterator[FakeServer]:
    fake = FakeServer()
    fake.thread.start()
    yield fake
    fake.httpd.shutdown()
    fake.httpd.server_close()


def _backend(server: FakeServer, sleeps: list[float], **settings: object) -> EndpointBackend:
    config = BackendConfig(kind="endpoint", url=server.url, model="fake-model", timeout=5,
                           **settings)  # type: ignore[arg-type]  # fmt: skip
    return EndpointBackend(config, sleep=sleeps.append)


def test_replies_come_back_in_task_order(server: FakeServer, tasks: list[Task]) -> None:
    backend = _backend(server, [], batch_size=4)
    completions = backend.complete(tasks, attempt=1)
    assert [json.loads(c.text)["mentions"][0]["text"] for c in completions] == [
        f"mención de {t.context.code}" for t in tasks
    ]
    assert completions[0].prompt_tokens == 100 and completions[0].completion_tokens == 20
    headers, body = server.requests[0]
    assert body["model"] == "fake-model" and body["response_format"] == {"type": "json_object"}
    assert body["messages"][0]["role"] == "system"
    assert "Authorization" not in headers


def test_the_key_comes_from_the_environment(
    server: FakeServer, tasks: list[Task], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_KEY", "s3cret")
    _backend(server, [], api_key_env="FAKE_KEY").complete(tasks[:1], 1)
    assert server.requests[0][0]["Authorization"] == "Bearer s3cret"
    monkeypatch.delenv("FAKE_KEY")
    with pytest.raises(EndpointError, match="FAKE_KEY is empty"):
        _backend(server, [], api_key_env="FAKE_KEY").complete(tasks[:1], 1)


def test_rate_limited_and_failing_requests_are_retried(
    server: FakeServer, tasks: list[Task]
) -> None:
    server.script = [(429, {"Retry-After": "7"}, "slow down"), (503, {}, "busy")]
    sleeps: list[float] = []
    backend = _backend(server, sleeps)
    (completion,) = backend.complete(tasks[:1], 1)
    assert json.loads(completion.text)["mentions"][0]["text"] == "mención de S72.001A"
    assert sleeps == [7.0, 1.0] and backend.retried == 2 and len(server.requests) == 3


def test_it_gives_up_after_the_retries(server: FakeServer, tasks: list[Task]) -> None:
    server.script = [(500, {}, "boom")] * 3
    with pytest.raises(EndpointError, match="gave up after 3 tries: HTTP 500"):
        _backend(server, [], retries=3).complete(tasks[:1], 1)


def test_a_refused_request_stops_with_the_servers_message(
    server: FakeServer, tasks: list[Task]
) -> None:
    server.script = [(400, {}, '{"error": "unknown model"}')]
    with pytest.raises(EndpointError, match="HTTP 400.*unknown model"):
        _backend(server, []).complete(tasks[:1], 1)
    assert len(server.requests) == 1


def test_redirects_are_not_followed(server: FakeServer, tasks: list[Task]) -> None:
    server.script = [(307, {"Location": "http://192.0.2.1/v1/chat/completions"}, "")]
    with pytest.raises(EndpointError, match="HTTP 307"):
        _backend(server, []).complete(tasks[:1], 1)
    assert len(server.requests) == 1


def test_an_unusable_reply_counts_as_malformed_and_is_asked_again(
    server: FakeServer, tasks: list[Task], tmp_path: Path
) -> None:
    server.script = [(200, {}, json.dumps({"choices": []}))]
    backend = _backend(server, [], batch_size=1)
    results, stats = generate(tasks[:2], backend, Checkpoint(tmp_path / "g.jsonl"), batch_size=1,
                              max_attempts=2, progress=False)  # fmt: skip
    assert all(r.status == OK for r in results.values())
    assert stats.malformed == 1 and stats.attempts == {2: 1, 1: 1}
    assert stats.prompt_tokens == 200 and stats.completion_tokens == 40


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/v1", "http://localhost/v1",
                                 "http://10.1.2.3/v1", "https://192.168.0.5:8443/v1",
                                 "http://[::1]:8000/v1"])  # fmt: skip
def test_loopback_and_private_hosts_are_accepted(url: str) -> None:
    assert check_host(url)


@pytest.mark.parametrize("url", ["http://8.8.8.8/v1", "https://1.1.1.1/v1", "http://0.0.0.0/v1"])
def test_public_hosts_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="outside loopback and private networks"):
        check_host(url)


def test_other_schemes_are_refused_and_named_hosts_can_be_allowed() -> None:
    with pytest.raises(ValueError, match="must be http"):
        check_host("ftp://127.0.0.1/v1")
    assert check_host("http://8.8.8.8/v1", allow_hosts=("8.8.8.8",)) == "8.8.8.8"
    with pytest.raises(ValueError, match="outside loopback"):
        EndpointBackend(BackendConfig(kind="endpoint", url="http://8.8.4.4/v1", model="m"))


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_requests_per_minute_are_spread() -> None:
    clock = FakeClock()
    limiter = RateLimiter(requests_per_minute=2, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        limiter.acquire()
    assert clock.now == 120.0  # requests at 0, 0, 60, 60, 120


def test_tokens_per_minute_are_respected() -> None:
    clock = FakeClock()
    limiter = RateLimiter(tokens_per_minute=1000, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.record(1200)
    clock.now = 10.0
    limiter.acquire()  # the minute's budget is spent until the first reply is 60 s old
    assert clock.now == 60.0 and limiter.waited == 50.0
