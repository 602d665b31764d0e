"""`/v1/invoices`: drafts, issuing, the issued XML, and the seed's list filters."""

from __future__ import annotations

import functools
import uuid
from typing import Any

import msgspec
from litestar import Controller, MediaType, Request, Response, delete, get, patch, post

from faktura.api.common import merge_patch, parse_id
from faktura.api.contacts import contact_view
from faktura.api.context import Scope, pool, tenant_fetch, tenant_scope
from faktura.api.errors import ApiError, conflict, findings_error, not_found, problem
from faktura.api.pagination import (
    Query,
    add_time_filters,
    fetch_page,
    fetch_tenant_joined_page,
    fetch_tenant_page,
    parse_date,
    parse_page_size,
    parse_uuid,
)
from faktura.api.wire import idempotent, json_response, read_model
from faktura.compliance.basic import Checks, anchored, check_numbers
from faktura.compliance.findings import error_object
from faktura.db.tenancy import as_tenant
from faktura.domain.invoice import InvoiceInput
from faktura.domain.totals import compute
from faktura.issue_batch import IssueBatcher
from faktura.issuing import (
    INSERT_DRAFT,
    SCOPED_CONTEXT,
    IssueRefused,
    contact_uuid,
    default_series,
    draft_values,
    issue_row,
    prepare,
    prepare_from,
    ready_from,
    refuse_fatal,
    series_of,
)
from faktura.render.einvoice import file_suffix

PAYMENTS = (
    "ARRAY(SELECT p.id::text FROM payments p WHERE p.tenant_id = invoices.tenant_id"
    " AND p.invoice_id = invoices.id ORDER BY p.created_at)"
)
ROW_COLUMNS = (
    "id, document_type, status, series, number, issue_date, due_date, paid_on_date, contact_id, remote_id,"
    " currency, total_amount, balance, created_at, modified_at, issued_at, credited"
)
COLUMNS = f"{ROW_COLUMNS}, model, issued, {PAYMENTS} AS payments"
LIST_COLUMNS = COLUMNS
#: A list page without `expand` is made of the rows' stored list entries (migration 0011: the
#: JSON `invoice_view(row, lines=False)` encodes, kept by a trigger on every write), with the
#: payment ids put in: nothing is decoded or encoded per row. The documents are read only
#: for a row without an entry (a draft), which is listed through `invoice_view`.
#: A row with an entry brings only what the cursor needs besides it (the other columns are
#: NULL: 15 fewer values to decode per row).
LIST_ENTRY_COLUMNS = ", ".join(
    [
        "id, created_at",
        f"convert_to(replace(list_entry, chr(1), array_to_json({PAYMENTS})::text), 'UTF8') AS entry",
        *(
            f"CASE WHEN list_entry IS NULL THEN {expression} END AS {name}"
            for expression, name in [
                *((c, c) for c in ROW_COLUMNS.replace(" ", "").split(",") if c not in ("id", "created_at")),
                ("model", "model"),
                ("issued", "issued"),
                (PAYMENTS, "payments"),
            ]
        ),
    ]
)
#: An issued invoice's row as issuing returns it: `model` and `issued` are the values it wrote.
ISSUED_COLUMNS = COLUMNS.replace(" model, issued,", "")
#: A list page without `expand=line_items` reads less of each issued invoice from the
#: database (and so decodes and re-encodes less): not its lines, nor the parts of its
#: snapshot the list does not show. A draft keeps its lines: its totals are computed from them.
LIST_COLUMNS_WITHOUT_LINES = COLUMNS.replace(
    "model, issued,",
    "CASE WHEN issued IS NULL THEN model ELSE model - 'line_items' END AS model,"
    " issued - 'seller' - 'payment_means' #- '{totals,lines}' AS issued,",
)
STATUSES = {"DRAFT", "OPEN", "SUBMITTED", "PARTIALLY_PAID", "PAID", "VOID"}
DECLARED_TOTALS = ("sub_total", "total_discount", "total_tax_amount", "total_amount")


def _totals_of(row: Any) -> dict[str, Any] | None:
    if row["issued"] is not None:
        return row["issued"]["totals"]  # type: ignore[no-any-return]
    try:
        inv = msgspec.convert(row["model"], InvoiceInput)
        c = Checks()
        if not check_numbers(c, inv, ()):
            return None
        return msgspec.to_builtins(compute(inv))  # type: ignore[no-any-return]
    except (msgspec.MsgspecError, ArithmeticError):
        return None


