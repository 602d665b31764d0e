"""How an issued invoice's large values are stored (migration 0014): compressed with LZ4 when
the server has it, and read back the same."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest
from tests.conftest import Tenant, invoice_body, make_contact


async def test_an_issued_invoice_s_documents_are_lz4_compressed(
    client: httpx.AsyncClient, tenant: Tenant, owner: asyncpg.Connection
) -> None:
    try:
        await owner.execute("SET default_toast_compression = lz4")
    except asyncpg.FeatureNotSupportedError:
        pytest.skip("this PostgreSQL has no LZ4 (the migration keeps pglz)")
    finally:
        await owner.execute("RESET default_toast_compression")  # pglz: the migration must do it
    contact = await make_contact(client, tenant)
    body = invoice_body(contact)
    body["model"]["line_items"] = body["model"]["line_items"] * 20  # well over 2 kB of XML
    r = await client.post("/v1/invoices?issue=true", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    invoice_id = uuid.UUID(r.json()["model"]["id"])
    stored = await owner.fetchrow(
        "SELECT pg_column_compression(d.content) AS xml, pg_column_compression(i.issued) AS issued,"
        " pg_column_compression(i.model) AS model, length(d.content) AS size"
        " FROM invoice_documents d JOIN invoices i ON i.id = d.invoice_id"
        " WHERE d.invoice_id = $1 AND d.kind = 'ubl'",
        invoice_id,
    )
    assert stored["size"] > 20_000
    assert (stored["xml"], stored["issued"], stored["model"]) == ("lz4", "lz4", "lz4")
    xml = await client.get(f"/v1/invoices/{invoice_id}/xml", headers=tenant.headers)
    assert xml.status_code == 200 and len(xml.content) == stored["size"]
