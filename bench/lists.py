"""Invoice list pages at scale: every seed filter, with and without matches, first and deep pages.

Loads `--rows` issued invoices into one tenant and `--others` more spread over `--tenants`
other tenants of a fresh database, set-based (`INSERT … SELECT … generate_series`, not
through the API), then runs the list query exactly as `GET /v1/invoices` builds it
(`faktura.api.invoices.list_query` + `fetch_page`, as the application role with the
tenant's row-level security on) for:

  - the first page and a deep cursor page (the cursor half-way through the filter's own
    result, as a client paging through it holds; half-way through the tenant for a filter
    with fewer than two matches);
  - each filter of the seed (status, issue-date range, created/modified range, contact,
    number, remote id, type), once matching many rows and once matching few or none.

For each: the median of `--repeat` timings of the query, the time to turn the page into the
response body (`invoice_view` + JSON), and the index the plan reads. `--explain` prints
every plan (EXPLAIN ANALYZE, BUFFERS).

    .venv/bin/python bench/lists.py [--rows 1000000] [--others 1000000] [--tenants 1000]
                                    [--page-size 50] [--repeat 5] [--explain] [--keep]
                                    [--upto 0006_rule_versions]  # without the list indexes
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from faktura.api.invoices import invoice_view, list_query  # noqa: E402
from faktura.api.pagination import decode_cursor, encode_cursor, fetch_page  # noqa: E402
from faktura.db.migrate import migrate_connection  # noqa: E402

ADMIN_DSN = os.environ.get("FAKTURA_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DB = os.environ.get("FAKTURA_BENCH_DB", "faktura_bench_lists")
CHUNK = 200_000
CONTACTS = 1_000

#: An issued invoice's `model` and `issued` snapshots (one 3-line invoice, the same for every row).
MODEL = {
    "contact": None,
    "buyer_reference": "PO-2026-118",
    "due_date": "2026-12-22",
    "payment_terms": "30 days net",
    "notes": ["Thank you for your order."],
    "line_items": [
        {
            "item": {"name": f"Item {i}"},
            "quantity": "2",
            "unit_price": "125.00",
            "tax": {"category": "S", "rate": "21"},
        }
        for i in range(3)
    ],
}
PARTY = {
    "name": "Kassenbau GmbH",
    "vat_id": "DE123456788",
    "address": {"line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
}
TOTALS = {
    "line_extension_amount": "750.00",
    "allowance_total": "0.00",
    "charge_total": "0.00",
    "tax_exclusive_amount": "750.00",
    "tax_amount": "157.50",
    "tax_inclusive_amount": "907.50",
    "prepaid_amount": "0.00",
    "rounding_amount": "0.00",
    "payable_amount": "907.50",
    "breakdown": [{"category": "S", "rate": "21", "taxable_amount": "750.00", "tax_amount": "157.50"}],
    "lines": [{"net_amount": "250.00"}] * 3,
}
ISSUED = {
    "profile": "peppol-bis-3",
    "rule_versions": {},
    "seller": PARTY,
    "buyer": PARTY,
    "totals": TOTALS,
    "payment_means": [],
    "xml": {"sha256": "0" * 64, "size": 4096},
}

#: status by row number: no DRAFT and no VOID in the big tenant (filters with no match)
STATUS_SQL = "(ARRAY['OPEN', 'PAID', 'PAID', 'SUBMITTED', 'PARTIALLY_PAID'])[1 + g % 5]"
INSERT = f"""
INSERT INTO invoices (tenant_id, id, document_type, status, series, number, issue_date, due_date,
    contact_id, remote_id, currency, model, issued, total_amount, balance, created_at, modified_at, issued_at)
SELECT {{tenant}}, gen_random_uuid(),
    CASE WHEN g % 50 = 0 THEN 'CREDIT_NOTE' ELSE 'INVOICE' END,
    {STATUS_SQL}, 'INV', {{number}},
    DATE '2021-01-01' + (g * 1800 / $3)::int, DATE '2021-01-31' + (g * 1800 / $3)::int,
    {{contact}}, CASE WHEN g % 10 = 0 THEN 'R-' || g END, 'EUR', $4::jsonb, $5::jsonb, 907.50, 907.50,
    TIMESTAMPTZ '2021-01-01 00:00Z' + interval '1800 days' * g / $3,
    TIMESTAMPTZ '2021-01-01 00:00Z' + interval '1800 days' * g / $3 + interval '1 hour',
    TIMESTAMPTZ '2021-01-01 00:00Z' + interval '1800 days' * g / $3
