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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple
from xml.sax.saxutils import escape as xml_escape

import asyncpg
import msgspec

from faktura.archive.ledger import COLUMNS as ARCHIVE_COLUMNS
from faktura.archive.storage import open_store
from faktura.compliance.binding import rebind
from faktura.compliance.findings import Finding, Severity
from faktura.compliance.france.documents import number_findings
from faktura.compliance.profiles import select_profile
from faktura.compliance.rulebook import Selection, check_on
from faktura.compliance.syntax import syntax_findings
from faktura.crediting import apply_credit_note
from faktura.delivery import events
from faktura.documents import archive_meta, issue_jobs, xml_entry
from faktura.domain.document import FRENCH_PROFILES, PEPPOL_BIS_3, Document, build_document
from faktura.domain.france import is_french_business
from faktura.domain.invoice import InvoiceInput, Party
from faktura.domain.parties import ContactInput, TenantInput, buyer_party, default_payment_means, seller_party
from faktura.domain.syntax import resolve_level, resolve_syntax, syntax_of
from faktura.metrics import INVOICES_ISSUED
from faktura.numbering import (
    DEFAULT_SERIES,
    SeriesSpec,
    ensure_default_series,
    period_of,
    render_number,
    series_spec,
    take_numbers,
)
from faktura.render.einvoice import EInvoice, render_einvoice
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


#: Everything an issue reads about its tenant `t`, beside its data: the buyer (a contact,
#: `$1`), the number series (`$2`) and the branding version.
_CONTEXT_READS = (
    " (SELECT c.data FROM contacts c WHERE c.tenant_id = t.id AND c.id = $1) AS contact,"
    " (SELECT s.format FROM number_series s WHERE s.tenant_id = t.id AND s.code = $2) AS series_format,"
    " (SELECT s.yearly_reset FROM number_series s WHERE s.tenant_id = t.id AND s.code = $2) AS yearly_reset,"
    " (SELECT max(b.version) FROM tenant_branding b WHERE b.tenant_id = t.id) AS branding_version"
)
#: The issuing context in one statement, the tenant's id as `$3`.
_CONTEXT = f"SELECT t.data AS tenant,{_CONTEXT_READS} FROM tenants t WHERE t.id = $3"
#: The same for the tenant a credentials check names (`faktura.api.context.tenant_fetch`):
#: the check and the read in one statement, outside any transaction.
SCOPED_CONTEXT = f"SELECT t.data AS tenant,{_CONTEXT_READS} FROM tenants t WHERE t.id = scope.tenant_id"


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
    context = await conn.fetchrow(_CONTEXT, contact_uuid(invoice), series, tenant_id)
    return prepare_from(context, invoice, today=today, settings=settings)


def contact_uuid(invoice: InvoiceInput) -> uuid.UUID | None:
    """The contact's id, for the lookup: a malformed one is simply not found."""
    if invoice.contact is not None:
        with contextlib.suppress(ValueError):
            return uuid.UUID(invoice.contact)
    return None


def prepare_from(
    context: Mapping[str, Any],
    invoice: InvoiceInput,
    *,
    today: dt.date | None = None,
    settings: Settings | None = None,
) -> Prepared:
    """`prepare` on a row of the issuing context (`_CONTEXT`, `SCOPED_CONTEXT`) already read."""
    day = check_day(settings)
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


#: A draft row, as `POST /v1/invoices` writes it (`draft_values` gives the parameters).
INSERT_DRAFT = (
    "INSERT INTO invoices (tenant_id, id, document_type, status, contact_id, remote_id, issue_date,"
    " due_date, currency, model) VALUES ($1, $2, $3, 'DRAFT', $4, $5, $6, $7, $8, $9)"
)


class Draft(NamedTuple):
    """A draft's row: the parameters of `INSERT_DRAFT`, in its order."""

    tenant_id: uuid.UUID
    invoice_id: uuid.UUID
    document_type: str
    contact_id: uuid.UUID | None
    remote_id: str | None
    issue_date: dt.date | None
    due_date: dt.date | None
    currency: str | None
    #: the model as the client sent it
    model: Any


