"""Gapless numbering: concurrent issuers on one series get 1..N exactly once."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
from tests.conftest import Tenant, invoice_body, make_contact

from faktura.archive import open_store, verify
from faktura.numbering import format_problems, render_number
from faktura.settings import Settings


async def test_200_concurrent_issues_are_gapless(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await make_contact(client, tenant)
    r = await client.post(
        "/v1/number-series",
        json={"model": {"code": "RUSH", "format": "R{seq}", "yearly_reset": False}},
        headers=tenant.headers,
    )
    assert r.status_code == 201, r.text
    body = invoice_body(contact, series="RUSH")
    drafts = await asyncio.gather(
        *[client.post("/v1/invoices", json=body, headers=tenant.headers) for _ in range(200)]
    )
    ids = [d.json()["model"]["id"] for d in drafts]
    # a few failing issues in the middle must not leave holes
    bad = invoice_body(contact, series="RUSH")
    bad["model"]["line_items"][0].update(tax_category="S", tax_rate="0")  # BR-S-05
    failing = [
        (await client.post("/v1/invoices", json=bad, headers=tenant.headers)).json()["model"]["id"]
        for _ in range(5)
    ]
    results = await asyncio.gather(
        *[
            client.post(f"/v1/invoices/{i}/issue", headers=tenant.headers)
            for i in ids[:100] + failing + ids[100:]
        ]
    )
    ok = [r for r in results if r.status_code == 200]
    assert len(ok) == 200, {r.status_code for r in results}
    assert sum(r.status_code == 422 for r in results) == 5
    numbers = sorted(int(r.json()["model"]["number"][1:]) for r in ok)
    assert numbers == list(range(1, 201))


def test_series_formats() -> None:
    assert render_number("INV-{year}-{seq:05}", 2026, 42) == "INV-2026-00042"
    assert format_problems("INV-{year}") == "the format must contain {seq}"
    assert format_problems("{seq}-{tenant}") == "unknown placeholders: tenant"
    assert format_problems("{seq:05}") is None


async def test_yearly_reset_and_bad_series(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await make_contact(client, tenant)
    nums = []
    for date in ["2025-12-31", "2026-01-01", "2026-01-02"]:
        r = await client.post(
            "/v1/invoices?issue=true",
            json=invoice_body(contact, issue_date=date, due_date="2027-01-31"),
            headers=tenant.headers,
        )
        assert r.status_code == 201, r.text
        nums.append(r.json()["model"]["number"])
    assert nums == ["INV-2025-00001", "INV-2026-00001", "INV-2026-00002"]
    r = await client.post(
        "/v1/invoices?issue=true", json=invoice_body(contact, series="NOPE"), headers=tenant.headers
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["source"]["pointer"] == "/model/series"
    r = await client.post(
        "/v1/number-series", json={"model": {"code": "X", "format": "{year}"}}, headers=tenant.headers
    )
    assert r.status_code == 422


async def test_concurrent_creates_and_issues_are_numbered_in_batches_without_gaps(
    client: httpx.AsyncClient, tenant: Tenant, owner: asyncpg.Connection, settings: Settings
) -> None:
    """`POST /v1/invoices?issue=true` on one series, 120 at once (and a few refused among
    them): numbered 1..120 exactly once, in fewer transactions than invoices (the batches of
    `faktura.issue_batch`), and the archive chain they were appended to verifies."""
    contact = await make_contact(client, tenant)
    r = await client.post(
        "/v1/number-series",
        json={"model": {"code": "BATCH", "format": "B{seq}", "yearly_reset": False}},
        headers=tenant.headers,
    )
    assert r.status_code == 201, r.text
    good = invoice_body(contact, series="BATCH")
    bad = invoice_body(contact, series="BATCH")
    bad["model"]["line_items"][0].update(tax_category="S", tax_rate="0")  # BR-S-05
    bodies = [good] * 60 + [bad] * 5 + [good] * 60
    results = await asyncio.gather(
        *[client.post("/v1/invoices?issue=true", json=b, headers=tenant.headers) for b in bodies]
    )
    assert sorted(r.status_code for r in results) == [201] * 120 + [422] * 5
    numbers = sorted(int(r.json()["model"]["number"][1:]) for r in results if r.status_code == 201)
    assert numbers == list(range(1, 121))
    tid = uuid.UUID(tenant.id)
    async with owner.transaction():
        await owner.execute("SELECT set_config('app.tenant_id', $1, true)", tenant.id)
        transactions = await owner.fetchval(
            "SELECT count(DISTINCT xmin::text) FROM invoices WHERE tenant_id = $1 AND series = 'BATCH'", tid
        )
        assert (
            await owner.fetchval(
                "SELECT count(*) FROM invoices WHERE tenant_id = $1 AND status = 'DRAFT'", tid
            )
            == 0
        )
        checked, problems = await verify(owner, open_store(settings), tid)
    assert transactions < 120
    assert checked >= 120 and problems == []
