"""Where one create-and-issue spends its time: a per-step timer on sequential requests.

Runs the app in this process (ASGI, no network) against a fresh database and sends
`--count` sequential `POST /v1/invoices?issue=true` with the 10-line invoice of
`bench/issue.py`, after a warm-up. Each step of the request is a function of Faktura that
is wrapped here (not in the code under test) with a timer taking both wall time and this
process's CPU time; requests are sequential, so a step's CPU time is its own (asyncpg's
protocol work included), and wall minus CPU is time spent waiting for PostgreSQL.
Steps nest (indented); "statements" counts the queries each request sends, and the
database's CPU per request is its one backend's (the pool has one connection), from /proc.

A profiling aid, not a claim: the headline figures are `bench/issue.py`'s.

    .venv/bin/python bench/issue_steps.py [--count 300]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib
import inspect
import json
import os
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from issue import ADMIN_DSN, postgres_cpu_seconds, ten_line_invoice  # noqa: E402

#: (label, module, attribute, depth). Missing attributes are skipped, so the list can name
#: the steps of older and newer versions of the issuing path alike.
STEPS = [
    ("decode request (JSON → InvoiceInput)", "faktura.api.invoices", "read_model", 0),
    ("reject bad numbers", "faktura.api.invoices", "_reject_bad_numbers", 0),
    ("open transaction + authenticate", "faktura.api.invoices", "tenant_scope", 0),
    ("contact exists", "faktura.api.invoices", "_contact_id", 0),
    ("issue (all below)", "faktura.api.invoices", "issue", 0),
    ("issue (all below)", "faktura.api.invoices", "issue_row", 0),
    ("checks, totals, XML (before the number)", "faktura.api.invoices", "ready_to_issue", 0),
    ("prepare: tenant, contact, checks", "faktura.issuing", "prepare", 1),
    ("read: credentials + issuing context (one statement)", "faktura.api.invoices", "tenant_fetch", 0),
    ("prepare: checks (context already read)", "faktura.api.invoices", "prepare_from", 0),
    ("load tenant", "faktura.issuing", "load_tenant", 2),
    ("compliance checks (check_on)", "faktura.issuing", "check_on", 2),
    ("examine: numbers, shape, totals (once)", "faktura.compliance.rulebook", "examine", 3),
    ("rebind findings", "faktura.issuing", "rebind", 2),
    ("syntax findings", "faktura.issuing", "syntax_findings", 2),
    ("series lookup", "faktura.issuing", "series_spec", 1),
    ("issuing context (tenant, series, branding)", "faktura.issuing", "issuing_context", 1),
    ("totals, XML (before the number)", "faktura.api.invoices", "ready_from", 0),
    ("build document (totals)", "faktura.issuing", "build_document", 1),
    ("render UBL", "faktura.issuing", "render_einvoice", 1),
    ("archive meta (branding, language)", "faktura.issuing", "archive_meta", 1),
    ("queue PDF job", "faktura.issuing", "queue_pdf", 1),
    ("queue jobs (PDF, archive write)", "faktura.issuing", "enqueue_all", 1),
    ("take number (locks the series)", "faktura.issuing", "take_number", 1),
    ("draft, jobs, numbers, store (alone on its series)", "faktura.api.invoices", "_store_alone", 0),
    ("queue jobs (PDF, archive write)", "faktura.api.invoices", "enqueue_all", 1),
    ("numbers + store (locks the series)", "faktura.api.invoices", "store_issued", 1),
    ("batch: drafts, jobs, numbers, store, commit", "faktura.issue_batch", "IssueBatcher._commit", 0),
    ("queue jobs (PDF, archive write)", "faktura.issue_batch", "enqueue_all", 1),
    ("numbers + store (locks the series)", "faktura.issue_batch", "store_issued", 1),
    ("take numbers (one call)", "faktura.issuing", "take_numbers", 2),
    ("archive entry (hash)", "faktura.issuing", "xml_entry", 1),
    ("store issued (one statement)", "faktura.issuing", "store_issued", 1),
    ("invoice.issued event", "faktura.delivery.events", "record", 1),
    ("archive entry + write job", "faktura.issuing", "on_issued", 1),
    ("re-read invoice row", "faktura.api.invoices", "_fetch", 0),
    ("invoice view", "faktura.api.invoices", "invoice_view", 0),
    ("encode response", "faktura.api.invoices", "json_response", 0),
]


class Timer:
    def __init__(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.on = False

    def add(self, label: str, wall: float, cpu: float) -> None:
        if self.on:
            self.wall[label] += wall
            self.cpu[label] += cpu
            self.calls[label] += 1

    def wrap(self, label: str, fn: Any) -> Any:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def timed_async(*a: Any, **kw: Any) -> Any:
                w, c = time.perf_counter(), time.process_time()
                try:
                    return await fn(*a, **kw)
                finally:
                    self.add(label, time.perf_counter() - w, time.process_time() - c)

            return timed_async
        if fn.__code__.co_filename.endswith("contextlib.py"):  # an @asynccontextmanager
            return self._wrap_cm(label, fn)

        @functools.wraps(fn)
        def timed(*a: Any, **kw: Any) -> Any:
            w, c = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **kw)
            finally:
                self.add(label, time.perf_counter() - w, time.process_time() - c)

        return timed

    def _wrap_cm(self, label: str, fn: Any) -> Any:
        """An async context manager: its entry and its exit are timed (the body is not)."""

        @asynccontextmanager
        async def timed_cm(*a: Any, **kw: Any) -> Any:
            cm = fn(*a, **kw)
            w, c = time.perf_counter(), time.process_time()
            value = await cm.__aenter__()
            self.add(label, time.perf_counter() - w, time.process_time() - c)
            try:
                yield value
            except BaseException as exc:
                if not await cm.__aexit__(type(exc), exc, exc.__traceback__):
                    raise
            else:
                w, c = time.perf_counter(), time.process_time()
                await cm.__aexit__(None, None, None)
                self.add("commit + release", time.perf_counter() - w, time.process_time() - c)

        return timed_cm


def install(timer: Timer) -> list[tuple[str, int]]:
    shown: list[tuple[str, int]] = []
    for label, module, attr, depth in STEPS:
        try:
            owner: Any = importlib.import_module(module)
        except ImportError:
            continue
        *path, name = attr.split(".")
        for part in path:
            owner = getattr(owner, part, None)
        if hasattr(owner, name):
            setattr(owner, name, timer.wrap(label, getattr(owner, name)))
            if (label, depth) not in shown:
                shown.append((label, depth))
            if attr == "tenant_scope":
                shown.append(("commit + release", 0))
    return shown


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=300)
    args = ap.parse_args()

    from faktura.api.app import create_app, create_pool
    from faktura.db.migrate import migrate
    from faktura.db.platforms import create_platform
    from faktura.settings import RateLimitSettings, Settings

    db = f"faktura_steps_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{db}"')
    dsn = ADMIN_DSN.rpartition("/")[0] + "/" + db
    try:
        await migrate(dsn)
        owner = await asyncpg.connect(dsn)
        _, key = await create_platform(owner, "steps")
        await owner.close()
        settings = Settings(
            database_url=dsn,
            pool_min_size=1,
            pool_max_size=1,  # one connection, whose statements are counted
            data_dir=Path(tempfile.mkdtemp(prefix="faktura-steps-")),
            rate_limits=RateLimitSettings(
                tenant_rate=1e6, tenant_burst=1_000_000, platform_rate=1e6, platform_burst=1_000_000
            ),
        )
        timer = Timer()
        shown = install(timer)
        app = create_app(settings)
        app.state.pool = await create_pool(settings)
        statements = 0

        def log_query(record: Any) -> None:
            nonlocal statements
            if timer.on:
                statements += 1

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://faktura.test") as client:
            platform = {"Authorization": f"Bearer {key}"}
            r = await client.post(
                "/v1/tenants", content=(ROOT / "docs/examples/tenant.json").read_bytes(), headers=platform
            )
            headers = {**platform, "X-Account-Token": r.json()["model"]["account_token"]}
            r = await client.post(
                "/v1/contacts", content=(ROOT / "docs/examples/contact.json").read_bytes(), headers=headers
            )
            body = json.dumps(ten_line_invoice(r.json()["model"]["id"])).encode()
            headers["Content-Type"] = "application/json"
            for _ in range(30):  # warm-up (statement caches, lazy imports)
                r = await client.post("/v1/invoices?issue=true", content=body, headers=headers)
                assert r.status_code == 201, r.text
            async with app.state.pool.acquire() as conn:
                conn.add_query_logger(log_query)
            timer.on = True
            w, c, pg = time.perf_counter(), time.process_time(), postgres_cpu_seconds(db)
            for _ in range(args.count):
                r = await client.post("/v1/invoices?issue=true", content=body, headers=headers)
                assert r.status_code == 201, r.text
            wall, cpu = time.perf_counter() - w, time.process_time() - c
            pg = postgres_cpu_seconds(db) - pg
            timer.on = False
        await app.state.pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()

    n = args.count
    print(
        f"# bench/issue_steps.py: {n} sequential create+issue requests, in-process ASGI;"
        f" load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(f"{'step':52s} {'wall ms':>8s} {'cpu ms':>8s} {'calls':>6s}")
    for label, depth in shown:
        if timer.calls.get(label):
            name = "  " * depth + label
            print(
                f"{name:52s} {timer.wall[label] / n * 1000:8.3f} {timer.cpu[label] / n * 1000:8.3f}"
                f" {timer.calls[label] / n:6.1f}"
            )
    print(
        f"{'whole request (incl. framework and test client)':52s} {wall / n * 1000:8.3f} {cpu / n * 1000:8.3f}"
    )
    print(f"statements per request: {statements / n:.1f}")
    print(f"PostgreSQL's CPU per request (its backend, from /proc): {pg / n * 1000:.3f} ms")


if __name__ == "__main__":
    asyncio.run(main())
