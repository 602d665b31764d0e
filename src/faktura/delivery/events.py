"""The invoice timeline and tenant webhook fan-out, written in the caller's transaction.

`record` appends one event to `invoice_events` (append-only: a trigger refuses UPDATE and
DELETE). When the event is one of the public `WEBHOOK_EVENTS`, a `webhook_deliveries` row
and a job are added for every enabled endpoint subscribed to it, in the same transaction:
an event is announced if and only if it happened.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg

from faktura.jobs import enqueue

WEBHOOK_EVENTS = (
    "invoice.issued",
    "invoice.sent",
    "invoice.delivered",
    "invoice.accepted",
    "invoice.rejected",
    "invoice.failed",
    "invoice.paid",
    # the French life cycle (CDAR statuses, `faktura.france.lifecycle.EVENTS`)
    "invoice.submitted",
    "invoice.received",
    "invoice.in_process",
    "invoice.approved",
    "invoice.partially_approved",
    "invoice.disputed",
    "invoice.suspended",
    "invoice.completed",
    "invoice.refused",
    "invoice.payment_sent",
    "invoice.cashed",
    "invoice.cancelled",
    "invoice.factoring",
    "invoice.reported",
)
WEBHOOK_JOB = "webhook.deliver"


async def record(
    conn: asyncpg.Connection,
    tenant_id: uuid.UUID | str,
    invoice_id: uuid.UUID,
    type_: str,
    data: dict[str, Any] | None = None,
    *,
    delivery_id: uuid.UUID | None = None,
) -> int:
    data = data or {}
    row = await conn.fetchrow(
        "INSERT INTO invoice_events (tenant_id, invoice_id, type, delivery_id, data) VALUES ($1, $2, $3, $4, $5)"
        " RETURNING id, created_at",
        tenant_id,
        invoice_id,
        type_,
        delivery_id,
        data,
    )
    if type_ in WEBHOOK_EVENTS:
        await fan_out(conn, tenant_id, invoice_id, type_, data, row["id"], row["created_at"], delivery_id)
    return int(row["id"])


async def fan_out(
    conn: asyncpg.Connection,
    tenant_id: uuid.UUID | str,
    invoice_id: uuid.UUID,
    type_: str,
    data: dict[str, Any],
    event_id: int,
    created_at: dt.datetime,
    delivery_id: uuid.UUID | None,
) -> None:
    """Announce a recorded event to every enabled endpoint subscribed to it."""
    endpoints = await conn.fetch(
        "SELECT id FROM webhook_endpoints WHERE tenant_id = $1 AND enabled AND $2 = ANY(event_types)",
        tenant_id,
        type_,
    )
    if not endpoints:
        return
    inv = await conn.fetchrow(
        "SELECT number, status, balance, currency FROM invoices WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        invoice_id,
    )
    payload = {
        "id": f"evt_{event_id}",
        "type": type_,
        "created_at": created_at.isoformat(),
        "data": {
            "invoice": {
                "id": str(invoice_id),
                "number": inv["number"],
                "status": inv["status"],
                "balance": str(inv["balance"]) if inv["balance"] is not None else None,
                "currency": inv["currency"],
            },
            "delivery_id": str(delivery_id) if delivery_id else None,
            **data,
        },
    }
    for ep in endpoints:
        wid = uuid.uuid4()
        await conn.execute(
            "INSERT INTO webhook_deliveries (tenant_id, id, endpoint_id, event_id, event_type, payload, status)"
            " VALUES ($1, $2, $3, $4, $5, $6, 'QUEUED')",
            tenant_id,
            wid,
            ep["id"],
            event_id,
            type_,
            payload,
        )
        await enqueue(conn, WEBHOOK_JOB, {"tenant_id": str(tenant_id), "id": str(wid)})
