"""Issued artefacts: the UBL into the archive at issue time, the PDF by a worker job.

Issuing (`faktura.issuing`) inserts the XML's chained archive entry (`xml_entry`) with the
invoice and queues the `pdf.render` job in the same transaction, so "issued" and "archived"
commit together, or none of them does. The XML object itself is written right after commit
by the `archive.write` job (`faktura.archive.deferred`): the series' number stays locked
only for database work, never for an fsync or an S3 PUT. The entry's `meta` snapshots what the PDF will look like
(buyer language, branding version), so a later logo or language change never alters an
issued invoice's PDF, even if the job runs late or is retried.

`render_pdf` (the job) renders from the *archived* XML bytes, which makes the XML embedded
in the PDF/A-3 byte-identical to the archived XML by construction.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import multiprocessing
import os
import uuid
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

from faktura.archive import archive_document, entries_for_invoice, open_store
from faktura.archive.deferred import read_object, write_job, write_job_of_invoices
from faktura.archive.ledger import ArchiveEntry, next_entry
from faktura.db.availability import database_unavailable
from faktura.domain.document import Document
from faktura.domain.invoice import InvoiceInput, Party
from faktura.domain.syntax import facturx_level
from faktura.domain.totals import Totals
from faktura.jobs import JobContext
from faktura.render.pdf import PDF_MEDIA_TYPE, Branding, PdfRenderer, Rendered, choose_language
from faktura.render.pdf.facturx import XMP_LEVELS
from faktura.settings import Settings
from faktura.supervisor import die_with_parent
from faktura.turns import TenantTurns

log = logging.getLogger("faktura.documents")

PDF_JOB = "pdf.render"
#: The PDFs of a bulk chunk's invoices, `PDF_GROUP` per job: a kind of its own, which a worker
#: takes only a few of at a time (`faktura.worker.CAPPED`). A month-end's thousands of them,
#: all held by the workers, cost the queue table a heartbeat each every 15 s and every
#: dequeue a walk past the dead versions those left (docs/performance.md, "Month-end").
PDF_GROUP_JOB = "pdf.render_group"
UBL_KIND = "ubl"
CII_KIND = "cii"
#: archive kinds of the issued e-invoice XML, one per invoice
XML_KINDS = (UBL_KIND, CII_KIND)
PDF_KIND = "pdf"


@lru_cache(maxsize=4)
def renderer(templates_dir: Path | None) -> PdfRenderer:
    return PdfRenderer(templates_dir)


async def current_branding(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> tuple[int | None, Branding]:
    row = await conn.fetchrow(
        "SELECT version, template, accent_color, footer_text, logo, logo_media_type FROM tenant_branding"
        " WHERE tenant_id = $1 ORDER BY version DESC LIMIT 1",
        tenant_id,
    )
    return (row["version"], _branding(row)) if row else (None, Branding())


async def branding_version(conn: asyncpg.Connection, tenant_id: uuid.UUID, version: int | None) -> Branding:
    if version is None:
        return Branding()
    row = await conn.fetchrow(
        "SELECT template, accent_color, footer_text, logo, logo_media_type FROM tenant_branding"
        " WHERE tenant_id = $1 AND version = $2",
        tenant_id,
        version,
    )
    return _branding(row) if row else Branding()


def _branding(row: Any) -> Branding:
    return Branding(
        template=row["template"],
        accent_color=row["accent_color"],
        footer_text=row["footer_text"],
        logo=bytes(row["logo"]) if row["logo"] is not None else None,
        logo_media_type=row["logo_media_type"],
    )


async def buyer_language(conn: asyncpg.Connection, tenant_id: uuid.UUID, contact_id: uuid.UUID | None) -> str:
    """The buyer's language (a contact's `language`), falling back to the tenant's."""
    contact_lang = None
    if contact_id is not None:
        contact_lang = await conn.fetchval(
            "SELECT data->>'language' FROM contacts WHERE tenant_id = $1 AND id = $2", tenant_id, contact_id
        )
    tenant_lang = await conn.fetchval("SELECT data->>'language' FROM tenants WHERE id = $1", tenant_id)
    return choose_language(contact_lang, tenant_lang)


