"""The API contract beyond schemathesis: the operation table covers every route, and the
smaller promises of the document hold (HEAD on downloads, `Allow`, the 401 challenge, errors
that say which credential or which values, one VAT id per platform, `send`'s body)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
from tests.conftest import Tenant, example, invoice_body, make_contact, make_platform, make_tenant

from faktura.api.contract import OPERATIONS
from faktura.api.schema import openapi_document


def test_every_operation_is_in_the_contract_table(app: Any) -> None:
    doc = openapi_document(app)
    ops = {
        op["operationId"]
        for item in doc["paths"].values()
        for method, op in item.items()
        if method != "head" and isinstance(op, dict) and "operationId" in op
    }
    assert ops == set(OPERATIONS)
    for item in doc["paths"].values():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            assert "security" in op, op["operationId"]
            for status, response in op["responses"].items():
                if status.startswith("4"):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}, (
                        op["operationId"],
                        status,
                    )
                elif status.startswith("2") and method != "head" and status != "204":
                    assert response.get("content"), (op["operationId"], status)
            if op.get("requestBody") and method in ("post", "put", "patch"):
                assert op["requestBody"]["content"], op["operationId"]


def test_bodies_money_and_security_are_declared(app: Any) -> None:
    doc = openapi_document(app)
    paths = doc["paths"]
    for path, method in [
        ("/v1/invoices/{invoice_id}/send", "post"),
        ("/v1/invoices/validate", "post"),
        ("/v1/invoices/bulk", "post"),
        ("/v1/invoices/{invoice_id}/payments", "post"),
        ("/v1/webhook-endpoints", "post"),
        ("/v1/webhook-endpoints/{endpoint_id}", "patch"),
        ("/v1/delivery-settings", "put"),
        ("/v1/branding", "put"),
        ("/v1/branding/logo", "put"),
        ("/v1/peppol/callback", "post"),
    ]:
        assert paths[path][method]["requestBody"]["content"], (path, method)
    price = doc["components"]["schemas"]["LineItem"]["properties"]["unit_price"]
    assert price["type"] == "string" and price["format"] == "decimal" and "pattern" in price
    assert paths["/v1/compliance/rules"]["get"]["security"] == []
    assert paths["/v1/tenants"]["post"]["security"] == [{"platformKey": []}]
    pdf = paths["/v1/invoices/{invoice_id}/pdf"]
    assert pdf["get"]["responses"]["200"]["content"]["application/pdf"]["schema"]["format"] == "binary"
    assert "head" in pdf


async def test_compliance_rules_are_open(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/compliance/rules")
    assert r.status_code == 200 and r.json()["count"] > 0


async def test_401_challenges_and_names_the_wrong_credential(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    wrong_token = {**tenant.headers, "X-Account-Token": "fk_acct_wrong"}
    r = await client.get("/v1/contacts", headers=wrong_token)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    detail = r.json()["errors"][0]["detail"]
    assert "account token" in detail and "platform key" not in detail
    wrong_key = {**tenant.headers, "Authorization": "Bearer fk_wrong"}
    r = await client.get("/v1/contacts", headers=wrong_key)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    detail = r.json()["errors"][0]["detail"]
    assert "platform key" in detail and "account token" not in detail


async def test_invalid_enum_value_lists_the_allowed_ones(client: httpx.AsyncClient, tenant: Tenant) -> None:
    r = await client.post(
        f"/v1/invoices/{uuid.uuid4()}/send", json={"model": {"channel": "fax"}}, headers=tenant.headers
    )
    assert r.status_code == 422
    error = r.json()["errors"][0]
    assert error["source"]["pointer"] == "/model/channel"
    assert "allowed: afnor-pa, auto, email, peppol, webhook" in error["detail"]
    cid = await make_contact(client, tenant)
    r = await client.post(
        "/v1/invoices", json=invoice_body(cid, document_type="BILL"), headers=tenant.headers
    )
    assert r.status_code == 422
    assert "CREDIT_NOTE, INVOICE" in r.json()["errors"][0]["detail"]


async def test_one_vat_id_per_platform(client: httpx.AsyncClient, owner: asyncpg.Connection) -> None:
    key = await make_platform(owner)
    first = await make_tenant(client, key)
    headers = {"Authorization": f"Bearer {key}"}
    body = example("tenant")
    vat = body["model"]["vat_id"]
    body["model"]["vat_id"] = f"{vat[:2].lower()} {vat[2:]}"  # the same id, written differently
    r = await client.post("/v1/tenants", json=body, headers=headers)
    assert r.status_code == 409
    error = r.json()["errors"][0]
    assert error["source"]["pointer"] == "/model/vat_id" and first.id in error["detail"]
    # another platform may register it; a second tenant of this one may not take it by PATCH
    await make_tenant(client, await make_platform(owner))
    body["model"]["vat_id"] = "DE811128135"
    other = (await client.post("/v1/tenants", json=body, headers=headers)).json()["model"]
    r = await client.patch(f"/v1/tenants/{other['id']}", json={"model": {"vat_id": vat}}, headers=headers)
    assert r.status_code == 409
    r = await client.patch(f"/v1/tenants/{first.id}", json={"model": {"vat_id": vat}}, headers=headers)
    assert r.status_code == 200


async def _issued(client: httpx.AsyncClient, tenant: Tenant) -> str:
    cid = await make_contact(client, tenant)
    r = await client.post("/v1/invoices?issue=true", json=invoice_body(cid), headers=tenant.headers)
    assert r.status_code == 201, r.text
    return r.json()["model"]["id"]  # type: ignore[no-any-return]


async def test_send_takes_a_model_body_and_still_reads_the_bare_one(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    iid = await _issued(client, tenant)
    url = f"/v1/invoices/{iid}/send"
    r = await client.post(url, json={"model": {"channel": "email"}}, headers=tenant.headers)
    assert r.status_code == 202, r.text
    again = await client.post(url, json={"channel": "email"}, headers=tenant.headers)
    assert again.status_code == 202 and again.json()["model"]["id"] == r.json()["model"]["id"]
    r = await client.post(url, json={"model": {"channel": "email"}, "force": True}, headers=tenant.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["source"]["pointer"] == "/force"


async def test_head_on_downloads_and_allow_lists_the_path(client: httpx.AsyncClient, tenant: Tenant) -> None:
    iid = await _issued(client, tenant)
    got = await client.get(f"/v1/invoices/{iid}/xml", headers=tenant.headers)
    head = await client.head(f"/v1/invoices/{iid}/xml", headers=tenant.headers)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(got.content))
    assert head.headers["etag"] == got.headers["etag"]
    assert (await client.head(f"/v1/invoices/{uuid.uuid4()}/pdf", headers=tenant.headers)).status_code == 404
    assert (await client.head("/v1/invoices", headers=tenant.headers)).status_code == 405
    r = await client.options("/v1/branding/logo", headers=tenant.headers)
    assert set(r.headers["allow"].split(", ")) == {"DELETE", "GET", "HEAD", "OPTIONS", "PUT"}