FROM generate_series($1::bigint, $2::bigint) AS g
"""


async def load(
    admin_dsn: str, rows: int, others: int, tenants: int, upto: str | None
) -> tuple[str, uuid.UUID, list[uuid.UUID]]:
    base = admin_dsn.rpartition("/")[0]
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{DB}"')
    await admin.close()
    dsn = f"{base}/{DB}"
    conn = await asyncpg.connect(dsn)
    try:
        await migrate_connection(conn, upto=upto)
        platform = uuid.uuid4()
        await conn.execute("INSERT INTO platforms (id, name) VALUES ($1, 'bench')", platform)
        big = uuid.uuid4()
        other_ids = [uuid.uuid4() for _ in range(tenants)]
        await conn.executemany(
            "INSERT INTO tenants (id, platform_id, data) VALUES ($1, $2, '{}')",
            [(t, platform) for t in [big, *other_ids]],
        )
        contacts = [uuid.uuid4() for _ in range(CONTACTS)]
        await conn.executemany(
            "INSERT INTO contacts (tenant_id, id, data) VALUES ($1, $2, '{}')", [(big, c) for c in contacts]
        )
        model, issued = json.dumps(MODEL), json.dumps(ISSUED)
        t0 = time.perf_counter()
        sql_big = INSERT.format(
            tenant="$6::uuid", number="'INV-' || g", contact=f"($7::uuid[])[1 + g % {CONTACTS}]"
        )
        for lo in range(1, rows + 1, CHUNK):
            await conn.execute(sql_big, lo, min(lo + CHUNK - 1, rows), rows, model, issued, big, contacts)
            print(
                f"  loaded {min(lo + CHUNK - 1, rows):,} / {rows:,} into one tenant",
                file=sys.stderr,
                flush=True,
            )
        sql_others = INSERT.format(
            tenant=f"($6::uuid[])[1 + g % {tenants}]", number="'INV-' || g", contact="NULL::uuid"
        )
        for lo in range(1, others + 1, CHUNK):
            await conn.execute(
                sql_others, lo, min(lo + CHUNK - 1, others), max(others, 1), model, issued, other_ids
            )
            print(
                f"  loaded {min(lo + CHUNK - 1, others):,} / {others:,} into {tenants} tenants",
                file=sys.stderr,
                flush=True,
            )
        await conn.execute("VACUUM ANALYZE invoices")
        print(f"  load + VACUUM ANALYZE: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
        return dsn, big, contacts
    finally:
        await conn.close()


def cases(rows: int, contacts: list[uuid.UUID]) -> list[tuple[str, dict[str, str]]]:
    mid = f"INV-{rows // 2}"
    return [
        ("no filter", {}),
        ("status=PAID (many)", {"status": "PAID"}),
        ("status=DRAFT (none)", {"status": "DRAFT"}),
        ("status=VOID (none)", {"status": "VOID"}),
        ("issue_date_after=2021-06-01 (many)", {"issue_date_after": "2021-06-01"}),
        ("issue_date_before=2020-01-01 (none)", {"issue_date_before": "2020-01-01"}),
        ("issue_date_before=2021-01-03 (few)", {"issue_date_before": "2021-01-03"}),
        ("created_after=2021-06-01 (many)", {"created_after": "2021-06-01T00:00:00Z"}),
        ("created_before=2020-01-01 (none)", {"created_before": "2020-01-01T00:00:00Z"}),
        ("modified_after=2021-06-01 (many)", {"modified_after": "2021-06-01T00:00:00Z"}),
        ("modified_before=2020-01-01 (none)", {"modified_before": "2020-01-01T00:00:00Z"}),
        ("contact_id (1/1000 of rows)", {"contact_id": str(contacts[7])}),
        ("contact_id (none)", {"contact_id": str(uuid.uuid4())}),
        ("number (one)", {"number": mid}),
        ("number (none)", {"number": "NOPE-1"}),
        ("remote_id (one)", {"remote_id": f"R-{(rows // 20) * 10}"}),
        ("remote_id (none)", {"remote_id": "R-none"}),
        ("type=CREDIT_NOTE (1/50)", {"type": "CREDIT_NOTE"}),
        ("type=INVOICE (many)", {"type": "INVOICE"}),
    ]


async def in_tenant(conn: asyncpg.Connection, tenant: uuid.UUID) -> None:
    """As the application role, scoped to the tenant: the API's row-level security applies."""
    await conn.execute("SET LOCAL ROLE faktura_app")
    await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant))


