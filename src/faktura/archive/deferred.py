"""Archive objects written after commit, so that no number series waits on storage.

Issuing appends the UBL's chained entry in its transaction, lists it in `archive_pending`
and queues `archive.write` in that same transaction (`faktura.issuing.store_issued`); from that commit on the bytes are
durable in `invoice_documents`. The job copies them into the object store and clears the
pending row. A crash between commit and write heals by itself: the job is still queued
(pgqueuer picks a job again once its heartbeat is stale), and `requeue_pending`, run when a
worker starts, queues the write again for an entry whose job failed or was lost. Until the
object exists, `read_object` serves the bytes from the issuing row and `archive verify`
counts the entry as pending, not missing.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import uuid
from typing import Any

import asyncpg

from faktura.archive.ledger import ArchiveEntry
from faktura.archive.storage import ObjectMissing, ObjectStore, open_store
from faktura.jobs import JobContext, enqueue

WRITE_JOB = "archive.write"
#: Fault injection for the crash test only: a worker started with this set to 1 kills
#: itself (SIGKILL) right before it writes an archive object.
CRASH_BEFORE_WRITE_ENV = "FAKTURA_FAULT_CRASH_BEFORE_ARCHIVE_WRITE"

#: The bytes of pending entries, from the rows they were issued in.
_SOURCES = (
    "SELECT e.seq, e.storage_key, e.sha256, e.media_type, d.content FROM archive_pending p"
    " JOIN archive_entries e ON e.tenant_id = p.tenant_id AND e.seq = p.seq"
    " JOIN invoice_documents d ON d.tenant_id = e.tenant_id AND d.invoice_id = e.invoice_id AND d.kind = e.kind"
    " WHERE p.tenant_id = $1 AND p.seq = ANY($2::bigint[]) ORDER BY e.seq"
)


def _job(tenant_id: uuid.UUID | str, seq: int) -> tuple[dict[str, Any], str]:
    return {"tenant_id": str(tenant_id), "seq": seq}, f"{WRITE_JOB}:{tenant_id}:{seq}"


def write_job(tenant_id: uuid.UUID, invoice_id: uuid.UUID, kind: str) -> tuple[str, dict[str, Any], str, int]:
    """The `archive.write` job of an artefact by invoice and kind, for `enqueue_all`: issuing
    queues it before its entry's `seq` is known (before the number is taken)."""
    payload = {"tenant_id": str(tenant_id), "invoice_id": str(invoice_id), "kind": kind}
    return WRITE_JOB, payload, f"{WRITE_JOB}:{tenant_id}:{invoice_id}:{kind}", 1


def write_job_of_invoices(
    tenant_id: uuid.UUID, invoice_ids: list[uuid.UUID]
) -> tuple[str, dict[str, Any], str, int]:
    """One `archive.write` job for every pending object of several invoices (a bulk chunk's):
    one transaction and one pick instead of one per invoice."""
    payload = {"tenant_id": str(tenant_id), "invoice_ids": [str(i) for i in invoice_ids]}
    return WRITE_JOB, payload, f"{WRITE_JOB}:{tenant_id}:{invoice_ids[0]}:invoices", 1


async def _sources(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, seqs: list[int]
) -> list[tuple[Any, bytes]]:
    found = []
    for row in await conn.fetch(_SOURCES, tenant_id, seqs):
        data = bytes(row["content"])
        if hashlib.sha256(data).hexdigest() != row["sha256"]:
            raise RuntimeError(
                f"issued bytes of archive entry {tenant_id}/{row['seq']} do not match the entry"
            )
        found.append((row, data))
    return found