def _attachment_view(doc: dict[str, Any]) -> dict[str, Any]:
    """A supporting document without its bytes: responses (and lists of them) stay small; the
    file travels in the UBL (`GET /v1/invoices/{id}/xml`)."""
    out = {k: v for k, v in doc.items() if k != "content"}
    if doc.get("content"):
        b64: str = doc["content"]
        out["size"] = len(b64) * 3 // 4 - b64[-2:].count("=")
    return out


def invoice_view(row: Any, *, lines: bool = True, contact: dict[str, Any] | None = None) -> dict[str, Any]:
    """The seed's invoice object, with the EN 16931 terms and our computed totals."""
    model = {k: v for k, v in row["model"].items() if k not in DECLARED_TOTALS}
    if model.get("attachments"):
        model["attachments"] = [_attachment_view(doc) for doc in model["attachments"]]
    totals = _totals_of(row)
    line_items = model.pop("line_items", [])
    issued = row["issued"]
    out: dict[str, Any] = {
        "id": str(row["id"]),
        "type": "ACCOUNTS_RECEIVABLE",
        "status": row["status"],
        "number": row["number"],
        "series": row["series"],
        "paid_on_date": row["paid_on_date"],
        "payments": row["payments"],
        "credited_amount": row["credited"],
        **model,
        "document_type": row["document_type"],
        "type_code": model.get("type_code") or ("381" if row["document_type"] == "CREDIT_NOTE" else "380"),
        "contact": contact
        if contact is not None
        else (str(row["contact_id"]) if row["contact_id"] else None),
        "created_at": row["created_at"],
        "modified_at": row["modified_at"],
        "issued_at": row["issued_at"],
    }
    if totals is not None:
        out |= {
            "sub_total": totals["line_extension_amount"],
            "total_discount": totals["allowance_total"],
            "total_charges": totals["charge_total"],
            "tax_exclusive_amount": totals["tax_exclusive_amount"],
            "total_tax_amount": totals["tax_amount"],
            "total_amount": totals["tax_inclusive_amount"],
            "prepaid_amount": totals["prepaid_amount"],
            "rounding_amount": totals["rounding_amount"],
            "payable_amount": totals["payable_amount"],
            "tax_breakdown": totals["breakdown"],
        }
        if totals.get("tax_amount_in_tax_currency") is not None:
            out["tax_currency_total_tax_amount"] = totals["tax_amount_in_tax_currency"]
    out["balance"] = row["balance"] if row["balance"] is not None else (totals or {}).get("payable_amount")
    if lines:
        computed = totals["lines"] if totals else [None] * len(line_items)
        out["line_items"] = [
            {**li, "total_amount": lt["net_amount"] if lt else li.get("total_amount")}
            for li, lt in zip(line_items, computed, strict=False)
        ]
    if issued is not None:
        out["profile"] = issued["profile"]
        out["rule_versions"] = issued["rule_versions"]
        out["rule_notes"] = issued.get("rule_notes", [])
        out["xml"] = {**issued["xml"], "url": f"/v1/invoices/{row['id']}/xml"}
        if not row["model"].get("buyer"):
            out["buyer"] = issued["buyer"]
    return out


