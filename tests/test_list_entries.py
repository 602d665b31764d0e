"""The list page made of stored list entries (migration 0011; joined by PostgreSQL when the
whole page has them) is byte for byte the page the full path builds (`invoice_view` over each
row, encoded), for every filter of the seed, on first, next and previous pages, after every
kind of write: create, update, issue, credit notes, payments and the status changes they
bring."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest
from tests.conftest import Tenant, example, invoice_body, make_contact

from faktura.api.invoices import invoice_view, list_query
from faktura.api.pagination import fetch_page
from faktura.db.migrate import available

PAGE_SIZES = (3, 100)


def available_sql(number: str) -> str:
    return next(sql for version, sql in available() if version.startswith(number))


async def _full_path_page(
    dsn: str, tenant: Tenant, filters: dict[str, str], size: int, cursor: str | None
) -> bytes:
    """The page as the full path builds it: every row's documents decoded, then encoded."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.set_type_codec(
            "jsonb", encoder=json.dumps, decoder=msgspec.json.decode, schema="pg_catalog"
        )
        q = list_query(uuid.UUID(tenant.id), lines=False, **filters)
        async with conn.transaction():
            rows, nxt, prev = await fetch_page(conn, q, cursor, size)
        return msgspec.json.encode(
            {"next": nxt, "previous": prev, "results": [invoice_view(r, lines=False) for r in rows]}
        )
    finally:
        await conn.close()


