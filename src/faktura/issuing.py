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
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import asyncpg
import msgspec

from faktura.archive.ledger import COLUMNS as ARCHIVE_COLUMNS
from faktura.archive.ledger import entry_values
from faktura.compliance.binding import rebind
from faktura.compliance.findings import Finding, Severity
from faktura.compliance.profiles import select_profile
from faktura.compliance.rulebook import Selection, check_on
from faktura.compliance.syntax import syntax_findings
from faktura.crediting import apply_credit_note
from faktura.delivery import events
from faktura.documents import archive_meta, issue_jobs, xml_entry
from faktura.domain.document import PEPPOL_BIS_3, Document, build_document
from faktura.domain.france import is_french_business
from faktura.domain.invoice import InvoiceInput, Party
from faktura.domain.parties import ContactInput, TenantInput, buyer_party, default_payment_means, seller_party
from faktura.domain.syntax import resolve_level, resolve_syntax, syntax_of
from faktura.jobs import enqueue_all
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
    #: the number series asked for in `prepare` (None: not asked, or no such series)
    series: SeriesSpec | None = None
    #: the tenant's current branding version (None: the default look)
    branding_version: int | None = None
    #: the contact's language, if it names one
    contact_language: str | None = None


#: Everything an issue reads about its tenant, in one statement: the tenant, the buyer
#: (a contact), the number series and the branding version.
_CONTEXT = (
    "SELECT t.data AS tenant,"
    " (SELECT c.data FROM contacts c WHERE c.tenant_id = t.id AND c.id = $2) AS contact,"
    " (SELECT s.format FROM number_series s WHERE s.tenant_id = t.id AND s.code = $3) AS series_format,"
    " (SELECT s.yearly_reset FROM number_series s WHERE s.tenant_id = t.id AND s.code = $3) AS yearly_reset,"
    " (SELECT max(b.version) FROM tenant_branding b WHERE b.tenant_id = t.id) AS branding_version"
    " FROM tenants t WHERE t.id = $1"
)


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
    series: str | None = None,
) -> Prepared:
    """Resolve the buyer and the tenant's defaults, then run every check of the rule-set
    versions in force on the day of the check (`check_day`), with the preview of versions
    that take effect soon as warnings. With `series`, also read that number series."""
    day = check_day(settings)
    contact_id = None
    if invoice.contact is not None:
        with contextlib.suppress(ValueError):  # a malformed id is simply not found
            contact_id = uuid.UUID(invoice.contact)
    context = await conn.fetchrow(_CONTEXT, tenant_id, contact_id, series)
    tenant = msgspec.convert(context["tenant"], TenantInput)
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
    contact = None
    if invoice.contact is not None:
        buyer_ptr = "/model/contact"
        if context["contact"] is None:
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
            contact = msgspec.convert(context["contact"], ContactInput)
            buyer = buyer_party(contact)
    seller = seller_party(tenant)
    invoice = msgspec.structs.replace(
        invoice,
        profile=select_profile(  # type: ignore[arg-type]
            invoice.profile,
            tenant.default_profile,
            seller.address.country,
            buyer.address.country if buyer is not None else None,
            invoice.buyer_reference,
            french_business_buyer=is_french_business(buyer),
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
        series=None
        if context["series_format"] is None
        else SeriesSpec(context["series_format"], context["yearly_reset"]),
        branding_version=context["branding_version"],
        contact_language=contact.language if contact is not None else None,
    )


#: Everything after the number, in one statement: the XML, the invoice's issued state, the
#: `invoice.issued` event and the XML's archive entry (listed as pending: its object is
#: written after commit). Returns the caller's columns of the invoice, the event, and
#: whether a webhook endpoint listens for it.
_STORE = (
    "WITH doc AS (INSERT INTO invoice_documents (tenant_id, invoice_id, kind, media_type, content, sha256, size)"
    " VALUES ($1, $2, $15, $11, $12, $13, $14)),"
    " event AS (INSERT INTO invoice_events (tenant_id, invoice_id, type, data)"
    " VALUES ($1, $2, 'invoice.issued', $16) RETURNING id, created_at),"
    f" entry AS (INSERT INTO archive_entries (tenant_id, {ARCHIVE_COLUMNS}) VALUES ($1, $17, $18, $19, $20,"
    " $21, $22, $23, $24, $25, $26, $27, $28, $29::text::jsonb, $30, $31)),"
    " pending AS (INSERT INTO archive_pending (tenant_id, seq) VALUES ($1, $17))"
    " UPDATE invoices SET status = 'OPEN', series = $3, number = $4, issue_date = $5, currency = $6,"
    " issued = $7, total_amount = $8, balance = $9, issued_at = clock_timestamp(), modified_at = clock_timestamp(),"
    " model = $10, rule_versions = $7::jsonb -> 'rule_versions' WHERE tenant_id = $1 AND id = $2"
    " RETURNING {returning}, (SELECT id FROM event) AS event_id, (SELECT created_at FROM event) AS event_at,"
    " EXISTS (SELECT FROM webhook_endpoints w WHERE w.tenant_id = $1 AND w.enabled"
    " AND 'invoice.issued' = ANY (w.event_types)) AS announce"
)


async def issue(
    conn: asyncpg.Connection,
    settings: Settings,
    tenant_id: uuid.UUID,
    invoice_id: uuid.UUID,
    invoice: InvoiceInput,
) -> tuple[Document, list[Finding]]:
    """Issue a locked draft. Raises IssueRefused on any fatal finding (nothing written)."""
    doc, warnings, _ = await issue_row(conn, settings, tenant_id, invoice_id, invoice)
    return doc, warnings


async def issue_row(
    conn: asyncpg.Connection,
    settings: Settings,
    tenant_id: uuid.UUID,
    invoice_id: uuid.UUID,
    invoice: InvoiceInput,
    *,
    returning: str = "id",
) -> tuple[Document, list[Finding], Any]:
    """`issue`, also returning the issued invoice's row (its `returning` columns), so the
    caller need not read it again while the series is still locked."""
    series = invoice.series or DEFAULT_SERIES[invoice.document_type]
    prepared = await prepare(conn, tenant_id, invoice, settings=settings, series=series)
    if any(f.fatal for f in prepared.findings) or prepared.buyer is None:
        raise IssueRefused(prepared.findings)
    inv = prepared.invoice
    assert inv.issue_date is not None and inv.currency is not None
    spec = prepared.series
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
    meta = archive_meta(prepared.branding_version, prepared.contact_language, prepared.tenant.language)
    await enqueue_all(conn, issue_jobs(tenant_id, invoice_id, einvoice.kind))

    # From here to commit the series' counter row (and the tenant's archive chain) is locked:
    # this call, one statement, the commit. No storage I/O: the archive object is written
    # after commit (`faktura.archive.deferred`).
    number, head = await take_number(conn, tenant_id, series, spec, inv.issue_date)
    xml = draft_xml.replace(placeholder.encode(), xml_escape(number).encode())
    digest = hashlib.sha256(xml).hexdigest()
    issued["xml"] = {"sha256": digest, "size": len(xml), "syntax": einvoice.kind}
    if inv.conformance_level is not None:
        issued["xml"]["conformance_level"] = inv.conformance_level
    doc = msgspec.structs.replace(doc, number=number)
    entry = xml_entry(head, settings, tenant_id, invoice_id, xml, digest, doc, meta, einvoice.kind)
    event = {"number": number, "status": "OPEN"}
    row = await conn.fetchrow(
        _STORE.format(returning=returning),
        tenant_id,
        invoice_id,
        series,
        number,
        inv.issue_date,
        inv.currency,
        issued,
        doc.totals.tax_inclusive_amount,
        doc.totals.payable_amount,
        model,
        einvoice.media_type,
        xml,
        digest,
        len(xml),
        einvoice.kind,
        event,
        *entry_values(entry)[1:],
    )
    if row["announce"]:
        await events.fan_out(
            conn, tenant_id, invoice_id, "invoice.issued", event, row["event_id"], row["event_at"], None
        )
    if doc.is_credit_note:
        await apply_credit_note(conn, tenant_id, invoice_id, doc)  # settle (or VOID) what it corrects
    INVOICES_ISSUED.labels(inv.document_type).inc()
    return doc, [f for f in prepared.findings if not f.fatal], row
