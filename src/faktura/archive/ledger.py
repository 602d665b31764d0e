"""Archive rows: write-once, hashed, and chained per tenant.

Every entry records the SHA-256 and size of its object, when it was archived, until when it
must be kept and why, and `entry_hash = SHA-256(canonical JSON of the row, including the
previous entry's hash)`. The database refuses UPDATE and DELETE (trigger); the chain makes
any change made around the trigger visible to `verify`, which also re-reads and re-hashes
every object.

The caller's transaction must be scoped to the tenant (`app.tenant_id`), as everywhere.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import msgspec

from faktura.archive.retention import retention_for
from faktura.archive.storage import ObjectMissing, ObjectStore, object_key

GENESIS = "0" * 64
COLUMNS = (
    "seq, id, invoice_id, kind, media_type, size, sha256, storage, storage_key, created_at,"
    " retention_until, retention_basis, meta, prev_hash, entry_hash"
)


class ArchiveEntry(msgspec.Struct, kw_only=True):
    tenant_id: uuid.UUID
    seq: int
    id: uuid.UUID
    invoice_id: uuid.UUID
    kind: str
    media_type: str
    size: int
    sha256: str
    storage: str
    storage_key: str
    created_at: dt.datetime
    retention_until: dt.date
    retention_basis: str
    meta: dict[str, Any]
    prev_hash: str
    entry_hash: str

    def view(self) -> dict[str, Any]:
        out: dict[str, Any] = msgspec.to_builtins(self)
        del out["storage_key"]
        return out


class Problem(msgspec.Struct, kw_only=True):
    """One thing `verify` found wrong, naming the entry."""

    tenant_id: uuid.UUID
    seq: int | None
    entry_id: uuid.UUID | None
    invoice_id: uuid.UUID | None
    kind: str | None
    message: str

    def __str__(self) -> str:
        return (
            f"tenant={self.tenant_id} seq={self.seq} entry={self.entry_id} invoice={self.invoice_id}"
            f" kind={self.kind}: {self.message}"
        )


def entry_hash(e: ArchiveEntry) -> str:
    """SHA-256 over the row's canonical JSON; `storage` (which backend) is not covered, so
    objects can move between backends without rewriting history."""
    fields = {
        "prev_hash": e.prev_hash,
        "tenant_id": str(e.tenant_id),
        "seq": e.seq,
        "id": str(e.id),
        "invoice_id": str(e.invoice_id),
        "kind": e.kind,
        "media_type": e.media_type,
        "size": e.size,
        "sha256": e.sha256,
        "storage_key": e.storage_key,
        "created_at": e.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "retention_until": e.retention_until.isoformat(),
        "retention_basis": e.retention_basis,
        "meta": e.meta,
    }
    return hashlib.sha256(msgspec.json.encode(fields, order="sorted")).hexdigest()


def entry_from_row(tenant_id: uuid.UUID, row: Any) -> ArchiveEntry:
    meta = row["meta"]
    if isinstance(meta, str):  # a connection without the jsonb codec
        meta = msgspec.json.decode(meta)
    return ArchiveEntry(tenant_id=tenant_id, **{**dict(row), "meta": meta})


#: One entry's row; `entry_values` gives its parameters in order.
INSERT_ENTRY = (
    f"INSERT INTO archive_entries (tenant_id, {COLUMNS})"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::text::jsonb, $15, $16)"
)


def entry_values(e: ArchiveEntry) -> tuple[Any, ...]:
    return (
        e.tenant_id,
        e.seq,
        e.id,
        e.invoice_id,
        e.kind,
        e.media_type,
        e.size,
        e.sha256,
        e.storage,
        e.storage_key,
        e.created_at,
        e.retention_until,
        e.retention_basis,
        msgspec.json.encode(e.meta).decode(),
        e.prev_hash,
        e.entry_hash,
    )


def next_entry(
    head_seq: int | None,
    head_hash: str | None,
    storage: str,
    tenant_id: uuid.UUID,
    invoice_id: uuid.UUID,
    kind: str,
    media_type: str,
    digest: str,
    size: int,
    *,
    country: str,
    issue_date: dt.date,
    meta: dict[str, str] | None = None,
) -> ArchiveEntry:
    """The entry that follows the chain's head (`head_seq` None: the first), hashed."""
    retention_until, basis = retention_for(country, issue_date)
    entry = ArchiveEntry(
        tenant_id=tenant_id,
        seq=(head_seq or 0) + 1,
        id=uuid.uuid4(),
        invoice_id=invoice_id,
        kind=kind,
        media_type=media_type,
        size=size,
        sha256=digest,
        storage=storage,
        storage_key=object_key(str(tenant_id), digest),
        created_at=dt.datetime.now(dt.UTC),
        retention_until=retention_until,
        retention_basis=basis,
        meta=dict(meta or {}),
        prev_hash=head_hash or GENESIS,
        entry_hash="",
    )
    entry.entry_hash = entry_hash(entry)
    return entry


