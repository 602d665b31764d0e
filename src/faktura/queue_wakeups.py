"""Fewer wake-ups of a worker's queues than notifications of changes to the queue table.

pgqueuer's table trigger sends a NOTIFY for every statement that inserts or deletes jobs, and
each queue of a worker keeps every one in an unbounded `asyncio.Queue`; it then looks for jobs
once per notification (a dequeue and three probes of the table), even when the first look
found them all. At month-end the issuing, sends and PDFs changed the table a few hundred times
a second: the queues fell behind and, long after the burst, were still working off
notifications one by one, thousands of statements a second with nothing to find
(docs/performance.md, "Month-end"). So:

- A notification only says "look again": a queue keeps one pending at most, and under a steady
  stream of them looks at most every `MIN_GAP` seconds.
- A queue that holds as many jobs as it may (`faktura.worker.CAPPED`) can take none, whatever
  changed: it ignores notifications until one of its own jobs ends, and then looks at once.
  With tens of thousands of sends queued, the capped queues otherwise looked on every change,
  and each look walks the queue table's dead entries since its last vacuum.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from typing import Any, TypeVar

from pgqueuer.core import listeners

#: The least time between two looks for jobs prompted by notifications. A job waits at most
#: this much longer to be picked; a queue makes at most 1 / MIN_GAP dequeues a second. At
#: 25 ms, the queues of the full-size month-end still took most of a core after issuing.
MIN_GAP = 0.1

T = TypeVar("T")


class Capacity:
    """How many jobs one capped queue of this worker holds, of at most `cap`."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.held = 0
        self._notices: CoalescedNotices | None = None

    @property
    def full(self) -> bool:
        return self.held >= self.cap

    def taken(self) -> None:
        self.held += 1

    def ended(self) -> None:
        """One of the queue's jobs ended: a place is free, look for the next job now."""
        self.held -= 1
        if self._notices is not None:
            self._notices.wake()


#: The capacity of the queue whose `QueueManager.run` is running in this context, if capped.
_CAPACITY: contextvars.ContextVar[Capacity | None] = contextvars.ContextVar(
    "faktura_queue_capacity", default=None
)


def in_context_of(capacity: Capacity | None, start: Callable[..., T], *args: Any) -> T:
    """`start(*args, context=...)` (e.g. `TaskGroup.create_task`) with a context in which a
    queue's run finds its `capacity`."""
    context = contextvars.copy_context()
    context.run(_CAPACITY.set, capacity)
    return start(*args, context=context)


class CoalescedNotices(listeners.PGNoticeEventListener):
    """At most one pending table-changed notice, handed out at most every `MIN_GAP` seconds;
    none while the queue is full."""

    def __init__(self) -> None:
        super().__init__()
        self._last = 0.0
        self._urgent = False
        self._capacity = _CAPACITY.get()
        if self._capacity is not None:
            self._capacity._notices = self

    def put_nowait(self, item: Any) -> None:
        if self._capacity is not None and self._capacity.full:
            return  # it could take nothing; `Capacity.ended` wakes it
        if self.empty():
            super().put_nowait(item)

    def wake(self) -> None:
        """A place is free: look now, not after the gap."""
        self._urgent = True
        if self.empty():
            super().put_nowait(None)  # type: ignore[arg-type]  # the item is only a wake-up

    async def get(self) -> Any:
        item = await super().get()
        loop = asyncio.get_running_loop()
        if not self._urgent and (wait := self._last + MIN_GAP - loop.time()) > 0:
            await asyncio.sleep(wait)  # notices arriving meanwhile fold into the next one
        self._urgent = False
        self._last = loop.time()
        return item


def coalesce_queue_notifications() -> None:
    """Make pgqueuer's queues (created from here on) use `CoalescedNotices`; pgqueuer builds
    the queue in `QueueManager.run` from this module attribute."""
    listeners.PGNoticeEventListener = CoalescedNotices  # type: ignore[misc, assignment]