def draft_values(
    tenant_id: uuid.UUID, invoice_id: uuid.UUID, contact_id: uuid.UUID | None, model: InvoiceInput, sent: Any
) -> Draft:
    return Draft(
        tenant_id,
        invoice_id,
        model.document_type,
        contact_id,
        model.remote_id,
        model.issue_date,
        model.due_date,
        model.currency,
        sent,
    )


@dataclass
class Ready:
    """An invoice checked, totalled and rendered, waiting only for its number."""

    invoice_id: uuid.UUID
    series: str
    spec: SeriesSpec
    period: int
    #: the document with `placeholder` for its number, and its XML
    doc: Document
    placeholder: str
    einvoice: EInvoice
    conformance_level: str | None
    issued: dict[str, Any]
    model: dict[str, Any]
    meta: dict[str, str]
    warnings: list[Finding]
    #: the request as checked (to name a finding on the number under its syntax's rule ids)
    invoice: InvoiceInput
    #: the draft's row, when the invoice is created with its issue (`store_issued` then
    #: inserts the invoice issued: no draft row is written and updated)
    draft: Draft | None = None


#: Everything after the numbers, in one statement for every invoice of the batch (one array
#: element each): the XML, the invoice's issued state, the `invoice.issued` event and the
#: XML's archive entry (listed as pending: its object is written after commit); with
#: `_QUEUE_JOBS`, also the jobs. Returns the caller's columns of each invoice (`{returning}`),
#: its event, and whether a webhook endpoint listens. The invoices are written by
#: `_ISSUE_DRAFTS` or `_CREATE_ISSUED`: `_STORE_*` below are the four statements.
_STORE_HEAD = (
    "WITH m AS (SELECT * FROM unnest($2::uuid[], $3::text[], $4::text[], $5::date[], $6::text[], $7::jsonb[],"
    " $8::numeric[], $9::numeric[], $10::jsonb[], $11::text[], $12::bytea[], $13::text[], $14::integer[],"
    " $15::text[], $16::jsonb[], $17::bigint[], $18::uuid[], $19::text[], $20::text[], $21::timestamptz[],"
    " $22::date[], $23::text[], $24::text[], $25::text[], $26::text[], $27::text[], $28::text[], $29::uuid[],"
    " $30::text[], $31::date[])"
    " AS m (m_id, m_series, m_number, m_issue_date, m_currency, m_issued, m_total, m_balance, m_model, m_media,"
    " m_xml, m_sha256, m_size, m_kind, m_event, e_seq, e_id, e_storage, e_key, e_created, e_retention, e_basis,"
    " e_meta, e_prev, e_hash, e_media, d_type, d_contact, d_remote, d_due)),"
    " doc AS (INSERT INTO invoice_documents (tenant_id, invoice_id, kind, media_type, content, sha256, size)"
    " SELECT $1, m_id, m_kind, m_media, m_xml, m_sha256, m_size FROM m),"
    " event AS (INSERT INTO invoice_events (tenant_id, invoice_id, type, data)"
    " SELECT $1, m_id, 'invoice.issued', m_event FROM m RETURNING invoice_id AS ev_invoice, id AS ev_id,"
    " created_at AS ev_at),"
    f" entry AS (INSERT INTO archive_entries (tenant_id, {ARCHIVE_COLUMNS}) SELECT $1, e_seq, e_id, m_id, m_kind,"
    " e_media, m_size, m_sha256, e_storage, e_key, e_created, e_retention, e_basis, e_meta::jsonb, e_prev, e_hash"
    " FROM m),"
    " pending AS (INSERT INTO archive_pending (tenant_id, seq) SELECT $1, e_seq FROM m),"
)
_STORE_TAIL = (
    " SELECT written.*, ev_id AS event_id, ev_at AS event_at,"
    " EXISTS (SELECT FROM webhook_endpoints w WHERE w.tenant_id = $1 AND w.enabled"
    " AND 'invoice.issued' = ANY (w.event_types)) AS announce"
    " FROM written JOIN event ON ev_invoice = written.id"
)
#: The batch's jobs (`documents.issue_jobs`: the PDF, the archive write) as `jobs.enqueue_all`
#: queues them: pgqueuer's enqueue with `on_conflict="skip"` (a job queued or running under
#: its dedupe key is not queued twice), its log row, and (its table's trigger) the notice to
#: the workers. In the store statement when the caller asks (`store_issued(queue_jobs=True)`):
#: a round trip less. `tests/test_issue_batch.py` holds the rows to `enqueue_all`'s.
_QUEUE_JOBS = (
    " queued AS (INSERT INTO pgqueuer AS job (priority, entrypoint, payload, execute_after, dedupe_key, headers,"
    " status) SELECT j_priority, j_entrypoint, j_payload, now(), j_dedupe, 'null', 'queued'"
    " FROM unnest($32::integer[], $33::text[], $34::bytea[], $35::text[])"
    " AS j (j_priority, j_entrypoint, j_payload, j_dedupe)"
    " ON CONFLICT (dedupe_key) WHERE status IN ('queued', 'picked') AND dedupe_key IS NOT NULL DO NOTHING"
    " RETURNING id, entrypoint, priority),"
    " queued_log AS (INSERT INTO pgqueuer_log (job_id, status, entrypoint, priority)"
    " SELECT id, 'queued', entrypoint, priority FROM queued),"
)
#: The drafts of the batch (their rows exist, locked by the caller), issued.
_ISSUE_DRAFTS = (
    "UPDATE invoices SET status = 'OPEN', series = m_series, number = m_number, issue_date = m_issue_date,"
    " currency = m_currency, issued = m_issued, total_amount = m_total, balance = m_balance,"
    " issued_at = clock_timestamp(), modified_at = clock_timestamp(), model = m_model,"
    " rule_versions = m_issued -> 'rule_versions'"
    " FROM m WHERE invoices.tenant_id = $1 AND invoices.id = m_id"
)
#: Invoices created with their issue (`Ready.draft`): inserted issued, the draft's own columns
#: from its row. One row version instead of a draft's and its update's.
_CREATE_ISSUED = (
    "INSERT INTO invoices AS invoices (tenant_id, id, document_type, status, contact_id, remote_id, due_date,"
    " series, number, issue_date, currency, issued, total_amount, balance, created_at, issued_at, modified_at,"
    " model, rule_versions)"
    " SELECT $1, m_id, d_type, 'OPEN', d_contact, d_remote, d_due, m_series, m_number, m_issue_date, m_currency,"
    " m_issued, m_total, m_balance, clock_timestamp(), clock_timestamp(), clock_timestamp(), m_model,"
    " m_issued -> 'rule_versions' FROM m"
)
_STORE_ISSUE = f"{_STORE_HEAD} written AS ({_ISSUE_DRAFTS} RETURNING {{returning}}){_STORE_TAIL}"
_STORE_ISSUE_QUEUED = (
    f"{_STORE_HEAD}{_QUEUE_JOBS} written AS ({_ISSUE_DRAFTS} RETURNING {{returning}}){_STORE_TAIL}"
)
_STORE_CREATE = f"{_STORE_HEAD} written AS ({_CREATE_ISSUED} RETURNING {{returning}}){_STORE_TAIL}"
_STORE_CREATE_QUEUED = (
    f"{_STORE_HEAD}{_QUEUE_JOBS} written AS ({_CREATE_ISSUED} RETURNING {{returning}}){_STORE_TAIL}"
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
) -> tuple[Document, list[Finding], dict[str, Any]]:
    """`issue`, also returning the issued invoice's row (its `returning` columns), so the
    caller need not read it again while the series is still locked. The row's `model` and
    `issued` are the values just written (no need to return and decode them)."""
    ready = await ready_to_issue(conn, settings, tenant_id, invoice_id, invoice)
    [(doc, row)] = await store_issued(
        conn, settings, tenant_id, [ready], returning=returning, queue_jobs=True
    )
    return doc, ready.warnings, row


