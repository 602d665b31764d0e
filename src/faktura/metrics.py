"""Prometheus metrics: what an operator graphs and alerts on.

Counters and histograms live in the process that observes the event: request latency,
invoices issued and validation failures in the API; delivery transitions wherever they
happen (sends in `faktura worker`, access point callbacks in the API). Queue depth and the
age of the oldest runnable job are read from the queue table at scrape time, so every
scrape sees the one shared queue whichever process answers it.

Several processes on one host (`FAKTURA_WORKERS` > 1, and the worker `faktura serve`
starts) share their samples through prometheus-client's multiprocess mode: with
`PROMETHEUS_MULTIPROC_DIR` set (`faktura serve` sets a fresh one when it starts more than
one process) every process writes there and `/metrics` adds them up. A worker in its own
container serves its own samples (`FAKTURA_WORKER_METRICS_ADDR`); scrape it as a second
target.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import re
import threading
import time
from collections.abc import Awaitable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import asyncpg
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REQUEST_SECONDS = Histogram(
    "faktura_http_request_duration_seconds",
    "HTTP request latency by method, route template and status code.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
INVOICES_ISSUED = Counter(
    "faktura_invoices_issued_total", "Invoices and credit notes issued.", ["document_type"]
)
VALIDATION_FAILURES = Counter(
    "faktura_validation_failures_total",
    "Fatal findings in refused requests, by rule family (BR-CO, PEPPOL-EN16931, FK, ...).",
    ["family"],
)
DELIVERY_TRANSITIONS = Counter(
    "faktura_delivery_transitions_total",
    "Deliveries reaching a status (SENDING, SENT, DELIVERED, ACCEPTED, REJECTED, FAILED), by channel.",
    ["channel", "status"],
)


_RULE_NUMBER = re.compile(r"R?\d+[a-z]?")


def rule_family(rule_id: str | None, problem_type: str) -> str:
    """`BR-CO-15` → `BR-CO`, `PEPPOL-EN16931-R010` → `PEPPOL-EN16931`, `FK-VAT-ID` → `FK`;
    a finding without a rule id counts under its problem type (`MISSING_REQUIRED_FIELD`)."""
    if not rule_id:
        return problem_type
    parts = rule_id.split("-")
    if parts[0] == "FK":
        return "FK"
    while len(parts) > 1 and _RULE_NUMBER.fullmatch(parts[-1]):
        parts.pop()
    return "-".join(parts)


def count_refused(findings: Iterable[dict[str, Any]]) -> None:
    """Count the fatal findings of a refused request (error objects as the API returns them)."""
    for f in findings:
        VALIDATION_FAILURES.labels(rule_family(f.get("rule_id"), str(f.get("problem_type")))).inc()


# --- the shared queue, read at scrape time ---------------------------------------------------

_QUEUE_SQL = """
SELECT entrypoint, status::text AS status, count(*) AS depth,
       extract(epoch FROM clock_timestamp() - min(execute_after)
           FILTER (WHERE status = 'queued' AND execute_after <= clock_timestamp())) AS oldest_ready
FROM pgqueuer WHERE status IN ('queued', 'picked') GROUP BY entrypoint, status
"""


async def queue_metrics(conn: asyncpg.Connection) -> list[Metric]:
    depth = GaugeMetricFamily(
        "faktura_queue_jobs",
        "Jobs in the queue by entrypoint and status (queued, picked).",
        labels=["entrypoint", "status"],
    )
    age = GaugeMetricFamily(
        "faktura_queue_oldest_ready_seconds",
        "How long the oldest runnable queued job has waited (0: none waiting).",
        labels=["entrypoint"],
    )
    oldest: dict[str, float] = {}
    for row in await conn.fetch(_QUEUE_SQL):
        depth.add_metric([row["entrypoint"], row["status"]], row["depth"])
        oldest.setdefault(row["entrypoint"], 0.0)
        if row["oldest_ready"] is not None:
            oldest[row["entrypoint"]] = max(oldest[row["entrypoint"]], float(row["oldest_ready"]))
    for entrypoint, seconds in sorted(oldest.items()):
        age.add_metric([entrypoint], seconds)
    return [depth, age]


# --- exposition ------------------------------------------------------------------------------


class _Fixed:
    """A collector of metric families already gathered (the queue, read before the scrape)."""

    def __init__(self, families: list[Metric]):
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


def exposition(extra: list[Metric] = []) -> bytes:  # noqa: B006 (never mutated)
    """The text format of this process's samples (or all processes' in multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    out = generate_latest(registry)
    if extra:
        own = CollectorRegistry()
        own.register(_Fixed(extra))  # type: ignore[arg-type]
        out += generate_latest(own)
    return out


def authorized(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


# --- the worker's own endpoint ---------------------------------------------------------------


class WorkerProbe:
    """`/metrics` and `/health` of a `faktura worker` on a small HTTP server in a thread.

    `/health` answers 200 while the worker's event loop keeps beating (`beat()` is called
    from a task on that loop), so a stuck loop fails the container's healthcheck."""

    def __init__(self, token: str | None, stale_after: float = 30.0):
        self.token = token
        self.stale_after = stale_after
        self.last_beat = time.monotonic()

    def beat(self) -> None:
        self.last_beat = time.monotonic()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/health":
            fresh = time.monotonic() - self.last_beat < self.stale_after
            start_response(
                "200 OK" if fresh else "503 Service Unavailable", [("Content-Type", "application/json")]
            )
            return [b'{"status":"ok"}' if fresh else b'{"status":"stalled"}']
        if path == "/metrics":
            if self.token and not authorized(environ.get("HTTP_AUTHORIZATION", ""), self.token):
                start_response("401 Unauthorized", [("WWW-Authenticate", "Bearer")])
                return [b""]
            start_response("200 OK", [("Content-Type", CONTENT_TYPE)])
            return [exposition()]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # scrapes are not news
        pass


def serve_worker_probe(probe: WorkerProbe, addr: str) -> WSGIServer:
    """Serve `probe` on `host:port` in a daemon thread."""
    host, _, port = addr.rpartition(":")
    server = make_server(host or "127.0.0.1", int(port), probe, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="faktura-worker-probe", daemon=True).start()
    return server


async def run_with_probe(work: Awaitable[None], addr: str | None, token: str | None) -> None:
    """Run `work` (the job worker) with its probe on `addr` beating every few seconds."""
    if not addr:
        await work
        return
    probe = WorkerProbe(token)
    server = serve_worker_probe(probe, addr)

    async def beat() -> None:
        while True:
            probe.beat()
            await asyncio.sleep(probe.stale_after / 6)

    beating = asyncio.create_task(beat())
    try:
        await work
    finally:
        beating.cancel()
        server.shutdown()
