"""Acceptance runs with real `faktura worker` processes on the test database: a worker
killed mid-send, an SMTP outage, two workers sharing 500 sends, a bulk of 1,000."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
import httpx
from tests.conftest import Tenant, invoice_body, make_contact
from tests.delivery_support import (
    AccessPointServer,
    SmtpServer,
    free_port,
    smtp_server,
    start_worker,
    stop_worker,
    wait_for,
    worker_env,
)
from tests.test_delivery import assert_consistent, delivery, issued_invoice, timeline

from faktura.settings import Settings


async def test_kill_9_mid_send_delivers_exactly_once(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    iid = await issued_invoice(client, tenant)
    d = (
        await client.post(
            f"/v1/invoices/{iid}/send",
            json={"channel": "email", "to": "crash@example.test"},
            headers=tenant.headers,
        )
    ).json()["model"]
    with smtp_server() as smtp:
        env = worker_env(
            settings,
            FAKTURA_SMTP_PORT=str(smtp.port),
            FAKTURA_JOB_HEARTBEAT_TIMEOUT="2",
            FAKTURA_DELIVERY_LEASE="3",
            FAKTURA_SEND_TIMEOUT="2.5",
        )
        smtp.sink.hold_for = "crash@example.test"
        smtp.sink.hold.set()  # the SMTP conversation stalls at RCPT: the send is in flight
        first = start_worker(env)
        try:
            await wait_for(lambda: asyncio.sleep(0, smtp.sink.holding.is_set()), timeout=30)
            assert (await delivery(client, tenant, iid, d["id"]))["status"] == "SENDING"
        finally:
            stop_worker(first, kill=True)  # kill -9 in the middle of the send
        smtp.sink.hold.clear()
        smtp.sink.release.set()
        second = start_worker(env)
        try:

            async def sent() -> bool:
                return (await delivery(client, tenant, iid, d["id"]))["status"] == "SENT"

            await wait_for(sent, timeout=40)
        finally:
            stop_worker(second)
        assert smtp.sink.by_message_id()[f"<{d['id']}@faktura.delivery>"] == 1
    events = await timeline(client, tenant, iid)
    attempts = [e["data"]["attempt"] for e in events if e["type"] == "delivery.sending"]
    assert attempts == [1, 2]
    assert_consistent(events, [await delivery(client, tenant, iid, d["id"])], "SUBMITTED")


OUTAGE_S = 30


async def test_smtp_outage_retries_then_success(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    iid = await issued_invoice(client, tenant)
    d = (
        await client.post(f"/v1/invoices/{iid}/send", json={"channel": "email"}, headers=tenant.headers)
    ).json()["model"]
    smtp = SmtpServer(free_port())  # not started: the SMTP server is down
    worker = start_worker(
        worker_env(
            settings,
            FAKTURA_SMTP_PORT=str(smtp.port),
            FAKTURA_SEND_TIMEOUT="2",
            # 8 attempts (the API's default maximum) with equal-jitter backoff 1, 2, 4, 8, 16, 16, 16 s
            # span at least 31.5 s: the outage is ridden out by real retries, not by a longer limit.
            FAKTURA_RETRY_BASE="1",
            FAKTURA_RETRY_CAP="16",
        )
    )
    try:
        started = time.monotonic()
        statuses: list[str] = []

        async def retried() -> bool:
            dv = await delivery(client, tenant, iid, d["id"])
            statuses.append(dv["status"])
            return bool(dv["attempts"] >= 4)

        await wait_for(retried, timeout=40)
        await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - started)))  # a real 30 s outage
        smtp.start()
        try:

            async def sent() -> bool:
                dv = await delivery(client, tenant, iid, d["id"])
                statuses.append(dv["status"])
                return bool(dv["status"] == "SENT")

            try:
                await wait_for(sent, timeout=40)
            except AssertionError:
                dv = await delivery(client, tenant, iid, d["id"])
                raise AssertionError(f"not sent after the outage: {dv}") from None
        finally:
            smtp.stop()
    finally:
        stop_worker(worker)
    assert smtp.sink.by_message_id()[f"<{d['id']}@faktura.delivery>"] == 1
    assert set(statuses) <= {"QUEUED", "SENDING", "SENT"}
    dv = await delivery(client, tenant, iid, d["id"])
    events = await timeline(client, tenant, iid)
    sending = [e["data"]["attempt"] for e in events if e["type"] == "delivery.sending"]
    retries = [e for e in events if e["type"] == "delivery.retry_scheduled"]
    assert sending == list(range(1, dv["attempts"] + 1)) and len(retries) == dv["attempts"] - 1
    assert all("SMTP" in e["data"]["error"] for e in retries)
    assert_consistent(events, [dv], "SUBMITTED")


async def test_two_workers_500_sends_each_once(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings, owner: asyncpg.Connection
) -> None:
    iid = await issued_invoice(client, tenant)
    ids = []
    for _ in range(500):
        r = await client.post(
            f"/v1/invoices/{iid}/send", json={"channel": "email", "force": True}, headers=tenant.headers
        )
        ids.append(r.json()["model"]["id"])
    assert len(set(ids)) == 500
    with smtp_server() as smtp:
        env = worker_env(settings, FAKTURA_SMTP_PORT=str(smtp.port))
        workers = [start_worker(env), start_worker(env)]
        try:

            async def all_sent() -> bool:
                n = await owner.fetchval(
                    "SELECT count(*) FROM deliveries WHERE invoice_id = $1 AND status = 'SENT'", iid
                )
                return bool(n == 500)

            try:
                await wait_for(all_sent, timeout=90, step=0.5)
            except AssertionError:
                rows = await owner.fetch(
                    "SELECT status, attempts, count(*) AS n, max(last_error) AS err FROM deliveries"
                    " WHERE invoice_id = $1 GROUP BY 1, 2",
                    iid,
                )
                raise AssertionError([tuple(r) for r in rows]) from None
        finally:
            for w in workers:
                stop_worker(w)
        counts = smtp.sink.by_message_id()
    assert all(counts.get(f"<{i}@faktura.delivery>") == 1 for i in ids)
    assert await owner.fetchval("SELECT max(attempts) FROM deliveries WHERE invoice_id = $1", iid) == 1


BULK_ITEMS = 40  # bench/bulk.py runs the 1,000 (and measures); the suite stays lean


async def test_bulk_completes_with_results_per_item(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings, owner: asyncpg.Connection
) -> None:
    contact = await make_contact(client, tenant)
    items: list[dict[str, Any]] = [
        {"idempotency_key": f"bulk-{i}", "model": invoice_body(contact)["model"]} for i in range(BULK_ITEMS)
    ]
    items[7]["model"]["line_items"][0]["tax_category"] = "Q"  # one bad item: its findings come back
    started = time.monotonic()
    r = await client.post("/v1/invoices/bulk", json={"items": items}, headers=tenant.headers)
    assert r.status_code == 202, r.text
    batch = r.json()["model"]
    assert batch["status"] == "ENQUEUED" and batch["total"] == BULK_ITEMS
    workers = [start_worker(worker_env(settings)) for _ in range(2)]
    try:

        async def done() -> bool:
            got = (await client.get(f"/v1/invoices/bulk/{batch['id']}", headers=tenant.headers)).json()[
                "model"
            ]
            return bool(got["counts"]["PENDING"] == 0)

        try:
            await wait_for(done, timeout=150, step=0.5)
        except AssertionError:
            rows = await owner.fetch(
                "SELECT status, count(*) FROM bulk_items WHERE batch_id = $1 GROUP BY 1", batch["id"]
            )
            logs = await owner.fetch(
                "SELECT deadlocks, xact_rollback FROM pg_stat_database WHERE datname = current_database()"
            )
            logs += await owner.fetch(
                "SELECT wait_event_type, wait_event, left(query, 80), count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() GROUP BY 1, 2, 3"
            )
            raise AssertionError([tuple(r) for r in rows], [tuple(r) for r in logs]) from None
    finally:
        for w in workers:
            stop_worker(w)
    wall = time.monotonic() - started
    got = (await client.get(f"/v1/invoices/bulk/{batch['id']}", headers=tenant.headers)).json()["model"]
    print(f"bulk of {BULK_ITEMS} with 2 workers: {wall:.1f} s")
    assert got["status"] == "PARTIAL_SUCCESS"
    assert got["counts"] == {"PENDING": 0, "SUCCESS": BULK_ITEMS - 1, "FAILED": 1}
    bad = got["items"][7]
    assert bad["status"] == "FAILED" and bad["errors"][0]["source"]["pointer"].startswith(
        "/model/line_items/0"
    )
    numbers = sorted(
        [
            (await client.get(f"/v1/invoices/{it['invoice']}", headers=tenant.headers)).json()["model"][
                "number"
            ]
            for it in got["items"]
            if it["invoice"]
        ]
    )
    # gapless across chunks and workers: the refused item took no number
    assert numbers == [f"{numbers[0][:-5]}{n:05}" for n in range(1, BULK_ITEMS)]
    # the same keys again replay the results instead of issuing twice
    again = await client.post("/v1/invoices/bulk", json={"items": items[:3]}, headers=tenant.headers)
    replay = again.json()["model"]
    assert replay["status"] == "SUCCESS" and all(it["replayed"] for it in replay["items"])
    assert [it["invoice"] for it in replay["items"]] == [it["invoice"] for it in got["items"][:3]]


async def test_access_point_outage_retries_then_submits_once(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    """The access point is unreachable, then up but answering 503, then healthy: the Peppol
    delivery rides it out with retries and the AP gets the message exactly once."""
    iid = await issued_invoice(client, tenant)
    d = (
        await client.post(f"/v1/invoices/{iid}/send", json={"channel": "peppol"}, headers=tenant.headers)
    ).json()["model"]
    ap = AccessPointServer()  # not started: connection refused
    ap.refuse_next = 2
    worker = start_worker(
        worker_env(
            settings,
            FAKTURA_PEPPOL_AP_URL=f"http://127.0.0.1:{ap.port}",
            FAKTURA_PEPPOL_CALLBACK_TOKEN="ap-callback-token-0123456789",
            FAKTURA_SEND_TIMEOUT="2",
        )
    )
    statuses: list[str] = []

    async def attempts_at_least(n: int) -> bool:
        dv = await delivery(client, tenant, iid, d["id"])
        statuses.append(dv["status"])
        return bool(dv["attempts"] >= n)

    try:
        await wait_for(lambda: attempts_at_least(3), timeout=30)  # unreachable
        ap.start()  # up, but the next two submissions get 503

        async def sent() -> bool:
            dv = await delivery(client, tenant, iid, d["id"])
            statuses.append(dv["status"])
            return bool(dv["status"] == "SENT")

        await wait_for(sent, timeout=30)
    finally:
        stop_worker(worker)
        ap.stop()
    dv = await delivery(client, tenant, iid, d["id"])
    assert list(ap.accepted) == [d["id"]] and ap.posts == 3  # two 503s, then one accepted
    assert dv["message_id"] == f"ap-{d['id']}" and dv["attempts"] >= 5
    assert set(statuses) <= {"QUEUED", "SENDING", "SENT"}
    events = await timeline(client, tenant, iid)
    retries = [e["data"]["error"] for e in events if e["type"] == "delivery.retry_scheduled"]
    assert len(retries) == dv["attempts"] - 1 and all("access point" in e for e in retries)
    assert any("HTTP 503" in e for e in retries) and any("ConnectError" in e for e in retries)
    assert_consistent(events, [dv], "SUBMITTED")