async def ready_to_issue(
    conn: asyncpg.Connection,
    settings: Settings,
    tenant_id: uuid.UUID,
    invoice_id: uuid.UUID,
    invoice: InvoiceInput,
    *,
    draft: Draft | None = None,
) -> Ready:
    """Everything of an issue that does not need its number: checks, totals, the XML with a
    placeholder for the number. Raises IssueRefused on any fatal finding."""
    series = series_of(invoice)
    prepared = refuse_fatal(await prepare(conn, tenant_id, invoice, settings=settings, series=series))
    spec = prepared.series or await default_series(conn, settings, tenant_id, prepared.invoice, series)
    return ready_from(prepared, series, spec, invoice_id, draft=draft)


def series_of(invoice: InvoiceInput) -> str:
    """The number series an invoice is issued on: the one it names, else its type's default."""
    return invoice.series or DEFAULT_SERIES[invoice.document_type]


def refuse_fatal(prepared: Prepared) -> Prepared:
    """Raises IssueRefused if a finding is fatal (or there is no buyer)."""
    if any(f.fatal for f in prepared.findings) or prepared.buyer is None:
        raise IssueRefused(prepared.findings)
    return prepared


async def default_series(
    conn: asyncpg.Connection, settings: Settings, tenant_id: uuid.UUID, invoice: InvoiceInput, series: str
) -> SeriesSpec:
    """The series `prepare` found missing: the type's default series is created on its first
    use (in `conn`'s transaction, scoped to the tenant); a series the invoice names is refused."""
    spec = None
    if invoice.series is None:
        fmt = (
            settings.default_credit_note_series_format
            if invoice.document_type == "CREDIT_NOTE"
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
    return spec


def ready_from(
    prepared: Prepared, series: str, spec: SeriesSpec, invoice_id: uuid.UUID, *, draft: Draft | None = None
) -> Ready:
    """`ready_to_issue` once the checks passed (`refuse_fatal`) and the series is known:
    totals, and the XML with a placeholder for the number. No database."""
    inv = prepared.invoice
    assert inv.issue_date is not None and inv.currency is not None and prepared.buyer is not None
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
    if einvoice.content.count(placeholder.encode()) != 1:  # the number must appear exactly once (BT-1)
        raise RuntimeError("the XML renderer must write the invoice number exactly once")
    return Ready(
        invoice_id=invoice_id,
        series=series,
        spec=spec,
        period=period_of(spec, inv.issue_date),
        doc=doc,
        placeholder=placeholder,
        einvoice=einvoice,
        conformance_level=inv.conformance_level,
        issued={
            "profile": doc.profile,
            "rule_versions": prepared.selection.versions,
            "rule_notes": prepared.selection.notes,
            "seller": msgspec.to_builtins(doc.seller),
            "buyer": msgspec.to_builtins(doc.buyer),
            "totals": msgspec.to_builtins(doc.totals),
            "payment_means": msgspec.to_builtins(inv.payment_means),
        },
        model=msgspec.to_builtins(doc.invoice),
        meta=archive_meta(prepared.branding_version, prepared.contact_language, prepared.tenant.language),
        warnings=[f for f in prepared.findings if not f.fatal],
        invoice=inv,
        draft=draft,
    )


async def store_issued(
    conn: asyncpg.Connection,
    settings: Settings,
    tenant_id: uuid.UUID,
    batch: list[Ready],
    *,
    returning: str = "id",
    queue_jobs: bool = False,
) -> list[tuple[Document, dict[str, Any]]]:
    """Number and store a batch of ready invoices of one series and period, in batch order;
    with `queue_jobs`, also queue their jobs (`documents.issue_jobs`) in the same statement.

    From the numbers to commit the series' counter row and the tenant's archive chain are
    locked: `take_numbers`, one statement, the commit. No storage I/O: the archive objects
    are written after commit (`faktura.archive.deferred`). Invoices created with their issue
    (`Ready.draft`) are inserted issued when the whole batch is; else their drafts first."""
    create = all(ready.draft is not None for ready in batch)
    if not create and (drafts := [ready.draft for ready in batch if ready.draft is not None]):
        await conn.executemany(INSERT_DRAFT, drafts)
    first = batch[0]
    seq, head = await take_numbers(conn, tenant_id, first.series, first.period, len(batch))
    values: list[list[Any]] = [[] for _ in range(30)]
    docs = {}
    storage = open_store(settings).name
    for ready in batch:
        number = render_number(ready.spec.format, ready.doc.issue_date.year, seq)
        seq += 1
        if ready.doc.profile in FRENCH_PROFILES and (refused := number_findings(number)):
            # BR-FR-01/02 on BT-1, under the ids of the syntax's Schematron: the transaction
            # gives the numbers back
            inv = ready.invoice
            raise IssueRefused(rebind(refused, inv, syntax_of(inv.profile, inv.syntax)))
        xml = ready.einvoice.content.replace(ready.placeholder.encode(), xml_escape(number).encode())
        digest = hashlib.sha256(xml).hexdigest()
        ready.issued["xml"] = {"sha256": digest, "size": len(xml), "syntax": ready.einvoice.kind}
        if ready.conformance_level is not None:
            ready.issued["xml"]["conformance_level"] = ready.conformance_level
        doc = docs[ready.invoice_id] = msgspec.structs.replace(ready.doc, number=number)
        entry = xml_entry(
            head, storage, tenant_id, ready.invoice_id, xml, digest, doc, ready.meta, ready.einvoice.kind
        )
        head = (entry.seq, entry.entry_hash)
        member = (
            ready.invoice_id,
            ready.series,
            number,
            doc.issue_date,
            doc.currency,
            ready.issued,
            doc.totals.tax_inclusive_amount,
            doc.totals.payable_amount,
            ready.model,
            ready.einvoice.media_type,
            xml,
            digest,
            len(xml),
            ready.einvoice.kind,
            {"number": number, "status": "OPEN"},
            entry.seq,
            entry.id,
            entry.storage,
            entry.storage_key,
            entry.created_at,
            entry.retention_until,
            entry.retention_basis,
            msgspec.json.encode(entry.meta).decode(),
            entry.prev_hash,
            entry.entry_hash,
            entry.media_type,
            *(
                (None, None, None, None)
                if ready.draft is None
                else (
                    ready.draft.document_type,
                    ready.draft.contact_id,
                    ready.draft.remote_id,
                    ready.draft.due_date,
                )
            ),
        )
        for column, value in zip(values, member, strict=True):
            column.append(value)
    if queue_jobs:
        jobs = [job for r in batch for job in issue_jobs(tenant_id, r.invoice_id, r.einvoice.kind)]
        values += [
            [priority for _, _, _, priority in jobs],
            [entrypoint for entrypoint, _, _, _ in jobs],
            [msgspec.json.encode(payload) for _, payload, _, _ in jobs],
            [dedupe_key for _, _, dedupe_key, _ in jobs],
        ]
    if create:
        statement = _STORE_CREATE_QUEUED if queue_jobs else _STORE_CREATE
    else:
        statement = _STORE_ISSUE_QUEUED if queue_jobs else _STORE_ISSUE
    rows = {r["id"]: r for r in await conn.fetch(statement.format(returning=returning), tenant_id, *values)}
    out = []
    for ready in batch:
        row, doc = rows[ready.invoice_id], docs[ready.invoice_id]
        if row["announce"]:
            event = {"number": doc.number, "status": "OPEN"}
            await events.fan_out(
                conn,
                tenant_id,
                ready.invoice_id,
                "invoice.issued",
                event,
                row["event_id"],
                row["event_at"],
                None,
            )
        if doc.is_credit_note:
            await apply_credit_note(
                conn, tenant_id, ready.invoice_id, doc
            )  # settle (or VOID) what it corrects
        INVOICES_ISSUED.labels(doc.invoice.document_type).inc()
        out.append((doc, {**row, "model": ready.model, "issued": ready.issued}))
    return out
