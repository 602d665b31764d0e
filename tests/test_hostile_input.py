"""Hostile input is refused before it costs anything: credentials before the body, bodies
cut off at their limit while streaming, JSON depth and invoice lines bounded, and draft
previews rendered outside the API process within a time bound.

The memory figures are measured on a real `faktura serve --no-worker` process over real
sockets (its VmRSS in /proc), the rest on the in-process app."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from tests.conftest import Tenant, example, fail_on_server_error, invoice_body, make_contact

from faktura.api.app import create_app, create_pool
from faktura.api.wire import MAX_JSON_DEPTH, nested_deeper_than
from faktura.documents import _render_pool
from faktura.domain.invoice import MAX_LINE_ITEMS, InvoiceInput
from faktura.settings import Settings

GIB = 1 << 30
MIB = 1 << 20
CALLBACK_TOKEN = "callback-token-of-this-test"


@asynccontextmanager
async def client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client of an app built from `settings` (its own pool)."""
    app = create_app(settings)
    app.state.pool = await create_pool(settings)
    try:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        hooks = {"response": [fail_on_server_error]}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://faktura.test", event_hooks=hooks
        ) as c:
            yield c
    finally:
        await app.state.pool.close()


#: Routes authenticated by a signature over the body itself (read within the body limit).
SIGNED_BODY = {
    ("POST", "/v1/peppol/e-invoice-be/webhook"),
    ("POST", "/v1/france/pa/webhook/{tenant_id:str}"),
}


def body_routes() -> set[tuple[str, str]]:
    """(method, path) of every API route that takes a body and credentials in its headers,
    from the app itself."""
    app = create_app(Settings(database_url="postgresql://unused@127.0.0.1/unused"))
    return {
        (method, route.path)
        for route in app.routes
        if route.path.startswith("/v1/")
        for method in getattr(route, "methods", ())
        if method in ("POST", "PUT", "PATCH")
    } - SIGNED_BODY


def fill(path: str, ids: dict[str, str]) -> str:
    """`/v1/invoices/{invoice_id:str}` with the id from `ids`, else a fresh one."""
    return re.sub(r"\{(\w+):str\}", lambda m: ids.get(m[1], str(uuid.uuid4())), path)


# -- credentials before the body ------------------------------------------------------------


