"""Background jobs on pgqueuer: enqueue inside the caller's transaction, run in `faktura worker`.

Enqueueing uses the caller's connection, so a job exists exactly when the business change
that asked for it committed (a transactional outbox without a relay). Handlers are plain
async functions registered in one visible table (`faktura.worker.HANDLERS`); each gets the
decoded payload and a `JobContext` and opens its own tenant-scoped transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec
from pgqueuer import Queries
from pgqueuer.db import AsyncpgDriver

from faktura.settings import Settings


async def enqueue(
    conn: asyncpg.Connection,
    entrypoint: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    delay: dt.timedelta | None = None,
    priority: int = 0,
) -> int | None:
    """Queue a job in the current transaction. With a `dedupe_key`, a job that is already
    queued or running under that key is not queued twice (returns None)."""
    ids = await Queries(AsyncpgDriver(conn)).enqueue(
        entrypoint,
        msgspec.json.encode(payload),
        priority,
        delay,
        dedupe_key,
        on_conflict="skip",
    )
    return ids[0]


async def enqueue_all(conn: asyncpg.Connection, jobs: list[tuple[str, dict[str, Any], str, int]]) -> None:
    """Queue several jobs in one statement, each `(entrypoint, payload, dedupe_key, priority)`;
    a job already queued or running under its key is not queued twice."""
    await Queries(AsyncpgDriver(conn)).enqueue(
        [j[0] for j in jobs],
        [msgspec.json.encode(j[1]) for j in jobs],
        [j[3] for j in jobs],
        None,
        [j[2] for j in jobs],
        on_conflict="skip",
    )


@dataclass(frozen=True)
class JobContext:
    pool: asyncpg.Pool
    settings: Settings

    @asynccontextmanager
    async def tenant(self, tenant_id: str | uuid.UUID) -> AsyncIterator[asyncpg.Connection]:
        """A transaction scoped to one tenant, exactly like an API request's."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant_id))
            yield conn
