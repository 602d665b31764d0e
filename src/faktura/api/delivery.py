"""Send and track an invoice: `send`, the delivery list, the event timeline, the cheap
status poll, payments; and the tenant's delivery settings."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post, put
from msgspec import Meta

from faktura.api.common import parse_id
from faktura.api.context import tenant_fetch, tenant_scope
from faktura.api.errors import ApiError, conflict, not_found, problem
from faktura.api.targets import check_url
from faktura.api.wire import convert, decode_json, decode_model, idempotent, json_response, model_response
from faktura.delivery import events
from faktura.delivery.service import COLUMNS as DELIVERY_COLUMNS
from faktura.delivery.service import SendRefused, move_invoice, request_send, view
from faktura.domain.invoice import Model

Email = Annotated[str, Meta(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
Url = Annotated[str, Meta(pattern=r"^https?://", max_length=2000)]
#: Event ids are bigint.
MAX_EVENT_ID = 2**63 - 1
MAX_EVENTS_PAGE = 1000


class SendRequest(Model, kw_only=True):
    """`auto`: the tenant's French approved platform for an invoice under a French profile when
    the tenant has one, else Peppol when the buyer has a Peppol endpoint id, else e-mail.
    `afnor-pa`: the tenant's French approved platform (`PUT /v1/france/pa`)."""

    channel: Literal["peppol", "email", "webhook", "afnor-pa", "auto"] = "auto"
    force: bool = False
    to: Email | None = None
    url: Url | None = None


class PaymentInput(Model, kw_only=True):
    amount: Annotated[Decimal, Meta(description="Amount paid, > 0, in the invoice currency")]
    date: dt.date
    reference: Annotated[str, Meta(min_length=1, max_length=200)] | None = None


class DeliverySettingsInput(Model, kw_only=True):
    """Per-tenant e-mail sending: sender, reply-to, subject template (`{number}`, `{seller}`,
    `{buyer}`, `{issue_date}`, `{total}`, `{currency}`)."""

    email_from: Annotated[str, Meta(min_length=3, max_length=300)] | None = None
    reply_to: Email | None = None
    subject_template: Annotated[str, Meta(min_length=1, max_length=300)] | None = None


def _send_body(raw: bytes) -> SendRequest:
    """`{"model": {...}}` like every other POST; no body means every default. The bare
    `{"channel": ...}` of earlier versions is still read (deprecated), errors then point
    at its fields without the `/model` prefix."""
    if not raw.strip():
        return convert({}, SendRequest, "/model")
    data = decode_json(raw)
    if isinstance(data, dict) and "model" in data:
        return decode_model(raw, SendRequest)
    return convert(data, SendRequest, "")


async def _invoice_exists(scope: Any, iid: uuid.UUID) -> None:
    if not await scope.conn.fetchval(
        "SELECT EXISTS (SELECT FROM invoices WHERE tenant_id = $1 AND id = $2)", scope.tenant_id, iid
    ):
        raise not_found("Invoice")


def payment_view(row: Any) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "invoice": str(row["invoice_id"]),
        "amount": row["amount"],
        "date": row["date"],
        "reference": row["reference"],
        "created_at": row["created_at"],
    }


