"""Where a bulk chunk's time goes: one worker's `bulk.process` run in-process on N items, one
chunk after the other, with each phase timed (wall clock and this process's CPU).

A profiling aid for `bench/bulk.py`, not a goal figure: the phases are the chunk's contact
lookup (`_known_contacts`), everything before the number (`ready_to_issue`: checks, totals, the XML with a
placeholder), its jobs (`enqueue_all`: PDF, archive write) and the chunk's numbers and store
(`store_issued`, one per series: numbers, one statement), then, after the chunks, the
`archive.write` jobs they queued (`write_pending`, an fsync'd object each). The series' counter is locked
from `store_issued`'s numbers to the commit.

    .venv/bin/python bench/bulk_phases.py [--items 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from bulk import ADMIN_DSN, example


def timed(module: Any, name: str, acc: dict[str, list[float]]) -> None:
    """Replace `module.name` (a coroutine function) by one that adds its wall and CPU time to `acc`."""
    inner: Callable[..., Awaitable[Any]] = getattr(module, name)

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return await inner(*args, **kwargs)
        finally:
            total = acc.setdefault(name, [0.0, 0.0, 0])
            total[0] += time.perf_counter() - t0
            total[1] += time.process_time() - c0
            total[2] += 1

    setattr(module, name, wrapper)


async def archive_writes(ctx: Any, owner: asyncpg.Connection, n: int) -> None:
    """The queued `archive.write` jobs of those chunks, run in-process one after the other
    (their handler only: pgqueuer's own pick, heartbeat and delete statements come on top)."""
    from faktura.archive.deferred import write_pending

    jobs = await owner.fetch("SELECT payload FROM pgqueuer WHERE entrypoint = 'archive.write' ORDER BY id")
    t0, c0 = time.perf_counter(), time.process_time()
    for job in jobs:
        await write_pending(ctx, json.loads(job["payload"]))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"  archive.write  wall {wall / n * 1000:6.2f} ms/item  CPU {cpu / n * 1000:6.2f} ms/item"
        f"  ({len(jobs)} jobs, after the chunks)"
    )


async def main(n: int) -> None:
    import faktura.issuing as issuing
    from faktura.api.app import create_app, create_pool
    from faktura.db.migrate import migrate
    from faktura.db.platforms import create_platform
    from faktura.delivery import bulk
    from faktura.jobs import JobContext
    from faktura.settings import Settings

    name = f"faktura_bench_phases_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = ADMIN_DSN.rpartition("/")[0] + f"/{name}"
    try:
        await migrate(dsn)
        owner = await asyncpg.connect(dsn)
        _, key = await create_platform(owner, "bench")
        settings = Settings(database_url=dsn, data_dir=Path(tempfile.mkdtemp(prefix="faktura-bench-")))
        app = create_app(settings)
        app.state.pool = await create_pool(settings)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as c:
            h = {"Authorization": f"Bearer {key}"}
            tenant = (await c.post("/v1/tenants", json=example("tenant"), headers=h)).json()["model"]
            h["X-Account-Token"] = tenant["account_token"]
            contact = (await c.post("/v1/contacts", json=example("contact"), headers=h)).json()["model"]["id"]
            model = example("invoice")["model"] | {"contact": contact}
            items = [{"idempotency_key": f"p-{i}", "model": model} for i in range(n)]
            batch = (await c.post("/v1/invoices/bulk", json={"items": items}, headers=h)).json()["model"][
                "id"
            ]
        acc: dict[str, list[float]] = {}
        for phase in ("_known_contacts", "ready_to_issue", "enqueue_all", "store_issued"):
            timed(bulk, phase, acc)
        for step in ("prepare",):
            timed(issuing, step, acc)
        ctx = JobContext(app.state.pool, settings)
        t0, c0 = time.perf_counter(), time.process_time()
        for start in range(0, n, bulk.CHUNK):
            indexes = list(range(start, min(n, start + bulk.CHUNK)))
            await bulk.process(ctx, {"tenant_id": tenant["id"], "batch_id": batch, "indexes": indexes})
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(
            f"{n} items, one chunk after the other: {wall:.2f} s ({n / wall:.0f} items/s);"
            f" this process's CPU {cpu / n * 1000:.1f} ms per item; load average {os.getloadavg()[0]:.2f}"
        )
        for phase, (w, cp, calls) in sorted(acc.items(), key=lambda kv: -kv[1][0]):
            print(
                f"  {phase:14s} wall {w / n * 1000:6.2f} ms/item  CPU {cp / n * 1000:6.2f} ms/item  ({calls} calls)"
            )
        await archive_writes(ctx, owner, n)
        await app.state.pool.close()
        await owner.close()
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=200)
    asyncio.run(main(ap.parse_args().items))
