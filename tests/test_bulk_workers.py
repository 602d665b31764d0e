"""How workers share a bulk batch: each holds only the chunks it runs and one more (so every
worker issues, instead of the first one taking all the chunks), and only two of the chunks'
PDF groups; the chunks of batches queued together interleave, and a chunk's PDFs are one job
that renders each of them."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from tests.conftest import Tenant, invoice_body, make_contact
from tests.delivery_support import start_worker, stop_worker, worker_env

from faktura.delivery.bulk import BULK_JOB, CHUNK, chunk_jobs
from faktura.documents import PDF_GROUP_JOB, pdf_job_of_invoices
from faktura.jobs import JobContext
from faktura.settings import Settings
from faktura.worker import HANDLERS, PDF_GROUPS_PER_WORKER, bulk_prefetch

ITEMS = 5 * CHUNK


async def test_each_worker_holds_only_the_chunks_it_runs_and_one_more(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings, owner: asyncpg.Connection
) -> None:
    contact = await make_contact(client, tenant)
    model = invoice_body(contact)["model"]
    items = [{"idempotency_key": f"share-{i}", "model": model} for i in range(ITEMS)]
    r = await client.post("/v1/invoices/bulk", json={"items": items}, headers=tenant.headers)
    assert r.status_code == 202, r.text
    batch = r.json()["model"]["id"]
    workers = [start_worker(worker_env(settings)) for _ in range(2)]
    held: dict[uuid.UUID, int] = {}  # queue manager → most chunks it held at once
    groups: dict[uuid.UUID, int] = {}  # queue manager → most PDF groups it held at once
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            for row in await owner.fetch(
                "SELECT queue_manager_id, count(*) AS n FROM pgqueuer WHERE entrypoint = $1 AND status = 'picked'"
                " AND convert_from(payload, 'UTF8') LIKE '%' || $2 || '%' GROUP BY 1",
                BULK_JOB,
                batch,
            ):
                held[row["queue_manager_id"]] = max(held.get(row["queue_manager_id"], 0), row["n"])
            for row in await owner.fetch(
                "SELECT queue_manager_id, count(*) AS n FROM pgqueuer WHERE entrypoint = $1 AND status = 'picked'"
                " AND convert_from(payload, 'UTF8') LIKE '%' || $2 || '%' GROUP BY 1",
                PDF_GROUP_JOB,
                tenant.id,
            ):
                groups[row["queue_manager_id"]] = max(groups.get(row["queue_manager_id"], 0), row["n"])
            pending = await owner.fetchval(
                "SELECT count(*) FROM bulk_items WHERE batch_id = $1 AND status = 'PENDING'", uuid.UUID(batch)
            )
            if pending == 0 and groups:  # issued, and the PDF groups being taken up
                break
            await asyncio.sleep(0.05)
    finally:
        for w in workers:
            stop_worker(w)
        await _drop_queued_jobs(owner, tenant)
    assert pending == 0, f"{pending} of {ITEMS} items still pending"
    assert held and max(held.values()) <= bulk_prefetch(settings), held
    assert len(held) == 2, f"only {len(held)} of 2 workers took chunks: {held}"
    # the chunks' PDF groups (4 per chunk) were queued as the chunks were issued: the workers
    # took them up two at a time, not all at once
    assert groups and max(groups.values()) <= PDF_GROUPS_PER_WORKER, groups


async def _drop_queued_jobs(owner: asyncpg.Connection, tenant: Tenant) -> None:
    """The PDF and archive jobs the batch left queued go, so that no later test's worker
    (on another archive directory) works through them."""
    await owner.execute(
        "DELETE FROM pgqueuer WHERE convert_from(payload, 'UTF8') LIKE '%' || $1 || '%'", tenant.id
    )


def test_the_chunks_of_batches_queued_together_interleave() -> None:
    tenant = uuid.uuid4()
    a, b = uuid.uuid4(), uuid.uuid4()
    jobs = chunk_jobs(tenant, a, list(range(3 * CHUNK))) + chunk_jobs(tenant, b, list(range(2 * CHUNK)))
    assert [len(j[1]["indexes"]) for j in jobs] == [CHUNK] * 5
    # the queue's order: priority first, then the order of queueing
    order = sorted(range(len(jobs)), key=lambda i: (-jobs[i][3], i))
    assert [(jobs[i][1]["batch_id"], jobs[i][1]["indexes"][0]) for i in order] == [
        (str(a), 0),
        (str(b), 0),
        (str(a), CHUNK),
        (str(b), CHUNK),
        (str(a), 2 * CHUNK),
    ]
    assert len({j[2] for j in jobs}) == 5  # a dedupe key each


async def test_one_pdf_job_renders_each_invoice_of_a_chunk_and_one_that_fails_stops_no_other(
    client: httpx.AsyncClient, tenant: Tenant, app: Any, settings: Settings, owner: asyncpg.Connection
) -> None:
    contact = await make_contact(client, tenant)
    ids = []
    for _ in range(2):
        r = await client.post("/v1/invoices?issue=true", json=invoice_body(contact), headers=tenant.headers)
        assert r.status_code == 201, r.text
        ids.append(uuid.UUID(r.json()["model"]["id"]))
    missing = uuid.uuid4()  # no such invoice: its PDF fails, the job goes on to the next
    _, payload, _, _ = pdf_job_of_invoices(uuid.UUID(tenant.id), [ids[0], missing, ids[1]])
    ctx = JobContext(app.state.pool, settings)
    with pytest.raises(LookupError):
        await HANDLERS[PDF_GROUP_JOB](ctx, payload)
    pdfs = await owner.fetchval(
        "SELECT count(*) FROM archive_entries WHERE invoice_id = ANY($1::uuid[]) AND kind = 'pdf'", ids
    )
    assert pdfs == 2
    await HANDLERS[PDF_GROUP_JOB](
        ctx, {**payload, "invoice_ids": [str(i) for i in ids]}
    )  # again: nothing new
    assert pdfs == await owner.fetchval(
        "SELECT count(*) FROM archive_entries WHERE invoice_id = ANY($1::uuid[]) AND kind = 'pdf'", ids
    )
    await _drop_queued_jobs(owner, tenant)
