"""The invoice input model: what a platform sends for one invoice or credit note.

Field names follow the seed (Merge "Invoice" common model) where one fits; everything a
Peppol BIS Billing 3.0 invoice needs beyond that is named after its EN 16931 business term
(the BT-/BG- number is in each field's description, and so in the published JSON Schema).

Structs are plain values: no I/O, no framework. `forbid_unknown_fields` makes a typo a
4xx instead of silently dropped data. Money and quantities are `Decimal` end to end: msgspec
decodes JSON numbers and numeric strings into Decimal without passing through float.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

# -- reusable field types ---------------------------------------------------------------

Text = Annotated[str, Meta(min_length=1, max_length=1000)]
ShortText = Annotated[str, Meta(min_length=1, max_length=200)]
LongText = Annotated[str, Meta(min_length=1, max_length=10000)]
CountryCode = Annotated[str, Meta(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 country code")]
CurrencyCode = Annotated[str, Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217 alpha-3 currency code")]
LanguageCode = Annotated[str, Meta(pattern=r"^[a-z]{2}(-[A-Z]{2})?$", description="BCP 47 language, e.g. de")]
UnitCode = Annotated[str, Meta(pattern=r"^[A-Za-z0-9]{1,3}$", description="UN/ECE Rec 20 (+21) unit code")]
VatCategory = Annotated[
    str, Meta(pattern=r"^[A-Z]{1,2}$", description="UNCL 5305 VAT category code (S, Z, E, AE, K, G, O, L, M)")
]
SchemeId = Annotated[
    str, Meta(pattern=r"^[0-9A-Z]{1,10}$", description="Identifier scheme (ISO 6523 ICD / EAS)")
]
#: French company identifiers; their Luhn check digits are checked by `compliance.france`
Siren = Annotated[
    str,
    Meta(
        pattern=r"^[0-9]{9}$",
        description="French SIREN (9 digits), written as legal registration id scheme 0002",
    ),
]
Siret = Annotated[
    str,
    Meta(pattern=r"^[0-9]{14}$", description="French SIRET (14 digits: SIREN + establishment), scheme 0009"),
]

# Amounts are exact decimals. Ranges (no negative prices, nothing absurd) are checked by
# `faktura.compliance.basic` so that every violation is reported at once, with its pointer.
Amount = Annotated[Decimal, Meta(description="Exact decimal amount; JSON number or numeric string")]
NonNegativeAmount = Annotated[Decimal, Meta(description="Exact decimal amount, >= 0")]
Quantity = Annotated[Decimal, Meta(description="Exact decimal quantity")]
Percent = Annotated[Decimal, Meta(description="Percentage, e.g. 19 for 19 %")]
PositiveDecimal = Annotated[Decimal, Meta(description="Exact decimal, > 0")]


class Model(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    """Base of every wire struct: unknown fields are rejected, unset fields are omitted."""


# -- parties ----------------------------------------------------------------------------


class Identifier(Model, kw_only=True):
    """An identifier with an optional scheme (ISO 6523 ICD, EAS, or a free scheme)."""

    value: Text
    scheme: SchemeId | None = None


class Address(Model, kw_only=True):
    """BG-5 / BG-8 / BG-15 postal address."""

    line1: Text | None = None
    line2: Text | None = None
    line3: Text | None = None
    city: Text | None = None
    postal_code: ShortText | None = None
    subdivision: Text | None = None
    country: CountryCode


class ContactPoint(Model, kw_only=True):
    """BG-6 / BG-9 contact."""

    name: Text | None = None
    phone: ShortText | None = None
    email: ShortText | None = None


class Party(Model, kw_only=True):
    """A seller or buyer legal entity (BG-4 / BG-7)."""

    name: Text
    trading_name: Text | None = None
    vat_id: ShortText | None = None
    tax_registration_id: ShortText | None = None
    legal_id: Identifier | None = None
    legal_form: Text | None = None
    identifiers: list[Identifier] = []
    endpoint: Identifier | None = None
    address: Address
    contact: ContactPoint | None = None
    #: France: the SIREN is the legal registration identifier (BT-30 / BT-47, scheme 0002)
    siren: Siren | None = None
    #: France: the establishment's SIRET, a party identifier (BT-29 / BT-46, scheme 0009)
    siret: Siret | None = None


class TaxRepresentative(Model, kw_only=True):
    """BG-11: the seller's tax representative, who accounts for VAT on the seller's behalf
    (a seller not established in the country of the supply). Name (BT-62), VAT identifier
    (BT-63) and postal address (BG-12) are all required by EN 16931 (BR-18, BR-56, BR-19)."""

    name: Text
    vat_id: ShortText
    address: Address


# -- lines, allowances, charges -------------------------------------------------------


class AllowanceCharge(Model, kw_only=True):
    """A line- or document-level allowance (discount) or charge (BG-20/21, BG-27/28).

    Either `amount` or `percentage` (with `base_amount`, or the line's net as base) is given.
    Document-level ones also carry a VAT category and rate; line-level ones must not.
    """

    amount: NonNegativeAmount | None = None
    base_amount: NonNegativeAmount | None = None
    percentage: Percent | None = None
    reason: Text | None = None
    reason_code: ShortText | None = None
    tax_category: VatCategory | None = None
    tax_rate: Percent | None = None
    tax_exemption_reason: Text | None = None
    tax_exemption_reason_code: ShortText | None = None


class Classification(Model, kw_only=True):
    """BT-158 item classification (e.g. UNSPSC `STI`, CPV `CV`)."""

    code: ShortText
    list_id: ShortText
    list_version: ShortText | None = None


class ItemAttribute(Model, kw_only=True):
    """BG-32 item attribute."""

    name: Text
    value: Text


class Item(Model, kw_only=True):
    """BG-31 item information."""

    name: Text
    description: LongText | None = None
    seller_id: ShortText | None = None
    buyer_id: ShortText | None = None
    standard_id: Identifier | None = None
    classifications: list[Classification] = []
    origin_country: CountryCode | None = None
    attributes: list[ItemAttribute] = []


class Period(Model, kw_only=True):
    """BG-14 / BG-26 invoicing period."""

    start_date: dt.date | None = None
    end_date: dt.date | None = None
    description_code: ShortText | None = None


class LineItem(Model, kw_only=True):
    """BG-25 invoice line. `unit_price` is the net price (BT-146) unless the invoice is
    `inclusive_of_tax`; `total_amount` (BT-131), when sent, is checked against our math."""

    id: ShortText | None = None
    remote_id: ShortText | None = None
    description: LongText | None = None
    item: Item
    quantity: Quantity
    unit_code: UnitCode = "C62"
    unit_price: NonNegativeAmount
    base_quantity: PositiveDecimal | None = None
    gross_unit_price: NonNegativeAmount | None = None
    total_amount: Amount | None = None
    tax_category: VatCategory = "S"
    tax_rate: Percent | None = None
    tax_exemption_reason: Text | None = None
    tax_exemption_reason_code: ShortText | None = None
    allowances: list[AllowanceCharge] = []
    charges: list[AllowanceCharge] = []
    note: LongText | None = None
    object_id: Identifier | None = None
    order_line_reference: ShortText | None = None
    accounting_cost: ShortText | None = None
    period: Period | None = None


# -- payment ------------------------------------------------------------------------------


#: a BIC (ISO 9362): bank, country, location, optional branch
BIC = re.compile(r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$")


class PayeeAccount(Model, kw_only=True):
    """BG-17 credit transfer account."""

    iban: Annotated[str, Meta(min_length=5, max_length=40)]
    name: Text | None = None
    #: BT-86, the payment service provider: a BIC for an IBAN (FK-BIC warns when it does not
    #: look like one), a national bank code elsewhere, or `SE:BANKGIRO` / `SE:PLUSGIRO` for a
    #: Swedish giro account, as Peppol BIS 3 asks Swedish suppliers to write it
    bic: ShortText | None = None


class Card(Model, kw_only=True):
    """BG-18 payment card (only the last digits; never a full PAN)."""

    account_number: Annotated[str, Meta(pattern=r"^[0-9]{4,6}$", description="last 4 to 6 digits")]
    network: ShortText | None = None
    holder: Text | None = None


class Mandate(Model, kw_only=True):
    """BG-19 direct debit."""

    reference: ShortText
    creditor_id: ShortText | None = None
    debited_account: Annotated[str, Meta(min_length=5, max_length=40)] | None = None


class PaymentMeans(Model, kw_only=True):
    """BG-16. `code` is UNCL 4461 (30/58 credit transfer, 48/54/55 card, 49/59 direct debit)."""

    code: Annotated[str, Meta(pattern=r"^[0-9A-Z]{1,3}$")] = "58"
    name: Text | None = None
    payment_id: ShortText | None = None
    account: PayeeAccount | None = None
    card: Card | None = None
    mandate: Mandate | None = None


class DocumentReference(Model, kw_only=True):
    """BG-3 preceding invoice reference."""

    number: ShortText
    issue_date: dt.date | None = None


class SupportingDocument(Model, kw_only=True):
    """BG-24 additional supporting document (a timesheet, a delivery note): its reference
    (BT-122), a description (BT-123), and the document itself (BT-125, base64 in JSON, with
    its MIME code and file name) and/or where it can be fetched (BT-124)."""

    reference: ShortText
    description: Text | None = None
    url: Annotated[str, Meta(min_length=1, max_length=2048)] | None = None
    content: Annotated[bytes, Meta(min_length=1, description="the file, base64-encoded")] | None = None
    mime_code: ShortText | None = None
    filename: ShortText | None = None


class Delivery(Model, kw_only=True):
    """BG-13 delivery information."""

    date: dt.date | None = None
    location_id: Identifier | None = None
    party_name: Text | None = None
    address: Address | None = None


DocumentType = Literal["INVOICE", "CREDIT_NOTE"]


ProfileName = Literal["peppol-bis-3", "xrechnung-3", "factur-x", "zugferd", "fr-ctc", "fr-ctc-extended"]
#: France (XP Z12-012, BR-FR-08): the billing mode ("cadre de facturation", BT-23). The letter
#: says what is invoiced (B goods, S services, M mixed), the digit the case: 1 deposit-free
#: invoice, 2 already paid, 3 deposit, 4 final after deposit, 5/6 subcontracting / co-contracting,
#: 7 VAT already collected (e-reporting), 8/9 multi-vendor and bidirectional invoices.
BillingMode = Literal[
    "B1", "S1", "M1", "B2", "S2", "M2", "S3", "B4", "S4", "M4", "S5", "S6", "B7", "S7",
    "B8", "S8", "M8", "B9", "S9", "M9",
]  # fmt: skip
#: the e-invoice syntax: OASIS UBL 2.1 or UN/CEFACT Cross Industry Invoice
Syntax = Literal["ubl", "cii"]
#: Factur-X / ZUGFeRD conformance levels. MINIMUM and BASIC_WL are not invoices in Germany
#: (no lines, not EN 16931) and are refused (FK-FACTURX-LEVEL).
ConformanceLevel = Literal["MINIMUM", "BASIC_WL", "BASIC", "EN16931", "EXTENDED"]

#: Lines per invoice. Every step after parsing (checks, totals, XML, the PDF) grows with
#: the lines; this keeps one request's cost bounded and is far above what a printed
#: invoice carries.
MAX_LINE_ITEMS = 10_000


class InvoiceInput(Model, kw_only=True):
    """An invoice or credit note as a platform sends it (`{"model": {...}}`)."""

    document_type: DocumentType = "INVOICE"
    profile: (
        Annotated[
            ProfileName,
            Meta(
                description="Specification the document follows (BT-24): Peppol BIS Billing 3.0 or XRechnung 3.0."
                " Absent: the tenant's default profile, else XRechnung for a German public buyer"
                " (a valid Leitweg-ID as buyer reference) of a German seller, else Peppol BIS 3."
                " `factur-x` and `zugferd` (the same format under its French and German names) issue"
                " the CII XML of a Factur-X / ZUGFeRD invoice at `conformance_level`."
                " `fr-ctc` (EN 16931) and `fr-ctc-extended` (EXTENDED-CTC-FR) are the French"
                " e-invoicing profiles (BR-FR rules, XP Z12-012), in UBL or CII; absent, `fr-ctc` is"
                " chosen for a French seller invoicing a French business (a buyer with a SIREN or a"
                " scheme 0225 electronic address)."
            ),
        ]
        | None
    ) = None
    syntax: (
        Annotated[
            Syntax,
            Meta(
                description="Syntax of the issued XML: `ubl` or `cii`. XRechnung takes either (default UBL);"
                " Peppol BIS 3 is UBL only, Factur-X / ZUGFeRD CII only. Absent: the tenant's default"
                " syntax where the profile allows it, else the profile's own."
            ),
        ]
        | None
    ) = None
    conformance_level: (
        Annotated[
            ConformanceLevel,
            Meta(
                description="Factur-X / ZUGFeRD conformance level (profiles `factur-x`, `zugferd`):"
                " BASIC, EN16931 or EXTENDED. Absent: the tenant's default level, else EN16931."
                " A French invoice in CII is a Factur-X when it names its profile's level: EN16931"
                " for `fr-ctc`, EXTENDED for `fr-ctc-extended`."
            ),
        ]
        | None
    ) = None
    type_code: (
        Annotated[str, Meta(pattern=r"^[0-9]{1,3}$", description="UNTDID 1001; default 380/381")] | None
    ) = None
    billing_mode: (
        Annotated[
            BillingMode,
            Meta(
                description="BT-23 business process: the French billing mode (cadre de facturation,"
                " BR-FR-08), required by `fr-ctc` / `fr-ctc-extended`. Under Peppol BIS 3 a French"
                " seller's invoice carrying it is sent with the French Peppol process id."
            ),
        ]
        | None
    ) = None
    series: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{1,32}$")] | None = None
    remote_id: ShortText | None = None
    issue_date: dt.date | None = None
    due_date: dt.date | None = None
    tax_point_date: dt.date | None = None
    memo: (
        Annotated[
            LongText,
            Meta(description="the seller's private note: on the invoice's record, never on its PDF or XML"),
        ]
        | None
    ) = None
    currency: CurrencyCode | None = None
    tax_currency: CurrencyCode | None = None
    exchange_rate: PositiveDecimal | None = None
    tax_currency_total_tax_amount: Amount | None = None
    inclusive_of_tax: bool = False
    buyer_reference: ShortText | None = None
    order_reference: ShortText | None = None
    sales_order_reference: ShortText | None = None
    contract_reference: ShortText | None = None
    project_reference: ShortText | None = None
    despatch_reference: ShortText | None = None
    receiving_advice_reference: ShortText | None = None
    tender_reference: ShortText | None = None
    accounting_cost: ShortText | None = None
    preceding_invoices: list[DocumentReference] = []
    #: BT-18, the invoiced object (a subscription, a meter), with its UNTDID 1153 scheme
    object_id: Identifier | None = None
    attachments: list[SupportingDocument] = []
    notes: list[LongText] = []
    contact: Annotated[str, Meta(description="id of a stored contact (the buyer)")] | None = None
    buyer: Party | None = None
    payee: Party | None = None
    tax_representative: TaxRepresentative | None = None
    line_items: Annotated[list[LineItem], Meta(max_length=MAX_LINE_ITEMS)] = []
    allowances: list[AllowanceCharge] = []
    charges: list[AllowanceCharge] = []
    invoicing_period: Period | None = None
    delivery: Delivery | None = None
    payment_means: list[PaymentMeans] = []
    payment_terms: LongText | None = None
    prepaid_amount: Amount | None = None
    rounding_amount: Amount | None = None
    # Client-declared totals: optional; checked against the computed ones (BR-CO-*).
    total_discount: Amount | None = None
    sub_total: Amount | None = None
    total_tax_amount: Amount | None = None
    total_amount: Amount | None = None


def creditor_id(invoice: InvoiceInput) -> str | None:
    """BT-90 from the first direct debit mandate; UBL puts it on the seller or payee (UBL-SR-29: once)."""
    for pm in invoice.payment_means:
        if pm.mandate is not None and pm.mandate.creditor_id:
            return pm.mandate.creditor_id
    return None
