"""Month-end: N invoices across M tenants through bulk, issued, rendered and sent to the Peppol
sandbox access point, while another tenant issues and sends one invoice every second.

Fresh database (created and dropped here), the API in-process (ASGI, as bench/bulk.py),
`--workers` real `faktura worker` processes with the built-in Peppol sandbox. Each of the M
tenants (one platform each) posts one batch of N/M invoices; every invoice is sent over Peppol
as soon as its item is issued. Meanwhile a probe tenant, every second, issues one invoice and
sends it; its delay is the time from the issue call until the delivery is SENT (goal: never
more than 5 s). Prints the wall time from the first POST to all issued, to all PDFs
archived, to all sends ACCEPTED, the probe's delays, and checks that every tenant's numbers
are gapless. The full run is 100,000 invoices over 1,000 tenants; `--scale 0.02` runs 2,000
over 20 here.

    .venv/bin/python bench/monthend.py [--invoices 100000] [--tenants 1000] [--scale 1.0] [--workers 2]
                                       [--max-seconds 3600]

SIGINT (Ctrl-C, or `kill -INT`) ends a run early and still prints its summary, the numbering
check included; SIGTERM abandons it. Once every send is ACCEPTED the summary also gives the
rate at which PDFs were archived since, so a run stopped before its last PDF says how far off
that was.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from bulk import ADMIN_DSN, example, loadavg, stop_processes
from pdf import font_subsetter
from pgmaint import autovacuum_stand_in

PROBE_BUDGET_S = 5.0


async def main(
    invoices: int, tenant_count: int, workers: int, max_seconds: float, early: asyncio.Event | None = None
) -> None:
    from faktura.api.app import create_app, create_pool
    from faktura.db.migrate import migrate
    from faktura.db.platforms import create_platform
    from faktura.settings import Settings

    per_tenant = max(1, invoices // tenant_count)
    invoices = per_tenant * tenant_count
    name = f"faktura_bench_monthend_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = ADMIN_DSN.rpartition("/")[0] + f"/{name}"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        await migrate(dsn)
        owner = await asyncpg.connect(dsn)
        db = await asyncpg.create_pool(dsn, min_size=1, max_size=4)  # the bench's own reads, concurrent
        data_dir = Path(tempfile.mkdtemp(prefix="faktura-bench-"))
        settings = Settings(database_url=dsn, data_dir=data_dir)
        app = create_app(settings)
        app.state.pool = await create_pool(settings)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=60) as c:

            async def new_tenant() -> tuple[dict[str, str], str, uuid.UUID]:
                """A tenant of its own platform (so that every one can use the example's VAT id)."""
                _, key = await create_platform(owner, "bench")
                h = {"Authorization": f"Bearer {key}"}
                tenant = (await c.post("/v1/tenants", json=example("tenant"), headers=h)).json()["model"]
                h["X-Account-Token"] = tenant["account_token"]
                contact = (await c.post("/v1/contacts", json=example("contact"), headers=h)).json()["model"][
                    "id"
                ]
                return h, contact, uuid.UUID(tenant["id"])

            tenants = [await new_tenant() for _ in range(tenant_count)]
            probe_headers, probe_contact, _ = await new_tenant()
            env = {
                **os.environ,
                "DATABASE_URL": dsn,
                "FAKTURA_DB_POOL_MIN": "1",
                "FAKTURA_DATA_DIR": str(data_dir),
                "FAKTURA_PEPPOL_SANDBOX": "1",
                "FAKTURA_SANDBOX_REPORT_DELAY": "0.2",
                "FAKTURA_OUTBOUND_ALLOW": "127.0.0.1",
                # PDFs render with the CPU that issuing and sends leave (override in the environment)
                "FAKTURA_PDF_NICENESS": os.environ.get("FAKTURA_PDF_NICENESS", "10"),
            }
            marks: dict[str, float] = {}
            pdfs_at_accepted: list[int] = []
            probes: list[float] = []
            stop = asyncio.Event()

            async def probe_once(record: bool = True) -> None:
                t0 = time.monotonic()
                r = await _post(
                    c,
                    "/v1/invoices?issue=true",
                    {"model": example("invoice")["model"] | {"contact": probe_contact}},
                    probe_headers,
                )
                assert r.status_code == 201, r.text
                inv = r.json()["model"]["id"]
                r = await _post(c, f"/v1/invoices/{inv}/send", {"channel": "peppol"}, probe_headers)
                assert r.status_code == 202, r.text
                while time.monotonic() - t0 < 120:
                    r = await c.get(f"/v1/invoices/{inv}/status", headers=probe_headers)
                    # a 503 (the database out of connections) is a poll that learnt nothing
                    deliveries = r.json().get("deliveries") if r.status_code == 200 else None
                    if deliveries and deliveries[0]["status"] in (
                        "SENT",
                        "DELIVERED",
                        "ACCEPTED",
                    ):
                        break
                    await asyncio.sleep(0.2)  # several probes may be waiting: within the rate limit
                if record:
                    probes.append(time.monotonic() - t0)

            # the workers run before month-end starts, as in production: wait until one answers
            procs = [
                subprocess.Popen(
                    [sys.executable, "-m", "faktura.cli", "worker"], env=env, stderr=subprocess.DEVNULL
                )
                for _ in range(workers)
            ]
            await probe_once(record=False)
            started = time.monotonic()
            for i, (h, contact, _) in enumerate(tenants):
                model = example("invoice")["model"] | {"contact": contact}
                items = [{"idempotency_key": f"m-{i}-{k}", "model": model} for k in range(per_tenant)]
                r = await c.post("/v1/invoices/bulk", json={"items": items}, headers=h)
                assert r.status_code == 202, r.text
            posted = time.monotonic() - started
            print(
                f"# bench/monthend.py: {invoices} invoices over {tenant_count} tenants ({per_tenant} each) through"
                f" bulk, {workers} workers, Peppol sandbox; load average before: {loadavg()};"
                f" fonts subset with {font_subsetter()}",
                flush=True,
            )
            headers_of = {tenant_id: h for h, _, tenant_id in tenants}

            async def prober() -> None:
                running: set[asyncio.Task[None]] = set()
                while not stop.is_set():
                    task = asyncio.create_task(probe_once())
                    running.add(task)
                    task.add_done_callback(running.discard)
                    await asyncio.sleep(1)
                await asyncio.gather(*running)

            async def sender() -> None:
                """Send every issued bulk invoice over Peppol as soon as it is issued."""
                sent: set[uuid.UUID] = set()
                gate = asyncio.Semaphore(8)

                async def send(tenant_id: uuid.UUID, invoice_id: uuid.UUID) -> None:
                    async with gate:
                        r = await _post(
                            c, f"/v1/invoices/{invoice_id}/send", {"channel": "peppol"}, headers_of[tenant_id]
                        )
                    assert r.status_code == 202, r.text

                # Items done since a little before the last one seen (an item's modified_at is
                # taken before its chunk commits): not every item done so far, at every poll.
                since = dt.datetime.min.replace(tzinfo=dt.UTC)
                while len(sent) < invoices and not stop.is_set():
                    rows = await db.fetch(
                        "SELECT i.tenant_id, i.invoice_id, i.modified_at FROM bulk_items i WHERE i.status = 'SUCCESS'"
                        " AND i.modified_at >= $2 AND i.tenant_id = ANY($1::uuid[])",
                        list(headers_of),
                        since,
                    )
                    if rows:
                        since = max(r["modified_at"] for r in rows) - dt.timedelta(seconds=30)
                    fresh = [(r["tenant_id"], r["invoice_id"]) for r in rows if r["invoice_id"] not in sent]
                    await asyncio.gather(*[send(t, i) for t, i in fresh])
                    sent.update(i for _, i in fresh)
                    await asyncio.sleep(0.5)

            async def watch() -> None:
                last_report = 0.0
                while (
                    len(marks) < 3
                    and time.monotonic() - started < max_seconds
                    and not (early and early.is_set())
                ):
                    now = time.monotonic() - started
                    if now - last_report >= 10:
                        last_report = now
                        row = await db.fetchrow(
                            "SELECT (SELECT count(*) FROM bulk_items WHERE status <> 'PENDING') AS items,"
                            " (SELECT count(*) FROM archive_entries WHERE kind = 'pdf') AS pdfs,"
                            " (SELECT count(*) FROM deliveries WHERE status = 'ACCEPTED') AS accepted"
                        )
                        recent = probes[-10:]
                        print(
                            f"  {now:6.0f} s: {row['items']} items done, {row['pdfs']} PDFs, {row['accepted']} ACCEPTED;"
                            f" last probes {' '.join(f'{x:.1f}' for x in recent)}",
                            flush=True,
                        )
                    if "issued" not in marks and not await db.fetchval(
                        "SELECT count(*) FROM bulk_items WHERE status = 'PENDING'"
                    ):
                        marks["issued"] = now
                        print(f"all {invoices} issued after {now:.1f} s", flush=True)
                    # The bulk's own invoices are counted only once all of them could be there
                    # (the cheap count, which includes the probe's, reaches the batch's size):
                    # every second, the join over 100,000 items would be a load of its own.
                    bulk_ids = "SELECT invoice_id FROM bulk_items WHERE invoice_id IS NOT NULL"
                    if (
                        "pdfs" not in marks
                        and await db.fetchval("SELECT count(*) FROM archive_entries WHERE kind = 'pdf'")
                        >= invoices
                        and await db.fetchval(
                            f"SELECT count(*) FROM archive_entries WHERE kind = 'pdf' AND invoice_id IN ({bulk_ids})"
                        )
                        >= invoices
                    ):
                        marks["pdfs"] = now
                        print(f"all PDFs archived after {now:.1f} s", flush=True)
                    if (
                        "accepted" not in marks
                        and await db.fetchval("SELECT count(*) FROM deliveries WHERE status = 'ACCEPTED'")
                        >= invoices
                        and await db.fetchval(
                            f"SELECT count(*) FROM deliveries WHERE status = 'ACCEPTED' AND invoice_id IN ({bulk_ids})"
                        )
                        >= invoices
                    ):
                        marks["accepted"] = now
                        pdfs_at_accepted.append(
                            await db.fetchval("SELECT count(*) FROM archive_entries WHERE kind = 'pdf'")
                        )
                        print(f"all sends ACCEPTED after {now:.1f} s", flush=True)
                    await asyncio.sleep(1)
                stop.set()

            await asyncio.gather(watch(), prober(), sender(), autovacuum_stand_in(db, stop, report=True))
            wall = time.monotonic() - started
        counts = await db.fetchrow(
            "SELECT (SELECT count(*) FROM invoices WHERE number IS NOT NULL) AS issued,"
            " (SELECT count(*) FROM archive_entries WHERE kind = 'pdf') AS pdfs,"
            " (SELECT count(*) FROM deliveries WHERE status = 'ACCEPTED') AS accepted"
        )
        gaps = await db.fetch(
            "SELECT tenant_id, series, count(*) AS n, count(DISTINCT number) AS distinct_numbers,"
            " max(right(number, 5)::int) AS top FROM invoices WHERE number IS NOT NULL GROUP BY 1, 2"
            " HAVING count(*) <> max(right(number, 5)::int) OR count(*) <> count(DISTINCT number)"
        )
        if early and early.is_set():
            print(f"stopped by SIGINT after {wall:.1f} s")
        print(f"POST of {tenant_count} batches: {posted:.1f} s")
        for key, label in (
            ("issued", "all issued"),
            ("pdfs", "all PDFs archived"),
            ("accepted", "all sends ACCEPTED"),
        ):
            at = marks.get(key)
            print(
                f"wall time to {label}: "
                + (f"{at:.1f} s ({invoices / at:.1f}/s)" if at else f"not within {wall:.0f} s")
            )
        print(
            f"at the end: {counts['issued']} issued, {counts['pdfs']} PDFs, {counts['accepted']} ACCEPTED (incl. the probe's)"
        )
        if "accepted" in marks and "pdfs" not in marks and wall - marks["accepted"] >= 10:
            rate = (counts["pdfs"] - pdfs_at_accepted[0]) / (wall - marks["accepted"])
            left = counts["issued"] - counts["pdfs"]  # every issued invoice gets its PDF
            print(
                f"PDFs archived since all sends were ACCEPTED: {rate:.1f}/s over {wall - marks['accepted']:.0f} s;"
                f" at that rate the last of them {left / rate:.0f} s after the end"
                f" (at about {wall + left / rate:.0f} s; reasoned, not measured)"
                if rate > 0
                else "no PDF archived since all sends were ACCEPTED"
            )
        if probes:
            over = sum(1 for p in probes if p > PROBE_BUDGET_S)
            print(
                f"probe tenant's issue + send, every second: {len(probes)} probes, median {statistics.median(probes):.2f} s,"
                f" max {max(probes):.2f} s; over {PROBE_BUDGET_S:.0f} s: {over} (goal: 0)"
            )
        print(
            f"numbers gapless and unique in every tenant's series: {'yes' if not gaps else f'NO: {[tuple(g) for g in gaps]}'}"
        )
        print(f"load average after: {loadavg()}")
        await app.state.pool.close()
        await owner.close()
        await db.close()
    finally:
        stop_processes(procs)
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def _post(
    c: httpx.AsyncClient, url: str, body: dict[str, object], headers: dict[str, str]
) -> httpx.Response:
    """POST, again after `Retry-After` while the API answers 503 (its database busy or away) or
    429 (the probe tenant's own polls can use up its rate limit while its sends wait)."""
    while True:
        r = await c.post(url, json=body, headers=headers)
        if r.status_code not in (429, 503):
            return r
        await asyncio.sleep(float(r.headers.get("retry-after", "1")))


if __name__ == "__main__":
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--invoices", type=int, default=100_000)
    ap.add_argument("--tenants", type=int, default=1_000)
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies --invoices and --tenants")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-seconds", type=float, default=3600)
    a = ap.parse_args()

    async def run() -> None:
        task = asyncio.current_task()
        assert task is not None
        early = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, early.set)
        await main(
            max(1, round(a.invoices * a.scale)),
            max(1, round(a.tenants * a.scale)),
            a.workers,
            a.max_seconds,
            early,
        )

    asyncio.run(run())
