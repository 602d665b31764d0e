"""Wall time of one bulk batch: POST /v1/invoices/bulk with N invoice models, processed by
W `faktura worker` processes, until every item has its result, then until every PDF of
the batch is archived.

Fresh database (created and dropped here), the API in-process (ASGI), real worker
processes on the same database — the same shape as production, minus the HTTP hop for
the two API calls. Prints the wall time from POST to the last item (issued/s, the goal:
>= 250/s at 10,000 items), and the PDFs separately: the wall time until the last PDF is
archived (or, past `--pdf-seconds`, how many were and the time the rest would take at the
rate measured), PDFs/s, and PDFs/s per core (the rate over the cores the PDF renderers
could use: min(workers, cores)). The workers run with `FAKTURA_PDF_NICENESS=10` unless the
environment says otherwise. The load average is printed before and after.

The workers are started and listening before the POST (their start-up is not timed). From
the POST to the last item the CPU time per item is printed for the workers, their PDF
renderers and the database's server processes of this run, beside the machine time per
item (wall time × cores: what the rest of a shared machine took shows as the difference).

    .venv/bin/python bench/bulk.py [--items 10000] [--workers 2] [--no-issue] [--pdf-seconds 120]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
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


def stop_processes(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every process, then wait; one that does not stop within 30 s is killed."""
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a live process has used, 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pids: list[int]) -> list[int]:
    """The live child processes of `pids` (the workers' PDF renderers)."""
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rpartition(")")[2].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid in pids:
                found.append(int(d.name))
    return found


async def cpu_split(admin: asyncpg.Connection, name: str, workers: list[int]) -> dict[str, dict[int, float]]:
    """CPU seconds used so far, per process: the workers, their renderers, and the database's
    server processes of this run's database (a backend that ended meanwhile is not counted)."""
    backends = [
        r["pid"] for r in await admin.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", name)
    ]
    return {
        "workers": {p: cpu_seconds(p) for p in workers},
        "renderers": {p: cpu_seconds(p) for p in children(workers)},
        "postgres": {p: cpu_seconds(p) for p in backends},
    }


def cpu_since(now: dict[str, dict[int, float]], before: dict[str, dict[int, float]]) -> dict[str, float]:
    return {k: sum(t - before[k].get(p, 0.0) for p, t in pids.items()) for k, pids in now.items()}


