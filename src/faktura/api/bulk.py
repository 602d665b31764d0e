"""`POST /v1/invoices/bulk` and `GET /v1/invoices/bulk/{batch_id}`: up to 10,000 invoice
models per batch, each with its own idempotency key, processed by workers."""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Controller, Request, Response, get, post
from msgspec import Meta

from faktura.api.common import parse_id
from faktura.api.context import tenant_scope
from faktura.api.errors import ApiError, conflict, not_found, problem
from faktura.api.wire import convert, decode_json, json_response, read_body
from faktura.delivery.bulk import MAX_ITEMS, batch_status, chunk_jobs
from faktura.domain.invoice import MAX_LINE_ITEMS, Model
from faktura.jobs import enqueue_all

#: A batch's body: room for `MAX_ITEMS` invoices of a few lines each (the other routes keep
#: `FAKTURA_MAX_BODY_BYTES`).
MAX_BODY_BYTES = 64 * 1024 * 1024


class BulkItem(Model, kw_only=True):
    idempotency_key: Annotated[str, Meta(min_length=1, max_length=255)]
    #: The invoice model, as for POST /v1/invoices; validated when the item is processed.
    model: dict[str, Any]


class BulkRequest(Model, kw_only=True):
    items: Annotated[list[BulkItem], Meta(min_length=1, max_length=MAX_ITEMS)]
    #: Issue every invoice (validate, number, render); false: create drafts.
    issue: bool = True


async def _batch_view(conn: Any, tenant_id: Any, batch_id: uuid.UUID) -> dict[str, Any] | None:
    batch = await conn.fetchrow(
        "SELECT id, issue, total, created_at FROM bulk_batches WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        batch_id,
    )
    if batch is None:
        return None
    rows = await conn.fetch(
        "SELECT i.idx, i.idempotency_key, coalesce(o.status, i.status) AS status,"
        " coalesce(o.invoice_id, i.invoice_id) AS invoice_id, coalesce(o.errors, i.errors) AS errors,"
        " coalesce(o.warnings, i.warnings) AS warnings, i.replay_of_batch IS NOT NULL AS replayed"
        " FROM bulk_items i LEFT JOIN bulk_items o ON o.tenant_id = i.tenant_id AND o.batch_id = i.replay_of_batch"
        " AND o.idx = i.replay_of_idx WHERE i.tenant_id = $1 AND i.batch_id = $2 ORDER BY i.idx",
        tenant_id,
        batch_id,
    )
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return {
        "id": str(batch_id),
        "status": batch_status(counts, batch["total"]),
        "issue": batch["issue"],
        "total": batch["total"],
        "counts": {k: counts.get(k, 0) for k in ("PENDING", "SUCCESS", "FAILED")},
        "created_at": batch["created_at"],
        "items": [
            {
                "idempotency_key": r["idempotency_key"],
                "status": r["status"],
                "invoice": str(r["invoice_id"]) if r["invoice_id"] else None,
                "errors": r["errors"] or [],
                "warnings": r["warnings"] or [],
                "replayed": r["replayed"],
            }
            for r in rows
        ],
    }


class BulkController(Controller):
    path = "/v1/invoices/bulk"
    tags = ["invoices"]

    @post("/", operation_id="invoices_bulk_create", status_code=202, request_max_body_size=None)
    async def create(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Queue a batch; poll GET /v1/invoices/bulk/{batch_id}. An item whose key was seen in an
        earlier batch with the same model reports that item's result instead of running again."""
        raw = await read_body(request, MAX_BODY_BYTES, "A batch")
        body: BulkRequest = convert(decode_json(raw), BulkRequest, "")
        keys = [it.idempotency_key for it in body.items]
        if len(set(keys)) != len(keys):
            dup = next(i for i, k in enumerate(keys) if keys.index(k) != i)
            raise ApiError(
                422,
                [
                    problem(
                        "Duplicate Key",
                        "Each item needs its own idempotency_key.",
                        "INVALID_FIELD",
                        f"/items/{dup}/idempotency_key",
                    )
                ],
            )
        too_long = [
            i
            for i, it in enumerate(body.items)
            if isinstance(lines := it.model.get("line_items"), list) and len(lines) > MAX_LINE_ITEMS
        ]
        if too_long:
            raise ApiError(
                422,
                [
                    problem(
                        "Invalid Field",
                        f"An invoice may have at most {MAX_LINE_ITEMS} line items.",
                        "INVALID_FIELD",
                        f"/items/{i}/model/line_items",
                    )
                    for i in too_long
                ],
            )
        hashes = [hashlib.sha256(msgspec.json.encode(it.model)).digest() for it in body.items]
        batch_id = uuid.uuid4()
        async with tenant_scope(request) as scope:
            conn = scope.conn
            prior = {
                r["idempotency_key"]: r
                for r in await conn.fetch(
                    "SELECT idempotency_key, batch_id, idx, request_hash FROM bulk_items"
                    " WHERE tenant_id = $1 AND idempotency_key = ANY($2) AND replay_of_batch IS NULL",
                    scope.tenant_id,
                    keys,
                )
            }
            reused = [
                i for i, k in enumerate(keys) if k in prior and bytes(prior[k]["request_hash"]) != hashes[i]
            ]
            if reused:
                raise ApiError(
                    422,
                    [
                        problem(
                            "Idempotency Key Reused",
                            "This idempotency_key was used with a different model.",
                            "IDEMPOTENCY_KEY_REUSED",
                            f"/items/{i}/idempotency_key",
                        )
                        for i in reused
                    ],
                )
            await conn.execute(
                "INSERT INTO bulk_batches (tenant_id, id, issue, total) VALUES ($1, $2, $3, $4)",
                scope.tenant_id,
                batch_id,
                body.issue,
                len(body.items),
            )
            records = []
            for i, it in enumerate(body.items):
                p = prior.get(it.idempotency_key)
                records.append(
                    (
                        scope.tenant_id,
                        batch_id,
                        i,
                        it.idempotency_key,
                        hashes[i],
                        msgspec.json.encode(it.model).decode(),
                        "PENDING",
                        p["batch_id"] if p else None,
                        p["idx"] if p else None,
                    )
                )
            try:
                await conn.executemany(
                    "INSERT INTO bulk_items (tenant_id, batch_id, idx, idempotency_key, request_hash, model, status,"
                    " replay_of_batch, replay_of_idx) VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7, $8, $9)",
                    records,
                )
            except asyncpg.UniqueViolationError:
                raise conflict("A concurrent batch is using one of these idempotency keys; retry.") from None
            fresh = [i for i, it in enumerate(body.items) if it.idempotency_key not in prior]
            if fresh:  # one statement for all the chunks' jobs
                assert scope.tenant_id is not None  # a tenant route
                await enqueue_all(conn, chunk_jobs(scope.tenant_id, batch_id, fresh))
            view = await _batch_view(conn, scope.tenant_id, batch_id)
        return json_response({"model": view, "warnings": [], "errors": []}, 202)

    @get("/{batch_id:str}", operation_id="invoices_bulk_retrieve")
    async def retrieve(self, request: Request[Any, Any, Any], batch_id: str) -> Response[bytes]:
        bid = parse_id(batch_id, "Batch")
        async with tenant_scope(request) as scope:
            view = await _batch_view(scope.conn, scope.tenant_id, bid)
        if view is None:
            raise not_found("Batch")
        return json_response({"model": view, "warnings": [], "errors": []})