async def archive_document(
    conn: asyncpg.Connection,
    store: ObjectStore,
    tenant_id: uuid.UUID,
    invoice_id: uuid.UUID,
    kind: str,
    media_type: str,
    data: bytes,
    *,
    country: str,
    issue_date: dt.date,
    meta: dict[str, str] | None = None,
) -> ArchiveEntry:
    """Store `data` and append its entry to the tenant's chain, in the caller's transaction.

    The object is written first (content-addressed, so a rollback leaves only an
    unreferenced object); the row commits with the caller's business change. Archiving the
    same (invoice, kind) again returns the existing entry if the bytes are equal and raises
    otherwise: an archived artefact is never replaced.
    """
    digest = hashlib.sha256(data).hexdigest()
    await store.put(object_key(str(tenant_id), digest), data, media_type)
    return await append_entry(
        conn,
        store.name,
        tenant_id,
        invoice_id,
        kind,
        media_type,
        digest,
        len(data),
        country=country,
        issue_date=issue_date,
        meta=meta,
    )


async def append_entry(
    conn: asyncpg.Connection,
    storage: str,
    tenant_id: uuid.UUID,
    invoice_id: uuid.UUID,
    kind: str,
    media_type: str,
    digest: str,
    size: int,
    *,
    country: str,
    issue_date: dt.date,
    meta: dict[str, str] | None = None,
    fresh: bool = False,
    pending: bool = False,
) -> ArchiveEntry:
    """Append the entry of an object (written already, or to be written: see `deferred`).

    `fresh` says the caller knows (invoice, kind) cannot be archived yet (the invoice was
    issued in this transaction), which saves a lookup; the UNIQUE constraint still holds.
    `pending` lists the entry in `archive_pending` in the same statement: its object is
    written after commit."""
    # One appender per tenant at a time, until commit: the chain stays linear and `seq`
    # gapless. Issuing takes the same lock together with its number (`faktura_take_number`).
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('faktura.archive:' || $1, 0))", str(tenant_id)
    )
    if not fresh:
        row = await conn.fetchrow(
            f"SELECT {COLUMNS} FROM archive_entries WHERE tenant_id = $1 AND invoice_id = $2 AND kind = $3",
            tenant_id,
            invoice_id,
            kind,
        )
        if row is not None:
            existing = entry_from_row(tenant_id, row)
            if existing.sha256 != digest:
                raise ValueError(f"{kind} of invoice {invoice_id} is already archived with other content")
            return existing
    head = await conn.fetchrow(
        "SELECT seq, entry_hash FROM archive_entries WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1",
        tenant_id,
    )
    entry = next_entry(
        head["seq"] if head else None,
        head["entry_hash"] if head else None,
        storage,
        tenant_id,
        invoice_id,
        kind,
        media_type,
        digest,
        size,
        country=country,
        issue_date=issue_date,
        meta=meta,
    )
    insert = INSERT_ENTRY
    if pending:
        insert = f"WITH entry AS ({insert}) INSERT INTO archive_pending (tenant_id, seq) VALUES ($1, $2)"
    await conn.execute(insert, *entry_values(entry))
    return entry


async def entries_for_invoice(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, invoice_id: uuid.UUID
) -> list[ArchiveEntry]:
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM archive_entries WHERE tenant_id = $1 AND invoice_id = $2 ORDER BY seq",
        tenant_id,
        invoice_id,
    )
    return [entry_from_row(tenant_id, r) for r in rows]


async def iter_entries(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, *, batch: int = 500
) -> AsyncIterator[ArchiveEntry]:
    """All of a tenant's entries in chain order, in batches (the chain can be long)."""
    after = 0
    while True:
        rows = await conn.fetch(
            f"SELECT {COLUMNS} FROM archive_entries WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            tenant_id,
            after,
            batch,
        )
        for r in rows:
            yield entry_from_row(tenant_id, r)
        if len(rows) < batch:
            return
        after = rows[-1]["seq"]


async def verify(
    conn: asyncpg.Connection, store: ObjectStore, tenant_id: uuid.UUID
) -> tuple[int, list[Problem]]:
    """Re-read and re-hash every object of a tenant and check the chain.
    Returns (entries checked, problems). An entry whose object is still to be written after
    its commit (`archive_pending`) is not a problem while the object is missing."""
    pending = {
        r["seq"] for r in await conn.fetch("SELECT seq FROM archive_pending WHERE tenant_id = $1", tenant_id)
    }
    problems: list[Problem] = []
    prev = GENESIS
    expected_seq = 1
    count = 0

    def report(e: ArchiveEntry, message: str) -> None:
        problems.append(
            Problem(
                tenant_id=tenant_id,
                seq=e.seq,
                entry_id=e.id,
                invoice_id=e.invoice_id,
                kind=e.kind,
                message=message,
            )
        )

    async for e in iter_entries(conn, tenant_id):
        count += 1
        if e.seq != expected_seq:
            report(e, f"chain gap: expected seq {expected_seq}")
        if e.prev_hash != prev:
            report(e, "chain broken: prev_hash does not match the previous entry")
        if entry_hash(e) != e.entry_hash:
            report(e, "entry altered: entry_hash does not match the row")
        try:
            data = await store.get(e.storage_key)
        except ObjectMissing:
            if e.seq not in pending:
                report(e, f"object missing: {e.storage_key}")
        else:
            actual = hashlib.sha256(data).hexdigest()
            if actual != e.sha256 or len(data) != e.size:
                report(
                    e,
                    f"object altered: sha256 {actual} (size {len(data)}), archived {e.sha256} (size {e.size})",
                )
        prev = e.entry_hash
        expected_seq = e.seq + 1
    return count, problems
