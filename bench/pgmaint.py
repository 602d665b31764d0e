"""What PostgreSQL's autovacuum launcher would do, for a bench on a server that runs without it.

This machine's PostgreSQL is set up for test suites (`conf.d/90-ci.conf`: autovacuum off); a
production server runs autovacuum, and what a bench measures should be what production
sees. Two effects of its absence were measured: the job queue's table kept every dead row
and a stale row count (each dequeue sorted the whole backlog, 240 ms at 40,000 queued
sends, `bench/monthend.py`), and no table was ever analyzed, so the plans of the foreign-key
checks, which each database connection makes once, while the tables were nearly empty, and
keeps until an ANALYZE invalidates them, went on walking a tenant's whole
`(tenant_id, modified_at)` index for one `(tenant_id, id)` (`bench/issue.py`: PostgreSQL's CPU
per create-and-issue on one series rose from ~1.3 to 4–7 ms once the tenant held ~10,000
invoices; auto_explain showed the plans).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import asyncpg

#: autovacuum_naptime's default
NAPTIME = 60.0
#: autovacuum_vacuum_cost_delay's and vacuum_cost_limit's defaults: autovacuum pauses 2 ms
#: every 200 cost units, where a plain VACUUM runs flat out (its delay is 0)
COST_DELAY = "2ms"
COST_LIMIT = 200
#: with `report`, the VACUUMs and ANALYZEs that took at least this long are printed
REPORT_FROM_S = 0.5


async def autovacuum_stand_in(
    conn: asyncpg.Connection | asyncpg.Pool,
    stop: asyncio.Event,
    naptime: float = NAPTIME,
    report: bool = False,
) -> None:
    """Until `stop` is set, where the server's autovacuum is off: every `naptime` seconds,
    VACUUM ANALYZE a table of `conn`'s database with more than 50 + 20 % dead rows, ANALYZE
    one with more than 50 + 10 % rows changed since its last analysis (the launcher's default
    thresholds), throttled as autovacuum is. With `report`, prints the start (seconds since the
    call) and duration of each one that took `REPORT_FROM_S` or more, so that a slow moment
    of the run can be set beside them.
    Returns at once where autovacuum is on."""
    if await conn.fetchval("SHOW autovacuum") == "on":
        return
    print("# autovacuum is off on this server: the bench vacuums as its launcher would", flush=True)
    began = time.monotonic()
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=naptime)
        for t in await conn.fetch(
            "SELECT relname, n_live_tup, n_dead_tup, n_mod_since_analyze FROM pg_stat_user_tables"
        ):
            if t["n_dead_tup"] > 50 + 0.2 * t["n_live_tup"]:
                statement = f'VACUUM (ANALYZE) "{t["relname"]}"'
            elif t["n_mod_since_analyze"] > 50 + 0.1 * t["n_live_tup"]:
                statement = f'ANALYZE "{t["relname"]}"'
            else:
                continue
            at = time.monotonic()
            await _throttled(conn, statement)
            if report and time.monotonic() - at >= REPORT_FROM_S:
                print(
                    f"# autovacuum stand-in at {at - began:.0f} s: {statement}"
                    f" ({t['n_dead_tup']} dead rows), {time.monotonic() - at:.1f} s",
                    flush=True,
                )


async def _throttled(conn: asyncpg.Connection | asyncpg.Pool, statement: str) -> None:
    """`statement` on one connection with autovacuum's cost-based delay (a session setting)."""
    if isinstance(conn, asyncpg.Pool):
        async with conn.acquire() as c:
            await _throttled(c, statement)
        return
    await conn.execute(f"SET vacuum_cost_delay = '{COST_DELAY}'; SET vacuum_cost_limit = {COST_LIMIT}")
    try:
        await conn.execute(statement)
    finally:
        await conn.execute("RESET vacuum_cost_delay; RESET vacuum_cost_limit")