async def _issue(client: httpx.AsyncClient, t: Tenant, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/v1/invoices?issue=true", json=body, headers=t.headers)
    assert r.status_code == 201, r.text
    return r.json()["model"]  # type: ignore[no-any-return]


async def _varied_invoices(client: httpx.AsyncClient, t: Tenant) -> dict[str, Any]:
    """Drafts and issued invoices, credit notes, with and without a contact, with attachments,
    odd text, payments; returns values the filters below look for."""
    contact = await make_contact(client, t)
    buyer = {
        k: v
        for k, v in example("contact")["model"].items()
        if k not in ("language", "remote_id", "email", "contact_name")
    }
    pdf = base64.b64encode(b"%PDF-1.7 timesheet").decode()

    draft = await client.post(
        "/v1/invoices", json=invoice_body(contact, remote_id="R-draft"), headers=t.headers
    )
    assert draft.status_code == 201
    bare = invoice_body(contact)
    del bare["model"]["contact"]
    bare["model"]["buyer"] = buyer
    r = await client.post("/v1/invoices", json=bare, headers=t.headers)
    assert r.status_code == 201, r.text
    edited = (await client.post("/v1/invoices", json=invoice_body(contact), headers=t.headers)).json()[
        "model"
    ]
    r = await client.patch(
        f"/v1/invoices/{edited['id']}", json={"model": {"memo": 'edited "quoted"\n\tline'}}, headers=t.headers
    )
    assert r.status_code == 200, r.text
    await client.post(f"/v1/invoices/{edited['id']}/issue", headers=t.headers)

    plain = await _issue(client, t, invoice_body(contact, remote_id="R-1"))
    await _issue(
        client,
        t,
        {
            "model": {
                **bare["model"],
                "notes": ["Ünïcödé € \u2028 \\ / \t tab\r\n"],
                "memo": "null, or: {not} [json]",
            }
        },
    )
    await _issue(
        client,
        t,
        invoice_body(
            contact,
            type_code="380",
            attachments=[
                {
                    "reference": "TS-1",
                    "description": "Timesheet",
                    "content": pdf,
                    "mime_code": "application/pdf",
                    "filename": "ts.pdf",
                },
                {"reference": "TS-2", "url": "https://example.com/ts2"},
            ],
        ),
    )
    paid = await _issue(client, t, invoice_body(contact))
    pay = await client.post(
        f"/v1/invoices/{paid['id']}/payments",
        json={"model": {"amount": "10.00", "date": "2026-12-01"}},
        headers=t.headers,
    )
    assert pay.status_code == 201, pay.text
    credit = invoice_body(
        contact, document_type="CREDIT_NOTE", preceding_invoices=[{"number": plain["number"]}]
    )
    credit["model"]["line_items"] = [{**credit["model"]["line_items"][1], "quantity": "1"}]
    credit["model"]["allowances"] = []
    await _issue(client, t, credit)
    return {"contact": contact, "number": plain["number"]}


@pytest.fixture
async def filled(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    return await _varied_invoices(client, tenant)


def _filters(found: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {},
        {"status": "DRAFT"},
        {"status": "OPEN"},
        {"status": "PARTIALLY_PAID"},
        {"status": "VOID"},
        {"type": "CREDIT_NOTE"},
        {"type": "INVOICE"},
        {"contact_id": found["contact"]},
        {"contact_id": str(uuid.uuid4())},
        {"number": found["number"]},
        {"number": "NONE-1"},
        {"remote_id": "R-1"},
        {"remote_id": "R-draft"},
        {"issue_date_after": "2000-01-01"},
        {"issue_date_before": "2000-01-01"},
        {"created_after": "2000-01-01T00:00:00Z"},
        {"modified_before": "2000-01-01T00:00:00Z"},
    ]


async def test_list_entries_are_the_full_view_byte_for_byte(
    client: httpx.AsyncClient,
    tenant: Tenant,
    filled: dict[str, Any],
    database_url: str,
    owner: asyncpg.Connection,
) -> None:
    stored = await owner.fetchval(
        "SELECT count(*) FROM invoices WHERE tenant_id = $1 AND list_entry IS NOT NULL", uuid.UUID(tenant.id)
    )
    assert stored >= 6  # the issued ones: listed from their entries, not through the fallback
    for filters in _filters(filled):
        for size in PAGE_SIZES:
            cursor = None
            while True:
                query = {**filters, "page_size": str(size), **({"cursor": cursor} if cursor else {})}
                r = await client.get("/v1/invoices", params=query, headers=tenant.headers)
                assert r.status_code == 200, r.text
                expected = await _full_path_page(database_url, tenant, filters, size, cursor)
                assert r.content == expected, filters
                if (back := r.json()["previous"]) is not None:  # and going back from here
                    query["cursor"] = back
                    r_back = await client.get("/v1/invoices", params=query, headers=tenant.headers)
                    expected = await _full_path_page(database_url, tenant, filters, size, back)
                    assert r_back.content == expected, (filters, "previous")
                cursor = r.json()["next"]
                if cursor is None:
                    break


async def test_expand_lists_the_same_invoices_with_more(
    client: httpx.AsyncClient, tenant: Tenant, filled: dict[str, Any]
) -> None:
    plain = (await client.get("/v1/invoices", headers=tenant.headers)).json()["results"]
    for expand, extra in (
        ("line_items", {"line_items"}),
        ("contact", set()),
        ("contact,line_items", {"line_items"}),
    ):
        got = (await client.get(f"/v1/invoices?expand={expand}", headers=tenant.headers)).json()["results"]
        assert len(got) == len(plain)
        for short, full in zip(plain, got, strict=True):
            assert [k for k in full if k not in extra] == list(short)
            for key, value in short.items():
                if key == "contact" and "contact" in expand and value is not None:
                    assert full["contact"]["id"] == value
                else:
                    assert full[key] == value, key


async def test_rows_without_entries_list_the_same_and_the_backfill_writes_them(
    client: httpx.AsyncClient,
    tenant: Tenant,
    filled: dict[str, Any],
    database_url: str,
    owner: asyncpg.Connection,
) -> None:
    """Rows written before migration 0011 (no entry) go through the full path; the migration's
    backfill gives them the entries the trigger gives new rows."""
    tid = uuid.UUID(tenant.id)
    before = await owner.fetch("SELECT id, list_entry FROM invoices WHERE tenant_id = $1 ORDER BY id", tid)
    await owner.execute("SET session_replication_role = replica")  # no triggers: as before 0011
    try:
        await owner.execute("UPDATE invoices SET list_entry = NULL WHERE tenant_id = $1", tid)
    finally:
        await owner.execute("SET session_replication_role = DEFAULT")
    r = await client.get("/v1/invoices", headers=tenant.headers)
    assert r.content == await _full_path_page(database_url, tenant, {}, 100, None)
    backfill = next(
        line
        for line in available_sql("0011").splitlines()
        if line.startswith("UPDATE invoices SET list_entry")
    )
    await owner.execute(backfill.replace("WHERE", "WHERE tenant_id = $1 AND"), tid)
    assert (
        await owner.fetch("SELECT id, list_entry FROM invoices WHERE tenant_id = $1 ORDER BY id", tid)
        == before
    )
