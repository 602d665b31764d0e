"""Bulk issuing: a batch of up to 1,000 invoice models, processed by workers in chunks.

The API stores the items and queues one job per chunk in the same transaction; each item
is then created (and issued) in its own transaction, so one bad item never spoils the
others, and its result (the invoice, or its findings) is written back to the item. The
batch status is derived from the items on read (no counter row to contend on):
ENQUEUED (nothing done yet), IN_PROGRESS, then SUCCESS, FAILED or PARTIAL_SUCCESS.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from faktura.compliance.basic import Checks, check_numbers, shape_findings
from faktura.compliance.findings import error_object
from faktura.domain.invoice import InvoiceInput
from faktura.domain.money import unreadable_decimal
from faktura.issuing import IssueRefused, issue
from faktura.jobs import JobContext
from faktura.turns import TenantTurns

BULK_JOB = "bulk.process"
CHUNK = 25
MAX_ITEMS = 1000


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


#: One item at a time per worker process. Issuing is CPU-bound and holds the series' counter
#: lock from numbering to commit; with several items interleaved on one event loop, the
#: lock holder waits for the others' rendering and every issuer queues behind it (a convoy
#: that made 1,000 items take minutes). Scale out with worker processes instead. The turn
#: is taken per item and tenants take turns, so one tenant's 10,000 items never stand
#: before another tenant's few.
_ONE_AT_A_TIME = TenantTurns(1)


async def process(ctx: JobContext, payload: dict[str, Any]) -> None:
    tenant_id = uuid.UUID(payload["tenant_id"])
    batch_id = uuid.UUID(payload["batch_id"])
    for idx in payload["indexes"]:
        async with _ONE_AT_A_TIME.turn(tenant_id), ctx.tenant(tenant_id) as conn:
            item = await conn.fetchrow(
                "SELECT i.status, i.model, b.issue FROM bulk_items i JOIN bulk_batches b"
                " ON b.tenant_id = i.tenant_id AND b.id = i.batch_id"
                " WHERE i.tenant_id = $1 AND i.batch_id = $2 AND i.idx = $3 FOR UPDATE OF i",
                tenant_id,
                batch_id,
                idx,
            )
            if item is None or item["status"] != "PENDING":
                continue  # done already (a re-picked job after a crash)
            status, invoice_id, errors, warnings = "FAILED", None, None, None
            try:
                async with conn.transaction():  # a savepoint: a refused item leaves no row
                    invoice_id, warnings = await _create(ctx, conn, tenant_id, item["model"], item["issue"])
                status = "SUCCESS"
            except _ItemError as e:
                errors = e.errors
            except IssueRefused as e:
                errors = [error_object(f) for f in e.findings if f.fatal]
                warnings = [error_object(f) for f in e.findings if not f.fatal]
            await conn.execute(
                "UPDATE bulk_items SET status = $4, invoice_id = $5, errors = $6, warnings = $7,"
                " modified_at = clock_timestamp() WHERE tenant_id = $1 AND batch_id = $2 AND idx = $3",
                tenant_id,
                batch_id,
                idx,
                status,
                invoice_id,
                errors,
                warnings,
            )


class _ItemError(Exception):
    def __init__(self, errors: list[dict[str, Any]]):
        super().__init__(errors)
        self.errors = errors


async def _create(
    ctx: JobContext, conn: Any, tenant_id: uuid.UUID, raw: Any, do_issue: bool
) -> tuple[uuid.UUID, list[dict[str, Any]]]:
    try:
        model = msgspec.convert(raw, InvoiceInput, strict=False)
    except msgspec.ValidationError:
        model = None
    if model is None or unreadable_decimal(model, raw) is not None:
        found = shape_findings(raw, InvoiceInput, "/model")
        raise _ItemError(
            [error_object(f) for f in found]
            or [
                _problem(
                    "Invalid Field", "The model does not fit the invoice schema.", "INVALID_FIELD", "/model"
                )
            ]
        )
    c = Checks()
    if not check_numbers(c, model, ("model",)):
        raise _ItemError([error_object(f) for f in c.findings])
    contact_id = None
    if model.contact is not None:
        try:
            contact_id = uuid.UUID(model.contact)
        except ValueError:
            contact_id = None
        if contact_id is None or not await conn.fetchval(
            "SELECT EXISTS (SELECT FROM contacts WHERE tenant_id = $1 AND id = $2)", tenant_id, contact_id
        ):
            raise _ItemError(
                [_problem("Not Found", "No contact with this id.", "NOT_FOUND", "/model/contact")]
            )
    invoice_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO invoices (tenant_id, id, document_type, status, contact_id, remote_id, issue_date,"
        " due_date, currency, model) VALUES ($1, $2, $3, 'DRAFT', $4, $5, $6, $7, $8, $9)",
        tenant_id,
        invoice_id,
        model.document_type,
        contact_id,
        model.remote_id,
        model.issue_date,
        model.due_date,
        model.currency,
        msgspec.to_builtins(model),
    )
    warnings: list[dict[str, Any]] = []
    if do_issue:
        _, found = await issue(conn, ctx.settings, tenant_id, invoice_id, model)
        warnings = [error_object(f) for f in found]
    return invoice_id, warnings
