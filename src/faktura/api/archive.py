"""The archive over HTTP: an invoice's entries, and the ZIP export of an audit period."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.response import Stream

from faktura.api.common import parse_id
from faktura.api.context import tenant_scope
from faktura.api.errors import ApiError, not_found, problem
from faktura.api.wire import json_response
from faktura.archive import open_store
from faktura.archive.deferred import write_now
from faktura.archive.export import export_zip
from faktura.archive.ledger import COLUMNS, entries_for_invoice, entry_from_row

MAX_EXPORT_ENTRIES = 100_000


def _date(value: str | None, name: str) -> dt.date:
    try:
        if value is None:
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ApiError(
            400,
            [
                problem(
                    "Invalid Parameter",
                    f"`{name}` must be a date (YYYY-MM-DD).",
                    "INVALID_PARAMETER",
                    f"/{name}",
                )
            ],
        ) from None


class InvoiceArchiveController(Controller):
    path = "/v1/invoices"
    tags = ["archive"]

    @get("/{invoice_id:str}/archive", operation_id="invoices_archive")
    async def entries(self, request: Request[Any, Any, Any], invoice_id: str) -> Response[bytes]:
        """The invoice's archive entries: hashes, size, media type, retention, chain links."""
        iid = parse_id(invoice_id, "Invoice")
        async with tenant_scope(request) as scope:
            assert scope.tenant_id is not None
            exists = await scope.conn.fetchval(
                "SELECT EXISTS (SELECT FROM invoices WHERE tenant_id = $1 AND id = $2)", scope.tenant_id, iid
            )
            if not exists:
                raise not_found("Invoice")
            entries = await entries_for_invoice(scope.conn, scope.tenant_id, iid)
        return json_response(
            {
                "model": {"invoice_id": str(iid), "entries": [e.view() for e in entries]},
                "warnings": [],
                "errors": [],
            }
        )


class ArchiveController(Controller):
    path = "/v1/archive"
    tags = ["archive"]

    @get("/export", operation_id="archive_export")
    async def export(self, request: Request[Any, Any, Any]) -> Stream:
        """ZIP of the XML and PDF of every invoice issued from `from` to `to` (inclusive, issue
        date), with `manifest.json` and `manifest.csv` (SHA-256 of every file)."""
        start = _date(request.query_params.get("from"), "from")
        end = _date(request.query_params.get("to"), "to")
        if end < start:
            # well-formed, but an empty period is a mistake worth saying
            raise ApiError(
                422, [problem("Invalid Parameter", "`to` is before `from`.", "INVALID_PARAMETER", "/to")]
            )
        cols = ", ".join(f"a.{c.strip()}" for c in COLUMNS.split(","))
        async with tenant_scope(request) as scope:
            assert scope.tenant_id is not None
            rows = await scope.conn.fetch(
                f"SELECT {cols}, i.number AS _number, i.issue_date AS _issue_date FROM archive_entries a"
                " JOIN invoices i ON i.tenant_id = a.tenant_id AND i.id = a.invoice_id"
                " WHERE a.tenant_id = $1 AND i.issue_date BETWEEN $2 AND $3 AND a.kind IN ('ubl', 'cii', 'pdf')"
                " ORDER BY i.issue_date, i.number, a.seq LIMIT $4",
                scope.tenant_id,
                start,
                end,
                MAX_EXPORT_ENTRIES,
            )
            tenant_id = scope.tenant_id
            items = []
            for r in rows:
                d = dict(r)
                number, issue_date = d.pop("_number"), d.pop("_issue_date")
                items.append((entry_from_row(tenant_id, d), number, issue_date))
            store = open_store(scope.settings)
            await write_now(scope.conn, store, tenant_id, [e for e, _, _ in items])  # just issued ones
        name = f"faktura-archive-{start.isoformat()}-{end.isoformat()}.zip"
        return Stream(
            export_zip(store, items, generated_at=dt.datetime.now(dt.UTC)),
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
