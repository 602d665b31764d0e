"""The response models: what each route's `model` (or list `results`) holds, as msgspec
structs. The controllers build plain dicts (cheaper, and shaped by SQL rows); these structs
exist so that the OpenAPI document can describe those dicts with types. They do not drift
unnoticed: every response of the test suite is validated against the published document,
schemathesis does the same with generated requests, and the generated-client test reads
them back through typed models.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from faktura.domain.invoice import InvoiceInput, LineItem, Party, ProfileName, SupportingDocument
from faktura.domain.parties import ContactInput, TenantInput
from faktura.domain.totals import TaxSubtotal


class Source(msgspec.Struct, kw_only=True):
    #: JSON Pointer into the request (body `/model/...`, or `/name` of a query parameter).
    pointer: str


class Problem(msgspec.Struct, kw_only=True):
    """One error or warning: what, where, and for compliance findings the official rule."""

    title: str
    detail: str
    problem_type: str
    source: Source
    severity: str | UnsetType = UNSET
    rule_id: str | UnsetType = UNSET
    business_term: str | UnsetType = UNSET


class ErrorEnvelope(msgspec.Struct, kw_only=True):
    """Every 4xx/5xx body: `model` is null, `errors` says what and where."""

    model: None
    warnings: list[Problem]
    errors: list[Problem]
    #: the request's id (also the `X-Request-Id` header), to quote when reporting the error
    request_id: str | UnsetType = UNSET


# -- platform ------------------------------------------------------------------------------


class Tenant(TenantInput, kw_only=True):
    id: str
    created_at: dt.datetime
    modified_at: dt.datetime
    #: Shown once, in the response that creates the tenant.
    account_token: str | UnsetType = UNSET


class AccountToken(msgspec.Struct, kw_only=True):
    id: str
    account_token: str


# -- tenant resources ------------------------------------------------------------------------


class Contact(ContactInput, kw_only=True):
    id: str
    created_at: dt.datetime
    modified_at: dt.datetime


class InvoiceLine(LineItem, kw_only=True):
    #: BT-131, the computed line net amount.
    total_amount: Decimal | None = None


class Attachment(SupportingDocument, kw_only=True):
    """A supporting document without its bytes (they travel in the UBL)."""

    size: int | UnsetType = UNSET


class XmlRef(msgspec.Struct, kw_only=True):
    sha256: str
    size: int
    url: str


class Invoice(InvoiceInput, kw_only=True):
    """The stored invoice: the request's terms, the computed totals, and its state."""

    id: str
    type: Literal["ACCOUNTS_RECEIVABLE"]
    status: Literal["DRAFT", "OPEN", "SUBMITTED", "PARTIALLY_PAID", "PAID", "VOID"]
    number: str | None
    paid_on_date: dt.date | None
    payments: list[str]
    credited_amount: Decimal
    type_code: str
    # A response widens or narrows some request fields (on purpose, hence the ignores).
    #: The contact's id, or the contact itself with `expand=contact`.
    contact: str | Contact | None = None  # type: ignore[assignment]
    created_at: dt.datetime
    modified_at: dt.datetime
    issued_at: dt.datetime | None
    attachments: list[Attachment] = []  # type: ignore[assignment]
    line_items: list[InvoiceLine] = []  # type: ignore[assignment]
    total_discount: Decimal | None = None
    sub_total: Decimal | None = None
    total_tax_amount: Decimal | None = None
    total_amount: Decimal | None = None
    total_charges: Decimal | UnsetType = UNSET
    tax_exclusive_amount: Decimal | UnsetType = UNSET
    prepaid_amount: Decimal | None = None
    rounding_amount: Decimal | None = None
    payable_amount: Decimal | UnsetType = UNSET
    tax_breakdown: list[TaxSubtotal] | UnsetType = UNSET
    balance: Decimal | None
    profile: ProfileName | None = None
    rule_versions: dict[str, str] | UnsetType = UNSET
    #: where a rule-set version in force is not implemented: which one was applied instead
    rule_notes: list[str] | UnsetType = UNSET
    xml: XmlRef | UnsetType = UNSET
    buyer: Party | None = None


