"""The job queue: a job exists iff the transaction that queued it committed; dedupe keys
keep a job from being queued twice; the worker runs each job in a tenant transaction."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from pgqueuer.types import QueueExecutionMode

from faktura.jobs import JobContext, enqueue
from faktura.settings import Settings
from faktura.worker import build_queue


async def test_enqueue_is_transactional_and_deduplicated(app: Any, settings: Settings) -> None:
    pool = app.state.pool
    async with pool.acquire() as conn:
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await enqueue(conn, "test.echo", {"n": 0})
                raise RuntimeError("rolled back")
        async with conn.transaction():
            first = await enqueue(conn, "test.echo", {"n": 1}, dedupe_key="echo-1")
            again = await enqueue(conn, "test.echo", {"n": 1}, dedupe_key="echo-1")
            await enqueue(conn, "test.echo", {"n": 2})
        assert first is not None and again is None

    seen: list[tuple[int, str | None]] = []

    async def echo(ctx: JobContext, payload: dict[str, Any]) -> None:
        async with ctx.tenant("00000000-0000-0000-0000-000000000001") as c:
            seen.append((payload["n"], await c.fetchval("SELECT current_setting('app.tenant_id', true)")))

    conn = await asyncpg.connect(settings.app_dsn())
    try:
        pgq = build_queue(conn, JobContext(pool, settings), {"test.echo": echo})
        await asyncio.wait_for(pgq.run(mode=QueueExecutionMode.drain), 30)
    finally:
        await conn.close()
    assert sorted(seen) == [
        (1, "00000000-0000-0000-0000-000000000001"),
        (2, "00000000-0000-0000-0000-000000000001"),
    ]
