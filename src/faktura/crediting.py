"""Credit notes settle the invoices they reference (BG-3).

An issued credit note lowers the balance of each issued invoice of the tenant it names in
its preceding-invoice references, in the order given, never below zero. An invoice whose
credited amount reaches its total is VOID: corrected away entirely. This runs in the credit
note's issuing transaction, so the two documents never disagree.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import asyncpg

from faktura.delivery import events
from faktura.delivery.service import move_invoice
from faktura.domain.document import Document

OPEN_STATES = ("OPEN", "SUBMITTED", "PARTIALLY_PAID")


async def apply_credit_note(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, credit_note_id: uuid.UUID, doc: Document
) -> None:
    remaining = doc.totals.tax_inclusive_amount
    for ref in doc.invoice.preceding_invoices:
        if remaining <= 0:
            break
        row = await conn.fetchrow(
            "SELECT id, status, total_amount, balance, credited FROM invoices"
            " WHERE tenant_id = $1 AND number = $2 AND document_type = 'INVOICE' FOR NO KEY UPDATE",
            tenant_id,
            ref.number,
        )
        if row is None or row["status"] not in OPEN_STATES:
            continue  # an invoice issued elsewhere, or already settled: nothing to apply
        applied = min(remaining, row["balance"])
        remaining -= applied
        credited: Decimal = row["credited"] + applied
        await conn.execute(
            "UPDATE invoices SET balance = balance - $3, credited = $4, modified_at = clock_timestamp()"
            " WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            row["id"],
            applied,
            credited,
        )
        await events.record(
            conn,
            tenant_id,
            row["id"],
            "invoice.credited",
            {"credit_note": str(credit_note_id), "number": doc.number, "amount": str(applied)},
        )
        if credited >= row["total_amount"]:
            await move_invoice(
                conn, tenant_id, row["id"], "VOID", OPEN_STATES, credit_note=str(credit_note_id)
            )