class Tripwire:
    """A request body that records whether anyone read it."""

    def __init__(self) -> None:
        self.read = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.read = True
        yield b'{"model": {"bad": '


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": "Bearer not-a-key", "X-Account-Token": "not-a-token"},
    ],
    ids=["anonymous", "unknown-key", "unknown-key-and-token"],
)
async def test_every_route_refuses_bad_credentials_before_reading_the_body(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    routes = body_routes()
    assert len(routes) > 15  # the enumeration found the API
    for method, path in sorted(routes):
        url = fill(path, {})
        body = Tripwire()
        r = await client.request(
            method, url, content=body, headers={**headers, "Content-Type": "application/json"}
        )
        assert r.status_code == 401, (method, path, r.text)
        assert r.json()["errors"][0]["problem_type"] == "UNAUTHORIZED"
        assert not body.read, (method, path)
        assert r.headers.get("connection") == "close", (method, path)


async def test_revoked_credentials_are_refused_at_once(client: httpx.AsyncClient, tenant: Tenant) -> None:
    """The gate remembers credentials that passed; the handler's own check still refuses
    a token revoked meanwhile."""
    assert (await client.get("/v1/contacts", headers=tenant.headers)).status_code == 200
    r = await client.post(f"/v1/tenants/{tenant.id}/rotate-token", headers=tenant.platform_headers)
    assert r.status_code == 200, r.text
    r = await client.post("/v1/contacts", json=example("contact"), headers=tenant.headers)
    assert r.status_code == 401, r.text


# -- JSON depth -------------------------------------------------------------------------------

DEEP = b'{"model": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
#: Routes whose body is not JSON (an image; ignored bytes hashed for idempotency).
NOT_JSON = {
    ("PUT", "/v1/branding/logo"),
    ("POST", "/v1/invoices/{invoice_id:str}/issue"),
    ("POST", "/v1/tenants/{tenant_id:str}/rotate-token"),
}


async def test_deep_json_is_400_on_every_json_route(
    settings: Settings, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """100,000 levels (the decoder's recursion ends near 1,000): a 400 in the envelope."""
    contact = await make_contact(client, tenant)
    r = await client.post("/v1/invoices", json=invoice_body(contact), headers=tenant.headers)
    ids = {
        "tenant_id": tenant.id,
        "contact_id": contact,
        "invoice_id": r.json()["model"]["id"],
        "endpoint_id": str(uuid.uuid4()),
    }
    routes = body_routes() - NOT_JSON
    assert body_routes() >= NOT_JSON
    delivery = replace(settings.delivery, peppol_callback_token=CALLBACK_TOKEN)
    async with client_for(replace(settings, delivery=delivery)) as c:
        for method, path in sorted(routes):
            if path.startswith("/v1/tenants"):
                headers = tenant.platform_headers
            elif path == "/v1/peppol/callback":
                headers = {"Authorization": f"Bearer {CALLBACK_TOKEN}"}
            else:
                headers = tenant.headers
            url = fill(path, ids)
            r = await c.request(
                method, url, content=DEEP, headers={**headers, "Content-Type": "application/json"}
            )
            assert r.status_code == 400, (method, path, r.text)
            assert r.json()["errors"][0]["problem_type"] == "JSON_TOO_DEEP", (method, path)


@pytest.mark.parametrize(
    ("body", "deeper"),
    [
        (b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, False),
        (b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), True),
        (b"[{}]" * 1000, False),  # many brackets, shallow
        (b'{"a": "' + b"[" * 500 + b'"}', False),  # brackets inside a string
        (b'{"a": "\\"' + b"[" * 500 + b'"}', False),  # ... after an escaped quote
        (b'{"a": "\\\\", "b": ' + b"[" * 500, True),  # an escaped backslash ends no string
        (b'{"a": "x\\\\\\"' + b"{" * 500 + b'"}', False),
        (b"[" * 2_000_000, True),
    ],
)
def test_depth_scan(body: bytes, deeper: bool) -> None:
    assert nested_deeper_than(body, MAX_JSON_DEPTH) is deeper


# -- lines per invoice ------------------------------------------------------------------------


def many_lines(contact: str, n: int) -> dict[str, Any]:
    line = {"item": {"name": "x"}, "quantity": "1", "unit_price": "1", "tax_category": "S", "tax_rate": "19"}
    body = invoice_body(contact)
    body["model"]["line_items"] = [line] * n
    return body


async def test_more_than_max_lines_is_a_422_at_line_items(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await make_contact(client, tenant)
    too_many = many_lines(contact, MAX_LINE_ITEMS + 1)
    for path in ("/v1/invoices", "/v1/invoices?issue=true", "/v1/invoices/validate"):
        r = await client.post(path, json=too_many, headers=tenant.headers)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["errors"][0]["source"]["pointer"] == "/model/line_items", path
    draft = (await client.post("/v1/invoices", json=invoice_body(contact), headers=tenant.headers)).json()
    r = await client.patch(f"/v1/invoices/{draft['model']['id']}", json=too_many, headers=tenant.headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["source"]["pointer"] == "/model/line_items"
    items = [
        {"idempotency_key": "fine", "model": invoice_body(contact)["model"]},
        {"idempotency_key": "too-long", "model": too_many["model"]},
    ]
    r = await client.post("/v1/invoices/bulk", json={"items": items}, headers=tenant.headers)
    assert r.status_code == 422, r.text
    assert [e["source"]["pointer"] for e in r.json()["errors"]] == ["/items/1/model/line_items"]
    listed = (await client.get("/v1/invoices", headers=tenant.headers)).json()["results"]
    assert [i["id"] for i in listed] == [draft["model"]["id"]]  # nothing else was written


def test_max_lines_itself_is_accepted() -> None:
    line = {"item": {"name": "x"}, "quantity": "1", "unit_price": "1", "tax_category": "S", "tax_rate": "19"}
    model = msgspec.convert({"line_items": [line] * MAX_LINE_ITEMS}, InvoiceInput, strict=False)
    assert len(model.line_items) == MAX_LINE_ITEMS


async def draft_pdf_url(client: httpx.AsyncClient, tenant: Tenant) -> str:
    contact = await make_contact(client, tenant)
    draft = (await client.post("/v1/invoices", json=invoice_body(contact), headers=tenant.headers)).json()
    return f"/v1/invoices/{draft['model']['id']}/pdf"


# -- previews -----------------------------------------------------------------------------------


async def test_a_preview_over_its_time_bound_is_refused_and_the_renderer_stays(
    settings: Settings, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    url = await draft_pdf_url(client, tenant)
    async with client_for(replace(settings, preview_timeout=0.01)) as hurried:
        r = await hurried.get(url, headers=tenant.headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["problem_type"] == "PREVIEW_TOO_LARGE"
    r = await client.get(url, headers=tenant.headers)  # the same rendering process, unharmed
    assert r.status_code == 200 and r.content.startswith(b"%PDF")


async def test_a_lost_renderer_is_a_503_and_the_next_preview_gets_a_new_one(
    app: Any, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    url = await draft_pdf_url(client, tenant)
    assert (await client.get(url, headers=tenant.headers)).status_code == 200
    pool = _render_pool()
    for process in list(pool._processes.values()):  # as the kernel's OOM killer would
        process.kill()
        process.join()
    # (a client without the suite's no-5xx hook: this 503 is the behaviour under test)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://faktura.test") as c:
        r = await c.get(url, headers=tenant.headers)
    assert r.status_code == 503 and r.headers["retry-after"], r.text
    r = await client.get(url, headers=tenant.headers)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert _render_pool() is not pool


# -- a real server: memory under hostile uploads, where previews are rendered ----------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """`faktura serve --no-worker` on the test database: (pid of the API process, port)."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "FAKTURA_DATA_DIR": str(tmp_path_factory.mktemp("served")),
        "FAKTURA_PORT": str(port),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "faktura.cli", "serve", "--no-worker"], env=env, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "faktura serve exited"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "faktura serve did not answer within 60 s"
            time.sleep(0.2)
        yield proc.pid, port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class PeakRss:
    """The highest VmRSS of `pid` while the block runs, sampled every 10 ms."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak = rss(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, rss(self.pid))

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss(self.pid))


def chunks(total: int, first: bytes = b"") -> Iterator[bytes]:
    """`total` bytes of body, 1 MiB at a time (a generator: nothing held by the client)."""
    piece = b"\0" * MIB
    yield first
    sent = len(first)
    while sent < total:
        n = min(MIB, total - sent)
        yield piece[:n]
        sent += n


def upload(port: int, method: str, path: str, headers: dict[str, str], *, chunked: bool) -> tuple[int, int]:
    """Stream 1 GiB to the server over a raw socket while reading its answer.

    Returns (status, bytes of body sent before the server answered and closed)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {GIB}"
    head = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        framing,
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    sent = 0

    def send() -> None:
        nonlocal sent
        try:
            for piece in chunks(GIB, b"\x89PNG\r\n\x1a\n"):
                sock.sendall(b"%x\r\n%b\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server closed the connection: what we want

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    answer = b""
    while b"\r\n" not in answer:
        data = sock.recv(4096)
        assert data, "the server closed without answering"
        answer += data
    with contextlib.suppress(OSError):  # already reset by the server
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
    sender.join(timeout=30)
    assert not sender.is_alive()
    return int(answer.split(b" ", 2)[1]), sent


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize(
    ("method", "path"), [("PUT", "/v1/branding/logo"), ("POST", "/v1/invoices")], ids=["logo", "json"]
)
def test_unauthenticated_gigabyte_is_refused_with_bounded_memory(
    server: tuple[int, int], method: str, path: str, chunked: bool
) -> None:
    pid, port = server
    with PeakRss(pid) as memory:
        before = rss(pid)
        status, sent = upload(port, method, path, {"Content-Type": "image/png"}, chunked=chunked)
    assert memory.peak - before < 50 * MIB, (before, memory.peak)
    assert status == 401
    assert sent < 64 * MIB  # the server closed instead of reading on


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize(
    ("method", "path"), [("PUT", "/v1/branding/logo"), ("POST", "/v1/invoices")], ids=["logo", "json"]
)
async def test_authenticated_oversize_body_is_413_with_bounded_memory(
    server: tuple[int, int], tenant: Tenant, method: str, path: str, chunked: bool
) -> None:
    pid, port = server
    headers = {**tenant.headers, "Content-Type": "image/png" if "logo" in path else "application/json"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:  # warm: credentials known
        assert (await c.get("/v1/branding", headers=tenant.headers)).status_code == 200
    with PeakRss(pid) as memory:
        before = rss(pid)
        status, sent = upload(port, method, path, headers, chunked=chunked)
    assert memory.peak - before < 50 * MIB, (before, memory.peak)
    assert status == 413
    assert sent < 64 * MIB  # the server closed instead of reading on


def _maps_pango(pid: int) -> bool:
    return "libpango" in Path(f"/proc/{pid}/maps").read_text()


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


async def test_draft_preview_is_rendered_outside_the_api_process(
    server: tuple[int, int], client: httpx.AsyncClient, tenant: Tenant
) -> None:
    pid, port = server
    url = await draft_pdf_url(client, tenant)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as c:
        r = await c.get(url, headers=tenant.headers)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    # WeasyPrint's Pango was loaded by a child of the server, never by the server itself.
    assert not _maps_pango(pid)
    assert any(_maps_pango(child) for child in _children(pid))
