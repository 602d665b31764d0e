"""Throughput of create-and-issue against a baseline INSERT, on the same deployed stack.

Starts `faktura serve --workers N` on loopback against a fresh database, then drives, for
`--seconds` each at `--concurrency` open connections:

  1. baseline: `POST /bench/baseline` — the same app and server, a handler that only
     INSERTs the request JSON with asyncpg (what any JSON-over-PostgreSQL service costs);
  2. faktura:  `POST /v1/invoices?issue=true` with a 10-line invoice (validate, number,
     total, render UBL, store — one transaction).

Prints requests/s, p50/p99 latency and the ratio faktura/baseline. Both run in the same
process tree on the same machine in the same run, so the ratio is what to compare.

    .venv/bin/python bench/issue.py [--seconds 30] [--concurrency 32] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg

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
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        head += "Content-Type: application/json\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.writer.write(head.encode() + b"\r\n" + body)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        payload = await self.reader.readexactly(length)
        return status, payload


async def drive(
    port: int, path: str, body: bytes, headers: dict[str, str], seconds: float, concurrency: int
) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        c = Client(port)
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            status, payload = await c.request("POST", path, body, headers)
            if status >= 300:
                errors += 1
                if errors == 1:
                    print(f"  first error {status}: {payload[:300]!r}", file=sys.stderr)
            latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*[worker() for _ in range(concurrency)])
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


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


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--with-job-worker",
        action="store_true",
        help="also run the job worker on the same cores (it renders a PDF/A-3 per issued invoice meanwhile)",
    )
    args = ap.parse_args()

    db = f"faktura_bench_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{db}"')
    dsn = ADMIN_DSN.rpartition("/")[0] + "/" + db
    port = free_port()
    server = None
    try:
        dsn, key = await setup(dsn)
        env = {
            **os.environ,
            "DATABASE_URL": dsn,
            "FAKTURA_BENCH_BASELINE": "1",
            "FAKTURA_DB_POOL_MAX": "20",
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
                str(args.workers),
                *([] if args.with_job_worker else ["--no-worker"]),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(200):
            try:
                c = Client(port)
                status, _ = await c.request("GET", "/health", b"", {})
                if status == 200:
                    break
            except OSError:
                await asyncio.sleep(0.1)
        c = Client(port)
        tenant_body = (ROOT / "docs/examples/tenant.json").read_bytes()
        status, payload = await c.request(
            "POST", "/v1/tenants", tenant_body, {"Authorization": f"Bearer {key}"}
        )
        token = json.loads(payload)["model"]["account_token"]
        headers = {"Authorization": f"Bearer {key}", "X-Account-Token": token}
        status, payload = await c.request(
            "POST", "/v1/contacts", (ROOT / "docs/examples/contact.json").read_bytes(), headers
        )
        contact = json.loads(payload)["model"]["id"]
        invoice = json.dumps(ten_line_invoice(contact)).encode()

        print(
            f"# bench/issue.py: {args.workers} server workers, concurrency {args.concurrency}, {args.seconds:.0f} s each, loopback"
        )
        await drive(port, "/bench/baseline", invoice, headers, 2, args.concurrency)  # warm-up
        await drive(port, "/v1/invoices?issue=true", invoice, headers, 2, args.concurrency)
        base = await drive(port, "/bench/baseline", invoice, headers, args.seconds, args.concurrency)
        fak = await drive(port, "/v1/invoices?issue=true", invoice, headers, args.seconds, args.concurrency)
        for name, r in (("baseline INSERT", base), ("create+issue", fak)):
            print(
                f"{name:16s} {r['rps']:8.1f} req/s  p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms"
                f"  ({r['requests']:.0f} requests, {r['errors']:.0f} errors)"
            )
        print(f"ratio create+issue / baseline: {fak['rps'] / base['rps']:.2f}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
