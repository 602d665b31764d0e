"""Invoice list pages at scale, over HTTP: a page of 50 against the bare INSERT, and p99 at
10,000 and at 1,000,000 invoices in one tenant for every seed filter, first and deep pages.

Seeds one dedicated database (`faktura_bench_lists`) once per run, set-based (`INSERT …
SELECT … generate_series`, not through the API): `--small` invoices in one tenant, `--rows`
in another, and `--others` spread over `--tenants` more. `--keep` keeps it afterwards and
`--reuse` measures a kept one again without seeding (the seed takes minutes). Then starts
`faktura serve --workers N` on loopback against it and drives it with `wrk` (Debian's
package, an external client in C, installed with apt-get when missing; see bench/issue.py):

  1. the goal's ratio: rounds alternating `POST /bench/baseline` (the same app and server, a
     handler that only INSERTs the request JSON) and `GET /v1/invoices?page_size=50` in the
     big tenant, `--seconds` each at `--concurrency` connections; the median of the rounds'
     ratios of requests/s;
  2. flatness: for each filter of the seed (status, issue-date, created and modified ranges,
     contact, number, remote id, type), once matching many rows and once few or none, the
     first page and a deep cursor page (half-way through the filter's own result; half-way
     through the tenant for fewer than two matches), in the small and in the big tenant:
     `--case-seconds` of `wrk` at `--case-concurrency` connections each, `--case-runs` times
     per tenant in the order small, big, big, small, small, big...; p99 big / small of the
     runs' medians. `--together` drives both tenants at once instead, half the connections
     each, `--case-runs` times: the two sides then share every moment of the machine's noise,
     but also the server's queue, which shrinks a real difference of cost between them (read
     both: docs/performance.md, "Both tenants at once").

`--sql` adds the query-level table (the query exactly as `GET /v1/invoices` builds it, as
the application role with row-level security, median of `--repeat` runs) and `--explain`
prints every plan (EXPLAIN ANALYZE, BUFFERS).

    .venv/bin/python bench/lists.py [--small 10000] [--rows 1000000] [--others 1000000]
        [--tenants 1000] [--seconds 10] [--rounds 3] [--case-seconds 3] [--concurrency 32]
        [--case-concurrency 8] [--case-runs 3] [--workers 2] [--keep] [--reuse] [--sql] [--explain]
        [--upto 0006_rule_versions]  # without the list indexes
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from issue import Client, Request, drive_wrk, find_wrk, free_port  # noqa: E402

from faktura.api.invoices import list_query  # noqa: E402
from faktura.api.pagination import decode_cursor, encode_cursor, fetch_page  # noqa: E402
from faktura.db.migrate import migrate_connection  # noqa: E402
from faktura.db.platforms import create_platform  # noqa: E402

ADMIN_DSN = os.environ.get("FAKTURA_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DB = os.environ.get("FAKTURA_BENCH_DB", "faktura_bench_lists")
CHUNK = 200_000
CONTACTS = 1_000

#: An issued invoice's `model` and `issued` snapshots (one 3-line invoice, the same for every row).
MODEL = {
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
    {{contact}}, CASE WHEN g % 10 = 0 THEN 'R-' || g END, 'EUR',
    $4::jsonb || coalesce(jsonb_build_object('contact', {{contact}}::text), '{{{{}}}}'), $5::jsonb, 907.50, 907.50,
    TIMESTAMPTZ '2021-01-01 00:00Z' + interval '1800 days' * g / $3,
    TIMESTAMPTZ '2021-01-01 00:00Z' + interval '1800 days' * g / $3 + interval '1 hour',
    TIMESTAMPTZ '2021-01-01 00:00Z' + interval '1800 days' * g / $3
FROM generate_series($1::bigint, $2::bigint) AS g
"""