class NumberSeries(msgspec.Struct, kw_only=True):
    code: str
    format: str
    yearly_reset: bool
    created_at: dt.datetime


class Validation(msgspec.Struct, kw_only=True):
    """A dry run: `valid`, and the would-be totals and UBL when they could be built."""

    valid: bool
    profile: ProfileName
    rule_versions: dict[str, str]
    rule_notes: list[str]
    syntax: Literal["ubl", "cii"]
    totals: dict[str, Any] | None
    xml: str | None


class Rule(msgspec.Struct, kw_only=True):
    id: str
    severity: str
    message: str
    business_term: str | None
    rule_set: str
    source: str
    version: str
    country: str | None
    checked_on: Literal["request", "document"]


class RuleCatalogue(msgspec.Struct, kw_only=True):
    profile: str
    country: str | None
    count: int
    results: list[Rule]


class BulkCounts(msgspec.Struct, kw_only=True):
    PENDING: int
    SUCCESS: int
    FAILED: int


class BulkItemResult(msgspec.Struct, kw_only=True):
    idempotency_key: str
    status: Literal["PENDING", "SUCCESS", "FAILED"]
    invoice: str | None
    errors: list[Problem]
    warnings: list[Problem]
    replayed: bool


class BulkBatch(msgspec.Struct, kw_only=True):
    id: str
    status: Literal["ENQUEUED", "IN_PROGRESS", "SUCCESS", "PARTIAL_SUCCESS", "FAILED"]
    issue: bool
    total: int
    counts: BulkCounts
    created_at: dt.datetime
    items: list[BulkItemResult]


# -- delivery --------------------------------------------------------------------------------


class DeliveryTarget(msgspec.Struct, kw_only=True):
    """Where the delivery goes: one of these, by channel."""

    to: str | UnsetType = UNSET  # email
    receiver: str | UnsetType = UNSET  # peppol: scheme:id
    url: str | UnsetType = UNSET  # webhook
    #: afnor-pa: the buyer's directory line (SIREN, SIRET, routing code, addressing id).
    addressee: dict[str, Any] | UnsetType = UNSET


class InvoiceDelivery(msgspec.Struct, kw_only=True):
    id: str
    invoice: str
    channel: str
    status: str
    target: DeliveryTarget
    attempts: int
    max_attempts: int
    message_id: str | None
    evidence: dict[str, Any] | None
    response_code: str | None
    last_error: str | None
    forced: bool
    #: the re-check at send when newer rule-set versions took effect after issue
    rule_check: dict[str, Any] | None = None
    created_at: dt.datetime
    modified_at: dt.datetime


class InvoiceEvent(msgspec.Struct, kw_only=True):
    id: int
    type: str
    delivery: str | None
    data: dict[str, Any]
    created_at: dt.datetime


class EventPage(msgspec.Struct, kw_only=True):
    """The timeline, oldest first; `next` is the `after` of the next page."""

    next: str | None
    results: list[InvoiceEvent]


class DeliveryState(msgspec.Struct, kw_only=True):
    id: str
    channel: str
    status: str
    response_code: str | None


class StatusPoll(msgspec.Struct, kw_only=True):
    id: str
    status: str
    balance: Decimal | None
    paid_on_date: dt.date | None
    currency: str | None
    deliveries: list[DeliveryState]
    last_event: int | None


class Payment(msgspec.Struct, kw_only=True):
    id: str
    invoice: str
    amount: Decimal
    date: dt.date
    reference: str | None
    created_at: dt.datetime


