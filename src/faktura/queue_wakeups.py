"""One wake-up for any number of queue notifications that arrived while a worker was busy.

pgqueuer's table trigger sends a NOTIFY for every statement that inserts or deletes jobs, and
each of a worker's queues keeps every one in an unbounded `asyncio.Queue`; it then looks for
jobs once per notification (a dequeue and three probes of the table), even when the first
look found them all. At month-end the issuing, sends and PDFs changed the table a few hundred
times a second: the queues fell behind and, long after the burst, were still working off
notifications one by one, thousands of statements a second with nothing to find
(docs/performance.md, "Month-end"). A notification only says "look again": one pending is
as good as many, so a queue keeps at most one.
"""

from __future__ import annotations

from typing import Any

from pgqueuer.core import listeners


class CoalescedNotices(listeners.PGNoticeEventListener):
    """At most one pending table-changed notice: a further one while one waits adds nothing."""

    def put_nowait(self, item: Any) -> None:
        if self.empty():
            super().put_nowait(item)


def coalesce_queue_notifications() -> None:
    """Make pgqueuer's queues (created from here on) keep one pending notification at most.
    pgqueuer builds the queue in `QueueManager.run` from this module attribute."""
    listeners.PGNoticeEventListener = CoalescedNotices  # type: ignore[misc]
