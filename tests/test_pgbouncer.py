"""Behind pgbouncer in transaction pooling mode (statement cache off) the API still works and
the tenant setting never leaks: it is transaction-local, and server connections are shared
between client connections transaction by transaction."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from tests.conftest import invoice_body, make_contact, make_platform, make_tenant

from faktura.api.app import create_app, create_pool
from faktura.settings import Settings

PGBOUNCER = shutil.which("pgbouncer") or (
    "/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None
)
pytestmark = pytest.mark.skipif(PGBOUNCER is None, reason="pgbouncer is not installed (.ci/run installs it)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def bouncer(database_url: str) -> Iterator[int]:
    parts = urlsplit(database_url)
    port = _free_port()
    tmp = Path(tempfile.mkdtemp(prefix="fk-pgb-"))
    (tmp / "users.txt").write_text('"faktura_app" ""\n"postgres" ""\n')
    (tmp / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={parts.hostname} port={parts.port or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {tmp}/users.txt\n"
        "pool_mode = transaction\ndefault_pool_size = 2\nmax_client_conn = 200\n"
    )
    os.chmod(tmp, 0o755)
    for f in tmp.iterdir():
        os.chmod(f, 0o644)
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    assert PGBOUNCER is not None
    proc = subprocess.Popen([PGBOUNCER, *user, str(tmp / "pgbouncer.ini")], stderr=subprocess.PIPE)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(10)
    shutil.rmtree(tmp, ignore_errors=True)


async def test_api_through_pgbouncer_transaction_mode(
    bouncer: int, settings: Settings, client: httpx.AsyncClient, owner: asyncpg.Connection
) -> None:
    db = urlsplit(settings.database_url or "").path
    via = replace(
        settings,
        app_database_url=f"postgresql://faktura_app@127.0.0.1:{bouncer}{db}",
        statement_cache_size=0,
        pool_max_size=10,
    )
    app = create_app(via)
    app.state.pool = await create_pool(via)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fk") as bc:
            tenants = [await make_tenant(bc, await make_platform(owner)) for _ in range(3)]
            contacts = [await make_contact(bc, t) for t in tenants]

            async def issue(i: int) -> tuple[int, str]:
                t = tenants[i % 3]
                r = await bc.post(
                    "/v1/invoices?issue=true", json=invoice_body(contacts[i % 3]), headers=t.headers
                )
                assert r.status_code == 201, r.text
                return i % 3, r.json()["model"]["id"]

            # 10 client connections multiplexed over 2 server connections
            results = await asyncio.gather(*[issue(i) for i in range(30)])
            for k, t in enumerate(tenants):
                listed = (await bc.get("/v1/invoices?page_size=100", headers=t.headers)).json()["results"]
                assert sorted(x["id"] for x in listed) == sorted(i for j, i in results if j == k)
                numbers = sorted(x["number"] for x in listed)
                assert numbers == [f"INV-{numbers[0][4:8]}-{n:05}" for n in range(1, 11)]

            # the reads (one-message BEGIN + credentials check) see their own tenant's rows only
            async def read(i: int, j: int) -> tuple[int, int]:
                path = f"/v1/invoices/{results[i][1]}"
                r = await bc.get(f"{path}/xml" if i % 2 else path, headers=tenants[j].headers)
                return r.status_code, 200 if results[i][0] == j else 404

            for got, expected in await asyncio.gather(*[read(i, j) for i in range(30) for j in range(3)]):
                assert got == expected
    finally:
        await app.state.pool.close()
