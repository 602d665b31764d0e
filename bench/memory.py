"""Memory of the API and job worker processes under load, sampled from /proc.

Starts `faktura serve --workers N --no-worker` (the API) and one `faktura worker` (the job
worker, which renders and archives a PDF/A-3 per issued invoice) on loopback against a
fresh database, samples the resident set size (VmRSS) of every process of both trees every
`--interval` seconds, and drives, with `wrk` (see bench/issue.py):

  1. bulk PDFs: one bulk batch of `--bulk` invoices, issued, until the last one's PDF is
     archived; the job worker's RSS after each quarter of the PDFs shows whether it grows
     with the work or stays bounded;
  2. issue: `POST /v1/invoices?issue=true` (a 10-line invoice), `--seconds` at `--concurrency`
     (the job worker renders their PDFs meanwhile);
  3. lists: `GET /v1/invoices?page_size=50`, then `?page_size=100&expand=contact,line_items`
     (the full path), `--seconds` each.

Prints each phase's peak RSS per role (API master, API worker, job worker and any child of
it) and the goals: API worker ≤ 250 MB; job worker bounded.

    .venv/bin/python bench/memory.py [--seconds 15] [--concurrency 32] [--workers 2] [--bulk 120]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import asyncpg
from issue import ADMIN_DSN, ROOT, Client, drive_wrk, find_wrk, free_port, setup, ten_line_invoice
from lists import loadavg, server_env, wrk_get

API_WORKER_GOAL_MB = 250


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def children() -> dict[int, list[int]]:
    """ppid -> pids, from /proc/*/stat."""
    out: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rpartition(")")[2].split()[1])
            out.setdefault(ppid, []).append(int(entry.name))
    return out


class Sampler(threading.Thread):
    """Samples the RSS of every process under the given roots, by role, until stopped;
    keeps each phase's peak per role."""

    def __init__(self, roots: dict[str, int], interval: float):
        super().__init__(daemon=True)
        self.roots, self.interval = roots, interval
        self.phase = "start"
        self.peaks: dict[str, dict[str, float]] = {}
        self.latest: dict[str, float] = {}
        self.halt = threading.Event()

    def roles(self) -> dict[int, str]:
        tree = children()
        roles: dict[int, str] = {}
        for role, root in self.roots.items():
            roles[root] = role
            todo = [(pid, f"{role} child") for pid in tree.get(root, [])]
            while todo:
                pid, name = todo.pop()
                roles[pid] = name
                todo += [(p, name) for p in tree.get(pid, [])]
        return roles

    def run(self) -> None:
        while not self.halt.wait(self.interval):
            now: dict[str, float] = {}
            for pid, role in self.roles().items():
                if (mb := rss_mb(pid)) is not None:
                    now[role] = max(now.get(role, 0.0), mb)
            self.latest = now
            peaks = self.peaks.setdefault(self.phase, {})
            for role, mb in now.items():
                peaks[role] = max(peaks.get(role, 0.0), mb)


async def wait_ready(port: int) -> None:
    for _ in range(600):
        try:
            status, _ = await Client(port).request("GET", "/health", b"", {})
            if status == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("bench/memory.py: the server did not start")


async def bulk_pdfs(
    conn: asyncpg.Connection, port: int, headers: dict[str, str], invoice: bytes, n: int, sampler: Sampler
) -> None:
    """One bulk batch of `n` issued invoices; the job worker's RSS at each quarter of the PDFs."""
    model = json.loads(invoice)["model"]
    body = json.dumps(
        {"issue": True, "items": [{"idempotency_key": f"m-{uuid.uuid4()}", "model": model} for _ in range(n)]}
    ).encode()
    before = await conn.fetchval("SELECT count(*) FROM archive_entries WHERE kind = 'pdf'")
    status, payload = await Client(port).request("POST", "/v1/invoices/bulk", body, headers)
    assert status == 202, payload[:300]
    started = time.monotonic()
    marks = [n * q // 4 for q in range(1, 5)]
    line = []
    while marks:
        done = await conn.fetchval("SELECT count(*) FROM archive_entries WHERE kind = 'pdf'") - before
        while marks and done >= marks[0]:
            line.append(f"{marks.pop(0)} PDFs: {sampler.latest.get('job worker', 0):.0f} MB")
        if time.monotonic() - started > 3600:
            raise SystemExit("bench/memory.py: the bulk's PDFs took over an hour")
        await asyncio.sleep(0.5)
    print(
        f"bulk of {n}: last PDF archived after {time.monotonic() - started:.1f} s; job worker RSS at "
        + ", ".join(line),
        flush=True,
    )


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=15, help="per load phase")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--bulk", type=int, default=120, help="invoices in the bulk batch (one PDF each)")
    ap.add_argument("--interval", type=float, default=0.2, help="seconds between samples")
    args = ap.parse_args()
    wrk = find_wrk()
    if wrk is None:
        sys.exit("bench/memory.py: wrk is not installed and could not be (apt-get install wrk)")
    db = f"faktura_bench_memory_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{db}"')
    dsn, key = await setup(ADMIN_DSN.rpartition("/")[0] + "/" + db)
    port = free_port()
    env = {**server_env(dsn), "FAKTURA_DATA_DIR": tempfile.mkdtemp(prefix="faktura-bench-memory-")}
    cli = [sys.executable, "-m", "faktura.cli"]
    procs: list[subprocess.Popen[bytes]] = []
    sampler: Sampler | None = None
    conn = await asyncpg.connect(dsn)
    try:
        serve = [*cli, "serve", "--port", str(port), "--workers", str(args.workers), "--no-worker"]
        procs.append(subprocess.Popen(serve, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        await wait_ready(port)
        procs.append(
            subprocess.Popen([*cli, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
        c = Client(port)
        _, payload = await c.request(
            "POST",
            "/v1/tenants",
            (ROOT / "docs/examples/tenant.json").read_bytes(),
            {"Authorization": f"Bearer {key}"},
        )
        headers = {
            "Authorization": f"Bearer {key}",
            "X-Account-Token": json.loads(payload)["model"]["account_token"],
        }
        _, payload = await c.request(
            "POST", "/v1/contacts", (ROOT / "docs/examples/contact.json").read_bytes(), headers
        )
        invoice = json.dumps(ten_line_invoice(json.loads(payload)["model"]["id"])).encode()
        # the API master's children are its server workers (and multiprocessing's helpers)
        sampler = Sampler({"API master": procs[0].pid, "job worker": procs[1].pid}, args.interval)
        sampler.start()
        await asyncio.sleep(2)
        print(
            f"# bench/memory.py: {args.workers} server workers + 1 job worker, wrk at concurrency"
            f" {args.concurrency}, {args.seconds:.0f} s per phase, bulk of {args.bulk};"
            f" load average before: {loadavg()}",
            flush=True,
        )
        phases = [
            (
                "issue",
                lambda: drive_wrk(
                    wrk, port, "/v1/invoices?issue=true", invoice, headers, args.seconds, args.concurrency
                ),
            ),
            (
                "list page of 50",
                lambda: wrk_get(
                    wrk, port, "/v1/invoices?page_size=50", headers, args.seconds, args.concurrency
                ),
            ),
            (
                "list of 100, expanded",
                lambda: wrk_get(
                    wrk,
                    port,
                    "/v1/invoices?page_size=100&expand=contact,line_items",
                    headers,
                    args.seconds,
                    args.concurrency,
                ),
            ),
        ]
        sampler.phase = "bulk PDFs"
        await bulk_pdfs(conn, port, headers, invoice, args.bulk, sampler)
        for name, run in phases:
            sampler.phase = name
            r = await asyncio.to_thread(run)
            print(
                f"{name:22s} {r['rps']:8.1f} req/s  p99 {r['p99_ms']:7.1f} ms  ({r['errors']:.0f} errors)",
                flush=True,
            )
        sampler.halt.set()
        sampler.join()
        roles = sorted({role for peaks in sampler.peaks.values() for role in peaks})
        print(f"\n{'peak RSS (MB)':22s}" + "".join(f"{r:>18s}" for r in roles))
        for phase, peaks in sampler.peaks.items():
            print(f"{phase:22s}" + "".join(f"{peaks.get(r, 0):18.0f}" for r in roles))
        api = max(p.get("API master child", 0.0) for p in sampler.peaks.values())
        job = [p.get("job worker", 0.0) for p in sampler.peaks.values()]
        print(
            f"API worker peak RSS {api:.0f} MB (goal ≤ {API_WORKER_GOAL_MB} MB: {'met' if api <= API_WORKER_GOAL_MB else 'missed'});"
            f" job worker peak {max(job):.0f} MB; load average after: {loadavg()}"
        )
    finally:
        if sampler is not None:
            sampler.halt.set()
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        await conn.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
