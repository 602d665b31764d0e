"""`faktura worker`: runs queued jobs. Several worker processes can share one queue;
pgqueuer dequeues with `FOR UPDATE SKIP LOCKED`, so each job is picked by one worker.

A worker takes every queued job it can see (the tenants' turns at its renderer rely on
that, `faktura.turns`), except bulk chunks, sends and the PDF groups of bulk chunks: those it
takes a few at a time, each kind through a queue on a connection of its own (`CAPPED`). A
worker that took all the chunks of a 10,000-item batch would run them one after the other
while the other workers had none (measured: one worker issued every chunk, the second only rendered and archived);
one that took every waiting send would run a bulk's hundreds beside another tenant's one,
where with a few at a time the queue's order (tenants in turns) decides which runs next; and
one that held every PDF group of a month-end (thousands, each waiting for its turn at the
renderer) would heartbeat each of them every 15 s.

A cap per worker rather than pgqueuer's per-entrypoint limit across workers: that limit is
checked in every dequeue by counting all picked jobs, of every kind, and at month-end the
workers held thousands of picked PDF jobs waiting for their renderer: 6.8 ms per dequeue
at 638 held, and every queue dequeues on changes to the table (docs/performance.md)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
import msgspec
from pgqueuer import PgQueuer
from pgqueuer.db import AsyncpgDriver
from pgqueuer.errors import FailingListenerError
from pgqueuer.models import Job
from pgqueuer.qm import QueueManager
from pgqueuer.queries import Queries

from faktura.api.app import create_pool
from faktura.archive.deferred import WRITE_JOB, requeue_pending, write_pending
from faktura.db.availability import Backoff, database_unavailable
from faktura.delivery.bulk import BULK_JOB
from faktura.delivery.jobs import HANDLERS as DELIVERY_HANDLERS
from faktura.delivery.service import SEND_JOB
from faktura.documents import PDF_GROUP_JOB, PDF_JOB, render_pdf
from faktura.jobs import JobContext
from faktura.queue_wakeups import Capacity, coalesce_queue_notifications, in_context_of
from faktura.settings import Settings

log = logging.getLogger("faktura.worker")

#: A session that lasted this long ends an outage: the next reconnect starts with a short delay.
STABLE_AFTER_S = 60.0

T = TypeVar("T")
Handler = Callable[[JobContext, dict[str, Any]], Awaitable[None]]

#: entrypoint → handler. Every background job Faktura runs is listed here.
HANDLERS: dict[str, Handler] = {
    **DELIVERY_HANDLERS,
    PDF_JOB: render_pdf,
    PDF_GROUP_JOB: render_pdf,
    WRITE_JOB: write_pending,
}


def build_queue(
    conn: asyncpg.Connection,
    ctx: JobContext,
    handlers: dict[str, Handler],
    running: set[asyncio.Task[Any]] | None = None,
) -> PgQueuer:
    """A queue on `conn` running `handlers`; the tasks of running jobs are kept in `running`."""
    coalesce_queue_notifications()
    pgq = PgQueuer(AsyncpgDriver(conn))
    _register(pgq.qm, ctx, handlers, set() if running is None else running)
    return pgq


def _register(
    qm: QueueManager,
    ctx: JobContext,
    handlers: dict[str, Handler],
    tasks: set[asyncio.Task[Any]],
    capacity: Capacity | None = None,
) -> None:
    for name, handler in handlers.items():

        def bind(h: Handler) -> Callable[[Job], Awaitable[None]]:
            async def run(job: Job) -> None:
                payload = msgspec.json.decode(job.payload) if job.payload else {}
                task = asyncio.current_task()
                assert task is not None
                tasks.add(task)
                if capacity is not None:
                    capacity.taken()
                try:
                    await _through_outages(h, ctx, payload)
                finally:
                    tasks.discard(task)
                    if capacity is not None:
                        capacity.ended()

            return run

        qm.entrypoint(name)(bind(handler))


#: How often a worker that holds all the bulk chunks it may looks for more without being
#: notified. Holding its chunks, it would look ten times a second while a batch is queued; a
#: finished chunk's job is deleted, and that notifies it at once.
BULK_POLL = dt.timedelta(seconds=1)


def bulk_prefetch(settings: Settings) -> int:
    """Bulk chunks a worker holds at once: the ones it runs (`FAKTURA_BULK_CHUNKS`) and one
    more, ready when a chunk ends (pgqueuer's floor is two)."""
    return max(2, settings.bulk_chunks + 1)


#: Sends a worker runs at once. They mostly wait (for the access point, for commits), so a
#: few overlap well; two workers run 16, as many as the access point is asked to take.
SENDS_PER_WORKER = 8

#: PDF groups of bulk chunks a worker holds at once: one rendering, one ready (pgqueuer's
#: floor). They take turns at the renderer with the single invoices' PDFs, which a worker
#: takes as they come: another tenant's invoice does not wait for a group to finish.
PDF_GROUPS_PER_WORKER = 2


@dataclass(frozen=True)
class CappedQueue:
    """Jobs of one kind that a worker holds at most `cap` of at a time, dequeued `batch` at a
    time (pgqueuer wants the cap at least twice the batch)."""

    entrypoint: str
    cap: Callable[[Settings], int]
    batch: int
    #: how late it may see a job whose delay ran out (`QueueManager.min_dequeue_poll_interval`)
    poll: dt.timedelta = dt.timedelta(seconds=1)


CAPPED = (
    CappedQueue(BULK_JOB, bulk_prefetch, batch=1, poll=BULK_POLL),
    CappedQueue(SEND_JOB, lambda _: SENDS_PER_WORKER, batch=SENDS_PER_WORKER // 2),
    CappedQueue(PDF_GROUP_JOB, lambda _: PDF_GROUPS_PER_WORKER, batch=1),
)


#: How long a job keeps retrying while the database is unreachable before it fails.
JOB_OUTAGE_S = 120.0


async def _through_outages(handler: Handler, ctx: JobContext, payload: dict[str, Any]) -> None:
    """Run the job; when it fails only because the database went away (its pool connection
    broke before the queue's noticed), run it again with backoff instead of recording a
    failure that nothing would retry. Every job is safe to run twice. Should the queue's
    own connection drop meanwhile, the job is cancelled and picked again later."""
    backoff = Backoff()
    deadline = time.monotonic() + JOB_OUTAGE_S
    while True:
        try:
            await handler(ctx, payload)
            return
        except Exception as exc:
            if not database_unavailable(exc) or time.monotonic() > deadline:
                raise
            delay = backoff.next_delay()
            log.warning("job interrupted, database unavailable (%s); retrying in %.1f s", exc, delay)
            await asyncio.sleep(delay)


async def run_worker(settings: Settings, *, drain: bool = False) -> None:
    """Process jobs until cancelled (or, with `drain`, until the queue is empty).

    Losing the database (a restart, a failover) is never fatal: the worker reconnects with
    backoff and carries on. A job that was running when the connection went is picked
    again once its heartbeat is stale (`FAKTURA_JOB_HEARTBEAT_TIMEOUT`); every job is safe
    to run twice."""
    backoff = Backoff()
    while True:
        started = time.monotonic()
        try:
            lost = await _run_connected(settings, drain=drain)
        except Exception as exc:
            if not (database_unavailable(exc) or isinstance(exc, FailingListenerError)):
                raise
            reason = f"database unavailable ({type(exc).__name__}: {exc})"
        else:
            if not lost:
                return
            reason = "lost the database connection"
        if time.monotonic() - started > STABLE_AFTER_S:
            backoff.reset()  # it was up for a while: this is a new outage, start small again
        delay = backoff.next_delay()
        log.warning("%s; reconnecting in %.1f s", reason, delay)
        await asyncio.sleep(delay)


async def _run_connected(settings: Settings, *, drain: bool) -> bool:
    """One session on the queue; True if it ended because the queue connection was lost
    (pgqueuer would otherwise wait for notifications that can no longer arrive)."""
    from pgqueuer.types import QueueExecutionMode

    pool = await create_pool(settings)
    conns: list[asyncpg.Connection] = []
    try:

        async def connect() -> asyncpg.Connection:
            conns.append(await asyncpg.connect(settings.queue_database_url or settings.app_dsn()))
            return conns[-1]

        conn = await connect()
        running: set[asyncio.Task[Any]] = set()
        ctx = JobContext(pool, settings)
        # A drain (tests, one-off runs) takes every kind of job on one queue, the capped ones too.
        capped: tuple[CappedQueue, ...] = () if drain else CAPPED
        main_handlers = {n: h for n, h in HANDLERS.items() if n not in {q.entrypoint for q in capped}}
        pgq = build_queue(conn, ctx, main_handlers, running)
        side: list[tuple[QueueManager, CappedQueue, Capacity]] = []
        for q in capped:
            qm = QueueManager(Queries(AsyncpgDriver(await connect())))
            qm.shutdown = pgq.shutdown
            # Full, it is woken when one of its jobs ends (`faktura.queue_wakeups`); the
            # poll only bounds how late it sees a job whose delay ran out.
            qm.min_dequeue_poll_interval = q.poll
            capacity = Capacity(q.cap(settings))
            _register(qm, ctx, {q.entrypoint: HANDLERS[q.entrypoint]}, running, capacity)
            side.append((qm, q, capacity))
        lost = asyncio.Event()

        def on_lost(_: object) -> None:
            # The running jobs can no longer record their outcome or heartbeat on this
            # connection; they will be picked again once their heartbeat is stale. Stop them
            # now (as a crash would) rather than wait for them before reconnecting.
            lost.set()
            pgq.shutdown.set()
            for task in list(running):
                task.cancel()

        for c in conns:
            c.add_termination_listener(on_lost)
        if pending := await requeue_pending(conn):  # heal writes whose job failed or was lost
            log.info("%d archive object(s) pending; their writes are queued", pending)
        log.info("connected to the database; running jobs")
        mode = QueueExecutionMode.drain if drain else QueueExecutionMode.continuous
        heartbeat = dt.timedelta(seconds=settings.delivery.job_heartbeat_timeout)
        # A listener that stops answering (a half-open connection) ends the run too.
        queues: list[tuple[Awaitable[None], Capacity | None]] = [
            (pgq.run(mode=mode, heartbeat_timeout=heartbeat, shutdown_on_listener_failure=True), None)
        ]
        for qm, q, capacity in side:
            queues.append(
                (
                    qm.run(
                        mode=mode,
                        batch_size=q.batch,
                        max_concurrent_tasks=capacity.cap,
                        heartbeat_timeout=heartbeat,
                        shutdown_on_listener_failure=True,
                        log_aggregation_interval=dt.timedelta(0),
                    ),
                    capacity,
                )
            )
        try:
            async with asyncio.TaskGroup() as group:
                for queue, cap in queues:
                    # the queue's run finds its capacity in its task's context
                    in_context_of(cap, group.create_task, _ending_all(queue, pgq.shutdown))
        except BaseExceptionGroup as eg:
            raise eg.exceptions[0] from None
        for c in conns:
            c.remove_termination_listener(on_lost)
        # Only a drain ends by itself; a continuous run that returns has lost its connection.
        return lost.is_set() or not drain
    finally:
        for c in conns:
            try:
                await c.close(timeout=5)
            except Exception:
                c.terminate()
        try:
            await asyncio.wait_for(pool.close(), 10)
        except Exception:
            pool.terminate()


async def _ending_all(queue: Awaitable[None], shutdown: asyncio.Event) -> None:
    """Run one of the worker's queues; when it ends (its connection lost, its listener
    silent), the others end too."""
    try:
        await queue
    finally:
        shutdown.set()


async def wait_for_database(connect: Callable[[], Awaitable[T]]) -> T:
    """`await connect()`, retried with backoff while the database is unreachable (a worker
    may start before PostgreSQL, or while it restarts)."""
    backoff = Backoff()
    while True:
        try:
            return await connect()
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            delay = backoff.next_delay()
            log.warning("database unavailable (%s: %s); retrying in %.1f s", type(exc).__name__, exc, delay)
            await asyncio.sleep(delay)


def main(settings: Settings) -> None:
    from faktura.logs import configure_logging

    configure_logging()
    asyncio.run(run_worker(settings))
