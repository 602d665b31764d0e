"""Invoice lists at scale: every seed filter is answered from an index that also gives the
cursor's order (migration 0007), so a filter matching few or no rows reads few index
entries instead of the tenant's whole page index; and a list page of issued invoices is
the retrieved invoice without its lines, read without them from the database."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import httpx
from tests.conftest import Tenant, invoice_body, make_contact

from faktura.api.invoices import list_query
from faktura.api.pagination import decode_cursor, encode_cursor, fetch_page

FILTERS = [
    ("status", {"status": "DRAFT"}, "status"),
    ("type", {"type": "CREDIT_NOTE"}, "document_type"),
    ("contact", {"contact_id": str(uuid.uuid4())}, "contact_id"),
    ("number", {"number": "NOPE-1"}, "number"),
    ("remote id", {"remote_id": "R-none"}, "remote_id"),
    ("issue date", {"issue_date_before": "2020-01-01"}, "issue_date"),
    ("modified", {"modified_before": "2020-01-01T00:00:00Z"}, "modified_at"),
    ("created", {"created_before": "2020-01-01T00:00:00Z"}, "created_at"),
]


def _index_conds(plan: Any) -> list[str]:
    out = [plan["Index Cond"]] if "Index Cond" in plan else []
    for child in plan.get("Plans", []):
        out += _index_conds(child)
    return out


LOAD = """
INSERT INTO invoices (tenant_id, id, document_type, status, series, number, issue_date, contact_id, remote_id,
    model, created_at, modified_at)
SELECT $1, gen_random_uuid(), CASE WHEN g % 50 = 0 THEN 'CREDIT_NOTE' ELSE 'INVOICE' END,
    (ARRAY['OPEN', 'PAID', 'SUBMITTED'])[1 + g % 3], 'INV', 'INV-' || g, DATE '2021-01-01' + g / 20, NULL,
    CASE WHEN g % 10 = 0 THEN 'R-' || g END, '{}',
    TIMESTAMPTZ '2021-01-01 00:00Z' + g * interval '1 hour', TIMESTAMPTZ '2021-01-01 01:00Z' + g * interval '1 hour'
FROM generate_series(1, $2) AS g
"""


async def test_each_filter_is_an_index_condition(owner: asyncpg.Connection) -> None:
    """A tenant with 20,000 invoices (rolled back afterwards): for every filter, on the first
    and on a deep page, the filter's column is in an index condition, not a row filter over
    the tenant's page index (which is linear in the tenant's size when few rows match); for a
    filter that is not a range, in the generic plan as well (`fetch_page` leaves them to it)."""
    tx = owner.transaction()
    await tx.start()
    try:
        platform, tenant = uuid.uuid4(), uuid.uuid4()
        await owner.execute("INSERT INTO platforms (id, name) VALUES ($1, 'scale')", platform)
        await owner.execute(
            "INSERT INTO tenants (id, platform_id, data) VALUES ($1, $2, '{}')", tenant, platform
        )
        await owner.execute(LOAD, tenant, 20_000)
        await owner.execute("ANALYZE invoices")
        deep = await owner.fetchrow(
            "SELECT created_at, id FROM invoices WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC"
            " OFFSET 10000 LIMIT 1",
            tenant,
        )
        cursor = decode_cursor(encode_cursor("n", deep["created_at"], deep["id"]))
        missed = []
        for name, filters, column in FILTERS:
            q = list_query(tenant, entries=True, **filters)
            # without a range filter, lists run with PostgreSQL's generic plans too
            for mode in ("force_custom_plan", "auto" if q.ranges else "force_generic_plan"):
                await owner.execute(f"SET LOCAL plan_cache_mode = {mode}")
                for page in (None, cursor):
                    text, args, _ = q.sql(page, 50)
                    raw = await owner.fetchval(f"EXPLAIN (FORMAT JSON) {text}", *args)
                    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
                    if column not in " ".join(_index_conds(plan)):
                        missed.append(
                            f"{name} ({'deep' if page else 'first'}, {mode}): {json.dumps(plan)[:400]}"
                        )
        assert not missed, "\n".join(missed)
    finally:
        await tx.rollback()


async def test_list_page_is_the_invoice_without_its_lines(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await make_contact(client, tenant)
    r = await client.post("/v1/invoices?issue=true", json=invoice_body(contact), headers=tenant.headers)
    assert r.status_code == 201, r.text
    issued = r.json()["model"]
    draft = (await client.post("/v1/invoices", json=invoice_body(contact), headers=tenant.headers)).json()[
        "model"
    ]
    full = {
        i: (await client.get(f"/v1/invoices/{i}", headers=tenant.headers)).json()["model"]
        for i in (issued["id"], draft["id"])
    }
    listed = (await client.get("/v1/invoices?page_size=2", headers=tenant.headers)).json()["results"]
    assert {x["id"] for x in listed} == set(full)
    for item in listed:
        expected = {k: v for k, v in full[item["id"]].items() if k != "line_items"}
        assert item == expected
        assert item["total_amount"] == full[item["id"]]["total_amount"] is not None
    expanded = (await client.get("/v1/invoices?page_size=2&expand=line_items", headers=tenant.headers)).json()
    for item in expanded["results"]:
        assert item == full[item["id"]]


async def test_list_statements_are_planned_for_their_values(owner: asyncpg.Connection) -> None:
    """asyncpg prepares each statement once per connection; after five executions PostgreSQL
    may switch to a generic plan, blind to the filter's value. Lists must never get one."""
    async with owner.transaction():
        tenant = uuid.uuid4()
        q = list_query(tenant, entries=True, issue_date_before="2020-01-01")
        for _ in range(8):
            await fetch_page(owner, q, None, 50)
        text, _, _ = q.sql(None, 50)
        generic = await owner.fetchval(
            "SELECT max(generic_plans) FROM pg_prepared_statements WHERE statement = $1", text
        )
        custom = await owner.fetchval(
            "SELECT max(custom_plans) FROM pg_prepared_statements WHERE statement = $1", text
        )
    assert (generic, custom) == (0, 8)