def archive_meta(branding: int | None, *languages: str | None) -> dict[str, str]:
    """What the PDF job needs to render exactly as at issue time: the branding version and
    the buyer's language (the first of `languages` we have labels for: contact, tenant)."""
    meta = {"language": choose_language(*languages)}
    if branding is not None:
        meta["branding_version"] = str(branding)
    return meta


def issue_jobs(
    tenant_id: uuid.UUID, invoice_id: uuid.UUID, kind: str
) -> list[tuple[str, dict[str, Any], str, int]]:
    """The jobs an issue queues: the PDF, and the write of the XML's archive object after
    commit (by `enqueue_all`, or in the issue's store statement: `store_issued(queue_jobs=True)`)."""
    return [pdf_job(tenant_id, invoice_id), write_job(tenant_id, invoice_id, kind)]


def pdf_job(tenant_id: uuid.UUID, invoice_id: uuid.UUID) -> tuple[str, dict[str, Any], str, int]:
    return (
        PDF_JOB,
        {"tenant_id": str(tenant_id), "invoice_id": str(invoice_id)},
        f"{PDF_JOB}:{invoice_id}",
        -1,  # after deliveries and bulk items: a PDF can wait, a send should not
    )


def pdf_job_of_invoices(
    tenant_id: uuid.UUID, invoice_ids: list[uuid.UUID]
) -> tuple[str, dict[str, Any], str, int]:
    """One `pdf.render_group` job for several invoices (a bulk chunk's), rendered one after the
    other, each at its own turn: one pick, one heartbeat and one log entry instead of one per
    invoice."""
    payload = {"tenant_id": str(tenant_id), "invoice_ids": [str(i) for i in invoice_ids]}
    return PDF_GROUP_JOB, payload, f"{PDF_JOB}:{invoice_ids[0]}:invoices", -1


#: Invoices per `pdf.render_group` job of a bulk chunk: at the end of a batch, the last jobs are
#: shared by the workers' renderers rather than left to one of them.
PDF_GROUP = 25


def chunk_issue_jobs(
    tenant_id: uuid.UUID, invoice_ids: list[uuid.UUID]
) -> list[tuple[str, dict[str, Any], str, int]]:
    """`issue_jobs` of several invoices issued in one transaction: one PDF job per
    `PDF_GROUP` of them and one archive write for all of them."""
    return [
        pdf_job_of_invoices(tenant_id, invoice_ids[start : start + PDF_GROUP])
        for start in range(0, len(invoice_ids), PDF_GROUP)
    ] + [write_job_of_invoices(tenant_id, invoice_ids)]


def xml_entry(
    head: tuple[int | None, str | None],
    storage: str,
    tenant_id: uuid.UUID,
    invoice_id: uuid.UUID,
    xml: bytes,
    digest: str,
    doc: Document,
    meta: dict[str, str],
    kind: str,
) -> ArchiveEntry:
    """The issued XML's archive entry (`kind`: its syntax), chained after `head` (seq, hash),
    in the store named `storage` (`open_store(settings).name`); issuing inserts it with the
    invoice, its object is written after commit (`archive.write`)."""
    return next_entry(
        *head,
        storage,
        tenant_id,
        invoice_id,
        kind,
        "application/xml",
        digest,
        len(xml),
        country=doc.seller.address.country,
        issue_date=doc.issue_date,
        meta={"number": doc.number, **meta},
    )


def issued_document(row: Any) -> Document:
    """The Document exactly as issued, from the invoice row's snapshots (no recomputation)."""
    issued = row["issued"]
    return Document(
        number=row["number"],
        issue_date=row["issue_date"],
        currency=row["currency"],
        seller=msgspec.convert(issued["seller"], Party, strict=False),
        buyer=msgspec.convert(issued["buyer"], Party, strict=False),
        invoice=msgspec.convert(row["model"], InvoiceInput, strict=False),
        totals=msgspec.convert(issued["totals"], Totals, strict=False),
        profile=issued["profile"],
    )


def _start_renderer(parent_pid: int) -> None:
    die_with_parent(parent_pid)  # a worker killed with -9 leaves no renderer behind
    # FAKTURA_PDF_NICENESS (README): with 10, a busy machine serves issuing, sends and the
    # API first and renders PDFs with the CPU that is left
    if niceness := int(os.environ.get("FAKTURA_PDF_NICENESS") or 0):
        os.nice(niceness)  # a PDF can wait, issuing and sends should not


