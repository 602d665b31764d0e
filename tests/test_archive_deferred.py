"""The archive object of an issued invoice is written after commit, by the `archive.write`
job: the number series is never locked across storage I/O. A worker killed with -9 after
the commit and before the write leaves the entry pending (not missing); the next worker
writes it and `faktura archive verify` is clean."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import uuid
from typing import Any

import asyncpg
import httpx
import msgspec
from tests.conftest import Tenant, invoice_body, make_contact
from tests.delivery_support import start_worker, stop_worker, wait_for, worker_env

from faktura.archive import FilesystemStore
from faktura.archive.deferred import CRASH_BEFORE_WRITE_ENV, WRITE_JOB, requeue_pending
from faktura.settings import Settings


async def _issue(client: httpx.AsyncClient, t: Tenant) -> str:
    cid = await make_contact(client, t)
    r = await client.post("/v1/invoices?issue=true", json=invoice_body(cid), headers=t.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["model"]["id"])


async def _ubl(owner: asyncpg.Connection, t: Tenant, invoice_id: str) -> tuple[Any, bool]:
    """(the UBL's archive entry, whether it is still pending), read as the owner."""
    async with owner.transaction():
        await owner.execute("SELECT set_config('app.tenant_id', $1, true)", t.id)
        entry = await owner.fetchrow(
            "SELECT seq, storage_key, sha256 FROM archive_entries WHERE tenant_id = $1 AND invoice_id = $2"
            " AND kind = 'ubl'",
            uuid.UUID(t.id),
            uuid.UUID(invoice_id),
        )
    assert entry is not None, "the UBL's entry must commit with the issue"
    pending = await owner.fetchval(
        "SELECT EXISTS (SELECT FROM archive_pending WHERE tenant_id = $1 AND seq = $2)",
        uuid.UUID(t.id),
        entry["seq"],
    )
    return entry, pending


def _verify(settings: Settings, t: Tenant) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "faktura.cli", "archive", "verify", "--tenant", t.id],
        env=worker_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_crash_between_commit_and_object_write_heals(
    client: httpx.AsyncClient, tenant: Tenant, owner: asyncpg.Connection, settings: Settings
) -> None:
    invoice_id = await _issue(client, tenant)
    entry, pending = await _ubl(owner, tenant, invoice_id)
    store = FilesystemStore(settings.data_dir / "archive")
    assert pending and not store.path(entry["storage_key"]).exists()  # committed, not yet written
    # the XML is served all the same, from the issuing row
    xml = await client.get(f"/v1/invoices/{invoice_id}/xml", headers=tenant.headers)
    assert xml.status_code == 200

    before = _verify(settings, tenant)
    assert before.returncode == 0, before.stdout + before.stderr
    assert "MISMATCH" not in before.stdout
    assert "0 problem(s), 1 object(s) pending" in before.stderr

    # a worker that dies (SIGKILL) right before writing the object
    env = worker_env(settings, FAKTURA_JOB_HEARTBEAT_TIMEOUT="1")
    crashing = start_worker({**env, CRASH_BEFORE_WRITE_ENV: "1"})
    try:
        assert crashing.wait(timeout=60) == -9
    finally:
        stop_worker(crashing, kill=True)
    entry, pending = await _ubl(owner, tenant, invoice_id)
    assert pending and not store.path(entry["storage_key"]).exists()
    assert _verify(settings, tenant).returncode == 0

    # the next worker picks the interrupted job again (its heartbeat is stale) and writes it
    worker = start_worker(env)
    try:

        async def written() -> bool:
            return not (await _ubl(owner, tenant, invoice_id))[1]

        await wait_for(written, timeout=60)
    finally:
        stop_worker(worker)
    path = store.path(entry["storage_key"])
    assert path.exists()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
    after = _verify(settings, tenant)
    assert after.returncode == 0, after.stdout + after.stderr
    assert "MISMATCH" not in after.stdout
    assert "0 problem(s), 0 object(s) pending" in after.stderr


async def test_worker_start_requeues_a_pending_write_whose_job_was_lost(
    client: httpx.AsyncClient, tenant: Tenant, owner: asyncpg.Connection, app: Any
) -> None:
    invoice_id = await _issue(client, tenant)
    entry, pending = await _ubl(owner, tenant, invoice_id)
    key = f"{WRITE_JOB}:{tenant.id}:{entry['seq']}"
    assert pending
    await owner.execute("DELETE FROM pgqueuer WHERE dedupe_key = $1", key)  # the job failed or was lost
    async with app.state.pool.acquire() as conn:
        assert await requeue_pending(conn) >= 1
        assert await requeue_pending(conn) >= 1  # again: still one job, not two
    jobs = await owner.fetchval(
        "SELECT count(*) FROM pgqueuer WHERE dedupe_key = $1 AND status = 'queued'", key
    )
    assert jobs == 1


async def test_a_bulk_chunk_writes_its_objects_in_one_job(
    client: httpx.AsyncClient, tenant: Tenant, owner: asyncpg.Connection, settings: Settings, app: Any
) -> None:
    from faktura.archive.deferred import write_pending
    from faktura.delivery import bulk
    from faktura.jobs import JobContext

    cid = await make_contact(client, tenant)
    items = [{"idempotency_key": f"w-{i}", "model": invoice_body(cid)["model"]} for i in range(bulk.CHUNK)]
    r = await client.post("/v1/invoices/bulk", json={"items": items}, headers=tenant.headers)
    assert r.status_code in (200, 201, 202), r.text
    (chunk,) = await owner.fetch(
        "SELECT payload FROM pgqueuer WHERE entrypoint = $1 AND convert_from(payload, 'UTF8') LIKE $2",
        bulk.BULK_JOB,
        f"%{tenant.id}%",
    )
    ctx = JobContext(app.state.pool, settings)
    await bulk.process(ctx, msgspec.json.decode(chunk["payload"]))

    writes = await owner.fetch(
        "SELECT payload FROM pgqueuer WHERE entrypoint = $1 AND convert_from(payload, 'UTF8') LIKE $2",
        WRITE_JOB,
        f"%{tenant.id}%",
    )
    assert len(writes) == 1  # one job for the chunk's objects, not one each
    payload = msgspec.json.decode(writes[0]["payload"])
    assert len(payload["invoice_ids"]) == bulk.CHUNK
    before = _verify(settings, tenant)
    assert f"0 problem(s), {bulk.CHUNK} object(s) pending" in before.stderr, before.stderr

    await write_pending(ctx, payload)
    await write_pending(ctx, payload)  # run again (a job picked twice): nothing left to do, no error
    store = FilesystemStore(settings.data_dir / "archive")
    for invoice_id in payload["invoice_ids"]:
        entry, pending = await _ubl(owner, tenant, invoice_id)
        path = store.path(entry["storage_key"])
        assert not pending and hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
    after = _verify(settings, tenant)
    assert after.returncode == 0, after.stdout + after.stderr
    assert "0 problem(s), 0 object(s) pending" in after.stderr
