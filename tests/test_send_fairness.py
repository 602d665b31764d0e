"""Tenants take turns at the send workers: one tenant's backlog of queued sends does not hold
up another tenant's single send (`faktura.delivery.service._QUEUED_BEFORE`), and a worker
takes up only a few sends at a time (`faktura.worker.SENDS_PER_WORKER`), so that the queue's
order decides which runs next."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
from tests.conftest import (
    invoice_body,
    two_tenants_with_contacts,
)
from tests.delivery_support import start_worker, stop_worker, wait_for, worker_env

from faktura.settings import Settings
from faktura.worker import SENDS_PER_WORKER

BACKLOG = 60


async def test_a_single_send_goes_before_another_tenants_backlog(
    client: httpx.AsyncClient, owner: asyncpg.Connection, settings: Settings
) -> None:
    a, a_contact, b, b_contact = await two_tenants_with_contacts(client, owner)
    # A queues its sends first, with no worker running: B's send comes last in time.
    for _ in range(BACKLOG):
        r = await client.post("/v1/invoices?issue=true", json=invoice_body(a_contact), headers=a.headers)
        assert r.status_code == 201, r.text
        r = await client.post(
            f"/v1/invoices/{r.json()['model']['id']}/send", json={"channel": "peppol"}, headers=a.headers
        )
        assert r.status_code == 202, r.text
    r = await client.post("/v1/invoices?issue=true", json=invoice_body(b_contact), headers=b.headers)
    assert r.status_code == 201, r.text
    invoice = r.json()["model"]["id"]
    r = await client.post(f"/v1/invoices/{invoice}/send", json={"channel": "peppol"}, headers=b.headers)
    assert r.status_code == 202, r.text
    priorities = await owner.fetch(
        "SELECT priority FROM pgqueuer WHERE entrypoint = 'delivery.send'"
        " AND convert_from(payload, 'UTF8') LIKE '%' || $1 || '%' ORDER BY id",
        a.id,
    )
    assert [r["priority"] for r in priorities] == [-k for k in range(BACKLOG)]

    worker = start_worker(worker_env(settings))
    try:
        held = 0  # the most sends the worker held at once

        async def sent(tenant_id: str, count: int) -> bool:
            nonlocal held
            held = max(
                held,
                await owner.fetchval(
                    "SELECT count(*) FROM pgqueuer WHERE entrypoint = 'delivery.send' AND status = 'picked'"
                ),
            )
            done = await owner.fetchval(
                "SELECT count(*) FROM deliveries WHERE tenant_id = $1 AND status IN ('SENT', 'DELIVERED', 'ACCEPTED')",
                uuid.UUID(tenant_id),
            )
            return bool(done >= count)

        await wait_for(lambda: sent(b.id, 1), timeout=60, step=0.02)
        await wait_for(lambda: sent(a.id, BACKLOG), timeout=60, step=0.02)
    finally:
        stop_worker(worker)
        await owner.execute(
            "DELETE FROM pgqueuer WHERE convert_from(payload, 'UTF8') LIKE '%' || $1 || '%'", a.id
        )
    # the order in which the worker took the sends up: their `delivery.sending` events
    before_b = await owner.fetchval(
        "SELECT count(*) FROM invoice_events WHERE tenant_id = $1 AND type = 'delivery.sending' AND id <"
        " (SELECT id FROM invoice_events WHERE tenant_id = $2 AND type = 'delivery.sending')",
        uuid.UUID(a.id),
        uuid.UUID(b.id),
    )
    # in turn: B's one send went right after A's first ones, not after all of A's
    assert before_b < BACKLOG // 3, f"B's send was taken up after {before_b} of A's {BACKLOG}"
    assert 1 <= held <= SENDS_PER_WORKER, f"the worker held {held} sends at once"
