"""Scale-out: create-and-issue throughput of 1 API process + 1 worker against 2 + 2, on one
PostgreSQL (or, with `--pgbouncer`, behind pgbouncer in transaction pooling mode).

Each API is `faktura serve --workers 1 --no-worker` and each worker `faktura worker`, started
per round; the worker renders every issued invoice's PDF meanwhile, as in production, at
`FAKTURA_PDF_NICENESS=10` unless the environment says otherwise. The
load is `wrk` (Debian's package; found or installed as bench/issue.py does): two wrk
processes of `--concurrency`/2 connections each, both against the one API, or one against
each of the two. Requests rotate over `--tenants` tenants (one series each), so the series
lock is not what limits. Rounds alternate (1+1, 2+2, 1+1, ...) and the headline is the
median of the rounds' ratios (2+2 / 1+1). Prints the load average before and after.

    .venv/bin/python bench/scaleout.py [--seconds 15] [--rounds 3] [--concurrency 32] [--tenants 16]
                                       [--pgbouncer]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from issue import ADMIN_DSN, ROOT, find_wrk, free_port, setup, ten_line_invoice

from faktura.db.platforms import create_platform

#: wrk script: request n goes to tenant n mod N, with that tenant's headers (one `Name:
#: value` per line, a blank line between tenants) and body (one JSON document per line).
WRK_SCRIPT = """
local tenants, current = {}, {}
for line in io.lines(os.getenv("BENCH_HEADERS")) do
  if line == "" then table.insert(tenants, current); current = {} else
    local k, v = line:match("^([^:]+): (.*)$"); current[k] = v end
