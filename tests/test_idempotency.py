"""`Idempotency-Key`: same key + same body replays; same key + other body is a 422."""

from __future__ import annotations

import asyncio

import httpx
from tests.conftest import Tenant, invoice_body, make_contact


async def test_replay_returns_first_response(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await make_contact(client, tenant)
    body = invoice_body(contact)
    h = {**tenant.headers, "Idempotency-Key": "order-1"}
    first = await client.post("/v1/invoices?issue=true", json=body, headers=h)
    assert first.status_code == 201, first.text
    again = await client.post("/v1/invoices?issue=true", json=body, headers=h)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    listed = (await client.get("/v1/invoices", headers=tenant.headers)).json()["results"]
    assert len(listed) == 1


async def test_same_key_other_body_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await make_contact(client, tenant)
    h = {**tenant.headers, "Idempotency-Key": "order-2"}
    assert (await client.post("/v1/invoices", json=invoice_body(contact), headers=h)).status_code == 201
    r = await client.post("/v1/invoices", json=invoice_body(contact, memo="other"), headers=h)
    assert r.status_code == 422
    assert r.json()["errors"][0]["problem_type"] == "IDEMPOTENCY_KEY_REUSED"


async def test_concurrent_duplicates_create_one(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await make_contact(client, tenant)
    body = invoice_body(contact)
    h = {**tenant.headers, "Idempotency-Key": "burst"}
    rs = await asyncio.gather(
        *[client.post("/v1/invoices?issue=true", json=body, headers=h) for _ in range(8)]
    )
    assert {r.status_code for r in rs} == {201}
    assert len({r.json()["model"]["id"] for r in rs}) == 1
    assert len((await client.get("/v1/invoices", headers=tenant.headers)).json()["results"]) == 1


async def test_keys_are_per_tenant_and_failed_requests_do_not_burn_them(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await make_contact(client, tenant)
    h = {**tenant.headers, "Idempotency-Key": "k"}
    bad = invoice_body(contact)
    bad["model"]["line_items"] = []
    assert (await client.post("/v1/invoices?issue=true", json=bad, headers=h)).status_code == 422
    assert (
        await client.post("/v1/invoices?issue=true", json=invoice_body(contact), headers=h)
    ).status_code == 201


async def test_platform_level_post_is_idempotent(client: httpx.AsyncClient, tenant: Tenant) -> None:
    from tests.conftest import example

    h = {**tenant.platform_headers, "Idempotency-Key": "tenant-create"}
    body = example("tenant")
    body["model"]["vat_id"] = "DE811128135"  # the fixture tenant of this platform has the example's
    a = await client.post("/v1/tenants", json=body, headers=h)
    b = await client.post("/v1/tenants", json=body, headers=h)
    assert a.status_code == b.status_code == 201
    assert a.json()["model"]["id"] == b.json()["model"]["id"]