def list_query(
    tenant_id: uuid.UUID | None,
    *,
    contact_id: str | None = None,
    created_after: str | None = None,
    created_before: str | None = None,
    modified_after: str | None = None,
    modified_before: str | None = None,
    issue_date_after: str | None = None,
    issue_date_before: str | None = None,
    status: str | None = None,
    number: str | None = None,
    remote_id: str | None = None,
    type: str | None = None,
    lines: bool = True,
    entries: bool = False,
) -> Query:
    """The list's query from the seed's filters (each one backed by an index, migration 0007);
    with `entries`, rows carry their stored list entry (see `list_body`). Without a
    `tenant_id` the query is written against `scope.tenant_id`, for `fetch_tenant_page`."""
    columns = LIST_ENTRY_COLUMNS if entries else LIST_COLUMNS if lines else LIST_COLUMNS_WITHOUT_LINES
    if tenant_id is None:
        q = Query("invoices", columns, ["tenant_id = scope.tenant_id"], [])
    else:
        q = Query("invoices", columns, ["tenant_id = $1"], [tenant_id])
    if (cid := parse_uuid(contact_id, "contact_id")) is not None:
        q.add("contact_id = ?", cid)
    add_time_filters(
        q,
        created_after=created_after,
        created_before=created_before,
        modified_after=modified_after,
        modified_before=modified_before,
    )
    if (d := parse_date(issue_date_after, "issue_date_after")) is not None:
        q.add_range("issue_date > ?", d)
    if (d := parse_date(issue_date_before, "issue_date_before")) is not None:
        q.add_range("issue_date < ?", d)
    if status is not None:
        if status not in STATUSES:
            raise ApiError(
                400,
                [
                    problem(
                        "Invalid Parameter",
                        f"status must be one of {sorted(STATUSES)}.",
                        "INVALID_PARAMETER",
                        "/status",
                    )
                ],
            )
        q.add("status = ?", status)
    if number is not None:
        q.add("number = ?", number)
    if remote_id is not None:
        q.add("remote_id = ?", remote_id)
    if type is not None:
        if type in ("INVOICE", "CREDIT_NOTE"):
            q.add("document_type = ?", type)
        elif type != "ACCOUNTS_RECEIVABLE":
            q.add("false")
    return q


def list_body(rows: list[Any], nxt: str | None, prev: str | None) -> bytes:
    """A page without `expand`, from rows of `list_query(..., entries=True)`: the stored
    entries joined; a row without one is encoded from `invoice_view`. The same bytes as
    encoding the page of `invoice_view`s."""
    results = b",".join(
        r["entry"] if r["entry"] is not None else msgspec.json.encode(invoice_view(r, lines=False))
        for r in rows
    )
    return joined_list_body(results, nxt, prev)


def joined_list_body(results: bytes, nxt: str | None, prev: str | None) -> bytes:
    """A list page around its results, already encoded and joined by commas."""
    return b'{"next":%b,"previous":%b,"results":[%b]}' % (
        msgspec.json.encode(nxt),
        msgspec.json.encode(prev),
        results,
    )


def _expand(values: list[str] | None) -> set[str]:
    """`expand=contact,line_items` or `expand=contact&expand=line_items`."""
    fields = {f.strip() for v in values or () for f in v.split(",") if f.strip()}
    unknown = fields - {"contact", "line_items"}
    if unknown:
        raise ApiError(
            400,
            [
                problem(
                    "Invalid Parameter", f"Cannot expand {sorted(unknown)}.", "INVALID_PARAMETER", "/expand"
                )
            ],
        )
    return fields