end
if next(current) then table.insert(tenants, current) end
local bodies = {}
for line in io.lines(os.getenv("BENCH_BODY")) do table.insert(bodies, line) end
local n = 0
request = function()
  n = n + 1
  local i = (n % #tenants) + 1
  return wrk.format("POST", nil, tenants[i], bodies[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def example(name: str) -> dict[str, Any]:
    return dict(json.loads((ROOT / "docs" / "examples" / f"{name}.json").read_text()))


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_wrk(wrk: str, url: str, files: dict[str, Path], connections: int, seconds: float) -> list[int]:
    out = subprocess.run(
        [
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{round(seconds)}s",
            "--timeout",
            "10s",
            "-s",
            str(files["lua"]),
            url,
        ],
        env={**os.environ, "BENCH_BODY": str(files["body"]), "BENCH_HEADERS": str(files["headers"])},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("WRK "))
    return [int(x) for x in line.split()[1:]]


class Stack:
    """API processes and workers on one database, started and stopped per round."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, apis: int, workers: int) -> list[str]:
        urls = [self._api() for _ in range(apis)]
        for _ in range(workers):
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "faktura.cli", "worker"],
                    env=self.env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        return urls

    def _api(self, tries: int = 3) -> str:
        """One API process, answering; a port taken meanwhile by another process means a retry."""
        for _ in range(tries):
            port = free_port()
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "faktura.cli",
                    "serve",
                    "--port",
                    str(port),
                    "--workers",
                    "1",
                    "--no-worker",
                ],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self.procs.append(proc)
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                        return url
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
        raise RuntimeError("the API process did not start")

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []


def start_bouncer(dsn: str) -> tuple[subprocess.Popen[bytes], int, Path]:
    """pgbouncer in transaction pooling mode in front of the bench database."""
    pgbouncer = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="fk-bench-pgb-"))
    (tmp / "users.txt").write_text('"faktura_app" ""\n"postgres" ""\n')
    host = dsn.split("@", 1)[1].split("/", 1)[0]
    h, _, p = host.partition(":")
    (tmp / "pgbouncer.ini").write_text(
        f"[databases]\n* = host={h} port={p or 5432}\n[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {tmp}/users.txt\n"
        "pool_mode = transaction\ndefault_pool_size = 20\nmax_client_conn = 500\n"
    )
    os.chmod(tmp, 0o755)
    for f in tmp.iterdir():
        os.chmod(f, 0o644)
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    proc = subprocess.Popen([pgbouncer, *user, str(tmp / "pgbouncer.ini")], stderr=subprocess.DEVNULL)
    time.sleep(1)
    return proc, port, tmp


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=15, help="per side and round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--tenants", type=int, default=16)
    ap.add_argument("--pgbouncer", action="store_true", help="APIs and job transactions through pgbouncer")
    args = ap.parse_args()
    wrk = find_wrk()
    if wrk is None:
        sys.exit("bench/scaleout.py: wrk is not installed and could not be (apt-get install wrk)")

    db = f"faktura_bench_scale_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{db}"')
    dsn = ADMIN_DSN.rpartition("/")[0] + "/" + db
    bouncer = None
    stack = None
    tmp = Path(tempfile.mkdtemp(prefix="fk-bench-scale-"))
    try:
        dsn, _ = await setup(dsn)
        env = {
            **os.environ,
            "DATABASE_URL": dsn,
            "FAKTURA_DATA_DIR": str(tmp / "data"),
            "FAKTURA_DB_POOL_MAX": "8",
            # the PDFs of the issued invoices render meanwhile, after the API's and the issuing work
            "FAKTURA_PDF_NICENESS": os.environ.get("FAKTURA_PDF_NICENESS", "10"),
            "FAKTURA_RATE_LIMIT_TENANT": "1000000",
            "FAKTURA_RATE_LIMIT_TENANT_BURST": "1000000",
            "FAKTURA_RATE_LIMIT_PLATFORM": "1000000",
            "FAKTURA_RATE_LIMIT_PLATFORM_BURST": "1000000",
        }
        if args.pgbouncer:
            bouncer, port, _ = start_bouncer(dsn)
            env |= {
                "FAKTURA_APP_DATABASE_URL": f"postgresql://faktura_app@127.0.0.1:{port}/{db}",
                "FAKTURA_DB_STATEMENT_CACHE_SIZE": "0",
                "FAKTURA_QUEUE_DATABASE_URL": f"postgresql://faktura_app@{dsn.split('@', 1)[1]}",
            }
        stack = Stack(env)
        (url,) = stack.start(1, 0)
        tenants = []  # (headers, contact): one platform per tenant, each with the example tenant
        owner = await asyncpg.connect(dsn)
        async with httpx.AsyncClient(base_url=url, timeout=30) as c:
            for _ in range(args.tenants):
                _, platform_key = await create_platform(owner, "bench")
                h = {"Authorization": f"Bearer {platform_key}"}
                r = await c.post("/v1/tenants", json=example("tenant"), headers=h)
                h["X-Account-Token"] = r.json()["model"]["account_token"]
                contact = (await c.post("/v1/contacts", json=example("contact"), headers=h)).json()["model"][
                    "id"
                ]
                tenants.append((h, contact))
        await owner.close()
        stack.stop()
        files = {"lua": tmp / "script.lua", "body": tmp / "body", "headers": tmp / "headers"}
        files["lua"].write_text(WRK_SCRIPT)
        files["body"].write_text(
            "".join(json.dumps(ten_line_invoice(contact)) + "\n" for _, contact in tenants)
        )
        files["headers"].write_text(
            "\n".join(
                "".join(f"{k}: {v}\n" for k, v in {"Content-Type": "application/json", **h}.items())
                for h, _ in tenants
            )
        )
        print(
            f"# bench/scaleout.py: 1 API + 1 worker vs 2 + 2 (each API 1 process), {args.tenants} tenants,"
            f" concurrency {args.concurrency} (2 wrk processes), {args.rounds} rounds of {args.seconds:.0f} s per side,"
            f" {'behind pgbouncer (transaction mode)' if args.pgbouncer else 'direct to PostgreSQL'};"
            f" load average before: {loadavg()}",
            flush=True,
        )
        pool = ThreadPoolExecutor(2)

        async def side(n: int) -> dict[str, float]:
            urls = stack.start(n, n)  # type: ignore[union-attr]
            try:
                targets = [f"{urls[i % n]}/v1/invoices?issue=true" for i in range(2)]
                loop = asyncio.get_running_loop()
                for t in targets:  # warm-up
                    await loop.run_in_executor(pool, run_wrk, wrk, t, files, 2, 2)
                runs = await asyncio.gather(
                    *[
                        loop.run_in_executor(
                            pool, run_wrk, wrk, t, files, args.concurrency // 2, args.seconds
                        )
                        for t in targets
                    ]
                )
            finally:
                stack.stop()  # type: ignore[union-attr]
            requests = sum(r[0] for r in runs)
            duration = max(r[1] for r in runs) / 1e6
            return {
                "rps": requests / duration,
                "p50": max(r[2] for r in runs) / 1000,
                "p99": max(r[3] for r in runs) / 1000,
                "errors": sum(r[4] + r[5] for r in runs),
                "requests": requests,
            }

        ratios = []
        for rnd in range(1, args.rounds + 1):
            one = await side(1)
            two = await side(2)
            ratios.append(two["rps"] / one["rps"])
            for name, r in (("1 API + 1 worker", one), ("2 APIs + 2 workers", two)):
                print(
                    f"round {rnd} {name:18s} {r['rps']:7.1f} req/s  p50 {r['p50']:7.1f} ms  p99 {r['p99']:7.1f} ms"
                    f"  ({r['requests']:.0f} requests, {r['errors']:.0f} errors)"
                )
            print(f"round {rnd} ratio {ratios[-1]:.3f}", flush=True)
        print(
            f"median ratio 2+2 / 1+1 over {args.rounds} rounds: {statistics.median(ratios):.3f}"
            f" (rounds: {', '.join(f'{r:.3f}' for r in ratios)}); load average after: {loadavg()}"
        )
    finally:
        if stack is not None:
            stack.stop()
        if bouncer is not None:
            bouncer.terminate()
            bouncer.wait(10)
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
