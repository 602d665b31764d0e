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
