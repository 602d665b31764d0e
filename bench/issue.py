"""Throughput of create-and-issue against a baseline INSERT, on the same deployed stack.

Starts `faktura serve --workers N` on loopback against a fresh database, then drives, for
`--seconds` each at `--concurrency` open connections, three sides in turn:

  1. baseline: `POST /bench/baseline` — the same app and server, a handler that only
     INSERTs the request JSON with asyncpg (what any JSON-over-PostgreSQL service costs);
  2. `POST /v1/invoices?issue=true` with a 10-line invoice, all on one tenant's one number
     series (validate, number, total, render UBL, store — one transaction);
  3. the same spread over `--tenants` tenants (each request the next tenant's), each with
     its own series.

The load comes from `wrk` (Debian's package; installed with apt-get when missing and
possible), an external client written in C, so the client does not eat the cores it
measures; `--client python` uses the built-in asyncio client instead. The sides alternate
for `--rounds` rounds (baseline, one series, many tenants, baseline, ...), so the machine's
drifting speed affects them alike; the headline is the median of the rounds' ratios to
their round's baseline. Prints requests/s, p50/p99 latency and the server's CPU time per
request (all its processes, from /proc) and its database's PostgreSQL backends' CPU time
per request ("pg") per round, how many issues shared each numbering transaction, and the load
average before and after.

    .venv/bin/python bench/issue.py [--seconds 15] [--concurrency 32] [--workers 2] [--rounds 3]
                                    [--tenants 16] [--client wrk|python] [--table]

`--table` adds the other rows of the table the scale work started from: create a draft,
validate (the dry run), and a list page of 50 of the first tenant's invoices.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import asyncpg
from pgmaint import autovacuum_stand_in

ROOT = Path(__file__).resolve().parents[1]
ADMIN_DSN = os.environ.get("FAKTURA_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ten_line_invoice(contact: str) -> dict[str, object]:
    model = json.loads((ROOT / "docs/examples/invoice.json").read_text())["model"]
    model["contact"] = contact
    base = model["line_items"]
    model["line_items"] = [
        {**base[i % 2], "quantity": str(i + 1), "description": f"Line {i + 1}"} for i in range(10)
    ]
    return {"model": model}


class Client:
    """A minimal keep-alive HTTP/1.1 client: cheap enough not to be the bottleneck."""

    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        head += "Content-Type: application/json\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        for fresh in (self.writer is None, True):
            if fresh:  # the first request, or the server closed an idle keep-alive connection
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            assert self.reader is not None and self.writer is not None
            self.writer.write(head.encode() + b"\r\n" + body)
            if status_line := await self.reader.readline():
                break
        status = int(status_line.split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        payload = await self.reader.readexactly(length)
        return status, payload


async def drive(port: int, requests: list[Request], seconds: float, concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker(offset: int) -> None:
        nonlocal errors
        c = Client(port)
        n = offset
        while time.perf_counter() < deadline:
            r = requests[n % len(requests)]
            n += 1
            t0 = time.perf_counter()
            status, payload = await c.request(r.method, r.path, r.body, r.headers)
            if status >= 300:
                errors += 1
                if errors == 1:
                    print(f"  first error {status}: {payload[:300]!r}", file=sys.stderr)
            latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*[worker(i) for i in range(concurrency)])
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


WRK_SCRIPT = """
local requests = {}
local n = 0
init = function(args)
  for i, r in ipairs(REQUESTS) do
    requests[i] = wrk.format(r[1], r[2], r[3], r[4])
  end
  n = math.random(#requests)  -- each thread starts elsewhere in the list
end
request = function()
  n = n % #requests + 1
  return requests[n]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.connect + e.read + e.write + e.timeout, e.status))
