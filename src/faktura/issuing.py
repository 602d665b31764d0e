"""Issuing: validate → number → totals → XML (UBL or CII) → store, in the caller's transaction.

Either all of it happens or nothing: the caller's transaction holds the invoice row lock,
the series counter lock and the document insert, and a fatal finding raises before any
write. The seller and buyer are snapshotted into the invoice, so later edits of the
tenant or contact never change an issued document.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import asyncpg
import msgspec

from faktura.compliance.binding import rebind
from faktura.compliance.findings import Finding, Severity
from faktura.compliance.profiles import select_profile
from faktura.compliance.rulebook import Selection, check_on
from faktura.compliance.syntax import syntax_findings
from faktura.crediting import apply_credit_note
from faktura.delivery import events
from faktura.documents import archive_meta, on_issued, queue_pdf
from faktura.domain.document import PEPPOL_BIS_3, Document, build_document
from faktura.domain.invoice import InvoiceInput, Party
from faktura.domain.parties import ContactInput, TenantInput, buyer_party, default_payment_means, seller_party
from faktura.domain.syntax import resolve_level, resolve_syntax, syntax_of
from faktura.metrics import INVOICES_ISSUED
from faktura.numbering import DEFAULT_SERIES, SeriesSpec, ensure_default_series, series_spec, take_number
from faktura.render.einvoice import render_einvoice
from faktura.settings import Settings


class IssueRefused(Exception):
    """Fatal findings: nothing was numbered or stored."""

    def __init__(self, findings: list[Finding]):
        super().__init__(findings)
        self.findings = findings


class Prepared(msgspec.Struct, kw_only=True):
    invoice: InvoiceInput
    tenant: TenantInput
    seller: Party
    buyer: Party | None
    findings: list[Finding]
    #: the rule-set versions the check applied (those in force on its day)
    selection: Selection


def check_day(settings: Settings | None) -> dt.date:
    """The day a compliance check stands on: `Settings.today` when set, else today (UTC)."""
    return settings.check_day() if settings is not None else dt.datetime.now(dt.UTC).date()


async def load_tenant(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> TenantInput:
    data = await conn.fetchval("SELECT data FROM tenants WHERE id = $1", tenant_id)
    return msgspec.convert(data, TenantInput)


async def prepare(
    conn: asyncpg.Connection,
    tenant_id: uuid.UUID,
    invoice: InvoiceInput,
    *,
    today: dt.date | None = None,
    settings: Settings | None = None,
) -> Prepared:
    """Resolve the buyer and the tenant's defaults, then run every check of the rule-set
    versions in force on the day of the check (`check_day`), with the preview of versions
    that take effect soon as warnings."""
    day = check_day(settings)
    tenant = await load_tenant(conn, tenant_id)
    currency = invoice.currency or tenant.default_currency
    invoice = msgspec.structs.replace(
        invoice,
        currency=currency,
        issue_date=invoice.issue_date or today or dt.datetime.now(dt.UTC).date(),
        payment_means=invoice.payment_means or default_payment_means(tenant, currency),
    )
    buyer: Party | None = invoice.buyer
    buyer_ptr = "/model/buyer"
    missing: list[Finding] = []
    if invoice.contact is not None:
        buyer_ptr = "/model/contact"
        row = None
        with contextlib.suppress(ValueError):  # a malformed id is simply not found
            row = await conn.fetchrow(
                "SELECT data FROM contacts WHERE tenant_id = $1 AND id = $2",
                tenant_id,
                uuid.UUID(invoice.contact),
            )
        if row is None:
            missing.append(
                Finding(
                    rule_id=None,
                    severity=Severity.FATAL,
                    title="Not Found",
                    detail="No contact with this id.",
                    pointer="/model/contact",
                    problem_type="NOT_FOUND",
                )
            )
        else:
            buyer = buyer_party(msgspec.convert(row["data"], ContactInput))
    seller = seller_party(tenant)
    invoice = msgspec.structs.replace(
        invoice,
        profile=select_profile(  # type: ignore[arg-type]
            invoice.profile,
            tenant.default_profile,
            seller.address.country,
            buyer.address.country if buyer is not None else None,
            invoice.buyer_reference,
        ),
    )
    invoice = msgspec.structs.replace(
        invoice,
        syntax=resolve_syntax(invoice.profile, invoice.syntax, tenant.default_syntax),  # type: ignore[arg-type]
        conformance_level=resolve_level(  # type: ignore[arg-type]
            invoice.profile, invoice.conformance_level, tenant.default_conformance_level
        ),
    )
    findings, totals, selection = check_on(
        invoice,
        seller=seller,
        buyer=buyer,
        buyer_pointer=buyer_ptr,
        day=day,
        opt_in=tuple(tenant.early_rule_versions),
    )
    findings = rebind(findings, invoice, syntax_of(invoice.profile, invoice.syntax))
    findings += syntax_findings(invoice, seller, buyer, totals)
    return Prepared(
        invoice=invoice,
        tenant=tenant,
        seller=seller,
        buyer=buyer,
        findings=missing + findings,
        selection=selection,
    )


async def issue(
    conn: asyncpg.Connection,
    settings: Settings,
    tenant_id: uuid.UUID,
    invoice_id: uuid.UUID,
    invoice: InvoiceInput,
) -> tuple[Document, list[Finding]]:
    """Issue a locked draft. Raises IssueRefused on any fatal finding (nothing written)."""
    staged = await stage(conn, settings, tenant_id, invoice_id, invoice)
    # From here to commit the series' counter row is locked: database statements only, no
    # storage I/O (the archive object is written after commit, `faktura.archive.deferred`).
    number = await take_number(conn, tenant_id, staged.series, staged.spec, staged.issue_date)
    return await complete(conn, settings, staged, number), staged.warnings


@dataclass(frozen=True)
class Staged:
    """An issue done up to its number: checked, rendered with a placeholder number, its PDF
    queued. `complete` finishes it once a number is taken (`issue` for one, bulk for many)."""

    tenant_id: uuid.UUID
    invoice_id: uuid.UUID
    series: str
    spec: SeriesSpec
    issue_date: dt.date
    document_type: str
    conformance_level: str | None
    placeholder: str
    draft_xml: bytes
    kind: str
    media_type: str
    doc: Document
    issued: dict[str, Any]
    model: Any
    meta: dict[str, str]
    warnings: list[Finding]


async def stage(
    conn: asyncpg.Connection,
    settings: Settings,
    tenant_id: uuid.UUID,
    invoice_id: uuid.UUID,
    invoice: InvoiceInput,
) -> Staged:
    """Everything of issuing that does not need the number. Raises IssueRefused on any fatal
    finding; writes only the PDF job (and a missing default series)."""
    prepared = await prepare(conn, tenant_id, invoice, settings=settings)
    if any(f.fatal for f in prepared.findings) or prepared.buyer is None:
        raise IssueRefused(prepared.findings)
    inv = prepared.invoice
    assert inv.issue_date is not None and inv.currency is not None
    series = inv.series or DEFAULT_SERIES[inv.document_type]
    spec = await series_spec(conn, tenant_id, series)
    if spec is None and inv.series is None:
        fmt = (
            settings.default_credit_note_series_format
            if inv.document_type == "CREDIT_NOTE"
            else settings.default_invoice_series_format
        )
        await ensure_default_series(conn, tenant_id, series, fmt)
        spec = await series_spec(conn, tenant_id, series)
    if spec is None:
        raise IssueRefused(
            [
                Finding(
                    rule_id=None,
                    severity=Severity.FATAL,
                    title="Unknown Series",
                    detail=f"No number series {series!r}; create it under /v1/number-series.",
                    pointer="/model/series",
                    problem_type="INVALID_FIELD",
                )
            ]
        )
    # Everything expensive happens before the number is taken: the series' counter row stays
    # locked from `take_number` until commit, so concurrent issuers on one series queue there.
    placeholder = f"FAKTURA-NUMBER-{uuid.uuid4().hex}"
    doc = build_document(
        inv,
        number=placeholder,
        issue_date=inv.issue_date,
        seller=prepared.seller,
        buyer=prepared.buyer,
        currency=inv.currency,
        profile=inv.profile or PEPPOL_BIS_3,
    )
    einvoice = render_einvoice(doc)
    draft_xml = einvoice.content
    if draft_xml.count(placeholder.encode()) != 1:  # the number must appear exactly once (BT-1)
        raise RuntimeError("the XML renderer must write the invoice number exactly once")
    issued: dict[str, Any] = {
        "profile": doc.profile,
        "rule_versions": prepared.selection.versions,
        "rule_notes": prepared.selection.notes,
        "seller": msgspec.to_builtins(doc.seller),
        "buyer": msgspec.to_builtins(doc.buyer),
        "totals": msgspec.to_builtins(doc.totals),
        "payment_means": msgspec.to_builtins(inv.payment_means),
    }
    model = msgspec.to_builtins(doc.invoice)

    contact_id = uuid.UUID(inv.contact) if inv.contact else None
    meta = await archive_meta(conn, tenant_id, contact_id)
    await queue_pdf(conn, tenant_id, invoice_id)
    return Staged(
        tenant_id=tenant_id,
        invoice_id=invoice_id,
        series=series,
        spec=spec,
        issue_date=inv.issue_date,
        document_type=inv.document_type,
        conformance_level=inv.conformance_level,
        placeholder=placeholder,
        draft_xml=draft_xml,
        kind=einvoice.kind,
        media_type=einvoice.media_type,
        doc=doc,
        issued=issued,
        model=model,
        meta=meta,
        warnings=[f for f in prepared.findings if not f.fatal],
    )


async def complete(conn: asyncpg.Connection, settings: Settings, staged: Staged, number: str) -> Document:
    """Store a staged issue under its number (taken by the caller, whose transaction holds
    the series' counter lock until commit): only database statements, nothing refused."""
    s, tenant_id, invoice_id = staged, staged.tenant_id, staged.invoice_id
    xml = s.draft_xml.replace(s.placeholder.encode(), xml_escape(number).encode())
    digest = hashlib.sha256(xml).hexdigest()
    xml_meta = {"sha256": digest, "size": len(xml), "syntax": s.kind}
    if s.conformance_level is not None:
        xml_meta["conformance_level"] = s.conformance_level
    issued = {**s.issued, "xml": xml_meta}
    await conn.execute(
        "WITH doc AS (INSERT INTO invoice_documents (tenant_id, invoice_id, kind, media_type, content, sha256, size)"
        " VALUES ($1, $2, $15, $11, $12, $13, $14))"
        " UPDATE invoices SET status = 'OPEN', series = $3, number = $4, issue_date = $5, currency = $6,"
        " issued = $7, total_amount = $8, balance = $9, issued_at = clock_timestamp(), modified_at = clock_timestamp(),"
        " model = $10, rule_versions = $7::jsonb -> 'rule_versions' WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        invoice_id,
        s.series,
        number,
        s.issue_date,
        s.doc.currency,
        issued,
        s.doc.totals.tax_inclusive_amount,
        s.doc.totals.payable_amount,
        s.model,
        s.media_type,
        xml,
        digest,
        len(xml),
        s.kind,
    )
    await events.record(conn, tenant_id, invoice_id, "invoice.issued", {"number": number, "status": "OPEN"})
    doc = msgspec.structs.replace(s.doc, number=number)
    await on_issued(
        conn, settings, tenant_id, invoice_id, xml, doc, s.meta, kind=s.kind
    )  # chain the XML's archive entry
    if doc.is_credit_note:
        await apply_credit_note(conn, tenant_id, invoice_id, doc)  # settle (or VOID) what it corrects
    INVOICES_ISSUED.labels(s.document_type).inc()
    return doc
