"""Keyset pagination and the seed's list filters."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid

import asyncpg
import httpx
from tests.conftest import Tenant, invoice_body, make_contact

from faktura.api.pagination import Query, add_time_filters, decode_cursor, encode_cursor


async def _walk(client: httpx.AsyncClient, tenant: Tenant, query: str) -> list[str]:
    seen: list[str] = []
    url = f"/v1/invoices?{query}"
    while url:
        page = (await client.get(url, headers=tenant.headers)).json()
        seen += [r["id"] for r in page["results"]]
        url = f"/v1/invoices?{query}&cursor={page['next']}" if page["next"] else ""
    return seen


async def test_pages_cover_everything_once_even_with_concurrent_inserts(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await make_contact(client, tenant)
    ids = []
    for _ in range(23):
        r = await client.post("/v1/invoices", json=invoice_body(contact), headers=tenant.headers)
        ids.append(r.json()["model"]["id"])
    first = (await client.get("/v1/invoices?page_size=5", headers=tenant.headers)).json()
    assert [r["id"] for r in first["results"]] == ids[::-1][:5]
    assert first["previous"] is None
    # inserts while paging do not shift the pages already being read
    seen = [r["id"] for r in first["results"]]
    cursor = first["next"]
    while cursor:
        await client.post("/v1/invoices", json=invoice_body(contact), headers=tenant.headers)
        page = (await client.get(f"/v1/invoices?page_size=5&cursor={cursor}", headers=tenant.headers)).json()
        seen += [r["id"] for r in page["results"]]
        cursor = page["next"]
    assert seen == ids[::-1]


async def test_previous_goes_back(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await make_contact(client, tenant)
    await asyncio.gather(
        *[client.post("/v1/invoices", json=invoice_body(contact), headers=tenant.headers) for _ in range(7)]
    )
    p1 = (await client.get("/v1/invoices?page_size=3", headers=tenant.headers)).json()
    p2 = (await client.get(f"/v1/invoices?page_size=3&cursor={p1['next']}", headers=tenant.headers)).json()
    back = (
        await client.get(f"/v1/invoices?page_size=3&cursor={p2['previous']}", headers=tenant.headers)
    ).json()
    assert [r["id"] for r in back["results"]] == [r["id"] for r in p1["results"]]
    assert back["previous"] is None


async def test_filters(client: httpx.AsyncClient, tenant: Tenant) -> None:
    c1 = await make_contact(client, tenant)
    c2 = await make_contact(client, tenant, name="Other Buyer BV")
    d = (
        await client.post("/v1/invoices", json=invoice_body(c1, remote_id="r-1"), headers=tenant.headers)
    ).json()["model"]
    cn = invoice_body(
        c2, document_type="CREDIT_NOTE", issue_date="2026-01-15", preceding_invoices=[{"number": "INV-1"}]
    )
    o = (await client.post("/v1/invoices?issue=true", json=cn, headers=tenant.headers)).json()["model"]
    assert o["status"] == "OPEN", o

    async def ids(q: str) -> list[str]:
        r = await client.get(f"/v1/invoices?{q}", headers=tenant.headers)
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["results"]]

    assert await ids(f"contact_id={c1}") == [d["id"]]
    assert await ids("status=OPEN") == [o["id"]]
    assert await ids("status=DRAFT") == [d["id"]]
    assert await ids("type=CREDIT_NOTE") == [o["id"]]
    assert await ids("remote_id=r-1") == [d["id"]]
    assert await ids(f"number={o['number']}") == [o["id"]]
    assert o["number"].startswith("CN-2026-")
    assert await ids("issue_date_after=2026-01-01&issue_date_before=2026-02-01") == [o["id"]]
    assert await ids(f"created_after={d['created_at']}") == [o["id"]]
    assert await ids(f"created_before={o['created_at']}") == [d["id"]]
    page = (await client.get("/v1/invoices?expand=contact,line_items", headers=tenant.headers)).json()[
        "results"
    ]
    assert {p["contact"]["id"] for p in page} == {c1, c2}
    assert all(len(p["line_items"]) == 2 for p in page)
    plain = (await client.get("/v1/invoices", headers=tenant.headers)).json()["results"]
    assert all(isinstance(p["contact"], str) and "line_items" not in p for p in plain)


async def test_created_bounds_merged_with_the_cursor_select_the_same_rows(owner: asyncpg.Connection) -> None:
    """`Query.sql` sends only the tighter of a `created_*` bound and the cursor's bound on
    `created_at`: over random rows (many sharing a timestamp), cursors and bounds in both
    directions, the page holds exactly the rows that satisfy all three conditions."""
    rng = random.Random(15)
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    rows = [
        (base + dt.timedelta(minutes=rng.randrange(60)), uuid.UUID(int=rng.getrandbits(128)))
        for _ in range(300)
    ]
    async with owner.transaction():
        await owner.execute("CREATE TEMP TABLE paged (created_at timestamptz, id uuid) ON COMMIT DROP")
        await owner.executemany("INSERT INTO paged VALUES ($1, $2)", rows)
        for _ in range(200):
            at, id_ = rng.choice(rows)
            cursor = decode_cursor(encode_cursor(rng.choice("np"), at, id_))
            q = Query("paged", "created_at, id", [], [])
            for side in ("after", "before"):
                if rng.random() < 0.7:
                    moment = base + dt.timedelta(minutes=rng.randrange(-5, 65))
                    add_time_filters(q, **{f"created_{side}": moment.isoformat()})
            text, args, backwards = q.sql(cursor, 1000)
            got = {r["id"] for r in await owner.fetch(text, *args)}
            want = {
                i
                for c, i in rows
                if (
                    (c, i) > (cursor.created_at, cursor.id)
                    if backwards
                    else (c, i) < (cursor.created_at, cursor.id)
                )
                and (q.created_after is None or c > q.created_after)
                and (q.created_before is None or c < q.created_before)
            }
            assert got == want
            where = text.split(" WHERE ")[1].split(" ORDER BY ")[0]
            assert where.count("<") <= 1 and where.count(">") <= 1  # one bound per side at most
