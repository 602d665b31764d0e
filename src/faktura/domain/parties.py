"""Tenants (sellers) and contacts (buyers) as a platform describes them, and their Party.

A tenant is the selling legal entity a platform acts for; a contact is one of its buyers.
Both turn into the `Party` the renderers use; the tenant's bank account becomes the
default credit-transfer payment means.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from faktura.domain.invoice import (
    Address,
    ConformanceLevel,
    ContactPoint,
    CurrencyCode,
    Identifier,
    LanguageCode,
    Model,
    Party,
    PayeeAccount,
    PaymentMeans,
    ProfileName,
    ShortText,
    Siren,
    Siret,
    Syntax,
    Text,
)

Email = Annotated[str, Meta(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
#: a rule-set version a tenant opts into before it takes effect: `family:version`
RuleVersionKey = Annotated[
    str, Meta(pattern=r"^(en16931|peppol|xrechnung):[0-9]+\.[0-9]+\.[0-9]+$", examples=["peppol:3.0.22"])
]


class TenantInput(Model, kw_only=True):
    """The seller legal entity (BG-4) plus its defaults."""

    legal_name: Text
    trading_name: Text | None = None
    vat_id: ShortText | None = None
    tax_registration_id: ShortText | None = None
    legal_id: Identifier | None = None
    legal_form: Text | None = None
    identifiers: list[Identifier] = []
    address: Address
    endpoint: Identifier | None = None
    contact: ContactPoint | None = None
    siren: Siren | None = None
    siret: Siret | None = None
    bank_account: PayeeAccount | None = None
    default_currency: CurrencyCode = "EUR"
    #: Profile of invoices that name none (see `InvoiceInput.profile`).
    default_profile: ProfileName | None = None
    #: Syntax of invoices that name none, where their profile allows it (see `InvoiceInput.syntax`).
    default_syntax: Syntax | None = None
    #: Factur-X / ZUGFeRD level of invoices that name none (see `InvoiceInput.conformance_level`).
    default_conformance_level: ConformanceLevel | None = None
    language: LanguageCode = "en"
    remote_id: ShortText | None = None
    #: Upcoming rule-set versions this tenant applies before their date (`peppol:3.0.22`).
    early_rule_versions: Annotated[list[RuleVersionKey], Meta(max_length=10)] = []


class ContactInput(Model, kw_only=True):
    """A buyer (the seed's `contact`)."""

    name: Text
    trading_name: Text | None = None
    vat_id: ShortText | None = None
    legal_id: Identifier | None = None
    identifiers: list[Identifier] = []
    endpoint: Identifier | None = None
    address: Address
    siren: Siren | None = None
    siret: Siret | None = None
    email: Email | None = None
    phone: ShortText | None = None
    contact_name: Text | None = None
    language: LanguageCode | None = None
    remote_id: ShortText | None = None
    #: Where the `webhook` delivery channel POSTs this buyer's invoices.
    webhook_url: Annotated[str, Meta(pattern=r"^https?://", max_length=2000)] | None = None


def seller_party(t: TenantInput) -> Party:
    return Party(
        name=t.legal_name,
        trading_name=t.trading_name,
        vat_id=t.vat_id,
        tax_registration_id=t.tax_registration_id,
        legal_id=t.legal_id,
        legal_form=t.legal_form,
        identifiers=t.identifiers,
        endpoint=t.endpoint,
        address=t.address,
        contact=t.contact,
        siren=t.siren,
        siret=t.siret,
    )


def buyer_party(c: ContactInput) -> Party:
    point = None
    if c.contact_name or c.email or c.phone:
        point = ContactPoint(name=c.contact_name, email=c.email, phone=c.phone)
    return Party(
        name=c.name,
        trading_name=c.trading_name,
        vat_id=c.vat_id,
        legal_id=c.legal_id,
        identifiers=c.identifiers,
        endpoint=c.endpoint,
        address=c.address,
        contact=point,
        siren=c.siren,
        siret=c.siret,
    )


def default_payment_means(t: TenantInput, currency: str) -> list[PaymentMeans]:
    """A credit transfer to the tenant's account: SEPA (58) in EUR, otherwise plain (30)."""
    if t.bank_account is None:
        return []
    return [PaymentMeans(code="58" if currency == "EUR" else "30", account=t.bank_account)]
