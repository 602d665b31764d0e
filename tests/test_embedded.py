"""The embedded PostgreSQL launcher: start, reuse, stop, restart with data kept.

One server start/stop cycle is about two seconds; the test fails if the whole thing takes
more than 20 s, because `faktura serve` without DATABASE_URL pays the same cost at startup.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from faktura.db.embedded import start_embedded

TIME_BUDGET_S = 20


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Not pytest's tmp_path: as root the server runs as an unprivileged user, which cannot
    # pass through /tmp/pytest-of-root (0700). A fresh 0711 dir in /tmp is reachable.
    base = Path(tempfile.mkdtemp(prefix="faktura-emb-"))
    base.chmod(0o711)
    try:
        yield base / "data"
    finally:
        shutil.rmtree(base, ignore_errors=True)


async def test_start_reuse_stop_restart_keeps_data(data_dir: Path) -> None:
    t0 = time.monotonic()
    server = await asyncio.to_thread(start_embedded, data_dir)
    try:
        assert server.started_here
        assert server.dsn == f"postgresql://postgres@127.0.0.1:{server.port}/faktura"
        conn = await asyncpg.connect(server.dsn)
        try:
            assert await conn.fetchval("select 1") == 1
            await conn.execute("create table kept (v text); insert into kept values ('hello')")
        finally:
            await conn.close()

        # A second start on the same data dir (another process, in real life) reuses it.
        again = await asyncio.to_thread(start_embedded, data_dir)
        assert not again.started_here
        assert again.port == server.port
    finally:
        await asyncio.to_thread(server.stop)
    assert not (data_dir / "pg" / "postmaster.pid").exists()
    await asyncio.to_thread(server.stop)  # stopping a stopped server is a no-op

    restarted = await asyncio.to_thread(start_embedded, data_dir)
    try:
        assert restarted.started_here
        assert restarted.port == server.port  # remembered, and still free
        conn = await asyncpg.connect(restarted.dsn)
        try:
            assert await conn.fetchval("select v from kept") == "hello"
        finally:
            await conn.close()
    finally:
        await asyncio.to_thread(restarted.stop)

    if os.geteuid() == 0:
        # Root is never the owner of the cluster; only pg/ and log/ were handed over.
        assert (data_dir / "pg").stat().st_uid != 0
        assert data_dir.stat().st_uid == 0
    elapsed = time.monotonic() - t0
    assert elapsed < TIME_BUDGET_S, f"embedded PostgreSQL cycle took {elapsed:.1f}s"
