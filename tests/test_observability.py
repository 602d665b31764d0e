"""What an operator sees: JSON log lines, request ids, Prometheus metrics.

Most of it runs against a real `faktura serve --workers 2` (two server processes and the
job worker it starts), so the logs are the process's real stderr and the metrics must add
up across processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.conftest import Tenant, invoice_body, make_contact, make_platform, make_tenant
from tests.process_support import wait_until_serving

from faktura.api.app import create_app, create_pool
from faktura.jobs import enqueue
from faktura.logs import scrub
from faktura.metrics import rule_family
from faktura.settings import Settings

METRICS_TOKEN = "metrics-" + uuid.uuid4().hex


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    url: str
    stderr: Path

    def log_lines(self) -> list[dict[str, Any]]:
        """Every line on stderr, each a JSON object (else the test fails here)."""
        return [json.loads(line) for line in self.stderr.read_text().splitlines()]


@pytest.fixture(scope="module")
def served(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    port = _free_port()
    base = tmp_path_factory.mktemp("observability")
    stderr = base / "stderr.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "FAKTURA_DATA_DIR": str(base / "data"),
        "FAKTURA_METRICS_TOKEN": METRICS_TOKEN,
        "FAKTURA_SANDBOX_REPORT_DELAY": "0.2",
        "FAKTURA_PEPPOL_SANDBOX": "1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with stderr.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "faktura.cli", "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, proc, stderr.read_text)
        yield Served(url, stderr)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.fixture
async def http(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as c:
        yield c


@pytest.fixture
async def served_tenant(http: httpx.AsyncClient, owner: asyncpg.Connection) -> Tenant:
    return await make_tenant(http, await make_platform(owner))


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def scrape(http: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    r = await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return samples(r.text)


def value(s: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return s.get((name, frozenset(labels.items())), 0.0)


# --- request ids -----------------------------------------------------------------------------


async def test_request_id_is_echoed_in_header_and_error_body(http: httpx.AsyncClient) -> None:
    r = await http.get("/v1/invoices", headers={"X-Request-Id": "client-req:42.a_b"})
    assert r.status_code == 401
    assert r.headers["x-request-id"] == "client-req:42.a_b"
    assert r.json()["request_id"] == "client-req:42.a_b"

    r = await http.get("/no/such/route", headers={"X-Request-Id": "route-404"})
    assert (r.status_code, r.headers["x-request-id"], r.json()["request_id"]) == (
        404,
        "route-404",
        "route-404",
    )

    for insane in ("has space", "x" * 129, "a\tb", ""):
        r = await http.get("/health", headers={"X-Request-Id": insane})
        generated = r.headers["x-request-id"]
        assert generated != insane and len(generated) == 32 and int(generated, 16) >= 0
    r1, r2 = await http.get("/health"), await http.get("/health")
    assert r1.headers["x-request-id"] != r2.headers["x-request-id"]


# --- logs ------------------------------------------------------------------------------------


async def test_logs_are_json_with_request_fields_and_never_a_secret(
    served: Served, http: httpx.AsyncClient, served_tenant: Tenant
) -> None:
    t = served_tenant
    contact = await make_contact(http, t)
    rid = "log-test-" + uuid.uuid4().hex[:8]
    r = await http.post(
        "/v1/invoices?issue=true", json=invoice_body(contact), headers={**t.headers, "X-Request-Id": rid}
    )
    assert r.status_code == 201, r.text
    invoice_id = r.json()["model"]["id"]
    r = await http.get(f"/v1/invoices/{invoice_id}", headers={**t.headers, "X-Request-Id": rid + "-get"})
    assert r.status_code == 200
    bogus_key, bogus_token = "fkp_" + uuid.uuid4().hex, "fkt_" + uuid.uuid4().hex
    r = await http.get(
        "/v1/invoices",
        headers={
            "Authorization": f"Bearer {bogus_key}",
            "X-Account-Token": bogus_token,
            "X-Request-Id": rid + "-401",
        },
    )
    assert r.status_code == 401
    r = await http.get(
        "/v1/tenants", headers={"Authorization": f"Bearer {t.platform_key}", "X-Request-Id": rid + "-p"}
    )
    assert r.status_code == 200

    await asyncio.sleep(0.3)  # the access line is written after the response
    lines = served.log_lines()
    # uvicorn's own lines, from the parent and both server processes, are JSON too
    started = {
        line["msg"] for line in lines if line["logger"] == "uvicorn.error" and "process [" in line["msg"]
    }
    assert len([m for m in started if m.startswith("Started server process")]) == 2, started
    by_id = {line.get("request_id"): line for line in lines if line["logger"] == "faktura.access"}
    issued = by_id[rid]
    assert {k: issued[k] for k in ("method", "route", "status", "tenant_id")} == {
        "method": "POST",
        "route": "/v1/invoices",
        "status": 201,
        "tenant_id": t.id,
    }
    assert isinstance(issued["duration_ms"], float) and issued["duration_ms"] > 0
    assert issued["level"] == "info" and issued["ts"].endswith("+00:00")
    assert by_id[rid + "-get"]["route"] == "/v1/invoices/{invoice_id}"
    assert by_id[rid + "-get"]["path"] == f"/v1/invoices/{invoice_id}"
    assert by_id[rid + "-401"]["status"] == 401 and "tenant_id" not in by_id[rid + "-401"]
    assert "platform_id" in by_id[rid + "-p"] and "tenant_id" not in by_id[rid + "-p"]

    text = served.stderr.read_text()
    for secret in (t.platform_key, t.token, bogus_key, bogus_token, METRICS_TOKEN):
        assert secret not in text
        assert secret[4:] not in text


def test_scrub_removes_secret_shapes() -> None:
    line = 'key fkp_abcDEF123-_x token=fkt_zzzzzzzz "Authorization": "Bearer s3cr3t" whsec_qqqqqqqq'
    assert scrub(line) == (
        'key fkp_[redacted] token=fkt_[redacted] "Authorization": "Bearer [redacted]" whsec_[redacted]'
    )
    assert (
        scrub('"dsn": "postgresql://faktura:pa:ss@db:5432/x"')
        == '"dsn": "postgresql://faktura:[redacted]@db:5432/x"'
    )
    assert scrub("GET /v1/invoices 200 https://example.com/x") == "GET /v1/invoices 200 https://example.com/x"


# --- metrics ---------------------------------------------------------------------------------


async def test_metrics_require_the_operator_token(http: httpx.AsyncClient, served_tenant: Tenant) -> None:
    r = await http.get("/metrics")
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    r = await http.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    # a platform key is not the operator's token
    r = await http.get("/metrics", headers={"Authorization": f"Bearer {served_tenant.platform_key}"})
    assert r.status_code == 401


async def test_no_metrics_route_without_a_token(client: httpx.AsyncClient) -> None:
    r = await client.get("/metrics", headers={"Authorization": "Bearer anything"})
    assert r.status_code == 404


async def test_request_latency_adds_up_across_server_processes(
    http: httpx.AsyncClient, served_tenant: Tenant
) -> None:
    before = await scrape(http)
    name, labels = (
        "faktura_http_request_duration_seconds_count",
        {"method": "GET", "route": "/v1/tenants", "status": "200"},
    )
    for _ in range(12):  # a new connection each time, so both server processes answer some
        async with httpx.AsyncClient(base_url=str(http.base_url)) as one:
            r = await one.get("/v1/tenants", headers=served_tenant.platform_headers)
            assert r.status_code == 200
    # a request is counted just after its response went out: give the last one a moment
    for _ in range(20):
        after = await scrape(http)
        if value(after, name, **labels) - value(before, name, **labels) >= 12:
            break
        await asyncio.sleep(0.1)
    assert value(after, name, **labels) - value(before, name, **labels) == 12
    bucket = value(after, "faktura_http_request_duration_seconds_bucket", **labels, le="+Inf")
    assert bucket == value(after, name, **labels)


async def test_business_metrics(http: httpx.AsyncClient, served_tenant: Tenant) -> None:
    t = served_tenant
    before = await scrape(http)
    contact = await make_contact(http, t)
    r = await http.post("/v1/invoices?issue=true", json=invoice_body(contact), headers=t.headers)
    assert r.status_code == 201, r.text
    invoice_id = r.json()["model"]["id"]
    wrong = invoice_body(contact, total_amount="218.68", sub_total="198.70")
    r = await http.post("/v1/invoices?issue=true", json=wrong, headers=t.headers)
    assert [e["rule_id"] for e in r.json()["errors"]] == ["BR-CO-15"]
    r = await http.post(f"/v1/invoices/{invoice_id}/send", json={"channel": "peppol"}, headers=t.headers)
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 30
    while (await http.get(f"/v1/invoices/{invoice_id}/status", headers=t.headers)).json()["deliveries"][0][
        "status"
    ] != "ACCEPTED":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.2)

    after = await scrape(http)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("faktura_invoices_issued_total", document_type="INVOICE") == 1
    assert delta("faktura_validation_failures_total", family="BR-CO") == 1
    # sent by the job worker process, accepted through the sandbox's report job: both counted
    # in processes other than the one answering the scrape
    for status in ("SENDING", "SENT", "DELIVERED", "ACCEPTED"):
        assert delta("faktura_delivery_transitions_total", channel="peppol", status=status) == 1, status


async def test_queue_depth_and_oldest_job_age(settings: Settings, owner: asyncpg.Connection) -> None:
    """Read from the queue table at scrape time (no worker runs this entrypoint)."""
    app = create_app(replace(settings, metrics_token=METRICS_TOKEN))
    app.state.pool = await create_pool(settings)
    entrypoint = "observability.probe-" + uuid.uuid4().hex[:6]
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            for _ in range(3):
                await enqueue(owner, entrypoint, {})
            await owner.execute(
                "UPDATE pgqueuer SET execute_after = clock_timestamp() - interval '90 seconds'"
                " WHERE entrypoint = $1 AND id = (SELECT min(id) FROM pgqueuer WHERE entrypoint = $1)",
                entrypoint,
            )
            r = await c.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
            s = samples(r.text)
            assert value(s, "faktura_queue_jobs", entrypoint=entrypoint, status="queued") == 3
            assert 90 <= value(s, "faktura_queue_oldest_ready_seconds", entrypoint=entrypoint) < 200
    finally:
        await owner.execute("DELETE FROM pgqueuer WHERE entrypoint = $1", entrypoint)
        await app.state.pool.close()


@pytest.mark.parametrize(
    ("rule_id", "problem_type", "family"),
    [
        ("BR-CO-15", "VALIDATION_ERROR", "BR-CO"),
        ("BR-01", "VALIDATION_ERROR", "BR"),
        ("BR-S-08", "VALIDATION_ERROR", "BR-S"),
        ("PEPPOL-EN16931-R010", "VALIDATION_ERROR", "PEPPOL-EN16931"),
        ("BR-DE-15", "VALIDATION_ERROR", "BR-DE"),
        ("FK-VAT-ID", "VALIDATION_ERROR", "FK"),
        (None, "MISSING_REQUIRED_FIELD", "MISSING_REQUIRED_FIELD"),
    ],
)
def test_rule_family(rule_id: str | None, problem_type: str, family: str) -> None:
    assert rule_family(rule_id, problem_type) == family