async def seed_invoices(
    conn: asyncpg.Connection, tenant: uuid.UUID, rows: int, contacts: list[uuid.UUID]
) -> None:
    """`rows` issued invoices (with their list entries, written by the trigger) into one tenant."""
    await conn.executemany(
        "INSERT INTO contacts (tenant_id, id, data) VALUES ($1, $2, '{}')", [(tenant, c) for c in contacts]
    )
    sql = INSERT.format(
        tenant="$6::uuid", number="'INV-' || g", contact=f"($7::uuid[])[1 + g % {len(contacts)}]"
    )
    for lo in range(1, rows + 1, CHUNK):
        hi = min(lo + CHUNK - 1, rows)
        await conn.execute(sql, lo, hi, rows, json.dumps(MODEL), json.dumps(ISSUED), tenant, contacts)
        print(f"  loaded {hi:,} / {rows:,} into tenant {tenant}", file=sys.stderr, flush=True)


async def seed_others(conn: asyncpg.Connection, platform: uuid.UUID, others: int, tenants: int) -> None:
    other_ids = [uuid.uuid4() for _ in range(tenants)]
    await conn.executemany(
        "INSERT INTO tenants (id, platform_id, data) VALUES ($1, $2, '{}')",
        [(t, platform) for t in other_ids],
    )
    sql = INSERT.format(tenant=f"($6::uuid[])[1 + g % {tenants}]", number="'INV-' || g", contact="NULL::uuid")
    for lo in range(1, others + 1, CHUNK):
        hi = min(lo + CHUNK - 1, others)
        await conn.execute(sql, lo, hi, max(others, 1), json.dumps(MODEL), json.dumps(ISSUED), other_ids)
        print(f"  loaded {hi:,} / {others:,} into {tenants} tenants", file=sys.stderr, flush=True)


