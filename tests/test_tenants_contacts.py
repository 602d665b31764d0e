"""Tenants (platform key) and contacts (tenant token): CRUD, tokens, rotation."""

from __future__ import annotations

import asyncpg
import httpx
from tests.conftest import Tenant, example, make_contact

from faktura.db.platforms import revoke_platform_key, rotate_platform_key


async def test_tenant_crud_and_token_shown_once(client: httpx.AsyncClient, tenant: Tenant) -> None:
    r = await client.get(f"/v1/tenants/{tenant.id}", headers=tenant.platform_headers)
    assert r.status_code == 200
    m = r.json()["model"]
    assert m["legal_name"] == example("tenant")["model"]["legal_name"]
    assert "account_token" not in m
    r = await client.patch(
        f"/v1/tenants/{tenant.id}",
        json={"model": {"trading_name": None, "language": "fr"}},
        headers=tenant.platform_headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["model"]["language"] == "fr" and "trading_name" not in r.json()["model"]
    r = await client.patch(
        f"/v1/tenants/{tenant.id}",
        json={"model": {"address": {"country": "ZZZ"}}},
        headers=tenant.platform_headers,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["source"]["pointer"] == "/model/address/country"


async def test_tenant_routes_need_the_platform_key(client: httpx.AsyncClient, tenant: Tenant) -> None:
    r = await client.post(
        "/v1/tenants", json=example("tenant"), headers={"Authorization": "Bearer " + tenant.token}
    )
    assert r.status_code == 401


async def test_rotate_account_token_revokes_old(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert (await client.get("/v1/contacts", headers=tenant.headers)).status_code == 200
    r = await client.post(f"/v1/tenants/{tenant.id}/rotate-token", headers=tenant.platform_headers)
    new = r.json()["model"]["account_token"]
    assert new != tenant.token
    assert (await client.get("/v1/contacts", headers=tenant.headers)).status_code == 401
    ok = {**tenant.platform_headers, "X-Account-Token": new}
    assert (await client.get("/v1/contacts", headers=ok)).status_code == 200


async def test_platform_key_rotation_and_revocation(
    client: httpx.AsyncClient, owner: asyncpg.Connection, tenant: Tenant
) -> None:
    pid = await owner.fetchval(
        "SELECT platform_id FROM tenants WHERE id = $1", __import__("uuid").UUID(tenant.id)
    )
    new_key = await rotate_platform_key(owner, str(pid))
    both = [tenant.headers, {"Authorization": f"Bearer {new_key}", "X-Account-Token": tenant.token}]
    for h in both:
        assert (await client.get("/v1/contacts", headers=h)).status_code == 200
    old_id = await owner.fetchval(
        "SELECT id FROM platform_keys WHERE platform_id = $1 ORDER BY created_at LIMIT 1", pid
    )
    await revoke_platform_key(owner, str(old_id))
    assert (await client.get("/v1/contacts", headers=both[0])).status_code == 401
    assert (await client.get("/v1/contacts", headers=both[1])).status_code == 200
    # keys are stored hashed only
    stored = await owner.fetch("SELECT key_hash FROM platform_keys WHERE platform_id = $1", pid)
    assert all(new_key.encode() not in bytes(r["key_hash"]) for r in stored)


async def test_contact_crud(client: httpx.AsyncClient, tenant: Tenant) -> None:
    cid = await make_contact(client, tenant)
    r = await client.get(f"/v1/contacts/{cid}", headers=tenant.headers)
    assert r.json()["model"]["name"] == "Brasserie Vandenberghe NV"
    r = await client.patch(
        f"/v1/contacts/{cid}", json={"model": {"email": "not-an-email"}}, headers=tenant.headers
    )
    assert r.status_code == 422 and r.json()["errors"][0]["source"]["pointer"] == "/model/email"
    r = await client.patch(
        f"/v1/contacts/{cid}", json={"model": {"email": "new@buyer.example"}}, headers=tenant.headers
    )
    assert r.json()["model"]["email"] == "new@buyer.example"
    listed = (await client.get("/v1/contacts?remote_id=CUST-0042", headers=tenant.headers)).json()["results"]
    assert [c["id"] for c in listed] == [cid]
    assert (await client.delete(f"/v1/contacts/{cid}", headers=tenant.headers)).status_code == 204
    assert (await client.get(f"/v1/contacts/{cid}", headers=tenant.headers)).status_code == 404


async def test_contact_used_by_invoice_cannot_be_deleted(client: httpx.AsyncClient, tenant: Tenant) -> None:
    from tests.conftest import invoice_body

    cid = await make_contact(client, tenant)
    assert (
        await client.post("/v1/invoices", json=invoice_body(cid), headers=tenant.headers)
    ).status_code == 201
    r = await client.delete(f"/v1/contacts/{cid}", headers=tenant.headers)
    assert r.status_code == 409


async def test_issued_invoice_keeps_buyer_snapshot(client: httpx.AsyncClient, tenant: Tenant) -> None:
    from tests.conftest import invoice_body

    cid = await make_contact(client, tenant)
    r = await client.post("/v1/invoices?issue=true", json=invoice_body(cid), headers=tenant.headers)
    inv = r.json()["model"]
    xml_before = (await client.get(f"/v1/invoices/{inv['id']}/xml", headers=tenant.headers)).content
    await client.patch(f"/v1/contacts/{cid}", json={"model": {"name": "Renamed NV"}}, headers=tenant.headers)
    await client.patch(
        f"/v1/tenants/{tenant.id}",
        json={"model": {"legal_name": "Renamed GmbH"}},
        headers=tenant.platform_headers,
    )
    after = (await client.get(f"/v1/invoices/{inv['id']}", headers=tenant.headers)).json()["model"]
    assert after["buyer"]["name"] == "Brasserie Vandenberghe NV"
    assert (await client.get(f"/v1/invoices/{inv['id']}/xml", headers=tenant.headers)).content == xml_before
