"""Fewer wake-ups of a worker's queues than notifications of changes to the queue table.

pgqueuer's table trigger sends a NOTIFY for every statement that inserts or deletes jobs, and
each queue of a worker keeps every one in an unbounded `asyncio.Queue`; it then looks for jobs
once per notification (a dequeue and three probes of the table), even when the first look
found them all. At month-end the issuing, sends and PDFs changed the table a few hundred times
a second: the queues fell behind and, long after the burst, were still working off
notifications one by one, thousands of statements a second with nothing to find
(docs/performance.md, "Month-end"). A notification only says "look again", so a queue keeps
one pending at most; and under a steady stream of them it looks at most every `MIN_GAP`
seconds, which bounds the statements of a busy queue instead of spending them on every change.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pgqueuer.core import listeners

#: The least time between two looks for jobs prompted by notifications. A job waits at most
#: this much longer to be picked; a queue makes at most 1 / MIN_GAP dequeues a second.
MIN_GAP = 0.025


class CoalescedNotices(listeners.PGNoticeEventListener):
    """At most one pending table-changed notice, handed out at most every `MIN_GAP` seconds."""

    def __init__(self) -> None:
        super().__init__()
        self._last = 0.0

    def put_nowait(self, item: Any) -> None:
        if self.empty():
            super().put_nowait(item)

    async def get(self) -> Any:
        item = await super().get()
        loop = asyncio.get_running_loop()
        if (wait := self._last + MIN_GAP - loop.time()) > 0:
            await asyncio.sleep(wait)  # notices arriving meanwhile fold into the next one
        self._last = loop.time()
        return item


def coalesce_queue_notifications() -> None:
    """Make pgqueuer's queues (created from here on) use `CoalescedNotices`; pgqueuer builds
    the queue in `QueueManager.run` from this module attribute."""
    listeners.PGNoticeEventListener = CoalescedNotices  # type: ignore[misc, assignment]
