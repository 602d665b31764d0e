"""What each operation takes and answers, for the OpenAPI document.

The controllers read raw bodies (so that every error points into the request) and answer
with encoded bytes, so Litestar sees neither type. This table says them, per operation id:
the request body, the success responses, the error statuses and who may call it. The error
statuses of a kind of route are named once (`AUTH`, `BODY`, `FOUND`, ...) and combined, so a
status that every route of a kind can answer is added in one place (a new status, e.g. a 429
for every authenticated route, goes into its group). It cannot drift unnoticed:
`tests/test_contract.py` fails when an operation is missing here or listed here but gone;
every response the test suite receives is checked against the published document (status,
content type, JSON schema: `tests/contract_support.py`); schemathesis does the same with
generated requests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from faktura.api import views
from faktura.api.branding import BrandingInput
from faktura.api.bulk import BulkRequest
from faktura.api.delivery import (
    MAX_EVENT_ID,
    MAX_EVENTS_PAGE,
    DeliverySettingsInput,
    PaymentInput,
    SendRequest,
)
from faktura.api.france import PaInput
from faktura.api.invoices import STATUSES as INVOICE_STATUSES
from faktura.api.pagination import MAX_PAGE_SIZE
from faktura.api.peppol import Callback, TenantAccessPointInput
from faktura.api.series import SeriesInput
from faktura.api.webhook_endpoints import WebhookEndpointInput, WebhookEndpointPatch
from faktura.compliance.profiles import PROFILES
from faktura.domain.invoice import InvoiceInput
from faktura.domain.parties import ContactInput, TenantInput

#: Who may call: the platform key; the platform key and a tenant's account token; the access
#: point's callback token; anyone.
Auth = Literal["platform", "tenant", "callback", "public"]

#: Error statuses by the kind of route. The value is the reason, shown in the document.
AUTH = {401: "Missing, unknown or revoked credentials"}
BODY = {
    400: "Malformed JSON or an invalid header",
    413: "The body is larger than allowed",
    422: "The body does not match the schema or breaks a rule; `errors` point into it",
}
QUERY = {400: "An invalid query parameter; `source.pointer` names it"}
FOUND = {404: "No such resource for this caller"}
STATE = {409: "The resource's state does not allow this"}
IDEMPOTENT = {
    400: "Malformed JSON or an invalid `Idempotency-Key`",
    422: "The body is invalid, or the `Idempotency-Key` was used with another request",
}


@dataclass(frozen=True)
class Ok:
    """A success response: a model in the envelope, a page of results, a bare object, raw
    bytes of the given media types, or nothing."""

    status: int
    shape: Literal["model", "list", "object", "binary", "empty"]
    type: type | None = None
    media_types: tuple[str, ...] = ()
    description: str = "OK"
    headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Operation:
    auth: Auth
    ok: tuple[Ok, ...]
    body: type | None = None
    #: True: the body is `{"model": <body>}`; False: the body is `<body>` itself.
    wrapped: bool = True
    #: The body is a JSON merge patch (RFC 7386) of `body`: every field optional, null removes.
    merge_patch: bool = False
    #: False: no body at all means every field's default.
    body_required: bool = True
    #: A body of raw bytes of these media types instead of JSON.
    raw_body: tuple[str, ...] = ()
    errors: dict[int, str] = field(default_factory=dict)
    #: Answer HEAD like GET without the body (downloads).
    head: bool = False


def _errors(*groups: dict[int, str]) -> dict[int, str]:
    out: dict[int, str] = {}
    for g in groups:
        for status, why in g.items():
            out[status] = f"{out[status]}; {why}" if status in out and why not in out[status] else why
    return dict(sorted(out.items()))


def model(t: type, status: int = 200, description: str = "OK", headers: tuple[str, ...] = ()) -> Ok:
    return Ok(status, "model", t, description=description, headers=headers)


def page(t: type) -> Ok:
    return Ok(200, "list", t, description="A page of results, newest first")


_TEXT = {"type": "string"}
_DATE_TIME = {"type": "string", "format": "date-time"}
_DATE = {"type": "string", "format": "date"}

#: Query parameters by name, for every route that reads them (the handlers take strings and
#: parse them, answering 400 at `/name`; this says what they accept).
PARAMETERS: dict[str, dict[str, Any]] = {
    "cursor": _TEXT,
    "page_size": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
    "created_after": _DATE_TIME,
    "created_before": _DATE_TIME,
    "modified_after": _DATE_TIME,
    "modified_before": _DATE_TIME,
    "issue_date_after": _DATE,
    "issue_date_before": _DATE,
    "date": _DATE,
    "contact_id": {"type": "string", "format": "uuid"},
    "status": {"type": "string", "enum": sorted(INVOICE_STATUSES)},
    "type": {"type": "string", "enum": ["ACCOUNTS_RECEIVABLE", "CREDIT_NOTE", "INVOICE"]},
    "expand": {"type": "array", "items": {"type": "string", "enum": ["contact", "line_items"]}},
    "profile": {"type": "string", "enum": sorted(PROFILES)},
    "country": {"type": "string", "pattern": "^([A-Za-z]{2})?$"},
    "buyer_country": {"type": "string", "pattern": "^([A-Za-z]{2})?$"},
    "after": {"type": "integer", "minimum": 0, "maximum": MAX_EVENT_ID},
    "issue": {"type": "boolean"},
}
#: Comma-separated lists (`expand=contact,line_items`).
FORM_LISTS = frozenset({"expand"})
#: Where one operation's parameter differs from the others of that name.
OPERATION_PARAMETERS: dict[str, dict[str, dict[str, Any]]] = {
    "invoices_events": {"page_size": {"type": "integer", "minimum": 1, "maximum": MAX_EVENTS_PAGE}},
}
#: Parameters a handler reads from the query string itself (Litestar does not see them).
EXTRA_PARAMETERS: dict[str, list[dict[str, Any]]] = {
    "archive_export": [
        {"name": "from", "in": "query", "required": True, "schema": _DATE, "description": "first issue date"},
        {"name": "to", "in": "query", "required": True, "schema": _DATE, "description": "last issue date"},
    ],
}

NOT_MODIFIED = Ok(304, "empty", description="Not modified (`If-None-Match` matched the `ETag`)")
XML = ("application/xml",)
PDF = ("application/pdf",)
IMAGES = ("image/png", "image/jpeg", "image/svg+xml")


OPERATIONS: dict[str, Operation] = {
    # tenants (platform key)
    "tenants_create": Operation(
        "platform",
        (model(views.Tenant, 201, "Created; `account_token` is shown once"),),
        TenantInput,
        errors=_errors(AUTH, BODY, IDEMPOTENT, {409: "A tenant with this VAT id exists"}),
    ),
    "tenants_list": Operation("platform", (page(views.Tenant),), errors=_errors(AUTH, QUERY)),
    "tenants_retrieve": Operation("platform", (model(views.Tenant),), errors=_errors(AUTH, FOUND)),
    "tenants_partial_update": Operation(
        "platform",
        (model(views.Tenant),),
        TenantInput,
        merge_patch=True,
        errors=_errors(AUTH, BODY, FOUND, {409: "A tenant with this VAT id exists"}),
    ),
    "tenants_rotate_token": Operation(
        "platform", (model(views.AccountToken),), errors=_errors(AUTH, FOUND, IDEMPOTENT)
    ),
    # contacts
    "contacts_create": Operation(
        "tenant",
        (model(views.Contact, 201, "Created"),),
        ContactInput,
        errors=_errors(AUTH, BODY, IDEMPOTENT),
    ),
    "contacts_list": Operation("tenant", (page(views.Contact),), errors=_errors(AUTH, QUERY)),
    "contacts_retrieve": Operation("tenant", (model(views.Contact),), errors=_errors(AUTH, FOUND)),
    "contacts_partial_update": Operation(
        "tenant", (model(views.Contact),), ContactInput, merge_patch=True, errors=_errors(AUTH, BODY, FOUND)
    ),
    "contacts_destroy": Operation(
        "tenant",
        (Ok(204, "empty", description="Deleted"),),
        errors=_errors(AUTH, FOUND, {409: "Invoices use the contact"}),
    ),
    # invoices
    "invoices_create": Operation(
        "tenant",
        (model(views.Invoice, 201, "Created (and issued with `issue=true`)"),),
        InvoiceInput,
        errors=_errors(AUTH, BODY, IDEMPOTENT, {409: "Issuing failed on the invoice's state"}),
    ),
    "invoices_list": Operation("tenant", (page(views.Invoice),), errors=_errors(AUTH, QUERY)),
    "invoices_retrieve": Operation("tenant", (model(views.Invoice),), errors=_errors(AUTH, QUERY, FOUND)),
    "invoices_partial_update": Operation(
        "tenant",
        (model(views.Invoice),),
        InvoiceInput,
        merge_patch=True,
        errors=_errors(AUTH, BODY, FOUND, {409: "The invoice is issued: it cannot change"}),
    ),
    "invoices_destroy": Operation(
        "tenant",
        (Ok(204, "empty", description="Deleted"),),
        errors=_errors(AUTH, FOUND, {409: "The invoice is issued: it is kept"}),
    ),
    "invoices_issue": Operation(
        "tenant",
        (model(views.Invoice, 200, "Issued: numbered, totalled, rendered and stored"),),
        errors=_errors(AUTH, FOUND, IDEMPOTENT, STATE, {422: "The invoice breaks rules; `errors` name them"}),
    ),
    "invoices_xml": Operation(
        "tenant",
        (
            Ok(200, "binary", media_types=XML, description="The UBL as issued", headers=("ETag",)),
            NOT_MODIFIED,
        ),
        errors=_errors(AUTH, FOUND, {409: "A draft has no XML"}),
        head=True,
    ),
    "invoices_pdf": Operation(
        "tenant",
        (
            Ok(
                200,
                "binary",
                media_types=PDF,
                description="The PDF/A-3 (a DRAFT preview for drafts)",
                headers=("ETag",),
            ),
            model(
                views.Rendering, 202, "Still rendering; retry after `Retry-After` seconds", ("Retry-After",)
            ),
            NOT_MODIFIED,
        ),
        errors=_errors(AUTH, FOUND, {422: "The draft cannot be previewed yet; `errors` say why"}),
        head=True,
    ),
    "invoices_bulk_create": Operation(
        "tenant",
        (model(views.BulkBatch, 202, "Queued; poll the batch"),),
        BulkRequest,
        wrapped=False,
        errors=_errors(AUTH, BODY, {409: "A concurrent batch uses one of the keys"}),
    ),
    "invoices_bulk_retrieve": Operation("tenant", (model(views.BulkBatch),), errors=_errors(AUTH, FOUND)),
    "number_series_create": Operation(
        "tenant",
        (model(views.NumberSeries, 201, "Created"),),
        SeriesInput,
        errors=_errors(AUTH, BODY, IDEMPOTENT, {409: "A series with this code exists"}),
    ),
    "number_series_list": Operation("tenant", (page(views.NumberSeries),), errors=_errors(AUTH)),
    # compliance
    "invoices_validate": Operation(
        "tenant",
        (model(views.Validation, 200, "The dry run: findings in `errors`/`warnings`"),),
        InvoiceInput,
        errors=_errors(AUTH, BODY),
    ),
    "compliance_rules": Operation("public", (Ok(200, "object", views.RuleCatalogue),), errors=_errors(QUERY)),
    "invoices_meta_post": Operation(
        "tenant", (Ok(200, "object", views.JsonSchema),), errors=_errors(AUTH, QUERY)
    ),
    "invoices_meta_patch": Operation(
        "tenant", (Ok(200, "object", views.JsonSchema),), errors=_errors(AUTH, FOUND)
    ),
    # delivery
    "invoices_send": Operation(
        "tenant",
        (model(views.InvoiceDelivery, 202, "Queued (or the existing delivery, replayed)"),),
        SendRequest,
        body_required=False,
        errors=_errors(AUTH, BODY, IDEMPOTENT, FOUND, {409: "The invoice cannot be sent in its state"}),
    ),
    "invoices_deliveries": Operation("tenant", (page(views.InvoiceDelivery),), errors=_errors(AUTH, FOUND)),
    "invoices_events": Operation(
        "tenant", (Ok(200, "object", views.EventPage),), errors=_errors(AUTH, QUERY, FOUND)
    ),
    "invoices_status": Operation(
        "tenant",
        (Ok(200, "object", views.StatusPoll, headers=("ETag",)), NOT_MODIFIED),
        errors=_errors(AUTH, FOUND),
    ),
    "invoices_payments_create": Operation(
        "tenant",
        (model(views.Payment, 201, "Recorded"),),
        PaymentInput,
        errors=_errors(AUTH, BODY, IDEMPOTENT, FOUND, {409: "No payment on a DRAFT or VOID invoice"}),
    ),
    "invoices_payments_list": Operation("tenant", (page(views.Payment),), errors=_errors(AUTH, FOUND)),
    "delivery_settings_retrieve": Operation("tenant", (model(views.DeliverySettings),), errors=_errors(AUTH)),
    "delivery_settings_update": Operation(
        "tenant", (model(views.DeliverySettings),), DeliverySettingsInput, errors=_errors(AUTH, BODY)
    ),
    "webhook_endpoints_create": Operation(
        "tenant",
        (model(views.WebhookEndpoint, 201, "Created; `secret` is shown once"),),
        WebhookEndpointInput,
        errors=_errors(AUTH, BODY, IDEMPOTENT),
    ),
    "webhook_endpoints_list": Operation(
        "tenant", (page(views.WebhookEndpoint),), errors=_errors(AUTH, QUERY)
    ),
    "webhook_endpoints_retrieve": Operation(
        "tenant", (model(views.WebhookEndpoint),), errors=_errors(AUTH, FOUND)
    ),
    "webhook_endpoints_partial_update": Operation(
        "tenant", (model(views.WebhookEndpoint),), WebhookEndpointPatch, errors=_errors(AUTH, BODY, FOUND)
    ),
    "webhook_endpoints_deliveries": Operation(
        "tenant", (page(views.WebhookDelivery),), errors=_errors(AUTH, QUERY, FOUND)
    ),
    "peppol_callback": Operation(
        "callback",
        (model(views.InvoiceDelivery, 200, "Applied to the delivery"),),
        Callback,
        wrapped=False,
        errors=_errors(AUTH, BODY, {404: "No delivery with this message id"}),
    ),
    "peppol_einvoice_be_webhook": Operation(
        "public",
        (model(views.AccessPointNotice, 202, "Accepted; the statuses are then read from the access point"),),
        errors=_errors({400: "Malformed JSON", 401: "Bad or missing `X-Signature`", 422: "No `document_id`"}),
        raw_body=("application/json",),
    ),
    "peppol_participant_preflight": Operation(
        "tenant",
        (model(views.ParticipantLookup),),
        errors=_errors(
            AUTH,
            QUERY,
            {409: "Discovery is not configured", 422: "Not a participant id (`scheme:value`)"},
        ),
    ),
    "peppol_access_point_retrieve": Operation(
        "tenant", (model(views.TenantAccessPoint),), errors=_errors(AUTH)
    ),
    "peppol_access_point_update": Operation(
        "tenant",
        (model(views.TenantAccessPoint),),
        TenantAccessPointInput,
        errors=_errors(AUTH, BODY, {409: "The credential cannot be stored (no FAKTURA_SECRETS_KEY)"}),
    ),
    "peppol_access_point_delete": Operation(
        "tenant", (Ok(204, "empty", description="Removed"),), errors=_errors(AUTH)
    ),
    # the French approved platform (AFNOR XP Z12-013)
    "france_pa_retrieve": Operation("tenant", (model(views.TenantPa),), errors=_errors(AUTH)),
    "france_pa_update": Operation(
        "tenant",
        (model(views.TenantPa),),
        PaInput,
        errors=_errors(
            AUTH,
            BODY,
            {
                409: "The secret cannot be stored (no FAKTURA_SECRETS_KEY)",
                422: "The body is invalid, a URL is not allowed, or the PA refused the credentials or cannot be reached",
            },
        ),
    ),
    "france_pa_delete": Operation("tenant", (Ok(204, "empty", description="Removed"),), errors=_errors(AUTH)),
    "france_pa_addressee": Operation(
        "tenant",
        (model(views.PaAddressee),),
        errors=_errors(
            AUTH,
            {
                409: "No PA is configured",
                422: "Not addressable, or the PA refused the credentials or cannot be reached",
            },
        ),
    ),
    "france_pa_webhook": Operation(
        "public",
        (model(views.PaWebhookNotice, 200, "Taken; the flow is then read from the PA"),),
        errors=_errors(
            {400: "Malformed JSON or no `flowId`", 401: "Bad, stale or missing `Afnor-Signature`"}
        ),
        raw_body=("application/json",),
    ),
    # documents
    "invoices_archive": Operation("tenant", (model(views.InvoiceArchive),), errors=_errors(AUTH, FOUND)),
    "archive_export": Operation(
        "tenant",
        (Ok(200, "binary", media_types=("application/zip",), description="ZIP with manifest.json and .csv"),),
        errors=_errors(AUTH, QUERY, {422: "`to` is before `from`"}),
        head=True,
    ),
    "branding_retrieve": Operation("tenant", (model(views.Branding),), errors=_errors(AUTH)),
    "branding_update": Operation(
        "tenant", (model(views.Branding),), BrandingInput, errors=_errors(AUTH, BODY)
    ),
    "branding_logo_upload": Operation(
        "tenant",
        (model(views.Branding),),
        raw_body=IMAGES,
        errors=_errors(
            AUTH,
            {
                413: "The logo is larger than allowed",
                415: "Not PNG, JPEG or SVG, or not what Content-Type says",
                422: "The image is empty or does not decode",
            },
        ),
    ),
    "branding_logo_delete": Operation("tenant", (model(views.Branding),), errors=_errors(AUTH)),
    "branding_logo_retrieve": Operation(
        "tenant",
        (Ok(200, "binary", media_types=IMAGES, description="The logo"),),
        errors=_errors(AUTH, FOUND),
        head=True,
    ),
}

#: Downloads that answer HEAD like GET, without the body.
HEAD_OPERATIONS = frozenset(k for k, op in OPERATIONS.items() if op.head)
