"""The job queue: a job exists iff the transaction that queued it committed; dedupe keys
keep a job from being queued twice; the worker runs each job in a tenant transaction."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from pgqueuer.db import AsyncpgDriver
from pgqueuer.qm import QueueManager
from pgqueuer.queries import Queries
from pgqueuer.types import QueueExecutionMode

from faktura.jobs import JobContext, enqueue
from faktura.queue_wakeups import MIN_GAP, Capacity, coalesce_queue_notifications, in_context_of
from faktura.settings import Settings
from faktura.worker import _register, build_queue


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


def count_dequeues(qm: QueueManager) -> Callable[[], int]:
    """Count the queue's looks for jobs; the returned function says how many so far."""
    made = 0
    dequeue = qm.queries.dequeue

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal made
        made += 1
        return await dequeue(*args, **kwargs)

    qm.queries.dequeue = counted  # type: ignore[method-assign]
    return lambda: made


def notices(count: int) -> str:
    """SQL sending `count` notifications as pgqueuer's trigger does, each distinct
    (PostgreSQL folds identical ones within a transaction)."""
    return (
        "SELECT pg_notify('ch_pgqueuer', json_build_object('channel', 'ch_pgqueuer', 'operation', 'insert',"
        " 'sent_at', clock_timestamp() + i * interval '1 microsecond', 'table', 'pgqueuer',"
        f" 'type', 'table_changed_event')::text) FROM generate_series(1, {count}) AS i"
    )


async def never(ctx: JobContext, payload: dict[str, Any]) -> None:
    raise AssertionError("no job of this kind is queued")


@asynccontextmanager
async def idle_queue(
    app: Any, settings: Settings
) -> AsyncIterator[tuple[Callable[[], int], asyncpg.Connection]]:
    """A running queue with no job to find, its looks for jobs counted, and a connection to
    notify it from."""
    conn = await asyncpg.connect(settings.app_dsn())
    notifier = await asyncpg.connect(settings.app_dsn())
    try:
        pgq = build_queue(conn, JobContext(app.state.pool, settings), {"test.never": never})
        dequeues = count_dequeues(pgq.qm)
        run = asyncio.create_task(pgq.run())
        await asyncio.sleep(1.0)  # started, looked once, waiting
        assert dequeues() >= 1
        yield dequeues, notifier
        pgq.shutdown.set()
        await asyncio.wait_for(run, 30)
    finally:
        await notifier.close()
        await conn.close()


async def test_a_burst_of_notifications_wakes_a_queue_once(app: Any, settings: Settings) -> None:
    """Notifications that arrive while a queue is busy or idle are one "look again", not one
    dequeue each: after 300 at once, an idle queue looks for jobs a few times, not 300."""
    async with idle_queue(app, settings) as (dequeues, notifier):
        before = dequeues()
        await notifier.execute(notices(300))
        await asyncio.sleep(2.0)
        woken = dequeues() - before
    assert 1 <= woken <= 5, f"{woken} dequeues after one burst of 300 notifications"


async def test_a_stream_of_notifications_wakes_a_queue_at_most_every_min_gap(
    app: Any, settings: Settings
) -> None:
    """Under a steady stream of notifications (a busy queue table), a queue looks for jobs at
    most every `MIN_GAP` seconds, not on every change."""
    async with idle_queue(app, settings) as (dequeues, notifier):
        before = dequeues()
        started = time.monotonic()
        sent = 0
        while time.monotonic() - started < 1.0:  # one notification every 2 ms for a second
            await notifier.execute(notices(1))
            sent += 1
            await asyncio.sleep(0.002)
        elapsed = time.monotonic() - started
        await asyncio.sleep(0.2)
        woken = dequeues() - before
    assert sent > 2 * (elapsed + 0.2) / MIN_GAP, f"only {sent} notifications sent in {elapsed:.2f} s"
    assert 1 <= woken <= (elapsed + 0.2) / MIN_GAP + 2, f"{woken} dequeues for {sent} notifications"


async def test_a_full_capped_queue_ignores_notifications_and_looks_as_soon_as_a_job_ends(
    app: Any, settings: Settings
) -> None:
    """A queue that holds as many jobs as it may could take none: a stream of notifications
    does not wake it; one of its jobs ending does, at once (not at its next poll)."""
    pool = app.state.pool
    conn = await asyncpg.connect(settings.app_dsn())
    notifier = await asyncpg.connect(settings.app_dsn())
    started: list[int] = []
    release = {n: asyncio.Event() for n in range(3)}

    async def hold(ctx: JobContext, payload: dict[str, Any]) -> None:
        started.append(payload["n"])
        await release[payload["n"]].wait()

    async def until(cond: Callable[[], bool], timeout: float) -> float:
        t0 = time.monotonic()
        while not cond():
            assert time.monotonic() - t0 < timeout, "not within the timeout"
            await asyncio.sleep(0.01)
        return time.monotonic() - t0

    try:
        async with pool.acquire() as c, c.transaction():
            for n in range(3):
                await enqueue(c, "test.hold", {"n": n})
        coalesce_queue_notifications()
        qm = QueueManager(Queries(AsyncpgDriver(conn)))
        qm.min_dequeue_poll_interval = dt.timedelta(seconds=30)  # no polling: wake-ups only
        capacity = Capacity(2)
        _register(qm, JobContext(pool, settings), {"test.hold": hold}, set(), capacity)
        dequeues = count_dequeues(qm)
        async with asyncio.TaskGroup() as group:
            run = qm.run(batch_size=1, max_concurrent_tasks=2, log_aggregation_interval=dt.timedelta(0))
            in_context_of(capacity, group.create_task, run)
            await until(lambda: len(started) == 2, 10)
            await asyncio.sleep(0.5)
            before = dequeues()
            for _ in range(200):  # a busy queue table: a notification every 2 ms
                await notifier.execute(notices(1))
                await asyncio.sleep(0.002)
            ignored = dequeues() - before
            release[started[0]].set()
            took = await until(lambda: len(started) == 3, 10)
            for event in release.values():
                event.set()
            qm.shutdown.set()
    finally:
        await notifier.close()
        await conn.close()
    assert ignored == 0, f"a full queue looked for jobs {ignored} times"
    assert took < 2.0, f"the third job was taken {took:.2f} s after a place was free"
