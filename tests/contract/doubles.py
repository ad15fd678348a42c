"""In-process HTTP doubles of the Confluent Cloud APIs, served two ways.

A `Double` routes (method, path pattern) to handlers written against the documented shapes, records
every call and ASSERTS the requests (a wrong request is a recorded violation and an error answer, and the
`no_violations` check fails the test). It is reachable either through `httpx.MockTransport` (`transport()`)
or as a real HTTP server on 127.0.0.1 in a thread (`serve()`), so the real transport path is exercised too.

Fixtures live in fixtures/*.json as {"source", "status", "body"[, "note"]}: `source` names where the shape
comes from (upstream file @ commit, spec operation, reference section).
"""

from __future__ import annotations

import base64
import copy
import json
import re
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Any:
    """The body of fixtures/<name>.json (a fresh copy)."""
    return copy.deepcopy(fixture_file(name)["body"])


def fixture_file(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@dataclass
class Call:
    method: str
    url: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Reply:
    status: int
    body: Any = None  # dict/list -> JSON; str/bytes -> as is; None -> empty
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if self.body is None:
            return b"", headers
        if isinstance(self.body, bytes):
            return self.body, headers
        if isinstance(self.body, str):
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            return self.body.encode(), headers
        headers.setdefault("Content-Type", "application/json")
        return json.dumps(self.body).encode(), headers


def from_fixture(name: str, status: int | None = None, **headers: str) -> Reply:
    data = fixture_file(name)
    return Reply(status if status is not None else (data.get("status") or 200), data["body"], dict(headers))


def basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


class Double:
    """A fake API: routes, injected faults, recorded calls, contract violations."""

    def __init__(self, base_path: str, key: str, secret: str, host: str = "api.test"):
        self.base_path = base_path.rstrip("/")
        self.auth = basic(key, secret)
        self.host = host
        self.routes: list[tuple[str, re.Pattern, Callable[..., Reply]]] = []
        self.faults: list[tuple[str, re.Pattern, Reply]] = []
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.lock = threading.Lock()

    # --- wiring ------------------------------------------------------------------------------------------

    def route(self, method: str, pattern: str):
        def register(handler: Callable[..., Reply]) -> Callable[..., Reply]:
            self.routes.append((method, re.compile(f"^{pattern}$"), handler))
            return handler

        return register

    def fail_next(self, method: str, pattern: str, *replies: Reply) -> None:
        """Answer the next matching requests with `replies` (in order) instead of the route."""
        for reply in replies:
            self.faults.append((method, re.compile(f"^{pattern}$"), reply))

    def expect(self, condition: bool, message: str) -> bool:
        if not condition:
            self.violations.append(message)
        return condition

    def calls_to(self, method: str, pattern: str) -> list[Call]:
        rx = re.compile(f"^{pattern}$")
        return [c for c in self.calls if c.method == method and rx.match(c.path)]

    def sequence(self) -> list[str]:
        return [f"{c.method} {c.path}" for c in self.calls]

    # --- handling ----------------------------------------------------------------------------------------

    def handle(self, call: Call) -> Reply:
        with self.lock:
            return self._handle(call)

    def _handle(self, call: Call) -> Reply:
        self.calls.append(call)
        if call.headers.get("authorization") != self.auth:
            self.violations.append(f"{call.method} {call.url}: missing or wrong Basic auth")
            return Reply(401, {"error": {"code": 401, "message": "Unauthorized"}})
        if not call.path.startswith(self.base_path + "/") and call.path != self.base_path:
            self.violations.append(f"{call.method} {call.path}: not under {self.base_path}")
            return Reply(404, {"error": {"code": 404, "message": "no such path"}})
        if call.body and "json" not in call.headers.get("content-type", ""):
            self.violations.append(f"{call.method} {call.path}: body sent as {call.headers.get('content-type')!r}")
        path = call.path[len(self.base_path):] or "/"
        for i, (method, rx, reply) in enumerate(self.faults):
            if method == call.method and rx.match(path):
                del self.faults[i]
                return reply
        for method, rx, handler in self.routes:
            match = rx.match(path)
            if method == call.method and match:
                return handler(call, **match.groupdict())
        self.violations.append(f"{call.method} {path}: no such operation in the documented API")
        return Reply(404, {"error": {"code": 404, "message": "no route"}})

    # --- transports --------------------------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            call = Call(request.method, str(request.url), request.url.path,
                        parse_qs(request.url.query.decode()),
                        {k.lower(): v for k, v in request.headers.items()}, request.read())
            reply = self.handle(call)
            body, headers = reply.encode()
            return httpx.Response(reply.status, content=body, headers=headers)

        return httpx.MockTransport(handler)

    def serve(self):
        """A real HTTP server on 127.0.0.1 (a free port) in a thread; yields its base URL."""
        return serve_http(self.handle)


@contextmanager
def serve_http(handle: Callable[[Call], Reply], poll_interval: float = 0.01) -> Iterator[str]:
    """Serve `handle` on a real HTTP server on 127.0.0.1 (a free port) in a thread; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # headers and body go out in two writes: without this, Nagle + delayed ACK add ~40 ms each
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            split = urlsplit(self.path)
            call = Call(self.command, f"http://{self.headers.get('Host')}{self.path}", split.path,
                        parse_qs(split.query), {k.lower(): v for k, v in self.headers.items()}, body)
            reply = handle(call)
            payload, headers = reply.encode()
            self.send_response(reply.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _any

        def log_message(self, *args) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": poll_interval}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class FakeClock:
    """`clock` and `sleep` for poll_until and Retry-After: sleeping advances time, nothing waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def assert_clean(err: BaseException, *secrets: str) -> str:
    """The error renders as one line holding no secret and no Authorization value; returns the line."""
    text = str(err)
    assert "\n" not in text, text
    for secret in secrets:
        assert secret not in text, f"secret leaked into: {text}"
    assert "Basic " not in text or "Basic ****" in text, text
    return text