class DeliverySettings(msgspec.Struct, kw_only=True):
    email_from: str | UnsetType = UNSET
    reply_to: str | UnsetType = UNSET
    subject_template: str | UnsetType = UNSET
    #: The key the webhook channel signs with.
    webhook_secret: str | UnsetType = UNSET


class WebhookEndpoint(msgspec.Struct, kw_only=True):
    id: str
    url: str
    event_types: list[str]
    enabled: bool
    consecutive_failures: int
    disabled_reason: str | None
    created_at: dt.datetime
    modified_at: dt.datetime
    #: The signing secret, shown once, in the response that creates the endpoint.
    secret: str | UnsetType = UNSET


class WebhookDelivery(msgspec.Struct, kw_only=True):
    id: str
    event: str
    event_type: str
    status: str
    attempts: int
    response_status: int | None
    last_error: str | None
    created_at: dt.datetime
    modified_at: dt.datetime


# -- documents -------------------------------------------------------------------------------


class ArchiveEntryView(msgspec.Struct, kw_only=True):
    tenant_id: str
    seq: int
    id: str
    invoice_id: str
    kind: str
    media_type: str
    size: int
    sha256: str
    storage: str
    created_at: dt.datetime
    retention_until: dt.date
    retention_basis: str
    meta: dict[str, Any]
    prev_hash: str
    entry_hash: str


class InvoiceArchive(msgspec.Struct, kw_only=True):
    invoice_id: str
    entries: list[ArchiveEntryView]


class Rendering(msgspec.Struct, kw_only=True):
    """The PDF is not rendered yet: retry after `Retry-After` seconds."""

    status: Literal["RENDERING"]


class Logo(msgspec.Struct, kw_only=True):
    media_type: str
    size: int
    sha256: str


class Branding(msgspec.Struct, kw_only=True):
    version: int | None
    template: str
    accent_color: str
    footer_text: str | None
    logo: Logo | None
    templates: list[str]
    created_at: dt.datetime | UnsetType = UNSET


class JsonSchema(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    """A JSON Schema (2020-12) of the invoice request for this tenant."""

    schema_: str = msgspec.field(name="$schema")


# -- Peppol access point and discovery -----------------------------------------------------


class ParticipantLookup(msgspec.Struct, kw_only=True):
    """Whether a participant can receive a document type over Peppol (SML + signed SMP)."""

    participant: str
    outcome: str
    can_receive: bool
    permanent: bool
    detail: str | None
    smp_url: str | None
    endpoints: list[dict[str, Any]]


class TenantAccessPoint(msgspec.Struct, kw_only=True):
    """The tenant's own access point (`configured: false`: the deployment's is used); the
    credential is never returned, only whether it is set."""

    configured: bool
    kind: str | None
    url: str | None
    token_set: bool


class TenantPa(msgspec.Struct, kw_only=True):
    """The tenant's French approved platform (`configured: false`: none); the secret is
    never returned, only whether it is set."""

    configured: bool
    flow_url: str | UnsetType = UNSET
    directory_url: str | UnsetType = UNSET
    auth: str | UnsetType = UNSET
    token_url: str | UnsetType | None = UNSET
    client_id: str | UnsetType | None = UNSET
    organization_id: str | UnsetType | None = UNSET
    secret_set: bool | UnsetType = UNSET
    webhook_id: str | UnsetType | None = UNSET


class PaAddressee(msgspec.Struct, kw_only=True):
    """Where a buyer receives, as the PA's Directory Service says (its enabled line)."""

    addressable: bool
    siren: str
    siret: str | None
    routing_code: str | None
    addressing_identifier: str | None
    platform_type: str | None


class PaWebhookNotice(msgspec.Struct, kw_only=True):
    """A PA's webhook call, taken: the flow it names is read from the PA next."""

    flow_id: str
    accepted: bool


class AccessPointNotice(msgspec.Struct, kw_only=True):
    """An access point's webhook, taken: which document, and whether a delivery has it."""

    document_id: str
    known: bool
