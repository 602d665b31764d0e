"""Telling "the database is unreachable" apart from every other failure.

A PostgreSQL restart, failover or network cut shows up in many shapes: a refused or reset
socket while connecting, `57P01 terminating connection due to administrator command` on a
busy connection, `57P03 the database system is starting up`, asyncpg's "connection is
closed" on a pooled connection the server dropped, and often a second error raised while
rolling back on that dead connection, chained to the first, or a pooled connection left in
a stuck state by the server's goodbye. All of them mean the same to a
caller: nothing was done that it can rely on, try again shortly. The API answers them with
503 + `Retry-After`, the job worker reconnects with `Backoff`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import asyncpg

#: Seconds a client is told to wait (`Retry-After`) while the database is unreachable.
RETRY_AFTER_S = 2

_CLOSED_MESSAGES = ("connection is closed", "underlying connection is closed", "connection was closed")


def _is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, asyncpg.QueryCanceledError):  # a statement timeout: the server is up
        return False
    if isinstance(
        exc,
        (
            ConnectionError,  # refused, reset, aborted, broken pipe
            TimeoutError,  # connect or acquire timed out
            asyncpg.PostgresConnectionError,  # class 08, incl. ConnectionDoesNotExistError
            asyncpg.OperatorInterventionError,  # class 57: admin/crash shutdown, cannot connect now
            asyncpg.TooManyConnectionsError,
        ),
    ):
        return True
    if isinstance(exc, OSError) and exc.errno is None and "connect" in str(exc).lower():
        return True  # asyncpg's "Multiple exceptions: [Errno 111] Connect call failed ..."
    if isinstance(exc, asyncpg.InternalClientError):
        # An idle pooled connection the server terminated can be left in a stuck protocol
        # state; its next statement fails this way before it reaches the server.
        return "another operation" in str(exc) and "in progress" in str(exc)
    return isinstance(exc, asyncpg.InterfaceError) and any(m in str(exc) for m in _CLOSED_MESSAGES)


def database_unavailable(exc: BaseException) -> bool:
    """True if `exc`, or an exception it was raised from or while handling, says that the
    database cannot be reached right now."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if _is_unavailable(current):
            return True
        if isinstance(current, BaseExceptionGroup):
            return any(database_unavailable(e) for e in current.exceptions)
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


@dataclass
class Backoff:
    """Exponential backoff with full jitter: the n-th delay is uniform in
    [first/2, min(cap, first * 2**n)], so reconnecting processes do not stampede."""

    first: float = 0.5
    cap: float = 30.0
    attempt: int = 0

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.first * 2**self.attempt)
        self.attempt += 1
        return random.uniform(min(self.first / 2, ceiling), ceiling)

    def reset(self) -> None:
        self.attempt = 0
