"""One tenant's bulk must not hold up another tenant's single issue and send: a real
`faktura worker` process works through tenant A's 10,000-item bulk while tenant B issues one
invoice and sends it through the sandbox access point."""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import httpx
from tests.conftest import (
    Tenant,
    invoice_body,
    two_tenants_with_contacts,
)
from tests.delivery_support import start_worker, stop_worker, wait_for, worker_env

from faktura.delivery.bulk import MAX_ITEMS
from faktura.settings import Settings
from faktura.turns import TenantTurns

BULK_ITEMS = 10_000
#: What "a few seconds" means for B: from its issue call to its delivery being SENT.
B_BUDGET = 5.0


async def _bulk(client: httpx.AsyncClient, t: Tenant, contact: str, total: int) -> list[str]:
    model = invoice_body(contact)["model"]
    batches = []
    for start in range(0, total, MAX_ITEMS):
        items = [{"idempotency_key": f"fair-{i}", "model": model} for i in range(start, start + MAX_ITEMS)]
        r = await client.post("/v1/invoices/bulk", json={"items": items}, headers=t.headers)
        assert r.status_code == 202, r.text
        batches.append(r.json()["model"]["id"])
    return batches


async def test_single_send_of_b_is_not_delayed_by_the_bulk_of_a(
    client: httpx.AsyncClient, owner: asyncpg.Connection, settings: Settings
) -> None:
    a, a_contact, b, b_contact = await two_tenants_with_contacts(client, owner)
    batches = await _bulk(client, a, a_contact, BULK_ITEMS)
    worker = start_worker(worker_env(settings))
    try:

        async def bulk_running() -> bool:
            """Items issued and their PDFs rendering (the render process is up): the worker is busy
            with A in earnest."""
            pdfs = await owner.fetchval(
                "SELECT count(*) FROM archive_entries WHERE tenant_id = $1 AND kind = 'pdf'", uuid.UUID(a.id)
            )
            return bool(pdfs >= 1)

        await wait_for(bulk_running, timeout=60)
        started = time.monotonic()
        r = await client.post("/v1/invoices?issue=true", json=invoice_body(b_contact), headers=b.headers)
        assert r.status_code == 201, r.text
        invoice = r.json()["model"]["id"]
        r = await client.post(f"/v1/invoices/{invoice}/send", json={"channel": "peppol"}, headers=b.headers)
        assert r.status_code == 202, r.text
        sent_at: list[float] = []

        async def b_sent() -> bool:
            status = (await client.get(f"/v1/invoices/{invoice}/status", headers=b.headers)).json()
            if status["deliveries"][0]["status"] in ("SENT", "DELIVERED", "ACCEPTED"):
                sent_at.append(time.monotonic() - started)
            return bool(sent_at)

        async def b_rendered() -> bool:
            r = await client.get(f"/v1/invoices/{invoice}/pdf", headers=b.headers)
            return r.status_code == 200

        await wait_for(b_sent, timeout=30, step=0.05)
        await wait_for(b_rendered, timeout=60, step=0.1)
        pdf_after = time.monotonic() - started
        done = await owner.fetchval(
            "SELECT count(*) FROM bulk_items WHERE batch_id = ANY($1::uuid[]) AND status <> 'PENDING'",
            batches,
        )
        queued = await owner.fetchval(
            "SELECT count(*) FROM pgqueuer WHERE entrypoint IN ('pdf.render', 'pdf.render_group')"
            " AND convert_from(payload, 'UTF8')"
            " LIKE '%' || $1 || '%'",
            a.id,
        )
        # A's PDFs that finished rendering between B's issue and B's PDF: the one in progress
        # when B's job came, and perhaps one more that started while B's job was being picked.
        overtaken = await owner.fetchval(
            "SELECT count(*) FROM archive_entries a WHERE a.tenant_id = $1 AND a.kind = 'pdf' AND a.created_at"
            " BETWEEN (SELECT created_at FROM archive_entries WHERE tenant_id = $2 AND invoice_id = $3 AND kind = 'ubl')"
            " AND (SELECT created_at FROM archive_entries WHERE tenant_id = $2 AND invoice_id = $3 AND kind = 'pdf')",
            uuid.UUID(a.id),
            uuid.UUID(b.id),
            uuid.UUID(invoice),
        )
        print(
            f"B's issue + send: SENT after {sent_at[0]:.2f} s; B's PDF after {pdf_after:.2f} s, behind {overtaken}"
            f" of A's PDFs ({queued} of A's PDF jobs waiting); A's bulk: {done} of {BULK_ITEMS} items done"
        )
        assert done < BULK_ITEMS  # the bulk was running before B started, and still is
    finally:
        stop_worker(worker)
        # A's bulk is left unfinished on purpose: its queued jobs go, so that no later worker
        # on this session's database works through them in another test's time
        await owner.execute(
            "DELETE FROM pgqueuer WHERE convert_from(payload, 'UTF8') LIKE '%' || $1 || '%'", a.id
        )
    assert sent_at[0] < B_BUDGET, f"B's issue + send took {sent_at[0]:.1f} s while A's bulk ran"
    assert overtaken <= 2, f"{overtaken} of A's PDFs were rendered before B's"


async def test_turns_go_round_robin_and_a_newcomer_waits_only_for_the_holder() -> None:
    turns = TenantTurns(1)
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    order: list[str] = []
    release = asyncio.Event()

    async def job(tenant: uuid.UUID, name: str) -> None:
        async with turns.turn(tenant):
            order.append(name)
            if name == "a0":
                await release.wait()

    tasks = [asyncio.create_task(job(a, f"a{i}")) for i in range(5)]
    await asyncio.sleep(0)
    tasks += [asyncio.create_task(job(c, f"c{i}")) for i in range(2)]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(job(b, "b0")))
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(*tasks)
    # b came last but had no turn lately: it goes right after the holder; then a and c alternate
    assert order == ["a0", "b0", "c0", "a1", "c1", "a2", "a3", "a4"]


async def test_a_cancelled_waiter_gives_its_turn_away() -> None:
    turns = TenantTurns(1)
    a, b = uuid.uuid4(), uuid.uuid4()
    hold, got = asyncio.Event(), []

    async def holder() -> None:
        async with turns.turn(a):
            await hold.wait()

    async def waiter(t: uuid.UUID) -> None:
        async with turns.turn(t):
            got.append(t)

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    cancelled, other = asyncio.create_task(waiter(b)), asyncio.create_task(waiter(a))
    await asyncio.sleep(0)
    cancelled.cancel()
    hold.set()
    await asyncio.gather(first, other)
    assert got == [a]
    async with asyncio.timeout(1), turns.turn(b):  # the slot is free again
        pass
