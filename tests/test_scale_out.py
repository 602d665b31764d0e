"""Scale-out: two API processes (`faktura serve`) and two `faktura worker` processes on one
PostgreSQL, directly and behind pgbouncer in transaction pooling mode. Issues on one number
series arrive concurrently through both APIs: the numbers are unique and gapless, and every
PDF job runs exactly once (each worker takes jobs with `FOR UPDATE SKIP LOCKED`).

Behind pgbouncer the APIs and the workers' job transactions share two server connections;
the workers' queue connection, which LISTENs for new jobs, goes to PostgreSQL itself
(`FAKTURA_QUEUE_DATABASE_URL`), as a LISTEN needs a session."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from tests.conftest import Tenant, invoice_body, make_contact
from tests.delivery_support import start_worker, stop_worker, worker_env
from tests.process_support import wait_until_serving
from tests.test_pgbouncer import PGBOUNCER, _free_port, bouncer  # noqa: F401 (a fixture)

from faktura.settings import Settings

ISSUES = 16  # 8 through each API, 8 in flight at a time
PDF_WAIT_S = 120.0


@pytest.fixture(params=["direct", "pgbouncer"])
def via(request: pytest.FixtureRequest, settings: Settings) -> dict[str, str]:
    """The environment that points the processes at the database, directly or through pgbouncer."""
    if request.param == "direct":
        return {}
    if PGBOUNCER is None:
        pytest.skip("pgbouncer is not installed (.ci/run installs it)")
    port = request.getfixturevalue("bouncer")
    db = urlsplit(settings.database_url or "").path
    return {
        "FAKTURA_APP_DATABASE_URL": f"postgresql://faktura_app@127.0.0.1:{port}{db}",
        "FAKTURA_DB_STATEMENT_CACHE_SIZE": "0",
        "FAKTURA_QUEUE_DATABASE_URL": settings.app_dsn(),
    }


@pytest.fixture
def stack(settings: Settings, via: dict[str, str]) -> Iterator[list[str]]:
    """Two API processes and two workers; yields the APIs' base URLs."""
    env = worker_env(
        settings,
        **via,
        FAKTURA_DB_POOL_MAX="4",
        FAKTURA_RATE_LIMIT_TENANT="1000000",
        FAKTURA_RATE_LIMIT_TENANT_BURST="1000000",
    )
    procs: list[subprocess.Popen[bytes]] = []
    logs = []
    urls = []
    try:
        for _ in range(2):
            port = _free_port()
            log = tempfile.TemporaryFile()  # noqa: SIM115 (closed below)
            logs.append(log)
            proc = subprocess.Popen(
                [sys.executable, "-m", "faktura.cli", "serve", "--port", str(port), "--no-worker"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
            procs.append(proc)
            urls.append(f"http://127.0.0.1:{port}")
        for url, proc, log in zip(urls, procs, logs, strict=True):
            wait_until_serving(url, proc, lambda log=log: _read(log))  # type: ignore[misc]
        procs += [start_worker(env) for _ in range(2)]
        yield urls
    finally:
        for p in procs:
            stop_worker(p)
        for log in logs:
            log.close()


def _read(log: object) -> str:
    f = log  # a TemporaryFile
    f.seek(0)  # type: ignore[attr-defined]
    return f.read().decode(errors="replace")[-3000:]  # type: ignore[attr-defined]


async def test_two_apis_and_two_workers_share_one_series(
    stack: list[str], client: httpx.AsyncClient, tenant: Tenant, owner: asyncpg.Connection
) -> None:
    contact = await make_contact(client, tenant)
    headers = tenant.headers
    logged_before = await owner.fetchval("SELECT coalesce(max(id), 0) FROM pgqueuer_log")
    started = time.monotonic()
    apis = [httpx.AsyncClient(base_url=url, timeout=30) for url in stack]
    gate = asyncio.Semaphore(8)

    async def issue(i: int) -> tuple[str, str]:
        async with gate:
            r = await apis[i % 2].post("/v1/invoices?issue=true", json=invoice_body(contact), headers=headers)
        assert r.status_code == 201, r.text
        model = r.json()["model"]
        return model["id"], model["number"]

    try:
        issued = await asyncio.gather(*[issue(i) for i in range(ISSUES)])
    finally:
        for api in apis:
            await api.aclose()
    numbers = sorted(n for _, n in issued)
    prefix = numbers[0][:-5]
    assert numbers == [f"{prefix}{n:05}" for n in range(1, ISSUES + 1)]  # unique and gapless
    ids = [i for i, _ in issued]

    async def pdfs() -> int:
        return int(
            await owner.fetchval(
                "SELECT count(*) FROM archive_entries WHERE invoice_id = ANY($1::uuid[]) AND kind = 'pdf'",
                ids,
            )
        )

    deadline = time.monotonic() + PDF_WAIT_S
    while (done := await pdfs()) < ISSUES and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    assert done == ISSUES, f"{done} of {ISSUES} PDFs archived after {time.monotonic() - started:.0f} s"

    # every PDF job ran once: one outcome logged per job, and it is a success (the workers may
    # also work off PDF jobs that earlier tests on this session's database left queued, so
    # there can be more jobs than ours; a job of ours run twice would show twice under its id,
    # and its second PDF in the archive count above)
    async def pdf_outcomes() -> list[asyncpg.Record]:
        return list(
            await owner.fetch(
                "SELECT job_id, array_agg(status::text ORDER BY id) AS statuses FROM pgqueuer_log"
                " WHERE id > $1 AND entrypoint = 'pdf.render' AND status NOT IN ('queued', 'picked')"
                " GROUP BY job_id",
                logged_before,
            )
        )

    # a job's outcome is logged a moment after its PDF is archived (pgqueuer writes its log
    # in batches): wait for the last one too
    while len(outcomes := await pdf_outcomes()) < ISSUES and time.monotonic() < deadline + 10:
        await asyncio.sleep(0.5)
    assert len(outcomes) >= ISSUES
    assert all(r["statuses"] == ["successful"] for r in outcomes), [tuple(r) for r in outcomes]
