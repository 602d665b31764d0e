"""Bulk issuing: a batch of up to 10,000 invoice models, processed by workers in chunks.

The API stores the items and queues one job per chunk in the same transaction. A worker
processes a chunk in one transaction: every item is first read, checked, totalled and
rendered with a placeholder number (`faktura.issuing.ready_to_issue`) without writing
anything, so one bad item never spoils the others and leaves no row; the drafts of the
others are inserted together, the chunk's items of each series are numbered and stored
together (`store_issued`: their numbers and one statement), and every item's result (the
invoice, or its findings) is written back. The series' counter stays locked only from those
numbers to the commit, so chunks of one tenant overlap their checking and rendering, and
numbering stays gapless: a refused item never takes a number, and anything failing after
the numbers rolls the whole chunk back (it is then run again; items already done are
skipped). The chunk's PDFs are one `pdf.render` job, its archive objects one
`archive.write` job (`faktura.documents.chunk_issue_jobs`).

The batch status is derived from the items on read (no counter row to contend on):
ENQUEUED (nothing done yet), IN_PROGRESS, then SUCCESS, FAILED or PARTIAL_SUCCESS.
"""

from __future__ import annotations

import uuid
from functools import cache
from itertools import groupby
from typing import Any

import msgspec

from faktura.compliance.basic import Checks, check_numbers, shape_findings
from faktura.compliance.findings import error_object
from faktura.documents import chunk_issue_jobs
from faktura.domain.invoice import InvoiceInput
from faktura.domain.money import unreadable_decimal
from faktura.issuing import INSERT_DRAFT, IssueRefused, Ready, draft_values, ready_to_issue, store_issued
from faktura.jobs import JobContext, enqueue_all
from faktura.turns import TenantTurns

BULK_JOB = "bulk.process"
#: Items per chunk (one job, one transaction). At 100 rather than 25 the chunk's own
#: statements (the queue's pick, log and delete, and the notifications every worker's queue
#: answers; the items' row lock, numbers, store, jobs and results) are shared by four times
#: as many items: 0.6-0.7 database transactions per item instead of 2.2 (docs/performance.md).
CHUNK = 100
MAX_ITEMS = 10_000