class InvoiceDeliveryController(Controller):
    path = "/v1/invoices"
    tags = ["delivery"]

    @post("/{invoice_id:str}/send", operation_id="invoices_send", status_code=202)
    async def send(self, request: Request[Any, Any, Any], invoice_id: str) -> Response[bytes]:
        """Queue a delivery (202 + the delivery). Idempotent per invoice and channel unless
        `force`; a FAILED delivery does not count."""
        iid = parse_id(invoice_id, "Invoice")
        raw = await request.body()
        body = _send_body(raw)
        addressee, channel = None, body.channel
        if channel == "auto":
            from faktura.api.france import goes_to_pa

            if await goes_to_pa(request, iid):
                channel = "afnor-pa"
        if channel == "afnor-pa":
            from faktura.api.france import addressee_of

            addressee = await addressee_of(request, iid)
        async with tenant_scope(request) as scope:
            if body.url is not None:
                await check_url(body.url, scope.settings, "/url")

            async def work() -> Response[bytes]:
                try:
                    row, created = await request_send(
                        scope.conn,
                        scope.settings,
                        scope.tenant_id,  # type: ignore[arg-type]
                        iid,
                        channel,
                        force=body.force,
                        to=body.to,
                        url=body.url,
                        addressee=addressee,
                    )
                except SendRefused as e:
                    raise ApiError(
                        e.status, [problem(e.title, e.detail, e.title.upper().replace(" ", "_"), e.pointer)]
                    ) from None
                return json_response(
                    {"model": view(row), "warnings": [], "errors": []},
                    202,
                    headers=None if created else {"Idempotent-Replayed": "true"},
                )

            return await idempotent(request, scope, raw, work)

    @get("/{invoice_id:str}/deliveries", operation_id="invoices_deliveries")
    async def deliveries(self, request: Request[Any, Any, Any], invoice_id: str) -> Response[bytes]:
        iid = parse_id(invoice_id, "Invoice")
        async with tenant_scope(request) as scope:
            await _invoice_exists(scope, iid)
            rows = await scope.conn.fetch(
                f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE tenant_id = $1 AND invoice_id = $2 ORDER BY created_at",
                scope.tenant_id,
                iid,
            )
        return json_response({"next": None, "previous": None, "results": [view(r) for r in rows]})

    @get("/{invoice_id:str}/events", operation_id="invoices_events")
    async def timeline(
        self, request: Request[Any, Any, Any], invoice_id: str, after: int = 0, page_size: int = 100
    ) -> Response[bytes]:
        """The append-only timeline, oldest first; `next` is the `after` of the next page."""
        iid = parse_id(invoice_id, "Invoice")
        if not 0 <= after <= MAX_EVENT_ID:
            raise ApiError(
                400,
                [
                    problem(
                        "Invalid Parameter",
                        f"after must be 0..{MAX_EVENT_ID}.",
                        "INVALID_PARAMETER",
                        "/after",
                    )
                ],
            )
        if not 1 <= page_size <= MAX_EVENTS_PAGE:
            raise ApiError(
                400,
                [
                    problem(
                        "Invalid Parameter",
                        f"page_size must be 1..{MAX_EVENTS_PAGE}.",
                        "INVALID_PARAMETER",
                        "/page_size",
                    )
                ],
            )
        size = page_size
        async with tenant_scope(request) as scope:
            await _invoice_exists(scope, iid)
            rows = await scope.conn.fetch(
                "SELECT id, type, delivery_id, data, created_at FROM invoice_events"
                " WHERE tenant_id = $1 AND invoice_id = $2 AND id > $3 ORDER BY id LIMIT $4",
                scope.tenant_id,
                iid,
                after,
                size + 1,
            )
        more = len(rows) > size
        rows = rows[:size]
        results = [
            {
                "id": r["id"],
                "type": r["type"],
                "delivery": str(r["delivery_id"]) if r["delivery_id"] else None,
                "data": r["data"],
                "created_at": r["created_at"],
            }
            for r in rows
        ]
        return json_response({"next": str(rows[-1]["id"]) if more else None, "results": results})

    @get("/{invoice_id:str}/status", operation_id="invoices_status")
    async def status(self, request: Request[Any, Any, Any], invoice_id: str) -> Response[bytes]:
        """The cheap poll: invoice and delivery statuses, `ETag`, 304 on `If-None-Match`."""
        iid = parse_id(invoice_id, "Invoice")
        [row] = await tenant_fetch(
            request,
            "SELECT i.id, i.status, i.balance, i.paid_on_date, i.currency,"
            " (SELECT max(id) FROM invoice_events e WHERE e.tenant_id = i.tenant_id AND e.invoice_id = i.id)"
            " AS last_event, (SELECT coalesce(jsonb_agg(jsonb_build_object('id', d.id, 'channel', d.channel,"
            " 'status', d.status, 'response_code', d.response_code) ORDER BY d.created_at), '[]')"
            " FROM deliveries d WHERE d.tenant_id = i.tenant_id AND d.invoice_id = i.id) AS deliveries"
            " FROM invoices i WHERE i.tenant_id = scope.tenant_id AND i.id = $1",
            iid,
        )
        if row["id"] is None:
            raise not_found("Invoice")
        body = msgspec.json.encode(
            {
                "id": str(iid),
                "status": row["status"],
                "balance": row["balance"],
                "paid_on_date": row["paid_on_date"],
                "currency": row["currency"],
                "deliveries": row["deliveries"],
                "last_event": row["last_event"],
            }
        )
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if request.headers.get("if-none-match") == etag:
            return Response(b"", status_code=304, headers=headers)
        return Response(body, media_type="application/json", headers=headers)

    @post("/{invoice_id:str}/payments", operation_id="invoices_payments_create", status_code=201)
    async def pay(self, request: Request[Any, Any, Any], invoice_id: str) -> Response[bytes]:
        """Record a payment: the balance goes down; PARTIALLY_PAID, or PAID at zero."""
        iid = parse_id(invoice_id, "Invoice")
        raw = await request.body()
        model = decode_model(raw, PaymentInput)
        async with tenant_scope(request) as scope:

            async def work() -> Response[bytes]:
                inv = await scope.conn.fetchrow(
                    "SELECT status, balance FROM invoices WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE",
                    scope.tenant_id,
                    iid,
                )
                if inv is None:
                    raise not_found("Invoice")
                if inv["status"] in ("DRAFT", "VOID"):
                    raise conflict(f"A payment cannot be recorded on a {inv['status']} invoice.")
                if not model.amount.is_finite() or model.amount <= 0 or model.amount > inv["balance"]:
                    raise ApiError(
                        422,
                        [
                            problem(
                                "Invalid Field",
                                f"amount must be > 0 and at most the balance {inv['balance']}.",
                                "INVALID_FIELD",
                                "/model/amount",
                            )
                        ],
                    )
                pay = await scope.conn.fetchrow(
                    "INSERT INTO payments (tenant_id, id, invoice_id, amount, date, reference)"
                    " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, invoice_id, amount, date, reference, created_at",
                    scope.tenant_id,
                    uuid.uuid4(),
                    iid,
                    model.amount,
                    model.date,
                    model.reference,
                )
                balance = inv["balance"] - model.amount
                paid = balance == 0
                await scope.conn.execute(
                    "UPDATE invoices SET balance = $3, paid_on_date = CASE WHEN $4 THEN $5::date ELSE paid_on_date END,"
                    " modified_at = clock_timestamp() WHERE tenant_id = $1 AND id = $2",
                    scope.tenant_id,
                    iid,
                    balance,
                    paid,
                    model.date,
                )
                data = {"payment": str(pay["id"]), "amount": str(model.amount), "balance": str(balance)}
                tid = scope.tenant_id
                assert tid is not None
                await events.record(scope.conn, tid, iid, "payment.recorded", data)
                new = "PAID" if paid else "PARTIALLY_PAID"
                await move_invoice(scope.conn, tid, iid, new, ("OPEN", "SUBMITTED", "PARTIALLY_PAID"))
                if paid:
                    from faktura.delivery.afnor_pa_jobs import on_paid

                    await events.record(scope.conn, tid, iid, "invoice.paid", data)
                    await on_paid(scope.conn, tid, iid)
                return model_response(payment_view(pay), 201)

            return await idempotent(request, scope, raw, work)

    @get("/{invoice_id:str}/payments", operation_id="invoices_payments_list")
    async def payments(self, request: Request[Any, Any, Any], invoice_id: str) -> Response[bytes]:
        iid = parse_id(invoice_id, "Invoice")
        async with tenant_scope(request) as scope:
            await _invoice_exists(scope, iid)
            rows = await scope.conn.fetch(
                "SELECT id, invoice_id, amount, date, reference, created_at FROM payments"
                " WHERE tenant_id = $1 AND invoice_id = $2 ORDER BY created_at",
                scope.tenant_id,
                iid,
            )
        return json_response({"next": None, "previous": None, "results": [payment_view(r) for r in rows]})


class DeliverySettingsController(Controller):
    path = "/v1/delivery-settings"
    tags = ["delivery"]

    @get("/", operation_id="delivery_settings_retrieve")
    async def retrieve(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Includes `webhook_secret`, the key the webhook channel signs with."""
        async with tenant_scope(request) as scope:
            data = await scope.conn.fetchval(
                "SELECT data FROM delivery_settings WHERE tenant_id = $1", scope.tenant_id
            )
        return model_response(data or {})

    @put("/", operation_id="delivery_settings_update")
    async def update(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        model = decode_model(await request.body(), DeliverySettingsInput)
        data = msgspec.to_builtins(model)
        async with tenant_scope(request) as scope:
            stored = await scope.conn.fetchval(
                "INSERT INTO delivery_settings (tenant_id, data) VALUES ($1, $2) ON CONFLICT (tenant_id) DO UPDATE"
                " SET data = jsonb_strip_nulls(jsonb_build_object('webhook_secret', delivery_settings.data->'webhook_secret',"
                " 'peppol_access_point', delivery_settings.data->'peppol_access_point'))"
                " || $2, modified_at = clock_timestamp() RETURNING data",
                scope.tenant_id,
                data,
            )
        return model_response(stored)
