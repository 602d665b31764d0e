"""Wall time of one bulk batch: POST /v1/invoices/bulk with N invoice models, processed by
W `faktura worker` processes, until every item has its result.

Fresh database (created and dropped here), the API in-process (ASGI), real worker
processes on the same database — the same shape as production, minus the HTTP hop for
the two API calls. Prints the wall time from POST to the last item, and items/s.

    .venv/bin/python bench/bulk.py [--items 1000] [--workers 2] [--no-issue]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
ADMIN_DSN = os.environ.get("FAKTURA_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def example(name: str) -> dict:
    return json.loads((ROOT / "docs" / "examples" / f"{name}.json").read_text())


async def main(items: int, workers: int, issue: bool) -> None:
    from faktura.api.app import create_app, create_pool
    from faktura.db.migrate import migrate
    from faktura.db.platforms import create_platform
    from faktura.settings import Settings

    name = f"faktura_bench_bulk_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = ADMIN_DSN.rpartition("/")[0] + f"/{name}"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        await migrate(dsn)
        owner = await asyncpg.connect(dsn)
        _, key = await create_platform(owner, "bench")
        data_dir = Path(tempfile.mkdtemp(prefix="faktura-bench-"))  # the archive, shared with the workers
        settings = Settings(database_url=dsn, data_dir=data_dir)
        app = create_app(settings)
        app.state.pool = await create_pool(settings)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as c:
            h = {"Authorization": f"Bearer {key}"}
            t = (await c.post("/v1/tenants", json=example("tenant"), headers=h)).json()["model"]
            h["X-Account-Token"] = t["account_token"]
            contact = (await c.post("/v1/contacts", json=example("contact"), headers=h)).json()["model"]["id"]
            model = example("invoice")["model"] | {"contact": contact}
            body = {
                "issue": issue,
                "items": [{"idempotency_key": f"b-{i}", "model": model} for i in range(items)],
            }
            env = {
                **os.environ,
                "DATABASE_URL": dsn,
                "FAKTURA_DB_POOL_MIN": "1",
                "FAKTURA_DATA_DIR": str(data_dir),
            }
            started = time.monotonic()
            r = await c.post("/v1/invoices/bulk", json=body, headers=h)
            assert r.status_code == 202, r.text
            batch = r.json()["model"]["id"]
            posted = time.monotonic() - started
            procs = [
                subprocess.Popen(
                    [sys.executable, "-m", "faktura.cli", "worker"], env=env, stderr=subprocess.DEVNULL
                )
                for _ in range(workers)
            ]
            while True:
                got = (await c.get(f"/v1/invoices/bulk/{batch}", headers=h)).json()["model"]
                if got["counts"]["PENDING"] == 0:
                    break
                await asyncio.sleep(0.25)
            wall = time.monotonic() - started
        pdfs = (
            await owner.fetchval("SELECT count(*) FROM archive_entries WHERE kind = 'pdf'")
            if await owner.fetchval("SELECT to_regclass('archive_entries') IS NOT NULL")
            else None
        )
        print(f"items={items} workers={workers} issue={issue} status={got['status']} counts={got['counts']}")
        print(f"POST (store + queue): {posted:.2f} s")
        print(
            f"wall time POST → last item: {wall:.1f} s  ({items / wall:.1f} items/s); PDFs archived meanwhile: {pdfs}"
        )
        await app.state.pool.close()
        await owner.close()
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=15)
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-issue", action="store_true", help="create drafts instead of issuing")
    a = ap.parse_args()

    async def run() -> None:
        # SIGTERM (e.g. `timeout`) cancels the run, so `finally` stops the workers and drops the database.
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        await main(a.items, a.workers, not a.no_issue)

    asyncio.run(run())
