"""Each tenant its turn at a worker's scarce resources.

A `faktura worker` takes every queued job it can see and runs them as concurrent tasks; what
they then queue for is the worker's CPU-bound work: running a bulk chunk (a few at a time, see
`faktura.delivery.bulk`) and the PDF rendering process. A plain semaphore or executor queue
serves those first come, first served, so 10,000 items of one tenant's bulk would stand
before another tenant's single invoice. `TenantTurns` serves the waiting tenants round
robin instead, and a tenant that neither holds nor waits for a turn goes to the front of the
rotation: it waits only for the current holders, however long the other tenants' queues
are. A tenant served last goes to the back, so none is starved. Within a tenant the order
stays first come, first served.

The turns are per worker process (like the resources they guard); jobs that are not
CPU-bound (sends, webhooks, receipts) do not wait for a turn at all. They rely on the worker
taking every queued job (pgqueuer without `max_concurrent_tasks`): a worker that took only a
few at a time would take them in queue order, and the turns would have to move into that
order (`tests/test_fairness.py` would say so). Bulk chunks are that case: a worker takes
only the chunks it runs and one more (`faktura.worker`), so between workers their order is
the queue's, which interleaves the chunks of batches queued together
(`faktura.delivery.bulk.chunk_jobs`); the turns still order the chunks a worker holds. So
are the PDF groups of bulk chunks (`faktura.documents.PDF_GROUP_JOB`): queued as chunks are
issued, so in the chunks' interleaved order, and taken two at a time; a single invoice's PDF
job is taken as it comes and gets the renderer's next turn.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class TenantTurns:
    """At most `slots` holders at a time; waiters are served one tenant after the other."""

    def __init__(self, slots: int = 1) -> None:
        self._free = slots
        #: tenant → its waiters; the dict's insertion order is the rotation.
        self._waiting: dict[uuid.UUID, deque[asyncio.Future[None]]] = {}
        #: tenant → turns it holds now.
        self._holding: dict[uuid.UUID, int] = {}

    @asynccontextmanager
    async def turn(self, tenant_id: uuid.UUID) -> AsyncIterator[None]:
        if self._free and not self._waiting:
            self._free -= 1
            self._grant(tenant_id)
        else:
            granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if tenant_id in self._waiting:
                self._waiting[tenant_id].append(granted)
            elif tenant_id in self._holding:
                self._waiting[tenant_id] = deque([granted])
            else:  # had no turn lately: next in line
                self._waiting = {tenant_id: deque([granted]), **self._waiting}
            try:
                await granted
            except asyncio.CancelledError:
                if granted.done() and not granted.cancelled():
                    self._release(tenant_id)  # granted just as we were cancelled: pass it on
                else:
                    self._forget(tenant_id, granted)
                raise
        try:
            yield
        finally:
            self._release(tenant_id)

    def _grant(self, tenant_id: uuid.UUID) -> None:
        self._holding[tenant_id] = self._holding.get(tenant_id, 0) + 1

    def _release(self, holder: uuid.UUID) -> None:
        if self._holding[holder] == 1:
            del self._holding[holder]
        else:
            self._holding[holder] -= 1
        while self._waiting:
            tenant_id = next(iter(self._waiting))
            queue = self._waiting.pop(tenant_id)
            granted = queue.popleft()
            if queue:
                self._waiting[tenant_id] = queue  # to the back of the rotation
            if not granted.done():
                granted.set_result(None)
                self._grant(tenant_id)
                return
        self._free += 1

    def _forget(self, tenant_id: uuid.UUID, granted: asyncio.Future[None]) -> None:
        queue = self._waiting.get(tenant_id)
        if queue is not None and granted in queue:
            queue.remove(granted)
            if not queue:
                del self._waiting[tenant_id]
