"""`GET /v1/invoices/{id}/pdf`: the archived PDF/A-3 of an issued invoice, or a DRAFT preview.

An issued invoice's PDF is rendered once by the `pdf.render` job; until it is archived the
route answers 202 with `Retry-After`. A draft is rendered on request, stamped DRAFT, and
never stored; it is rendered outside the API process, within `FAKTURA_PREVIEW_TIMEOUT`
(`faktura.previews`).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get

from faktura.api.common import parse_id
from faktura.api.context import tenant_scope
from faktura.api.errors import ApiError, envelope, findings_error, not_found, problem
from faktura.api.wire import json_response
from faktura.archive import entries_for_invoice, open_store
from faktura.documents import PDF_KIND, buyer_language, current_branding
from faktura.domain.document import build_document
from faktura.domain.invoice import InvoiceInput
from faktura.issuing import prepare
from faktura.previews import PreviewTooSlow, RendererLost, render_preview
from faktura.render.pdf import PDF_MEDIA_TYPE, labels

RETRY_AFTER_SECONDS = 2


def _filename(number: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in number)


def _too_slow(seconds: float) -> ApiError:
    detail = (
        f"The draft could not be previewed within {seconds:g} s;"
        " issue it to have its PDF rendered by the job worker."
    )
    return ApiError(422, [problem("Preview Too Large", detail, "PREVIEW_TOO_LARGE", "/model/line_items")])


class DocumentController(Controller):
    path = "/v1/invoices"
    tags = ["invoices"]

    @get("/{invoice_id:str}/pdf", operation_id="invoices_pdf")
    async def pdf(self, request: Request[Any, Any, Any], invoice_id: str) -> Response[bytes]:
        """The archived PDF/A-3b (UBL embedded); 202 while rendering; a DRAFT preview for drafts."""
        iid = parse_id(invoice_id, "Invoice")
        async with tenant_scope(request) as scope:
            assert scope.tenant_id is not None
            row = await scope.conn.fetchrow(
                "SELECT status, number, model, contact_id FROM invoices WHERE tenant_id = $1 AND id = $2",
                scope.tenant_id,
                iid,
            )
            if row is None:
                raise not_found("Invoice")
            if row["status"] == "DRAFT":
                model = msgspec.convert(row["model"], InvoiceInput)
                prepared = await prepare(scope.conn, scope.tenant_id, model, settings=scope.settings)
                if prepared.buyer is None:
                    raise findings_error([f for f in prepared.findings if f.fatal])
                _, branding = await current_branding(scope.conn, scope.tenant_id)
                language = await buyer_language(scope.conn, scope.tenant_id, row["contact_id"])
                inv = prepared.invoice
                assert inv.issue_date is not None and inv.currency is not None
                draft_doc = build_document(
                    inv,
                    number=labels.LABELS[language]["draft"],
                    issue_date=inv.issue_date,
                    seller=prepared.seller,
                    buyer=prepared.buyer,
                    currency=inv.currency,
                )
                entry = None
            else:
                entries = await entries_for_invoice(scope.conn, scope.tenant_id, iid)
                entry = next((e for e in entries if e.kind == PDF_KIND), None)
                if entry is None:
                    return Response(
                        b'{"model":{"status":"RENDERING"},"warnings":[],"errors":[]}',
                        status_code=202,
                        media_type="application/json",
                        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                    )
        if entry is None:
            settings = scope.settings
            try:
                rendered = await render_preview(
                    settings.templates_dir,
                    draft_doc,
                    branding=branding,
                    language=language,
                    timeout=settings.preview_timeout,
                )
            except PreviewTooSlow:
                raise _too_slow(settings.preview_timeout) from None
            except RendererLost:
                lost = problem(
                    "Service Unavailable", "The renderer restarted; retry.", "RENDERER_UNAVAILABLE"
                )
                return json_response(
                    envelope(None, errors=[lost]), 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}
                )
            return Response(
                rendered.pdf,
                media_type=PDF_MEDIA_TYPE,
                headers={
                    "Cache-Control": "no-store",
                    "Content-Disposition": 'inline; filename="draft.pdf"',
                },
            )
        etag = f'"{entry.sha256}"'
        if request.headers.get("if-none-match") == etag:
            return Response(b"", status_code=304, headers={"ETag": etag})
        data = await open_store(scope.settings).get(entry.storage_key)
        return Response(
            data,
            media_type=PDF_MEDIA_TYPE,
            headers={
                "ETag": etag,
                "Content-Disposition": f'attachment; filename="{_filename(row["number"])}.pdf"',
            },
        )