class Bench:
    """The seeded database, the server on it, and the two measured tenants' credentials."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.dsn = ADMIN_DSN.rpartition("/")[0] + "/" + DB
        self.port = free_port()
        self.server: subprocess.Popen[bytes] | None = None
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in `stop`)
        #: name ("small", "big") -> (tenant id, headers, rows, contacts)
        self.tenants: dict[str, tuple[uuid.UUID, dict[str, str], int, list[uuid.UUID]]] = {}

    async def seeded(self) -> bool:
        admin = await asyncpg.connect(ADMIN_DSN)
        try:
            if not await admin.fetchval("SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", DB):
                return False
        finally:
            await admin.close()
        conn = await asyncpg.connect(self.dsn)
        try:
            return bool(await conn.fetchval("SELECT to_regclass('bench_lists_tenants') IS NOT NULL"))
        finally:
            await conn.close()

    async def create_database(self) -> tuple[str, str]:
        admin = await asyncpg.connect(ADMIN_DSN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DB}"')
        await admin.close()
        conn = await asyncpg.connect(self.dsn)
        try:
            await migrate_connection(conn, upto=self.args.upto)
            await conn.execute(
                "CREATE TABLE bench_baseline (id bigserial PRIMARY KEY, body jsonb NOT NULL);"
                " GRANT INSERT ON bench_baseline TO faktura_app;"
                " GRANT USAGE ON SEQUENCE bench_baseline_id_seq TO faktura_app"
            )
            # one platform per measured tenant: each uses the same example seller
            return (await create_platform(conn, "bench-small"))[1], (
                await create_platform(conn, "bench-big")
            )[1]
        finally:
            await conn.close()

    async def seed(self, keys: tuple[str, str]) -> None:
        """The measured tenants through the API (they need account tokens), their invoices and
        the other tenants' in SQL; what the next `--reuse` needs in `bench_lists_tenants`."""
        a = self.args
        c = Client(self.port)
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.execute(
                "CREATE TABLE bench_lists_tenants (name text PRIMARY KEY, id uuid, headers jsonb, rows bigint)"
            )
            t0 = time.perf_counter()
            for name, key, rows in (("small", keys[0], a.small), ("big", keys[1], a.rows)):
                _, payload = await c.request(
                    "POST",
                    "/v1/tenants",
                    (ROOT / "docs/examples/tenant.json").read_bytes(),
                    {"Authorization": f"Bearer {key}"},
                )
                model = json.loads(payload)["model"]
                headers = {"Authorization": f"Bearer {key}", "X-Account-Token": model["account_token"]}
                tenant = uuid.UUID(model["id"])
                await seed_invoices(conn, tenant, rows, [uuid.uuid4() for _ in range(CONTACTS)])
                await conn.execute(
                    "INSERT INTO bench_lists_tenants VALUES ($1, $2, $3, $4)",
                    name,
                    tenant,
                    json.dumps(headers),
                    rows,
                )
            platform = await conn.fetchval("SELECT platform_id FROM tenants WHERE id = $1", tenant)
            await seed_others(conn, platform, a.others, a.tenants)
            await conn.execute("VACUUM ANALYZE")
            print(f"  seed + VACUUM ANALYZE: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
        finally:
            await conn.close()

    async def load_tenants(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            for r in await conn.fetch("SELECT name, id, headers, rows FROM bench_lists_tenants"):
                contacts = [
                    c["id"]
                    for c in await conn.fetch(
                        "SELECT id FROM contacts WHERE tenant_id = $1 ORDER BY id", r["id"]
                    )
                ]
                self.tenants[r["name"]] = (r["id"], json.loads(r["headers"]), r["rows"], contacts)
            # what is there (a reused database keeps the sizes it was seeded with)
            self.args.small, self.args.rows = (self.tenants[n][2] for n in ("small", "big"))
            self.args.others, self.args.tenants = await conn.fetchrow(
                "SELECT count(*), count(DISTINCT tenant_id) FROM invoices WHERE tenant_id <> ALL($1::uuid[])",
                [t[0] for t in self.tenants.values()],
            )
        finally:
            await conn.close()

    async def start(self) -> None:
        env = server_env(self.dsn)
        command = [sys.executable, "-m", "faktura.cli", "serve", "--port", str(self.port)]
        self.server = subprocess.Popen(
            [*command, "--workers", str(self.args.workers), "--no-worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        for _ in range(600):
            try:
                status, _ = await Client(self.port).request("GET", "/health", b"", {})
                if status == 200:
                    return
            except OSError:
                pass
            await asyncio.sleep(0.1)
        raise SystemExit("bench/lists.py: the server did not start")

    def stop(self) -> None:
        if self.server is not None:
            stop_process(self.server)
        self.log.close()


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 30 s."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def server_env(dsn: str) -> dict[str, str]:
    """The server's environment: the bench's baseline route on; one tenant at full speed (the
    rate limits stay on, their cost is measured, but never bind)."""
    unlimited = {
        f"FAKTURA_RATE_LIMIT_{scope}{burst}": "1000000"
        for scope in ("TENANT", "PLATFORM")
        for burst in ("", "_BURST")
    }
    return {
        **os.environ,
        "DATABASE_URL": dsn,
        "FAKTURA_BENCH_BASELINE": "1",
        "FAKTURA_DB_POOL_MAX": "20",
        **unlimited,
    }


WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk_get(
    wrk: str, port: int, path: str, headers: dict[str, str], seconds: float, concurrency: int
) -> dict[str, float]:
    """`wrk --latency` on one GET: requests/s, p50 and p99 (ms), errors (socket and status)."""
    out = subprocess.run(
        [wrk, "-t2", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "--latency"]
        + [arg for k, v in headers.items() for arg in ("-H", f"{k}: {v}")]
        + [f"http://127.0.0.1:{port}{path}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    latency = {
        m[0]: float(m[1]) * WRK_UNITS[m[2]]
        for m in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    }
    socket = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    status = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    if socket or status:
        print(f"  {path}: {status} responses with a status >= 400, {socket} socket errors", file=sys.stderr)
    if len(latency) < 2:
        sys.exit(f"bench/lists.py: no latency percentiles from wrk on {path}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    return {"rps": rps, "p50_ms": latency["50"], "p99_ms": latency["99"], "errors": socket + status}


def list_path(filters: dict[str, str], cursor: str | None, size: int) -> str:
    query = {**filters, "page_size": str(size), **({"cursor": cursor} if cursor else {})}
    return "/v1/invoices?" + "&".join(f"{k}={v}" for k, v in query.items())


async def ratio_rounds(bench: Bench, wrk: str) -> None:
    """The goal's figure: a page of 50 against the bare INSERT, rounds alternating."""
    a = bench.args
    _, headers, _, _ = bench.tenants["big"]
    body = json.dumps({"model": MODEL}).encode()
    page = list_path({}, None, a.page_size)

    def side(path: str, seconds: float) -> dict[str, float]:
        if path == page:
            return wrk_get(wrk, bench.port, path, headers, seconds, a.concurrency)
        return drive_wrk(wrk, bench.port, [Request("POST", path, headers, body)], seconds, a.concurrency)

    await asyncio.to_thread(side, "/bench/baseline", 2)  # warm-up
    await asyncio.to_thread(side, page, 2)
    ratios = []
    for n in range(1, a.rounds + 1):
        base = await asyncio.to_thread(side, "/bench/baseline", a.seconds)
        lst = await asyncio.to_thread(side, page, a.seconds)
        ratios.append(lst["rps"] / base["rps"])
        for name, r in (("baseline INSERT", base), (f"list page of {a.page_size}", lst)):
            print(
                f"round {n} {name:17s} {r['rps']:8.1f} req/s  p50 {r['p50_ms']:7.1f} ms"
                f"  p99 {r['p99_ms']:7.1f} ms  ({r['errors']:.0f} errors)"
            )
        print(f"round {n} ratio {ratios[-1]:.3f}", flush=True)
    print(
        f"median ratio list page / baseline over {a.rounds} rounds: {statistics.median(ratios):.3f}"
        f" (rounds: {', '.join(f'{r:.3f}' for r in ratios)}); load average: {loadavg()}",
        flush=True,
    )


async def flatness(bench: Bench, wrk: str) -> None:
    """p99 of every case in the small and the big tenant; the goal is big / small ≤ 1.5."""
    a = bench.args
    conn = await asyncpg.connect(bench.dsn)
    plans: dict[str, list[tuple[str, str | None, int]]] = {}
    try:
        for size_name, (tenant, _, rows, contacts) in bench.tenants.items():
            middle = await conn.fetchrow(
                "SELECT created_at, id FROM invoices WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC"
                " OFFSET $2 LIMIT 1",
                tenant,
                rows // 2,
            )
            fallback = encode_cursor("n", middle["created_at"], middle["id"])
            for name, filters in cases(rows, contacts):
                cursor, matches = await deep_cursor(
                    conn, list_query(tenant, entries=True, **filters), fallback
                )
                plans.setdefault(size_name, []).append((name, cursor, matches))
    finally:
        await conn.close()
    small, big = bench.tenants["small"], bench.tenants["big"]
    print(
        f"\n{'case':38} {'page':>5} {'matches':>15} {'req/s':>15} {'p50 ms':>13} {'p99 ms':>15} {'p99 big/small':>13}"
    )
    ratios: list[float] = []
    p50_ratios: list[float] = []
    for i, (name, filters) in enumerate(cases(big[2], big[3])):
        small_filters = cases(small[2], small[3])[i][1]
        for page in ("first", "deep"):
            runs: dict[str, list[dict[str, float]]] = {"small": [], "big": []}
            matches: dict[str, int] = {}
            target: dict[str, tuple[str, dict[str, str]]] = {}
            for size_name, flt, headers in (("small", small_filters, small[1]), ("big", filters, big[1])):
                _, cursor, matches[size_name] = plans[size_name][i]
                target[size_name] = (list_path(flt, cursor if page == "deep" else None, a.page_size), headers)
            if a.together:
                # both tenants at once, half the connections each: whatever else the machine
                # does in those seconds (a collection, another process) weighs on both alike
                half = max(1, a.case_concurrency // 2)
                for _ in range(a.case_runs):
                    both = await asyncio.gather(
                        *(
                            asyncio.to_thread(wrk_get, wrk, bench.port, *target[n], a.case_seconds, half)
                            for n in ("small", "big")
                        )
                    )
                    for n, r in zip(("small", "big"), both, strict=True):
                        runs[n].append(r)
            else:
                # small, big, big, small, small, big...: a drift of the machine's speed during
                # the case weighs on both sides alike; each side's figures are the medians of
                # its runs, so that one run's scheduling hiccup (a p99 is its run's ~1 %
                # slowest requests) is not taken for the tenant's size
                for size_name in alternating(a.case_runs):
                    runs[size_name].append(
                        await asyncio.to_thread(
                            wrk_get, wrk, bench.port, *target[size_name], a.case_seconds, a.case_concurrency
                        )
                    )
            s, b = (
                {k: statistics.median(r[k] for r in runs[n]) for k in runs[n][0]} for n in ("small", "big")
            )
            m_s, m_b = matches["small"], matches["big"]
            ratios.append(b["p99_ms"] / s["p99_ms"])
            p50_ratios.append(b["p50_ms"] / s["p50_ms"])
            print(
                f"{name:38} {page:>5} {m_s:>7}/{m_b:<7} {s['rps']:>7.0f}/{b['rps']:<7.0f}"
                f" {s['p50_ms']:>6.1f}/{b['p50_ms']:<6.1f} {s['p99_ms']:>7.1f}/{b['p99_ms']:<7.1f}"
                f" {b['p99_ms'] / s['p99_ms']:>13.2f}",
                flush=True,
            )
    print(
        f"p99 ratio {big[2]:,} / {small[2]:,} invoices over {len(ratios)} cases: median {statistics.median(ratios):.2f},"
        f" worst {max(ratios):.2f}, {sum(r > 1.5 for r in ratios)} above 1.5 (goal: all ≤ 1.5); load average: {loadavg()}"
    )
    print(
        f"p50 ratio over the same cases: median {statistics.median(p50_ratios):.2f}, worst {max(p50_ratios):.2f},"
        f" {sum(r > 1.5 for r in p50_ratios)} above 1.5"
    )


def alternating(runs: int) -> list[str]:
    """`runs` runs per side, in pairs that alternate their order: small, big, big, small, ..."""
    pairs = [("small", "big") if i % 2 == 0 else ("big", "small") for i in range(runs)]
    return [side for pair in pairs for side in pair]


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


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
    on_invoices = [ln for ln in plan if " on invoices" in ln or "Sort Key: invoices" in ln]  # not payments
    kinds = [
        k
        for k in ("Bitmap Heap Scan", "Index Scan", "Seq Scan", "Sort")
        if any(k in ln for ln in on_invoices)
    ]
    return ",".join(dict.fromkeys(names)) + (f" ({'/'.join(kinds)})" if kinds else "")


async def deep_cursor(conn: asyncpg.Connection, q: Any, fallback: str) -> tuple[str, int]:
    """The cursor half-way through the filter's own result (as a client paging through it
    would hold), or, with fewer than two matches, `fallback`; and the number of matches."""
    clauses, args = list(q.clauses), list(q.args)
    for op, bound in ((">", getattr(q, "created_after", None)), ("<", getattr(q, "created_before", None))):
        if bound is not None:  # kept apart from the clauses since Query merges it with a cursor
            args.append(bound)
            clauses.append(f"created_at {op} ${len(args)}")
    where = " AND ".join(clauses)
    count = await conn.fetchval(f"SELECT count(*) FROM invoices WHERE {where}", *args)
    if count < 2:
        return fallback, count
    row = await conn.fetchrow(
        f"SELECT created_at, id FROM invoices WHERE {where} ORDER BY created_at DESC, id DESC"
        f" OFFSET {count // 2} LIMIT 1",
        *args,
    )
    return encode_cursor("n", row["created_at"], row["id"]), count


async def measure(bench: Bench) -> None:
    """The query-level table: the list query and the page's body, timed in-process."""
    from faktura.api.invoices import list_body  # here: the HTTP part runs against older code too

    args = bench.args
    big, _, rows, contacts = bench.tenants["big"]
    conn = await asyncpg.connect(bench.dsn)
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=msgspec.json.decode, schema="pg_catalog")
    deep = await conn.fetchrow(
        "SELECT created_at, id FROM invoices WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1",
        big,
        rows // 2,
    )
    tenant_middle = encode_cursor("n", deep["created_at"], deep["id"])
    print(f"\n{'case':38} {'matches':>8} {'page':>5} {'rows':>5} {'query ms':>9} {'body ms':>8}  plan")
    plans: list[tuple[str, list[str]]] = []
    for name, filters in cases(rows, contacts):
        q = list_query(big, entries=True, **filters)
        middle, matches = await deep_cursor(conn, q, tenant_middle)
        for page, cursor in (("first", None), ("deep", middle)):
            times = []
            got: list[Any] = []
            for _ in range(args.repeat):
                async with conn.transaction():
                    await in_tenant(conn, big)
                    t = time.perf_counter()
                    got, nxt, prev = await fetch_page(conn, q, cursor, args.page_size)
                    times.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            body = list_body(got, nxt, prev)
            body_ms = (time.perf_counter() - t) * 1000
            assert body
            text, qargs, _ = q.sql(decode_cursor(cursor) if cursor else None, args.page_size)
            async with conn.transaction():
                await in_tenant(conn, big)
                plan = [r[0] for r in await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {text}", *qargs)]
            plans.append((f"{name} [{page}]", plan))
            print(
                f"{name:38} {matches:>8} {page:>5} {len(got):>5} {statistics.median(times):>9.2f} {body_ms:>8.2f}  {plan_index(plan)}",
                flush=True,
            )
    if args.explain:
        for title, plan in plans:
            print(f"\n-- {title}")
            print("\n".join(plan))
    await conn.close()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--small", type=int, default=10_000, help="invoices in the small measured tenant")
    ap.add_argument("--rows", type=int, default=1_000_000, help="invoices in the big measured tenant")
    ap.add_argument(
        "--others", type=int, default=None, help="invoices over the other tenants (default: --rows)"
    )
    ap.add_argument("--tenants", type=int, default=1_000, help="number of other tenants")
    ap.add_argument("--page-size", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=10, help="per side and round of the ratio")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--case-seconds", type=float, default=3, help="per case, page and tenant")
    ap.add_argument("--case-concurrency", type=int, default=8)
    ap.add_argument(
        "--case-runs", type=int, default=3, help="runs per case, page and tenant (the median counts)"
    )
    ap.add_argument(
        "--together",
        action="store_true",
        help="drive the small and the big tenant at the same time (half the connections each)",
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-cases", action="store_true", help="only the ratio rounds")
    ap.add_argument("--sql", action="store_true", help="also the query-level table")
    ap.add_argument("--repeat", type=int, default=5, help="with --sql: timings per query")
    ap.add_argument("--explain", action="store_true", help="with --sql: print every query plan")
    ap.add_argument("--upto", default=None, help="apply migrations only up to this one")
    ap.add_argument("--keep", action="store_true", help=f"keep the database {DB!r} for --reuse")
    ap.add_argument("--reuse", action="store_true", help=f"measure a kept {DB!r} without seeding")
    args = ap.parse_args()
    args.others = args.rows if args.others is None else args.others
    wrk = find_wrk()
    if wrk is None:
        sys.exit("bench/lists.py: wrk is not installed and could not be (apt-get install wrk)")
    bench = Bench(args)
    reuse = args.reuse and await bench.seeded()
    keys = None if reuse else await bench.create_database()
    try:
        await bench.start()
        if keys is not None:
            print(
                f"seeding {args.small:,} + {args.rows:,} invoices into two tenants,"
                f" {args.others:,} over {args.tenants} others",
                file=sys.stderr,
            )
            await bench.seed(keys)
        await bench.load_tenants()
        print(
            f"# bench/lists.py: {args.small:,} and {args.rows:,} invoices in two tenants + {args.others:,} over"
            f" {args.tenants} others ({'reused' if reuse else 'seeded now'}); {args.workers} server workers;"
            f" wrk; page size {args.page_size}; load average before: {loadavg()}",
            flush=True,
        )
        await ratio_rounds(bench, wrk)
        if not args.no_cases:
            await flatness(bench, wrk)
        if args.sql:
            await measure(bench)
    finally:
        bench.stop()
        if not (args.keep or args.reuse):
            admin = await asyncpg.connect(ADMIN_DSN)
            await admin.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