async def write_objects(
    conn: asyncpg.Connection, store: ObjectStore, tenant_id: uuid.UUID, seqs: list[int]
) -> int:
    """Write those of `seqs`' objects that are pending, at once (their syncs overlap), and
    clear their pending rows (in `conn`'s transaction, scoped to the tenant); how many were
    pending. Safe to run twice, and to crash midway: objects are content-addressed and
    written exclusively, and the pending rows go only with the transaction's commit."""
    found = await _sources(conn, tenant_id, seqs)
    if not found:
        return 0
    if os.environ.get(CRASH_BEFORE_WRITE_ENV) == "1":
        os.kill(os.getpid(), signal.SIGKILL)
    await asyncio.gather(*(store.put(row["storage_key"], data, row["media_type"]) for row, data in found))
    await conn.execute(
        "DELETE FROM archive_pending WHERE tenant_id = $1 AND seq = ANY($2::bigint[])",
        tenant_id,
        [row["seq"] for row, _ in found],
    )
    return len(found)


_PENDING_OF = (
    "SELECT e.seq FROM archive_entries e JOIN archive_pending p ON p.tenant_id = e.tenant_id"
    " AND p.seq = e.seq WHERE e.tenant_id = $1 AND e.invoice_id = ANY($2::uuid[])"
)


async def write_pending(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The `archive.write` job: of one entry (`seq`), of an invoice's artefact (`kind`), or
    of every pending object of several invoices (`invoice_ids`)."""
    tenant_id = uuid.UUID(payload["tenant_id"])
    async with ctx.tenant(tenant_id) as conn:
        if "seq" in payload:
            seqs = [int(payload["seq"])]
        elif "invoice_ids" in payload:
            invoice_ids = [uuid.UUID(i) for i in payload["invoice_ids"]]
            seqs = [r["seq"] for r in await conn.fetch(_PENDING_OF, tenant_id, invoice_ids)]
        else:
            seqs = [
                r["seq"]
                for r in await conn.fetch(
                    _PENDING_OF + " AND e.kind = $3",
                    tenant_id,
                    [uuid.UUID(payload["invoice_id"])],
                    payload["kind"],
                )
            ]
        if seqs:  # none: written already
            await write_objects(conn, open_store(ctx.settings), tenant_id, seqs)


async def write_now(
    conn: asyncpg.Connection, store: ObjectStore, tenant_id: uuid.UUID, entries: list[ArchiveEntry]
) -> None:
    """Write the objects of those `entries` that are still pending, without waiting for the
    worker (before an export reads them from the store)."""
    await write_objects(conn, store, tenant_id, [e.seq for e in entries])


async def requeue_pending(conn: asyncpg.Connection, *, batch: int = 1000) -> int:
    """Queue `archive.write` for every pending entry (a job already queued or running under
    its key is not queued twice). Run when a worker starts; returns how many were pending."""
    total = 0
    after: tuple[Any, ...] = (uuid.UUID(int=0), 0)
    while True:
        async with conn.transaction():
            # the pending rows of every tenant (ids only), for this transaction alone
            await conn.execute("SELECT set_config('faktura.archive_sweep', 'on', true)")
            rows = await conn.fetch(
                "SELECT tenant_id, seq FROM archive_pending WHERE (tenant_id, seq) > ($1, $2)"
                " ORDER BY tenant_id, seq LIMIT $3",
                *after,
                batch,
            )
            if not rows:
                return total
            for r in rows:
                payload, key = _job(r["tenant_id"], r["seq"])
                await enqueue(conn, WRITE_JOB, payload, dedupe_key=key, priority=1)
        total += len(rows)
        after = (rows[-1]["tenant_id"], rows[-1]["seq"])


async def read_object(conn: asyncpg.Connection, store: ObjectStore, entry: ArchiveEntry) -> bytes:
    """An archived object's bytes: from the store, or, while its write is still pending,
    from the issuing row (checked against the entry's hash). `conn` is scoped to the tenant."""
    try:
        return await store.get(entry.storage_key)
    except ObjectMissing:
        found = await _sources(conn, entry.tenant_id, [entry.seq])
        if not found:
            # no longer pending: `archive.write` stored it between the two reads
            return await store.get(entry.storage_key)
        return found[0][1]
