"""The French life cycle in Faktura's timeline: CDAR statuses onto normalized statuses and events.

A status message from the tenant's platform (PA) about one of the tenant's invoices goes
through `receive_status`, in the caller's transaction: it is checked (`parse_cdar`: an
invalid message is refused with its findings and nothing is written), matched to the invoice
(number, date and seller SIREN must agree), and recorded once as an `invoice.<status>` event
of the timeline, which also queues the tenant webhook (`faktura.delivery.events.record`).
A status Faktura sends for the seller (e.g. 212 "Encaissée" once a payment settles the
invoice, built by `cashed_status`) is recorded the same way by `record_sent_status`.

Recording is idempotent: the key is the message id (MDT-4), the status code and who set it;
the same message twice, or concurrently, records one event. Times are Europe/Paris with
their offset (`2026-10-01T14:00:00+02:00`), as the message means them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec

from faktura.compliance.findings import Finding, Severity
from faktura.delivery import events
from faktura.france.cdar import (
    ADDRESS_SCHEME,
    SIREN_SCHEME,
    STATUSES,
    InvoiceReference,
    Party,
    StatusMessage,
    cashed,
    parse_cdar,
    split_by_rate,
)

#: normalized status -> the CDAR codes that mean it (XP Z12-012 / XP Z12-014, release 1.4)
NORMALIZED: dict[str, tuple[int, ...]] = {
    "submitted": (200, 201),  # the issuer's platform took the invoice / sent it on
    "received": (202, 203),  # the buyer's platform has it / made it available to the buyer
    "in_process": (204,),
    "approved": (205, 214),
    "partially_approved": (206,),
    "disputed": (207,),
    "suspended": (208,),
    "completed": (209,),  # the seller completed a suspended invoice
    "refused": (210,),  # by the buyer: mandatory to the tax administration
    "rejected": (213, 221, 501),  # by a platform, misrouted or inadmissible: it never reached processing
    "payment_sent": (211,),
    "cashed": (212,),
    "cancelled": (220,),
    "factoring": (224, 225, 226, 227, 228),
}
#: a status code without a published meaning (250, 251, 300 ... 601, or bilateral ones)
REPORTED = "reported"
STATUS_OF_CODE = {code: status for status, codes in NORMALIZED.items() for code in codes}
#: the timeline event, and tenant webhook event, of each normalized status
EVENTS = {status: f"invoice.{status}" for status in (*NORMALIZED, REPORTED)}
#: what a status says of a delivery over a platform channel (statuses not listed say nothing)
DELIVERY_STATUS = {
    202: "DELIVERED",
    203: "DELIVERED",
    205: "ACCEPTED",
    210: "REJECTED",
    213: "REJECTED",
    501: "REJECTED",
}


def normalized_status(code: int) -> str:
    return STATUS_OF_CODE.get(code, REPORTED)


class LifecycleError(ValueError):
    """A valid status message that cannot be filed: it refers to no invoice of the tenant, or
    to one whose date or seller differ."""

    def __init__(self, finding: Finding) -> None:
        self.findings = (finding,)
        super().__init__(f"{finding.rule_id}: {finding.detail}")


class Recorded(msgspec.Struct, frozen=True, kw_only=True):
    """What `receive_status` / `record_sent_status` did."""

    invoice_id: uuid.UUID
    event_id: int  # the timeline event (the earlier one for a duplicate)
    event: str
    status: str
    duplicate: bool
    message: StatusMessage


def _refusal(rule_id: str, detail: str, pointer: str, term: str) -> LifecycleError:
    return LifecycleError(
        Finding(
            rule_id=rule_id,
            severity=Severity.FATAL,
            title="Status message refers to no invoice of this account",
            detail=detail,
            pointer=pointer,
            business_term=term,
            problem_type="UNKNOWN_INVOICE",
        )
    )


_REF = (
    "/rsm:CrossDomainAcknowledgementAndResponse/rsm:AcknowledgementDocument/ram:ReferenceReferencedDocument"
)


def _siren(party: dict[str, Any] | None) -> str | None:
    """A party's SIREN as issued: its `siren`, else the first nine digits of its `siret`, else
    its legal id (BT-30/BT-47) under scheme 0002 (or without a scheme, when it has the nine
    digits of one) or under 0009 (a SIRET)."""
    party = party or {}
    if party.get("siren"):
        return str(party["siren"])
    if party.get("siret"):
        return str(party["siret"])[:9]
    legal = party.get("legal_id") or {}
    value = "".join(str(legal.get("value") or "").split())
    scheme = legal.get("scheme")
    if scheme == "0009" and re.fullmatch(r"\d{14}", value):
        return value[:9]
    if scheme == SIREN_SCHEME or (scheme is None and re.fullmatch(r"\d{9}", value)):
        return value or None
    return None


async def _invoice(
    conn: asyncpg.Connection, tenant_id: uuid.UUID | str, invoice_id: uuid.UUID | None, message: StatusMessage
) -> asyncpg.Record:
    ref = message.invoice
    if invoice_id is not None:
        row = await conn.fetchrow(
            "SELECT id, number, issue_date, issued FROM invoices WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            invoice_id,
        )
    else:
        row = await conn.fetchrow(
            "SELECT id, number, issue_date, issued FROM invoices WHERE tenant_id = $1 AND number = $2",
            tenant_id,
            ref.number,
        )
    if row is None or row["number"] != ref.number:
        raise _refusal(
            "FK-CDAR-INVOICE",
            f"no issued invoice numbered {ref.number!r}",
            f"{_REF}/ram:IssuerAssignedID",
            "MDT-87",
        )
    if ref.issue_date is not None and row["issue_date"] != ref.issue_date:
        raise _refusal(
            "FK-CDAR-INVOICE-DATE",
            f"invoice {ref.number} is dated {row['issue_date']}, the status says {ref.issue_date}",
            f"{_REF}/ram:FormattedIssueDateTime",
            "MDT-100",
        )
    siren = _siren((row["issued"] or {}).get("seller"))
    if ref.seller_id is not None and siren is not None and ref.seller_id != siren:
        raise _refusal(
            "FK-CDAR-SELLER",
            f"invoice {ref.number} was issued by SIREN {siren}, the status names {ref.seller_id}",
            f"{_REF}/ram:IssuerTradeParty/ram:GlobalID",
            "MDT-129",
        )
    return row


def _event_data(message: StatusMessage, xml: bytes, direction: str, key: str) -> dict[str, Any]:
    status = STATUSES.get(message.status_code)
    return {
        "source": "cdar",
        "direction": direction,
        "lifecycle_status": normalized_status(message.status_code),
        "code": message.status_code,
        "name_fr": status.french if status else message.status_label,
        "name_en": status.english if status else None,
        "message_id": message.id,
        "status_at": (message.status_at or message.issued_at).isoformat(),
        "issued_at": message.issued_at.isoformat(),
        "set_by": {"role": message.issuer.role, "id": message.issuer.id, "name": message.issuer.name},
        "to_tax_administration": any(r.role == "DFH" for r in message.recipients),
        "reasons": [
            {"code": d.reason_code, "text": d.reason, "action": d.action_code}
            for d in message.details
            if d.reason_code or d.reason or d.action_code
        ],
        "amounts": [
            {
                "type": a.type_code,
                "amount": str(a.amount),
                "currency": a.currency,
                "vat_rate": str(a.percent) if a.percent is not None else None,
                "date": a.date.isoformat() if a.date else None,
            }
            for a in message.amounts
        ],
        "key": key,
        "sha256": hashlib.sha256(xml).hexdigest(),
    }


async def _record(
    conn: asyncpg.Connection,
    tenant_id: uuid.UUID | str,
    invoice_id: uuid.UUID,
    message: StatusMessage,
    xml: bytes,
    direction: str,
    delivery_id: uuid.UUID | None,
) -> Recorded:
    status = normalized_status(message.status_code)
    event = EVENTS[status]
    key = f"{message.issuer.role or ''}:{message.issuer.id or ''}:{message.id}:{message.status_code}"
    # one writer per key at a time: a message delivered twice at once records once
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"cdar:{tenant_id}:{key}")
    earlier = await conn.fetchval(
        "SELECT id FROM invoice_events WHERE tenant_id = $1 AND invoice_id = $2 AND type = $3"
        " AND data ->> 'key' = $4 ORDER BY id LIMIT 1",
        tenant_id,
        invoice_id,
        event,
        key,
    )
    if earlier is not None:
        return Recorded(
            invoice_id=invoice_id,
            event_id=earlier,
            event=event,
            status=status,
            duplicate=True,
            message=message,
        )
    data = _event_data(message, xml, direction, key)
    event_id = await events.record(conn, tenant_id, invoice_id, event, data, delivery_id=delivery_id)
    return Recorded(
        invoice_id=invoice_id, event_id=event_id, event=event, status=status, duplicate=False, message=message
    )


async def receive_status(
    conn: asyncpg.Connection,
    tenant_id: uuid.UUID | str,
    xml: bytes,
    *,
    invoice_id: uuid.UUID | None = None,
    delivery_id: uuid.UUID | None = None,
) -> Recorded:
    """File a CDAR status message received for one of the tenant's invoices (found by
    `invoice_id`, else by its number), in the caller's tenant-scoped transaction.

    Raises `CdarError` (the message breaks the French rules) or `LifecycleError` (no such
    invoice); either way nothing is written. A message already filed returns its event with
    `duplicate=True` and fires nothing.
    """
    message = parse_cdar(xml)
    row = await _invoice(conn, tenant_id, invoice_id, message)
    return await _record(conn, tenant_id, row["id"], message, xml, "received", delivery_id)


async def record_sent_status(
    conn: asyncpg.Connection,
    tenant_id: uuid.UUID | str,
    invoice_id: uuid.UUID,
    xml: bytes,
    *,
    delivery_id: uuid.UUID | None = None,
) -> Recorded:
    """File a status Faktura sent for the seller (once the platform took it), like a received one."""
    message = parse_cdar(xml)
    row = await _invoice(conn, tenant_id, invoice_id, message)
    return await _record(conn, tenant_id, row["id"], message, xml, "sent", delivery_id)


def _party(data: dict[str, Any], role: str) -> Party:
    """The seller or buyer as issued; its electronic address is its BT-34/BT-49 endpoint under
    scheme 0225, else its SIREN (the address a SIREN alone routes to)."""
    endpoint = data.get("endpoint") or {}
    siren = _siren(data)
    return Party(
        role=role,
        id=siren,
        scheme=SIREN_SCHEME if siren else None,
        name=data.get("name"),
        address=endpoint.get("value") if endpoint.get("scheme") == ADDRESS_SCHEME else siren,
        address_scheme=ADDRESS_SCHEME,
    )


async def cashed_status(
    conn: asyncpg.Connection,
    tenant_id: uuid.UUID | str,
    invoice_id: uuid.UUID,
    *,
    at: dt.datetime,
    to_tax_administration: bool,
    paid: Decimal | None = None,
) -> StatusMessage:
    """Status 212 "Encaissée" of an invoice: per VAT rate of the issued breakdown, the amount
    cashed including VAT (BR-FR-CDV-14) — the whole invoice once payments settled it, or a
    payment of `paid` split pro rata over the rates (`split_by_rate`). `to_tax_administration`:
    VAT is due on receipt (services, unless the seller opted for debits), so the PPF gets it.

    The buyer is addressed at its electronic address under scheme 0225 (BT-49), else at its
    SIREN (BT-47)."""
    row = await conn.fetchrow(
        "SELECT number, issue_date, document_type, status, issued, model, currency FROM invoices"
        " WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        invoice_id,
    )
    if row is None or row["number"] is None:
        raise LookupError(f"no issued invoice {invoice_id}")
    if paid is None and row["status"] != "PAID":
        raise ValueError(
            f"invoice {row['number']} is {row['status']}: only a settled invoice is cashed whole"
        )
    issued = row["issued"]
    totals = [
        (Decimal(b["taxable_amount"]) + Decimal(b["tax_amount"]), Decimal(b["rate"] or 0))
        for b in issued["totals"]["breakdown"]
    ]
    invoice = InvoiceReference(
        number=row["number"],
        issue_date=row["issue_date"],
        type_code=row["model"].get("type_code")
        or ("381" if row["document_type"] == "CREDIT_NOTE" else "380"),
    )
    return cashed(
        invoice=invoice,
        seller=_party(issued["seller"], "SE"),
        buyer=_party(issued["buyer"], "BY"),
        at=at,
        amounts=totals if paid is None else split_by_rate(paid, totals),
        currency=row["currency"] or "EUR",
        to_tax_administration=to_tax_administration,
    )
