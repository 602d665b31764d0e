"""`faktura worker`: runs queued jobs. Several worker processes can share one queue;
pgqueuer dequeues with `FOR UPDATE SKIP LOCKED`, so each job is picked by one worker."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import msgspec
from pgqueuer import PgQueuer
from pgqueuer.db import AsyncpgDriver
from pgqueuer.models import Job

from faktura.api.app import create_pool
from faktura.delivery.jobs import HANDLERS as DELIVERY_HANDLERS
from faktura.documents import PDF_JOB, render_pdf
from faktura.jobs import JobContext
from faktura.settings import Settings

log = logging.getLogger("faktura.worker")

Handler = Callable[[JobContext, dict[str, Any]], Awaitable[None]]

#: entrypoint → handler. Every background job Faktura runs is listed here.
HANDLERS: dict[str, Handler] = {**DELIVERY_HANDLERS, PDF_JOB: render_pdf}


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
        heartbeat = dt.timedelta(seconds=settings.delivery.job_heartbeat_timeout)
        await pgq.run(mode=mode, heartbeat_timeout=heartbeat)
    finally:
        await conn.close()
        await pool.close()


def main(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO)
    asyncio.run(run_worker(settings))