async def workers_listening(admin: asyncpg.Connection, name: str, workers: int) -> None:
    """Wait (up to 60 s) until there are `workers` connections listening for jobs, then two
    seconds more (a worker of this code listens on two)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        listening = await admin.fetchval(
            "SELECT count(DISTINCT client_port) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'",
            name,
        )
        if listening >= workers:
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(2)


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


async def main(items: int, workers: int, issue: bool, pdf_seconds: float, max_seconds: float) -> None:
    from faktura.api.app import create_app, create_pool
    from faktura.db.migrate import migrate
    from faktura.db.platforms import create_platform
    from faktura.settings import Settings

    name = f"faktura_bench_bulk_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = ADMIN_DSN.rpartition("/")[0] + f"/{name}"
    procs: list[subprocess.Popen[bytes]] = []
    dirs: list[Path] = []
    try:
        await migrate(dsn)
        owner = await asyncpg.connect(dsn)
        _, key = await create_platform(owner, "bench")
        data_dir = Path(tempfile.mkdtemp(prefix="faktura-bench-"))  # the archive, shared with the workers
        dirs.append(data_dir)
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
                # the PDFs render with the CPU that issuing leaves (override in the environment)
                "FAKTURA_PDF_NICENESS": os.environ.get("FAKTURA_PDF_NICENESS", "10"),
            }
            # the workers start first and wait for the batch: their start-up is not timed
            procs = [
                subprocess.Popen(
                    [sys.executable, "-m", "faktura.cli", "worker"], env=env, stderr=subprocess.DEVNULL
                )
                for _ in range(workers)
            ]
            await workers_listening(admin, name, workers)
            cpu0 = await cpu_split(admin, name, [p.pid for p in procs])
            commits0 = await admin.fetchval(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = $1", name
            )
            print(
                f"# bench/bulk.py: {items} items, {workers} workers, issue={issue}; load average before: {loadavg()}"
            )
            started = time.monotonic()
            r = await c.post("/v1/invoices/bulk", json=body, headers=h)
            assert r.status_code == 202, r.text
            batch = r.json()["model"]["id"]
            posted = time.monotonic() - started
            while True:
                got = (await c.get(f"/v1/invoices/bulk/{batch}", headers=h)).json()["model"]
                if got["counts"]["PENDING"] == 0 or time.monotonic() - started > max_seconds:
                    break
                await asyncio.sleep(0.5)
            wall = time.monotonic() - started
            cpu = cpu_since(await cpu_split(admin, name, [p.pid for p in procs]), cpu0)
            commits = await admin.fetchval(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = $1", name
            )
            total, items = items, items - got["counts"]["PENDING"]  # all, unless --max-seconds cut the wait
            issued = got["counts"]["SUCCESS"] if issue else 0
            pdfs_then = await _pdfs(owner)
            print(
                f"items={total} workers={workers} issue={issue} status={got['status']} counts={got['counts']}"
            )
            print(f"POST (store + queue): {posted:.2f} s")
            print(
                (
                    f"wall time POST → last item: {wall:.1f} s"
                    if items == total
                    else f"{items} of {total} items done in {wall:.1f} s"
                )
                + f"  ({items / wall:.1f} items/s,"
                f" goal 250/s: {'met' if items / wall >= 250 else 'missed'}); PDFs archived by then: {pdfs_then}"
            )
            if items:
                print(
                    "CPU per item done, POST → last item: "
                    + ", ".join(f"{k} {v / items * 1000:.1f} ms" for k, v in cpu.items())
                    + f"; {wall * (os.cpu_count() or 1) / items * 1000:.1f} ms of the machine's {os.cpu_count()} cores;"
                    f" {(commits - commits0) / items:.1f} database transactions per item"
                )
            if issued:
                cores = min(workers, os.cpu_count() or 1)
                pdf_deadline = time.monotonic() + pdf_seconds
                while (done := await _pdfs(owner)) < issued and time.monotonic() < pdf_deadline:
                    await asyncio.sleep(1)
                pdf_wall = time.monotonic() - started
                rate = done / pdf_wall
                line = f"PDFs: {done} of {issued} archived {pdf_wall:.1f} s after POST; {rate:.2f} PDFs/s, {rate / cores:.2f} PDFs/s per core ({cores} cores)"
                if done < issued:
                    line += f"; the rest at this rate: ~{(issued - done) / rate:.0f} s more (not measured)"
                else:
                    line += f"; wall time POST → last PDF archived: {pdf_wall:.1f} s"
                print(line)
        print(f"load average after: {loadavg()}")
        await app.state.pool.close()
        await owner.close()
    finally:
        stop_processes(procs)
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)
        await admin.close()


async def _pdfs(owner: asyncpg.Connection) -> int:
    return int(await owner.fetchval("SELECT count(*) FROM archive_entries WHERE kind = 'pdf'"))


if __name__ == "__main__":
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-issue", action="store_true", help="create drafts instead of issuing")
    ap.add_argument(
        "--max-seconds", type=float, default=3600, help="stop waiting for the items after this long"
    )
    ap.add_argument(
        "--pdf-seconds", type=float, default=120, help="how long to wait for the PDFs after the last item"
    )
    a = ap.parse_args()

    async def run() -> None:
        # SIGTERM (e.g. `timeout`) cancels the run, so `finally` stops the workers and drops the database.
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        await main(a.items, a.workers, not a.no_issue, a.pdf_seconds, a.max_seconds)

    asyncio.run(run())