def plan_index(plan: list[str]) -> str:
    names = [w for line in plan for w in re.findall(r"(?:using|Scan on) (invoices_[a-z_]+)", line)]
    kinds = [k for k in ("Bitmap Heap Scan", "Index Scan", "Seq Scan", "Sort") if any(k in ln for ln in plan)]
    return ",".join(dict.fromkeys(names)) + (f" ({'/'.join(kinds)})" if kinds else "")


async def deep_cursor(conn: asyncpg.Connection, q: Any, fallback: str) -> tuple[str, int]:
    """The cursor half-way through the filter's own result (as a client paging through it
    would hold), or, with fewer than two matches, `fallback`; and the number of matches."""
    where = " AND ".join(q.clauses)
    count = await conn.fetchval(f"SELECT count(*) FROM invoices WHERE {where}", *q.args)
    if count < 2:
        return fallback, count
    row = await conn.fetchrow(
        f"SELECT created_at, id FROM invoices WHERE {where} ORDER BY created_at DESC, id DESC"
        f" OFFSET {count // 2} LIMIT 1",
        *q.args,
    )
    return encode_cursor("n", row["created_at"], row["id"]), count


async def measure(
    dsn: str, big: uuid.UUID, rows: int, contacts: list[uuid.UUID], args: argparse.Namespace
) -> None:
    conn = await asyncpg.connect(dsn)
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    deep = await conn.fetchrow(
        "SELECT created_at, id FROM invoices WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1",
        big,
        rows // 2,
    )
    tenant_middle = encode_cursor("n", deep["created_at"], deep["id"])
    print(f"{'case':38} {'matches':>8} {'page':>5} {'rows':>5} {'query ms':>9} {'view ms':>8}  plan")
    plans: list[tuple[str, list[str]]] = []
    for name, filters in cases(rows, contacts):
        q = list_query(big, lines=False, **filters)
        middle, matches = await deep_cursor(conn, q, tenant_middle)
        for page, cursor in (("first", None), ("deep", middle)):
            times = []
            got: list[Any] = []
            for _ in range(args.repeat):
                async with conn.transaction():
                    await in_tenant(conn, big)
                    t = time.perf_counter()
                    got, _, _ = await fetch_page(conn, q, cursor, args.page_size)
                    times.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            body = msgspec.json.encode({"results": [invoice_view(r, lines=False) for r in got]})
            view_ms = (time.perf_counter() - t) * 1000
            assert body
            text, qargs, _ = q.sql(decode_cursor(cursor) if cursor else None, args.page_size)
            async with conn.transaction():
                await in_tenant(conn, big)
                plan = [r[0] for r in await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {text}", *qargs)]
            plans.append((f"{name} [{page}]", plan))
            print(
                f"{name:38} {matches:>8} {page:>5} {len(got):>5} {statistics.median(times):>9.2f} {view_ms:>8.2f}  {plan_index(plan)}",
                flush=True,
            )
    if args.explain:
        for title, plan in plans:
            print(f"\n-- {title}")
            print("\n".join(plan))
    await conn.close()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="invoices in the measured tenant")
    ap.add_argument(
        "--others", type=int, default=None, help="invoices over the other tenants (default: --rows)"
    )
    ap.add_argument("--tenants", type=int, default=1_000, help="number of other tenants")
    ap.add_argument("--page-size", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--explain", action="store_true", help="print every query plan")
    ap.add_argument(
        "--upto",
        default=None,
        help="apply migrations only up to this one (e.g. 0006_rule_versions: before the list indexes)",
    )
    ap.add_argument("--keep", action="store_true", help=f"keep the database {DB!r}")
    args = ap.parse_args()
    others = args.rows if args.others is None else args.others
    print(
        f"loading {args.rows:,} invoices into one tenant, {others:,} over {args.tenants} others",
        file=sys.stderr,
    )
    dsn, big, contacts = await load(ADMIN_DSN, args.rows, others, args.tenants, args.upto)
    try:
        await measure(dsn, big, args.rows, contacts, args)
    finally:
        if not args.keep:
            admin = await asyncpg.connect(ADMIN_DSN)
            await admin.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