@lru_cache(maxsize=1)
def _render_pool() -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_renderer,
        initargs=(os.getpid(),),
    )


#: One render at a time per pool slot, handed out round robin by tenant: a bulk's thousands
#: of PDFs would otherwise fill the pool's first-come queue ahead of another tenant's one.
_RENDER_TURNS = TenantTurns(1)


def _render_in_child(
    templates_dir: Path | None, doc: Document, branding: Branding, language: str, xml: bytes
) -> Rendered:
    return renderer(templates_dir).render(doc, branding=branding, language=language, xml=xml)


async def render_pdf(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The `pdf.render` job, of one invoice (`invoice_id`), and the `pdf.render_group` job, of
    several (`invoice_ids`, one after the other; one that fails does not stop the others, the
    job fails after them): render once, archive. Safe to run twice."""
    tenant_id = uuid.UUID(payload["tenant_id"])
    failed: Exception | None = None
    for invoice_id in payload.get("invoice_ids") or [payload["invoice_id"]]:
        try:
            await _render_one(ctx, tenant_id, uuid.UUID(invoice_id))
        except Exception as exc:
            if "invoice_ids" not in payload or database_unavailable(exc):
                raise
            log.exception("PDF of invoice %s not rendered", invoice_id)
            failed = failed or exc
    if failed is not None:
        raise failed


async def _render_one(ctx: JobContext, tenant_id: uuid.UUID, invoice_id: uuid.UUID) -> None:
    store = open_store(ctx.settings)
    # WeasyPrint is CPU-bound pure Python: in a thread it would hold the GIL and starve this
    # worker's event loop (and with it every delivery and issue job it runs). A child process
    # keeps the loop responsive. Tenants take turns at that process (`_RENDER_TURNS`), and a
    # job reads its inputs only once it has its turn: a bulk's waiting PDF jobs read nothing
    # while the batch is being issued.
    async with _RENDER_TURNS.turn(tenant_id):
        async with ctx.tenant(tenant_id) as conn:
            entries = {e.kind: e for e in await entries_for_invoice(conn, tenant_id, invoice_id)}
            if PDF_KIND in entries:
                return
            ubl = next((entries[k] for k in XML_KINDS if k in entries), None)  # the issued XML, UBL or CII
            if ubl is None:
                raise LookupError(f"invoice {invoice_id} has no issued XML in the archive")
            row = await conn.fetchrow(
                "SELECT number, issue_date, currency, model, issued FROM invoices WHERE tenant_id = $1 AND id = $2",
                tenant_id,
                invoice_id,
            )
            version = ubl.meta.get("branding_version")
            branding = await branding_version(conn, tenant_id, int(version) if version else None)
            xml = await read_object(conn, store, ubl)
        if hashlib.sha256(xml).hexdigest() != ubl.sha256:
            raise RuntimeError(f"archived UBL of invoice {invoice_id} does not match its archive entry")
        doc = issued_document(row)
        language = ubl.meta.get("language", "en")
        rendered = await asyncio.get_running_loop().run_in_executor(
            _render_pool(), _render_in_child, ctx.settings.templates_dir, doc, branding, language, xml
        )
    meta = {
        "number": doc.number,
        "language": language,
        "template": branding.template,
        "pages": str(rendered.pages),
        "conformance": "PDF/A-3B",
    }
    level = facturx_level(doc.profile, doc.invoice.conformance_level)
    if level is not None:  # a hybrid: say at which level, as its XMP does
        meta["factur_x"] = XMP_LEVELS[level]
    async with ctx.tenant(tenant_id) as conn:
        await archive_document(
            conn,
            store,
            tenant_id,
            invoice_id,
            PDF_KIND,
            PDF_MEDIA_TYPE,
            rendered.pdf,
            country=doc.seller.address.country,
            issue_date=doc.issue_date,
            meta=meta,
        )


async def archived_pdf(
    conn: asyncpg.Connection, settings: Settings, tenant_id: uuid.UUID, invoice_id: uuid.UUID
) -> bytes | None:
    """The archived PDF/A-3 of an issued invoice (for delivery channels), or None while it is
    still being rendered. `conn` must be scoped to the tenant."""
    entry = next(
        (e for e in await entries_for_invoice(conn, tenant_id, invoice_id) if e.kind == PDF_KIND), None
    )
    return None if entry is None else await open_store(settings).get(entry.storage_key)