def chunk_jobs(
    tenant_id: uuid.UUID, batch_id: uuid.UUID, indexes: list[int]
) -> list[tuple[str, dict[str, Any], str, int]]:
    """The `bulk.process` jobs of a batch's items (`enqueue_all`), one per `CHUNK` of them.

    A worker takes only a few chunks at a time (`faktura.worker`), in the queue's order:
    priority first. Chunk k of every batch has priority -k, so the chunks of batches queued
    at once interleave, and a batch queued behind a 10,000-item one starts with that one's
    next chunk, not after its last."""
    return [
        (
            BULK_JOB,
            {
                "tenant_id": str(tenant_id),
                "batch_id": str(batch_id),
                "indexes": indexes[start : start + CHUNK],
            },
            f"{BULK_JOB}:{batch_id}:{start}",
            -(start // CHUNK),
        )
        for start in range(0, len(indexes), CHUNK)
    ]


def batch_status(counts: dict[str, int], total: int) -> str:
    pending = counts.get("PENDING", 0)
    ok = counts.get("SUCCESS", 0)
    if pending == total:
        return "ENQUEUED"
    if pending:
        return "IN_PROGRESS"
    if ok == total:
        return "SUCCESS"
    return "FAILED" if ok == 0 else "PARTIAL_SUCCESS"


def _problem(title: str, detail: str, ptype: str, ptr: str) -> dict[str, Any]:
    return {"title": title, "detail": detail, "problem_type": ptype, "source": {"pointer": ptr}}


@cache
def _chunk_turns(slots: int) -> TenantTurns:
    """`FAKTURA_BULK_CHUNKS` chunks at a time per worker process (default 1). A chunk mostly
    waits for the database, but its checking and rendering hold the worker's event loop, which
    every other job shares: more chunks at once make another tenant's send wait (see the
    setting). Tenants take turns, so one tenant's 10,000 items never stand before another
    tenant's few; bulk scales with worker processes."""
    return TenantTurns(slots)


class _Result(msgspec.Struct):
    status: str
    invoice_id: uuid.UUID | None = None
    errors: list[dict[str, Any]] | None = None
    warnings: list[dict[str, Any]] | None = None


async def process(ctx: JobContext, payload: dict[str, Any]) -> None:
    tenant_id = uuid.UUID(payload["tenant_id"])
    batch_id = uuid.UUID(payload["batch_id"])
    async with _chunk_turns(ctx.settings.bulk_chunks).turn(tenant_id), ctx.tenant(tenant_id) as conn:
        items = await conn.fetch(
            "SELECT i.idx, i.model, b.issue FROM bulk_items i JOIN bulk_batches b"
            " ON b.tenant_id = i.tenant_id AND b.id = i.batch_id"
            " WHERE i.tenant_id = $1 AND i.batch_id = $2 AND i.idx = ANY($3::int[]) AND i.status = 'PENDING'"
            " ORDER BY i.idx FOR UPDATE OF i",  # items done already (a re-picked job) are skipped
            tenant_id,
            batch_id,
            payload["indexes"],
        )
        models = [_model(item["model"]) for item in items]
        known = await _known_contacts(conn, tenant_id, [m for m in models if isinstance(m, InvoiceInput)])
        results: dict[int, _Result] = {}
        ready: list[tuple[int, Ready]] = []
        drafts: list[tuple[Any, ...]] = []
        # Every item is checked, totalled and rendered before any row is written, so a
        # refused item needs no savepoint to leave no row; the drafts of the others are
        # inserted together (one pipelined `executemany`).
        for item, model in zip(items, models, strict=True):
            idx = item["idx"]
            try:
                if not isinstance(model, InvoiceInput):
                    raise _ItemError(model)
                contact_id = _contact(model, known)
                invoice_id = uuid.uuid4()
                if item["issue"]:
                    ready.append(
                        (idx, await ready_to_issue(conn, ctx.settings, tenant_id, invoice_id, model))
                    )
                drafts.append(
                    draft_values(tenant_id, invoice_id, contact_id, model, msgspec.to_builtins(model))
                )
                results[idx] = _Result("SUCCESS", invoice_id, warnings=[])
            except _ItemError as e:
                results[idx] = _Result("FAILED", errors=e.errors)
            except IssueRefused as e:
                results[idx] = _Result(
                    "FAILED",
                    errors=[error_object(f) for f in e.findings if f.fatal],
                    warnings=[error_object(f) for f in e.findings if not f.fatal],
                )
        if drafts:
            await conn.executemany(INSERT_DRAFT, drafts)
        if ready:  # the chunk's PDF job and archive write, in one statement
            await enqueue_all(conn, chunk_issue_jobs(tenant_id, [r.invoice_id for _, r in ready]))
        # From here to commit the chunk's series counters are locked: one `store_issued` (its
        # numbers and one statement) per series and period, in one order for every chunk.
        for _, group in groupby(sorted(ready, key=_number_key), key=_number_key):
            members = list(group)
            await store_issued(conn, ctx.settings, tenant_id, [r for _, r in members])
            for idx, r in members:
                results[idx].warnings = [error_object(f) for f in r.warnings]
        done = list(results.items())
        await conn.execute(  # every item's result in one statement
            "UPDATE bulk_items i SET status = r.status, invoice_id = r.invoice_id, errors = r.errors,"
            " warnings = r.warnings, modified_at = clock_timestamp()"
            " FROM unnest($3::int[], $4::text[], $5::uuid[], $6::text[]::jsonb[], $7::text[]::jsonb[])"
            " AS r (idx, status, invoice_id, errors, warnings)"
            " WHERE i.tenant_id = $1 AND i.batch_id = $2 AND i.idx = r.idx",
            tenant_id,
            batch_id,
            [idx for idx, _ in done],
            [r.status for _, r in done],
            [r.invoice_id for _, r in done],
            [_json(r.errors) for _, r in done],
            [_json(r.warnings) for _, r in done],
        )


def _json(value: list[dict[str, Any]] | None) -> str | None:
    return None if value is None else msgspec.json.encode(value).decode()


def _number_key(item: tuple[int, Ready]) -> tuple[str, int]:
    """Items numbered together: one series and period (one counter row); items in idx order."""
    return item[1].series, item[1].period


class _ItemError(Exception):
    def __init__(self, errors: list[dict[str, Any]]):
        super().__init__(errors)
        self.errors = errors


def _model(raw: Any) -> InvoiceInput | list[dict[str, Any]]:
    """The item's invoice model, or its errors when it does not fit (no database needed)."""
    try:
        model = msgspec.convert(raw, InvoiceInput, strict=False)
    except msgspec.ValidationError:
        model = None
    if model is None or unreadable_decimal(model, raw) is not None:
        found = shape_findings(raw, InvoiceInput, "/model")
        return [error_object(f) for f in found] or [
            _problem("Invalid Field", "The model does not fit the invoice schema.", "INVALID_FIELD", "/model")
        ]
    c = Checks()
    if not check_numbers(c, model, ("model",)):
        return [error_object(f) for f in c.findings]
    return model


def _contact_id(model: InvoiceInput) -> uuid.UUID | None:
    try:
        return uuid.UUID(model.contact) if model.contact is not None else None
    except ValueError:
        return None


async def _known_contacts(conn: Any, tenant_id: uuid.UUID, models: list[InvoiceInput]) -> set[uuid.UUID]:
    """Those of the chunk's contacts that exist, in one query."""
    wanted = {c for m in models if (c := _contact_id(m)) is not None}
    if not wanted:
        return set()
    rows = await conn.fetch(
        "SELECT id FROM contacts WHERE tenant_id = $1 AND id = ANY($2::uuid[])", tenant_id, list(wanted)
    )
    return {r["id"] for r in rows}


def _contact(model: InvoiceInput, known: set[uuid.UUID]) -> uuid.UUID | None:
    """The item's contact id; `_ItemError` when it names none of the tenant's contacts."""
    if model.contact is None:
        return None
    contact_id = _contact_id(model)
    if contact_id is None or contact_id not in known:
        raise _ItemError([_problem("Not Found", "No contact with this id.", "NOT_FOUND", "/model/contact")])
    return contact_id
