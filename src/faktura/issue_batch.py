"""Issues of one number series that arrive together are numbered and stored together.

A series' counter row stays locked from the number to commit, and each round trip in that
window also waits for the event loop of the process holding it, which is busy with other
requests' checks and rendering. Issued one transaction each, concurrent issues on one
series queue for that window one by one. The batcher keeps, per tenant, series and
period, the issues that arrive while a batch of theirs is being committed, and commits
them as the next batch: one call for all their numbers, one statement that creates all
their invoices issued and queues their jobs, one commit. The lock window is the same
three round trips for the whole group. An issue with nothing else of its series in flight
is a batch of one, committed at once.

Everything that can fail on the request's content (checks, totals, rendering) happened
before, in the request (`faktura.issuing.ready_from`), which only read the database; a
batch that fails anyway (the database) is tried again member by member, so one member's
failure is its own.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg

from faktura.db.tenancy import as_tenant
from faktura.domain.document import Document
from faktura.issuing import Ready, store_issued
from faktura.settings import Settings

#: The most issues one batch numbers (a bound on one transaction's size).
MAX_BATCH = 100

Issued = tuple[Document, dict[str, Any]]
#: tenant, series, period: the issues of one counter row
Key = tuple[uuid.UUID, str, int]


class IssueBatcher:
    def __init__(self, pool: asyncpg.Pool, settings: Settings, returning: str):
        self.pool = pool
        self.settings = settings
        #: the invoice columns each issue's row returns
        self.returning = returning
        self._waiting: dict[Key, list[tuple[Ready, asyncio.Future[Issued]]]] = {}
        #: the keys a batch task runs for, and the tasks (referenced until done)
        self._running: set[Key] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def issue(self, tenant_id: uuid.UUID, ready: Ready) -> Issued:
        """Number and store `ready` (created with it, if it has a draft) in the next batch of
        its series; returns the issued document and the invoice's row once committed."""
        key = (tenant_id, ready.series, ready.period)
        done: asyncio.Future[Issued] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append((ready, done))
        if key not in self._running:
            self._running.add(key)
            task = asyncio.create_task(self._run(key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await done

    async def _run(self, key: Key) -> None:
        """Commit the series' waiting issues batch after batch, until none wait. (No await
        between the last empty look and leaving `_running`: a new issue finds either.)"""
        try:
            while waiting := self._waiting.pop(key, []):
                batch, rest = waiting[:MAX_BATCH], waiting[MAX_BATCH:]
                if rest:
                    self._waiting[key] = rest
                await self._settle(key[0], batch)
        finally:
            self._running.discard(key)

    async def _settle(self, tenant_id: uuid.UUID, batch: list[tuple[Ready, asyncio.Future[Issued]]]) -> None:
        try:
            results = await self._commit(tenant_id, [ready for ready, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                fail(batch[0][1], exc)
                return
            for ready, done in batch:  # alone, so that a failure is only its own
                try:
                    [result] = await self._commit(tenant_id, [ready])
                except Exception as own:
                    fail(done, own)
                else:
                    settle(done, result)
        else:
            for (_, done), result in zip(batch, results, strict=True):
                settle(done, result)

    async def _commit(self, tenant_id: uuid.UUID, batch: list[Ready]) -> list[Issued]:
        async with as_tenant(self.pool, tenant_id) as conn:
            return await store_issued(
                conn, self.settings, tenant_id, batch, returning=self.returning, queue_jobs=True
            )


def settle(done: asyncio.Future[Issued], result: Issued) -> None:
    if not done.done():  # its request may have been cancelled meanwhile
        done.set_result(result)


def fail(done: asyncio.Future[Issued], exc: Exception) -> None:
    if not done.done():
        done.set_exception(exc)
