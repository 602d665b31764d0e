"""Throughput of create-and-issue against a baseline INSERT, on the same deployed stack.

Starts `faktura serve --workers N` on loopback against a fresh database, then drives, for
`--seconds` each at `--concurrency` open connections:

  1. baseline: `POST /bench/baseline` — the same app and server, a handler that only
     INSERTs the request JSON with asyncpg (what any JSON-over-PostgreSQL service costs);
  2. faktura:  `POST /v1/invoices?issue=true` with a 10-line invoice (validate, number,
     total, render UBL, store — one transaction).

The load comes from `wrk` (Debian's package; installed with apt-get when missing and
possible), an external client written in C, so the client does not eat the cores it
measures; `--client python` uses the built-in asyncio client instead. The two sides
alternate for `--rounds` rounds (baseline, faktura, baseline, ...), so the machine's
drifting speed affects both alike; the headline is the median of the rounds' ratios.
Prints requests/s and p50/p99 latency per round, and the load average before and after.

    .venv/bin/python bench/issue.py [--seconds 15] [--concurrency 32] [--workers 2] [--rounds 3]
                                    [--client wrk|python]
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


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = io.open(os.getenv("BENCH_BODY"), "rb"):read("*a")
for line in io.lines(os.getenv("BENCH_HEADERS")) do
  local k, v = line:match("^([^:]+): (.*)$")
  wrk.headers[k] = v
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def find_wrk() -> str | None:
    """`wrk`, installed from Debian with apt-get if missing (and we may); None if unavailable."""
    if path := shutil.which("wrk"):
        return path
    if shutil.which("apt-get") and os.geteuid() == 0:
        print("# wrk not found: apt-get install -y wrk", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], capture_output=True, check=False)
    return shutil.which("wrk")


def drive_wrk(
    wrk: str, port: int, path: str, body: bytes, headers: dict[str, str], seconds: float, concurrency: int
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        files = {name: Path(tmp) / name for name in ("script.lua", "body", "headers")}
        files["script.lua"].write_text(WRK_SCRIPT)
        files["body"].write_bytes(body)
        heads = {"Content-Type": "application/json", **headers}
        files["headers"].write_text("".join(f"{k}: {v}\n" for k, v in heads.items()))
        out = subprocess.run(
            [
                wrk,
                "-t2",
                "--timeout",
                "10s",
                f"-c{concurrency}",
                f"-d{max(1, round(seconds))}s",
                "-s",
                str(files["script.lua"]),
                f"http://127.0.0.1:{port}{path}",
            ],
            env={**os.environ, "BENCH_BODY": str(files["body"]), "BENCH_HEADERS": str(files["headers"])},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    if os.environ.get("BENCH_DEBUG"):
        print(out, file=sys.stderr)
    line = next(ln for ln in out.splitlines() if ln.startswith("WRK "))
    requests, duration_us, p50, p99, errors, status_errors = (int(x) for x in line.split()[1:])
    if status_errors:
        print(f"  {status_errors} responses with a status >= 400 on {path}", file=sys.stderr)
    return {
        "requests": requests,
        "errors": errors + status_errors,
        "rps": requests / (duration_us / 1e6),
        "p50_ms": p50 / 1000,
        "p99_ms": p99 / 1000,
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
    ap.add_argument("--seconds", type=float, default=15, help="per side and round")
    ap.add_argument("--rounds", type=int, default=3, help="rounds, each measuring baseline then faktura")
    ap.add_argument("--client", choices=("wrk", "python"), default="wrk", help="load generator")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--with-job-worker",
        action="store_true",
        help="also run the job worker on the same cores (it renders a PDF/A-3 per issued invoice meanwhile)",
    )
    args = ap.parse_args()
    wrk = find_wrk() if args.client == "wrk" else None
    if args.client == "wrk" and wrk is None:
        sys.exit(
            "bench/issue.py: wrk is not installed and could not be (apt-get install wrk); skipped. "
            "Run with --client python to use the built-in client instead."
        )

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
            stderr=server_log,  # a file: an unread pipe fills up and stalls the server's logging
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
            f"# bench/issue.py: {args.workers} server workers, concurrency {args.concurrency},"
            f" {args.rounds} rounds of {args.seconds:.0f} s per side, client {args.client}, loopback;"
            f" load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )

        async def side(path: str, seconds: float) -> dict[str, float]:
            if wrk is not None:
                return await asyncio.to_thread(
                    drive_wrk, wrk, port, path, invoice, headers, seconds, args.concurrency
                )
            return await drive(port, path, invoice, headers, seconds, args.concurrency)

        await side("/bench/baseline", 2)  # warm-up
        await side("/v1/invoices?issue=true", 2)
        ratios = []
        for n in range(1, args.rounds + 1):
            base = await side("/bench/baseline", args.seconds)
            fak = await side("/v1/invoices?issue=true", args.seconds)
            ratios.append(fak["rps"] / base["rps"])
            for name, r in (("baseline INSERT", base), ("create+issue", fak)):
                print(
                    f"round {n} {name:16s} {r['rps']:8.1f} req/s  p50 {r['p50_ms']:7.1f} ms"
                    f"  p99 {r['p99_ms']:7.1f} ms  ({r['requests']:.0f} requests, {r['errors']:.0f} errors)"
                )
            print(f"round {n} ratio {ratios[-1]:.3f}", flush=True)
        print(
            f"median ratio create+issue / baseline over {args.rounds} rounds: {statistics.median(ratios):.3f}"
            f" (rounds: {', '.join(f'{r:.3f}' for r in ratios)});"
            f" load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
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


if __name__ == "__main__":
    asyncio.run(main())
