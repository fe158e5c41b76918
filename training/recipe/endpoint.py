"""An on-premises OpenAI-compatible endpoint (``POST {url}/chat/completions``).

Only loopback and private-network hosts are accepted (a hospital's own inference server),
plus hosts named in ``allow_hosts``; redirects and environment proxies are not followed, so
no prompt leaves that network. Requests run ``batch_size`` at a time under a requests- and
tokens-per-minute limit; 429, 5xx and connection errors are retried with back-off (honouring
``Retry-After``); other HTTP errors stop the run with the server's message.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from training.recipe.backends import Completion
from training.recipe.config import LANGUAGES, BackendConfig
from training.recipe.prompts import Task

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class EndpointError(RuntimeError):
    """The endpoint refused the request or stayed unreachable after every retry."""


def check_host(url: str, allow_hosts: Sequence[str] = ()) -> str:
    """The URL's host when it is loopback, private, or allowed by name.

    Raises:
        ValueError: not http(s), no host, an unresolvable host, or a public address.

    Example: ``check_host("http://127.0.0.1:8000/v1") == "127.0.0.1"``
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"endpoint URL must be http(s)://host[:port]/..., got {url!r}")
    host = parts.hostname
    if host in allow_hosts:
        return host
    try:
        infos = socket.getaddrinfo(host, parts.port or 80, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise ValueError(f"endpoint host {host!r} does not resolve ({exc})") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not (address.is_loopback or address.is_private) or address.is_unspecified:
            raise ValueError(
                f"endpoint host {host!r} resolves to {address}, outside loopback and private "
                "networks; clinical prompts stay on premises (name it in allow_hosts if it is "
                "your hospital's own server)"
            )
    return host


class RateLimiter:
    """Sliding one-minute windows of requests and tokens (thread-safe).

    Args:
        requests_per_minute: 0 for no limit.
        tokens_per_minute: 0 for no limit (tokens are recorded after each reply).
    """

    def __init__(
        self,
        requests_per_minute: float = 0,
        tokens_per_minute: float = 0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.rpm, self.tpm = requests_per_minute, tokens_per_minute
        self.clock, self.sleep = clock, sleep
        self.requests: deque[float] = deque()
        self.tokens: deque[tuple[float, int]] = deque()
        self.lock = threading.Lock()
        self.waited = 0.0

    def _wait_time(self, now: float) -> float:
        while self.requests and now - self.requests[0] >= 60:
            self.requests.popleft()
        while self.tokens and now - self.tokens[0][0] >= 60:
            self.tokens.popleft()
        wait = 0.0
        if self.rpm and len(self.requests) >= self.rpm:
            wait = 60 - (now - self.requests[0])
        if self.tpm and sum(n for _, n in self.tokens) >= self.tpm:
            wait = max(wait, 60 - (now - self.tokens[0][0]))
        return max(wait, 0.0)

    def acquire(self) -> None:
        """Block until a request may be sent, then count it."""
        while True:
            with self.lock:
                now = self.clock()
                wait = self._wait_time(now)
                if wait <= 0:
                    self.requests.append(now)
                    return
            self.waited += wait
            self.sleep(wait)

    def record(self, tokens: int) -> None:
        """Count the tokens a reply cost."""
        if tokens:
            with self.lock:
                self.tokens.append((self.clock(), tokens))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001
        raise urllib.error.HTTPError(newurl, code, "redirects are not followed", headers, fp)


class EndpointBackend:
    """Chat completions from an on-premises server (see the module doc).

    Raises:
        ValueError: the URL's host is not on premises (:func:`check_host`).
    """

    name = "endpoint"
    languages = LANGUAGES

    def __init__(self, config: BackendConfig, sleep: Callable[[float], None] = time.sleep):
        check_host(config.url, config.allow_hosts)
        self.config = config
        self.url = config.url.rstrip("/") + "/chat/completions"
        self.sleep = sleep
        self.limiter = RateLimiter(config.requests_per_minute, config.tokens_per_minute,
                                   sleep=sleep)  # fmt: skip
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)
        self.retried = 0

    def describe(self) -> dict:
        """URL, model and limits (never the key)."""
        c = self.config
        return {
            "kind": self.name, "url": c.url, "model": c.model, "concurrency": c.batch_size,
            "requests_per_minute": c.requests_per_minute,
            "tokens_per_minute": c.tokens_per_minute, "json_mode": c.json_mode,
        }  # fmt: skip

    def supports(self, task: Task) -> bool:
        """Any language: the server's model is asked."""
        return task.language in self.languages

    def complete(self, tasks: Sequence[Task], attempt: int) -> list[Completion]:
        """Send the tasks ``batch_size`` at a time; replies in task order."""
        if len(tasks) <= 1:
            return [self._one(t, attempt) for t in tasks]
        with ThreadPoolExecutor(max_workers=self.config.batch_size) as pool:
            return list(pool.map(lambda t: self._one(t, attempt), tasks))

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.config.api_key_env:
            key = os.environ.get(self.config.api_key_env)
            if not key:
                raise EndpointError(f"environment variable {self.config.api_key_env} is empty")
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _one(self, task: Task, attempt: int) -> Completion:
        c = self.config
        body = {
            "model": c.model,
            "messages": task.messages(),
            "temperature": c.temperature,
            "top_p": c.top_p,
            "max_tokens": c.max_new_tokens,
            "seed": int(task.id[:8], 16) + attempt,
        }
        if c.json_mode:
            body["response_format"] = {"type": "json_object"}
        data = json.dumps(body, ensure_ascii=False).encode()
        problem = ""
        for tryno in range(max(c.retries, 1)):
            self.limiter.acquire()
            request = urllib.request.Request(self.url, data, self._headers(), method="POST")
            try:
                with self.opener.open(request, timeout=c.timeout) as response:
                    payload = json.loads(response.read())
            except urllib.error.HTTPError as exc:
                detail = exc.read()[:300].decode("utf-8", "replace") if exc.fp else ""
                if exc.code not in RETRY_STATUSES:
                    raise EndpointError(f"{self.url}: HTTP {exc.code} {detail}") from exc
                problem = f"HTTP {exc.code}"
                delay = _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                problem, delay = f"unreachable ({exc})", None
            except json.JSONDecodeError as exc:
                problem, delay = f"not JSON ({exc})", None
            else:
                return self._completion(payload)
            self.retried += 1
            self.sleep(delay if delay is not None else min(60.0, 0.5 * 2**tryno))
        raise EndpointError(f"{self.url}: gave up after {c.retries} tries: {problem}")

    def _completion(self, payload: dict) -> Completion:
        try:
            text = payload["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            text = ""  # the run counts it as a malformed reply and retries
        usage = payload.get("usage") or {}
        prompt, completion = (
            int(usage.get("prompt_tokens", 0)),
            int(usage.get("completion_tokens", 0)),
        )
        self.limiter.record(prompt + completion)
        return Completion(text, prompt, completion)


def _retry_after(value: str | None) -> float | None:
    try:
        return min(max(float(value), 0.0), 300.0) if value else None
    except ValueError:
        return None
