"""Real peers for the delivery tests: an aiosmtpd SMTP server, a stdlib HTTP server, worker
runners (in-process for speed, `faktura worker` subprocesses for the acceptance runs)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import email
import email.policy
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import asyncpg
from aiosmtpd.controller import Controller

from faktura.jobs import JobContext
from faktura.settings import Settings
from faktura.worker import HANDLERS, build_queue


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpSink:
    """Records every message; `hold` makes RCPT to `hold_for` wait (a send stuck
    mid-conversation)."""

    def __init__(self) -> None:
        self.hold_for = ""
        self.messages: list[EmailMessage] = []
        self.hold = threading.Event()
        self.holding = threading.Event()
        self.release = threading.Event()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.hold.is_set() and address == self.hold_for:
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        return "250 Message accepted for delivery"

    def by_message_id(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for m in self.messages:
            out[str(m["Message-ID"])] = out.get(str(m["Message-ID"]), 0) + 1
        return out


class SmtpServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.sink = SmtpSink()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@contextlib.contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    s = SmtpServer()
    s.start()
    try:
        yield s
    finally:
        s.sink.release.set()
        s.stop()


@dataclasses.dataclass
class HttpRequest:
    path: str
    headers: dict[str, str]
    body: bytes


class HttpSink:
    def __init__(self) -> None:
        self.requests: list[HttpRequest] = []
        self.status = 200
        self.lock = threading.Lock()


@contextlib.contextmanager
def http_server(
    respond: Callable[[HttpRequest], int] | None = None, tls: ssl.SSLContext | None = None
) -> Iterator[tuple[str, HttpSink]]:
    sink = HttpSink()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            req = HttpRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            with sink.lock:
                sink.requests.append(req)
            code = respond(req) if respond else sink.status
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}", sink
    finally:
        server.shutdown()
        server.server_close()


def delivery_settings(settings: Settings, **kw: Any) -> Settings:
    """The session's settings with fast retries and the sandbox access point on."""
    base = dict(
        sandbox=True,
        retry_base=0.3,
        retry_cap=1.0,
        sandbox_report_delay=0.2,
        send_timeout=15.0,
        lease=20.0,
        job_heartbeat_timeout=3.0,
    )
    base.update(kw)
    return dataclasses.replace(settings, delivery=dataclasses.replace(settings.delivery, **base))


@contextlib.asynccontextmanager
async def in_process_worker(
    pool: asyncpg.Pool, settings: Settings, handlers: dict[str, Any] | None = None
) -> AsyncIterator[None]:
    """A worker in this event loop; `handlers` narrows the jobs it takes (default: all)."""
    conn = await asyncpg.connect(settings.app_dsn())
    pgq = build_queue(conn, JobContext(pool, settings), HANDLERS if handlers is None else handlers)
    task = asyncio.create_task(pgq.run(dequeue_timeout=__import__("datetime").timedelta(seconds=0.5)))
    try:
        yield
    finally:
        pgq.shutdown.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 15)
        await conn.close()


async def wait_for(cond: Callable[[], Awaitable[bool]], timeout: float = 30, step: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await cond():
            return
        await asyncio.sleep(step)
    raise AssertionError(f"condition not met within {timeout:.0f}s")


def worker_env(settings: Settings, **env: str) -> dict[str, str]:
    """The environment of a `faktura worker` on the test database and the test archive."""
    assert settings.database_url is not None
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "FAKTURA_DATA_DIR": str(settings.data_dir),
        "FAKTURA_DB_POOL_MIN": "1",
        "FAKTURA_DB_POOL_MAX": "8",
        "FAKTURA_RETRY_BASE": "0.3",
        "FAKTURA_RETRY_CAP": "1",
        "FAKTURA_SANDBOX_REPORT_DELAY": "0.2",
        "FAKTURA_PEPPOL_SANDBOX": "1",
        "FAKTURA_OUTBOUND_ALLOW": "127.0.0.1",
        **env,
    }


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "faktura.cli", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_worker(proc: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class AccessPointServer:
    """A real access point on the documented HTTP contract (docs/peppol-access-point.md):
    capability lookups, and `POST /messages` idempotent on the SBDH InstanceIdentifier.
    `refuse_next` answers that many submissions with 503 (an AP that is up but failing)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.refuse_next = 0
        self.posts = 0
        self.accepted: dict[str, bytes] = {}  # InstanceIdentifier -> SBDH
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        ap = self

        class Handler(BaseHTTPRequestHandler):
            def _json(self, code: int, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._json(200, b'{"registered": true}')

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                instance = body.split(b"<InstanceIdentifier>", 1)[1].split(b"<", 1)[0].decode()
                with ap.lock:
                    ap.posts += 1
                    if ap.refuse_next > 0:
                        ap.refuse_next -= 1
                        self._json(503, b'{"error": "busy"}')
                        return
                    ap.accepted.setdefault(instance, body)
                self._json(202, f'{{"message_id": "ap-{instance}", "evidence": {{}}}}'.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