async def _contacts(scope: Scope, ids: set[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    if not ids:
        return {}
    rows = await scope.conn.fetch(
        "SELECT id, data, created_at, modified_at FROM contacts WHERE tenant_id = $1 AND id = ANY($2)",
        scope.tenant_id,
        list(ids),
    )
    return {r["id"]: contact_view(r) for r in rows}


def _reject_bad_numbers(model: InvoiceInput) -> None:
    c = Checks()
    if not check_numbers(c, model, ("model",)):
        raise findings_error(c.findings)


def _no_such_contact() -> ApiError:
    return ApiError(422, [problem("Not Found", "No contact with this id.", "NOT_FOUND", "/model/contact")])


def _contact_uuid(model: InvoiceInput) -> uuid.UUID | None:
    """The contact's id (None: the invoice names none); a malformed one is not found: 422."""
    if model.contact is None:
        return None
    try:
        return uuid.UUID(model.contact)
    except ValueError:
        raise _no_such_contact() from None


async def _contact_id(scope: Scope, model: InvoiceInput) -> uuid.UUID | None:
    cid = _contact_uuid(model)
    if cid is not None and not await scope.conn.fetchval(
        "SELECT EXISTS (SELECT FROM contacts WHERE tenant_id = $1 AND id = $2)", scope.tenant_id, cid
    ):
        raise _no_such_contact()
    return cid


async def _fetch(scope: Scope, invoice_id: uuid.UUID, *, lock: bool = False) -> Any:
    row = await scope.conn.fetchrow(
        f"SELECT {COLUMNS} FROM invoices WHERE tenant_id = $1 AND id = $2" + (" FOR UPDATE" if lock else ""),
        scope.tenant_id,
        invoice_id,
    )
    if row is None:
        raise not_found("Invoice")
    return row


async def _issue_locked(scope: Scope, row: Any) -> tuple[Any, list[dict[str, Any]]]:
    """Issue the draft `row`, locked by the caller; the issued row and the warnings."""
    if row["status"] != "DRAFT":
        raise conflict("The invoice is already issued; correct it with a credit note.")
    return await _issue(scope, row["id"], msgspec.convert(row["model"], InvoiceInput), row["model"])


async def _issue(
    scope: Scope, invoice_id: uuid.UUID, model: InvoiceInput, sent: dict[str, Any]
) -> tuple[Any, list[dict[str, Any]]]:
    """Issue a draft of this transaction (`sent`: its model as the client sent it, which
    findings point into)."""
    try:
        _, warnings, issued = await issue_row(
            scope.conn,
            scope.settings,
            scope.tenant_id,  # type: ignore[arg-type]
            invoice_id,
            model,
            returning=ISSUED_COLUMNS,
        )
    except IssueRefused as refused:
        raise findings_error(anchored(refused.findings, sent)) from None
    return issued, [error_object(f) for f in anchored(warnings, sent)]


CODE_LIST_RULES = ("BR-CL-", "PEPPOL-EN16931-CL")


async def _draft_findings(scope: Scope, model: InvoiceInput) -> list[dict[str, Any]]:
    """A draft may be incomplete (missing fields come back as warnings), but a value
    outside its code list is wrong input at any stage: 422. Findings point at what the
    client sent (or at where a missing member belongs)."""
    prepared = await prepare(scope.conn, scope.tenant_id, model, settings=scope.settings)  # type: ignore[arg-type]
    findings = anchored(prepared.findings, msgspec.to_builtins(model))
    wrong = [
        f
        for f in findings
        if f.fatal and f.rule_id and f.rule_id.startswith(CODE_LIST_RULES) and f.pointer.startswith("/model")
    ]
    if wrong:
        raise findings_error(wrong)
    return [error_object(f) for f in findings]


def issue_batcher(request: Request[Any, Any, Any]) -> IssueBatcher:
    """This process's batcher of issues (`faktura.issue_batch`), made on first use."""
    state = request.app.state
    if (batcher := state.get("issue_batcher")) is None:
        batcher = state.issue_batcher = IssueBatcher(state.pool, state.settings, ISSUED_COLUMNS)
    return batcher  # type: ignore[no-any-return]


async def _create_and_issue(request: Request[Any, Any, Any], model: InvoiceInput) -> Response[bytes]:
    """`POST /v1/invoices?issue=true`: the credentials check and the issuing context in one
    statement (no transaction: the request only reads), the checks and the XML in the
    request, then created, numbered and stored in the next batch of its series
    (`faktura.issue_batch`), which commits it. (With an `Idempotency-Key`, all of it happens
    in the request's transaction.)"""
    series, contact_id = series_of(model), contact_uuid(model)
    [context] = await tenant_fetch(request, SCOPED_CONTEXT, contact_id, series)
    tenant_id, settings = context["scope_tenant_id"], request.app.state.settings
    invoice_id, sent = uuid.uuid4(), msgspec.to_builtins(model)
    try:
        prepared = refuse_fatal(prepare_from(context, model, settings=settings))
        spec = prepared.series
        if spec is None:  # the type's default series, on its first use
            async with as_tenant(pool(request), tenant_id) as conn:
                spec = await default_series(conn, settings, tenant_id, prepared.invoice, series)
        draft = draft_values(tenant_id, invoice_id, contact_id, model, sent)
        ready = ready_from(prepared, series, spec, invoice_id, draft=draft)
        _, row = await issue_batcher(request).issue(tenant_id, ready)
    except IssueRefused as refused:  # by the checks, or on the number its series gave (BR-FR-01/02)
        if any(f.problem_type == "NOT_FOUND" and f.pointer == "/model/contact" for f in refused.findings):
            raise _no_such_contact() from None  # as a draft's create says it
        raise findings_error(anchored(refused.findings, sent)) from None
    warnings = [error_object(f) for f in anchored(ready.warnings, sent)]
    return json_response({"model": invoice_view(row), "warnings": warnings, "errors": []}, 201)


def _with_contact(row: Any, contacts: dict[uuid.UUID, dict[str, Any]] | None) -> dict[str, Any] | None:
    if contacts is None or row["contact_id"] is None:
        return None
    return contacts.get(row["contact_id"])


class InvoiceController(Controller):
    path = "/v1/invoices"
    tags = ["invoices"]

    @post("/", operation_id="invoices_create", status_code=201)
    async def create(self, request: Request[Any, Any, Any], issue: bool = False) -> Response[bytes]:
        """Create a draft; with `?issue=true` create and issue it in one transaction."""
        model, body = await read_model(request, InvoiceInput)
        _reject_bad_numbers(model)
        if issue and request.headers.get("idempotency-key") is None:
            return await _create_and_issue(request, model)
        async with tenant_scope(request) as scope:

            async def work() -> Response[bytes]:
                contact_id = await _contact_id(scope, model)
                invoice_id, sent = uuid.uuid4(), msgspec.to_builtins(model)
                draft = draft_values(scope.tenant_id, invoice_id, contact_id, model, sent)  # type: ignore[arg-type]
                # Issued at once, the draft's row is not read back: issuing returns the issued row.
                row = await scope.conn.fetchrow(
                    INSERT_DRAFT + ("" if issue else f" RETURNING {COLUMNS}"), *draft
                )
                if issue:
                    row, warnings = await _issue(scope, invoice_id, model, sent)
                else:
                    warnings = await _draft_findings(scope, model)
                return json_response({"model": invoice_view(row), "warnings": warnings, "errors": []}, 201)

            return await idempotent(request, scope, body, work)

    @get("/", operation_id="invoices_list")
    async def list_invoices(
        self,
        request: Request[Any, Any, Any],
        cursor: str | None = None,
        page_size: str | None = None,
        contact_id: str | None = None,
        created_after: str | None = None,
        created_before: str | None = None,
        modified_after: str | None = None,
        modified_before: str | None = None,
        issue_date_after: str | None = None,
        issue_date_before: str | None = None,
        status: str | None = None,
        number: str | None = None,
        remote_id: str | None = None,
        type: str | None = None,
        expand: list[str] | None = None,
    ) -> Response[bytes]:
        """Newest first; `expand=contact,line_items` inlines the contact and the lines."""
        size = parse_page_size(page_size)
        expanded = _expand(expand)
        filtered = functools.partial(
            list_query,
            contact_id=contact_id,
            created_after=created_after,
            created_before=created_before,
            modified_after=modified_after,
            modified_before=modified_before,
            issue_date_after=issue_date_after,
            issue_date_before=issue_date_before,
            status=status,
            number=number,
            remote_id=remote_id,
            type=type,
        )
        if not expanded:
            q = filtered(None, entries=True)
            if not q.ranges:  # the common page: one round trip
                joined = await fetch_tenant_joined_page(request, q, cursor, size)
                if joined is not None:
                    return Response(joined_list_body(*joined), media_type=MediaType.JSON)
                rows, nxt, prev = await fetch_tenant_page(request, q, cursor, size)  # a draft on the page
                return Response(list_body(rows, nxt, prev), media_type=MediaType.JSON)
        async with tenant_scope(request) as scope:
            q = filtered(scope.tenant_id, lines="line_items" in expanded, entries=not expanded)
            rows, nxt, prev = await fetch_page(scope.conn, q, cursor, size)
            if not expanded:
                return Response(list_body(rows, nxt, prev), media_type=MediaType.JSON)
            contacts = None
            if "contact" in expanded:
                contacts = await _contacts(scope, {r["contact_id"] for r in rows if r["contact_id"]})
        results = [
            invoice_view(r, lines="line_items" in expanded, contact=_with_contact(r, contacts)) for r in rows
        ]
        return json_response({"next": nxt, "previous": prev, "results": results})

    @get("/{invoice_id:str}", operation_id="invoices_retrieve")
    async def retrieve(
        self, request: Request[Any, Any, Any], invoice_id: str, expand: list[str] | None = None
    ) -> Response[bytes]:
        iid = parse_id(invoice_id, "Invoice")
        expanded = _expand(expand)
        if "contact" in expanded:
            async with tenant_scope(request) as scope:
                row = await _fetch(scope, iid)
                contacts = await _contacts(scope, {row["contact_id"]}) if row["contact_id"] else None
        else:
            [row] = await tenant_fetch(
                request, f"SELECT {COLUMNS} FROM invoices WHERE tenant_id = scope.tenant_id AND id = $1", iid
            )
            if row["id"] is None:
                raise not_found("Invoice")
            contacts = None
        return json_response(
            {"model": invoice_view(row, contact=_with_contact(row, contacts)), "warnings": [], "errors": []}
        )

    @patch("/{invoice_id:str}", operation_id="invoices_partial_update")
    async def update(self, request: Request[Any, Any, Any], invoice_id: str) -> Response[bytes]:
        """JSON merge patch of a draft. An issued invoice is immutable: 409."""
        iid = parse_id(invoice_id, "Invoice")
        body = await request.body()
        async with tenant_scope(request) as scope:
            row = await _fetch(scope, iid, lock=True)
            if row["status"] != "DRAFT":
                raise conflict("An issued invoice cannot be changed; issue a credit note instead.")
            model, data = merge_patch(row["model"], body, InvoiceInput)
            _reject_bad_numbers(model)
            contact_id = await _contact_id(scope, model)
            row = await scope.conn.fetchrow(
                "UPDATE invoices SET model = $3, document_type = $4, contact_id = $5, remote_id = $6, issue_date = $7,"
                " due_date = $8, currency = $9, modified_at = clock_timestamp()"
                f" WHERE tenant_id = $1 AND id = $2 RETURNING {COLUMNS}",
                scope.tenant_id,
                iid,
                data,
                model.document_type,
                contact_id,
                model.remote_id,
                model.issue_date,
                model.due_date,
                model.currency,
            )
            warnings = await _draft_findings(scope, model)
        return json_response({"model": invoice_view(row), "warnings": warnings, "errors": []})

    @delete("/{invoice_id:str}", operation_id="invoices_destroy", status_code=204)
    async def destroy(self, request: Request[Any, Any, Any], invoice_id: str) -> None:
        """Only drafts can be deleted; issued invoices are kept for good."""
        iid = parse_id(invoice_id, "Invoice")
        async with tenant_scope(request) as scope:
            row = await _fetch(scope, iid, lock=True)
            if row["status"] != "DRAFT":
                raise conflict("An issued invoice cannot be deleted.")
            await scope.conn.execute(
                "DELETE FROM invoices WHERE tenant_id = $1 AND id = $2", scope.tenant_id, iid
            )

    @post("/{invoice_id:str}/issue", operation_id="invoices_issue", status_code=200)
    async def issue_invoice(self, request: Request[Any, Any, Any], invoice_id: str) -> Response[bytes]:
        """Validate, number, total, render and store — all or nothing."""
        iid = parse_id(invoice_id, "Invoice")
        body = await request.body()
        async with tenant_scope(request) as scope:

            async def work() -> Response[bytes]:
                row = await _fetch(scope, iid, lock=True)
                row, warnings = await _issue_locked(scope, row)
                return json_response({"model": invoice_view(row), "warnings": warnings, "errors": []})

            return await idempotent(request, scope, body, work)

    @get("/{invoice_id:str}/xml", operation_id="invoices_xml")
    async def xml(self, request: Request[Any, Any, Any], invoice_id: str) -> Response[bytes]:
        """The stored e-invoice XML (UBL or CII, as issued) bytes, exactly as issued; the file
        name says which: `<number>.xml` (UBL), `<number>.cii.xml`, `<number>.factur-x.xml`."""
        iid = parse_id(invoice_id, "Invoice")
        [row] = await tenant_fetch(
            request,
            "SELECT i.id, i.number, i.issued ->> 'profile' AS profile, i.issued -> 'xml' ->> 'conformance_level' AS level,"
            " d.kind, d.content, d.sha256, d.media_type"
            " FROM invoices i LEFT JOIN invoice_documents d ON d.tenant_id = i.tenant_id AND d.invoice_id = i.id"
            " AND d.kind IN ('ubl', 'cii')"
            " WHERE i.tenant_id = scope.tenant_id AND i.id = $1",
            iid,
        )
        if row["id"] is None:
            raise not_found("Invoice")
        if row["kind"] is None:
            raise conflict("The invoice is a draft; it has no XML until it is issued.")
        etag = f'"{row["sha256"]}"'
        if request.headers.get("if-none-match") == etag:
            return Response(b"", status_code=304, headers={"ETag": etag})
        filename = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in row["number"]) + file_suffix(
            row["profile"], row["kind"], row["level"]
        )
        return Response(
            bytes(row["content"]),
            media_type=row["media_type"],
            headers={"ETag": etag, "Content-Disposition": f'attachment; filename="{filename}"'},
        )
