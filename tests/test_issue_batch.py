"""`POST /v1/invoices?issue=true` goes through the batcher of its series
(`faktura.issue_batch`): what the request refuses is refused before anything is written."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
from tests.conftest import Tenant, invoice_body, make_contact


async def test_an_unknown_or_malformed_contact_is_a_422_and_writes_nothing(
    client: httpx.AsyncClient, tenant: Tenant, owner: asyncpg.Connection
) -> None:
    for contact in (str(uuid.uuid4()), "not-a-uuid"):
        r = await client.post("/v1/invoices?issue=true", json=invoice_body(contact), headers=tenant.headers)
        assert r.status_code == 422, r.text
        [error] = r.json()["errors"]
        assert (error["problem_type"], error["source"]["pointer"]) == ("NOT_FOUND", "/model/contact")
    assert (
        await owner.fetchval("SELECT count(*) FROM invoices WHERE tenant_id = $1", uuid.UUID(tenant.id)) == 0
    )


async def test_an_issue_answers_with_the_invoice_as_stored(client: httpx.AsyncClient, tenant: Tenant) -> None:
    """The response is built from what issuing wrote, not read back: it equals a later GET."""
    contact = await make_contact(client, tenant)
    r = await client.post("/v1/invoices?issue=true", json=invoice_body(contact), headers=tenant.headers)
    assert r.status_code == 201, r.text
    issued = r.json()["model"]
    again = await client.get(f"/v1/invoices/{issued['id']}", headers=tenant.headers)
    assert again.json()["model"] == issued


#: pgqueuer's columns that depend neither on the job nor on the moment it was queued
JOB_COLUMNS = "priority, queue_manager_id, status, entrypoint, dedupe_key, payload, headers, attempts, slot"


async def _jobs_of(conn: asyncpg.Connection, invoice_id: str) -> list[tuple[object, ...]]:
    rows = await conn.fetch(
        f"SELECT {JOB_COLUMNS}, (SELECT array_agg((l.status, l.entrypoint, l.priority)::text)"
        " FROM pgqueuer_log l WHERE l.job_id = j.id) AS log FROM pgqueuer j"
        " WHERE convert_from(payload, 'UTF8')::jsonb ->> 'invoice_id' = $1 ORDER BY entrypoint",
        invoice_id,
    )
    return [tuple(str(v).replace(invoice_id, "<id>") for v in r.values()) for r in rows]


async def test_an_issue_queues_its_jobs_as_enqueue_all_queues_them(
    client: httpx.AsyncClient, tenant: Tenant, owner: asyncpg.Connection
) -> None:
    """The store statement queues the PDF and archive-write jobs itself (`store_issued(
    queue_jobs=True)`): the same rows, log rows included, as `jobs.enqueue_all` writes."""
    from faktura.documents import issue_jobs
    from faktura.jobs import enqueue_all

    contact = await make_contact(client, tenant)
    r = await client.post("/v1/invoices?issue=true", json=invoice_body(contact), headers=tenant.headers)
    assert r.status_code == 201, r.text
    created = r.json()["model"]["id"]
    draft = await client.post("/v1/invoices", json=invoice_body(contact), headers=tenant.headers)
    issued = await client.post(f"/v1/invoices/{draft.json()['model']['id']}/issue", headers=tenant.headers)
    assert issued.status_code == 200, issued.text
    stored = [await _jobs_of(owner, created), await _jobs_of(owner, draft.json()["model"]["id"])]
    other = str(uuid.uuid4())
    tx = owner.transaction()
    await tx.start()
    try:
        await enqueue_all(owner, issue_jobs(uuid.UUID(tenant.id), uuid.UUID(other), "ubl"))
        expected = await _jobs_of(owner, other)
        assert len(expected) == 2
        assert stored == [expected, expected]
        # queued again under the same keys, nothing more is queued (pgqueuer's "skip")
        await enqueue_all(owner, issue_jobs(uuid.UUID(tenant.id), uuid.UUID(created), "ubl"))
        assert await _jobs_of(owner, created) == expected
    finally:
        await tx.rollback()


async def test_an_invoice_created_with_its_issue_is_inserted_issued(
    client: httpx.AsyncClient, tenant: Tenant, owner: asyncpg.Connection
) -> None:
    """No draft row first: the row is inserted issued, its list entry made, its moments in order."""
    contact = await make_contact(client, tenant)
    r = await client.post("/v1/invoices?issue=true", json=invoice_body(contact), headers=tenant.headers)
    assert r.status_code == 201, r.text
    row = await owner.fetchrow(
        "SELECT status, number IS NOT NULL AS numbered, list_entry IS NOT NULL AS listed,"
        " created_at <= issued_at AND issued_at <= modified_at AS ordered, contact_id::text AS contact"
        " FROM invoices WHERE tenant_id = $1 AND id = $2",
        uuid.UUID(tenant.id),
        uuid.UUID(r.json()["model"]["id"]),
    )
    assert dict(row) == {
        "status": "OPEN",
        "numbered": True,
        "listed": True,
        "ordered": True,
        "contact": contact,
    }