end
"""


class Request(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


def lua_string(value: str | bytes) -> str:
    text = value.decode() if isinstance(value, bytes) else value
    return (
        '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'
    )


def lua_requests(requests: list[Request]) -> str:
    """The requests wrk sends, in turn, as a Lua table."""
    rows = []
    for r in requests:
        heads = {"Content-Type": "application/json", **r.headers} if r.body else r.headers
        table = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in heads.items())
        body = lua_string(r.body) if r.body else "nil"
        rows.append(f"{{{lua_string(r.method)}, {lua_string(r.path)}, {{{table}}}, {body}}}")
    return "REQUESTS = {\n" + ",\n".join(rows) + "\n}\n"


def find_wrk() -> str | None:
    """`wrk`, installed from Debian with apt-get if missing (and we may); None if unavailable."""
    if path := shutil.which("wrk"):
        return path
    if shutil.which("apt-get") and os.geteuid() == 0:
        print("# wrk not found: apt-get install -y wrk", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], capture_output=True, check=False)
    return shutil.which("wrk")


def drive_wrk(
    wrk: str, port: int, requests: list[Request], seconds: float, concurrency: int
) -> dict[str, float]:
    """`requests` in turn (each connection takes the next), for `seconds`, over `concurrency`
    connections from 2 wrk threads."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "script.lua"
        script.write_text(lua_requests(requests) + WRK_SCRIPT)
        out = subprocess.run(
            [
                wrk,
                "-t2",
                "--timeout",
                "10s",
                f"-c{concurrency}",
                f"-d{max(1, round(seconds))}s",
                "-s",
                str(script),
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    if os.environ.get("BENCH_DEBUG"):
        print(out, file=sys.stderr)
    line = next(ln for ln in out.splitlines() if ln.startswith("WRK "))
    count, duration_us, p50, p99, errors, status_errors = (int(x) for x in line.split()[1:])
    if status_errors:
        print(f"  {status_errors} responses with a status >= 400 on {requests[0].path}", file=sys.stderr)
    return {
        "requests": count,
        "errors": errors + status_errors,
        "rps": count / (duration_us / 1e6),
        "p50_ms": p50 / 1000,
        "p99_ms": p99 / 1000,
    }


def cpu_seconds(root: int) -> float:
    """User + system CPU seconds of process `root` and all its descendants (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return sum(times.get(pid, 0.0) for pid in tree)


async def setup(dsn: str) -> tuple[str, str]:
    from faktura.db.migrate import migrate
    from faktura.db.platforms import create_platform

    await migrate(dsn)
    conn = await asyncpg.connect(dsn)
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS bench_baseline (id bigserial PRIMARY KEY, body jsonb NOT NULL)"
    )
    await conn.execute(
        "GRANT INSERT ON bench_baseline TO faktura_app; GRANT USAGE ON SEQUENCE bench_baseline_id_seq TO faktura_app"
    )
    _, key = await create_platform(conn, "bench")
    await conn.close()
    return dsn, key


def vat_id(n: int) -> str:
    """The `n`-th valid German VAT id (a platform has one tenant per VAT id)."""
    from stdnum.de import vat

    found = 0
    for candidate in range(100_000_000, 999_999_999):
        if vat.is_valid(f"DE{candidate}"):
            if found == n:
                return f"DE{candidate}"
            found += 1
    raise ValueError(n)


@dataclass
class Stack:
    """`faktura serve` on loopback against a fresh database, with a platform key."""

    port: int
    key: str
    pid: int
    database: str

    async def call(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        return await Client(self.port).request(method, path, body, headers)

    async def tenant(self, n: int) -> tuple[dict[str, str], bytes]:
        """Tenant number `n` with one contact: its headers and a 10-line invoice for it."""
        tenant = json.loads((ROOT / "docs/examples/tenant.json").read_bytes())
        if n:
            tenant["model"]["vat_id"] = tenant["model"]["endpoint"]["value"] = vat_id(n)
        status, payload = await self.call(
            "POST", "/v1/tenants", json.dumps(tenant).encode(), {"Authorization": f"Bearer {self.key}"}
        )
        assert status == 201, payload
        token = json.loads(payload)["model"]["account_token"]
        headers = {"Authorization": f"Bearer {self.key}", "X-Account-Token": token}
        status, payload = await self.call(
            "POST", "/v1/contacts", (ROOT / "docs/examples/contact.json").read_bytes(), headers
        )
        contact = json.loads(payload)["model"]["id"]
        return headers, json.dumps(ten_line_invoice(contact)).encode()


@asynccontextmanager
async def stack(workers: int, *, job_worker: bool = False, pool: int = 10) -> AsyncIterator[Stack]:
    """The server, each worker with a database pool of `pool` connections opened at start
    (the PostgreSQL server may be shared: a pool that cannot grow mid-run would fail requests)."""
    db = f"faktura_bench_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{db}"')
    dsn = ADMIN_DSN.rpartition("/")[0] + "/" + db
    port = free_port()
    server = None
    server_log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in `finally`)
    try:
        dsn, key = await setup(dsn)
        env = {
            **os.environ,
            "DATABASE_URL": dsn,
            "FAKTURA_BENCH_BASELINE": "1",
            "FAKTURA_DB_POOL_MIN": str(pool),
            "FAKTURA_DB_POOL_MAX": str(pool),
            # one tenant at full speed: the limits stay on (their cost is measured) but never bind
            "FAKTURA_RATE_LIMIT_TENANT": "1000000",
            "FAKTURA_RATE_LIMIT_TENANT_BURST": "1000000",
            "FAKTURA_RATE_LIMIT_PLATFORM": "1000000",
            "FAKTURA_RATE_LIMIT_PLATFORM_BURST": "1000000",
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "faktura.cli",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
                *([] if job_worker else ["--no-worker"]),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=server_log,  # a file: an unread pipe fills up and stalls the server's logging
        )
        for _ in range(600):
            try:
                status, _ = await Client(port).request("GET", "/health", b"", {})
                if status == 200:
                    break
            except OSError:
                await asyncio.sleep(0.1)
        else:
            server_log.seek(0)
            sys.exit(f"bench: the server did not start:\n{server_log.read().decode()[-3000:]}")
        yield Stack(port, key, server.pid, db)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        server_log.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()


def postgres_cpu_seconds(database: str) -> float:
    """User + system CPU seconds of the PostgreSQL backends serving `database` (found by their
    process titles, `postgres: [<cluster>:] <user> <database> ...`); a backend that ended is not counted."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().split(b"\0")[0].split()
            if title[:1] != [b"postgres:"]:
                continue
            words = title[2:] if title[1].endswith(b":") else title[1:]  # after a cluster name
            if words[1:2] != [database.encode()]:
                continue
            stat = (entry / "stat").read_text()
        except (OSError, IndexError):
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


async def alternate(
    s: Stack, sides: dict[str, list[Request]], args: argparse.Namespace, wrk: str | None
) -> dict[str, list[dict[str, float]]]:
    """Rounds of every side in turn, the first side being the baseline; prints each side's
    rate, latency, server CPU per request and ratio to that round's baseline. Returns each
    side's figures per round."""

    observer = await asyncpg.connect(ADMIN_DSN.rpartition("/")[0] + "/" + s.database)
    maintainer = await asyncpg.connect(ADMIN_DSN.rpartition("/")[0] + "/" + s.database)
    stop = asyncio.Event()
    maintenance = asyncio.create_task(autovacuum_stand_in(maintainer, stop))

    async def side(requests: list[Request], seconds: float) -> dict[str, float]:
        since = await observer.fetchval("SELECT clock_timestamp()")
        cpu, pg = cpu_seconds(s.pid), postgres_cpu_seconds(s.database)
        if wrk is not None:
            r = await asyncio.to_thread(drive_wrk, wrk, s.port, requests, seconds, args.concurrency)
        else:
            r = await drive(s.port, requests, seconds, args.concurrency)
        if not r["requests"]:
            sys.exit(f"bench: no request on {requests[0].path} was answered (did the server stop?)")
        r["cpu_ms"] = (cpu_seconds(s.pid) - cpu) / max(1.0, r["requests"]) * 1000
        r["pg_ms"] = (postgres_cpu_seconds(s.database) - pg) / max(1.0, r["requests"]) * 1000
        r["batch"] = await issue_batch_size(observer, since, r["requests"])
        return r

    for requests in sides.values():  # warm-up
        await side(requests, 2)
    results: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
    baseline = next(iter(sides))
    for n in range(1, args.rounds + 1):
        for name, requests in sides.items():
            r = await side(requests, args.seconds)
            r["ratio"] = r["rps"] / results[baseline][-1]["rps"] if name != baseline else 1.0
            results[name].append(r)
            print(
                f"round {n} {name:28s} {r['rps']:8.1f} req/s  p50 {r['p50_ms']:7.1f} ms"
                f"  p99 {r['p99_ms']:7.1f} ms  cpu {r['cpu_ms']:5.2f} + pg {r['pg_ms']:5.2f} ms/req"
                f"  ({r['requests']:.0f} requests, {r['errors']:.0f} errors)"
                + (f"  ratio {r['ratio']:.3f}" if name != baseline else "")
                + (f"  {r['batch']:.1f} issues per transaction" if name != baseline and r["batch"] else ""),
                flush=True,
            )
    print(f"summary over {args.rounds} rounds (medians); load average after: {load_average()}")
    for name, rs in results.items():
        med = {
            k: statistics.median(r[k] for r in rs)
            for k in ("rps", "p50_ms", "p99_ms", "cpu_ms", "pg_ms", "ratio", "batch")
        }
        ratios = ", ".join(f"{r['ratio']:.3f}" for r in rs)
        print(
            f"  {name:28s} {med['rps']:8.1f} req/s  p50 {med['p50_ms']:7.1f} ms  p99 {med['p99_ms']:7.1f} ms"
            f"  cpu {med['cpu_ms']:5.2f} + pg {med['pg_ms']:5.2f} ms/req"
            + (f"  ratio {med['ratio']:.3f} (rounds: {ratios})" if name != baseline else "")
            + (f"  {med['batch']:.1f} issues per transaction" if name != baseline and med["batch"] else "")
        )
    stop.set()
    await maintenance
    await observer.close()
    await maintainer.close()
    return results


async def issue_batch_size(conn: asyncpg.Connection, since: object, requests: float) -> float:
    """Invoices issued since `since` per transaction that issued them (their rows' `xmin`):
    how many issues of a series shared one numbering transaction (`faktura.issue_batch`).
    0 for a side that issued nothing itself (a few of the previous side's issues may finish
    after `since`)."""
    issued, transactions = await conn.fetchrow(
        "SELECT count(*), count(DISTINCT xmin::text) FROM invoices"
        " WHERE created_at >= $1 AND number IS NOT NULL",
        since,
    )
    return issued / transactions if transactions and issued >= requests / 2 else 0.0


def parser(doc: str, seconds: float = 15) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=seconds, help="per side and round")
    ap.add_argument("--rounds", type=int, default=3, help="rounds, each measuring every side in turn")
    ap.add_argument("--client", choices=("wrk", "python"), default="wrk", help="load generator")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--pool", type=int, default=10, help="database connections per server worker")
    ap.add_argument(
        "--with-job-worker",
        action="store_true",
        help="also run the job worker on the same cores (PDFs and archive writes meanwhile)",
    )
    return ap


def load_generator(args: argparse.Namespace) -> str | None:
    wrk = find_wrk() if args.client == "wrk" else None
    if args.client == "wrk" and wrk is None:
        sys.exit(
            "bench: wrk is not installed and could not be (apt-get install wrk); skipped. "
            "Run with --client python to use the built-in client instead."
        )
    return wrk


async def main() -> None:
    ap = parser(__doc__ or "")
    ap.add_argument("--tenants", type=int, default=16, help="tenants of the many-tenant side")
    ap.add_argument(
        "--table",
        action="store_true",
        help="also the other paths of the scale issue's table: create draft, validate (dry run), list page of 50",
    )
    args = ap.parse_args()
    wrk = load_generator(args)
    async with stack(args.workers, job_worker=args.with_job_worker, pool=args.pool) as s:
        tenants = [await s.tenant(n) for n in range(args.tenants)]
        headers, invoice = tenants[0]
        print(
            f"# bench/issue.py: {args.workers} server workers ({args.pool} connections each),"
            f" concurrency {args.concurrency},"
            f" {args.rounds} rounds of {args.seconds:.0f} s per side, client {args.client}, loopback;"
            f" load average before: {load_average()}"
        )
        issue = "/v1/invoices?issue=true"
        sides = {
            "baseline INSERT": [Request("POST", "/bench/baseline", headers, invoice)],
            "create+issue, one series": [Request("POST", issue, headers, invoice)],
            f"create+issue, {len(tenants)} tenants": [Request("POST", issue, h, b) for h, b in tenants],
        }
        if args.table:
            sides["create draft"] = [Request("POST", "/v1/invoices", headers, invoice)]
            sides["validate (dry run)"] = [Request("POST", "/v1/invoices/validate", headers, invoice)]
            # the tenant's invoices by then: the warm-up's and the rounds' issues and drafts
            sides["list, page of 50"] = [Request("GET", "/v1/invoices?page_size=50", headers)]
        await alternate(s, sides, args, wrk)


if __name__ == "__main__":
    asyncio.run(main())
