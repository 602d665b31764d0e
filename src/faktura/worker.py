"""`faktura worker`: runs queued jobs. Several worker processes can share one queue;
pgqueuer dequeues with `FOR UPDATE SKIP LOCKED`, so each job is picked by one worker."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import msgspec
from pgqueuer import PgQueuer
from pgqueuer.db import AsyncpgDriver
from pgqueuer.models import Job

from faktura.api.app import create_pool
from faktura.jobs import JobContext
from faktura.settings import Settings

log = logging.getLogger("faktura.worker")

Handler = Callable[[JobContext, dict[str, Any]], Awaitable[None]]

#: entrypoint → handler. Every background job Faktura runs is listed here.
HANDLERS: dict[str, Handler] = {}


def build_queue(conn: asyncpg.Connection, ctx: JobContext, handlers: dict[str, Handler]) -> PgQueuer:
    pgq = PgQueuer(AsyncpgDriver(conn))
    for name, handler in handlers.items():

        def bind(h: Handler) -> Callable[[Job], Awaitable[None]]:
            async def run(job: Job) -> None:
                payload = msgspec.json.decode(job.payload) if job.payload else {}
                await h(ctx, payload)

            return run

        pgq.entrypoint(name)(bind(handler))
    return pgq


async def run_worker(settings: Settings, *, drain: bool = False) -> None:
    """Process jobs until cancelled (or, with `drain`, until the queue is empty)."""
    from pgqueuer.types import QueueExecutionMode

    pool = await create_pool(settings)
    conn = await asyncpg.connect(settings.app_dsn())
    try:
        pgq = build_queue(conn, JobContext(pool, settings), HANDLERS)
        mode = QueueExecutionMode.drain if drain else QueueExecutionMode.continuous
        await pgq.run(mode=mode)
    finally:
        await conn.close()
        await pool.close()


def main(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO)
    asyncio.run(run_worker(settings))
