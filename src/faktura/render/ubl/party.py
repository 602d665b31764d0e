"""Seller (BG-4), buyer (BG-7), payee (BG-10) and seller tax representative (BG-11) parties.

Peppol BIS mapping: the registered name goes to `PartyLegalEntity/RegistrationName`, the
trading name to `PartyName/Name`, the VAT id to a `PartyTaxScheme` with scheme VAT and a
non-VAT tax registration (BT-32) to a second `PartyTaxScheme` with another scheme id.
"""

from __future__ import annotations

from faktura.domain import france
from faktura.domain.invoice import (
    ContactPoint,
    Identifier,
    InvoiceInput,
    Party,
    TaxRepresentative,
    creditor_id,
)
from faktura.render.ubl.common import Element, address, cac, cbc, identifier

#: TaxScheme/ID of the seller tax registration (BT-32). "FC" (fiscal code) unless the
#: seller's country has its own convention: Norway's "Foretaksregisteret" statement is
#: expected under "TAX" (Peppol NO-R-002).
TAX_REGISTRATION_SCHEME = {"NO": "TAX"}
DEFAULT_TAX_REGISTRATION_SCHEME = "FC"
SEPA = "SEPA"


def _written(text: str | None) -> bool:
    """`cbc` drops blank text; an aggregate that needs the text is dropped with it."""
    return text is not None and bool(text.strip())


def _party_identification(parent: Element, ident: Identifier) -> None:
    identifier(cac(parent, "PartyIdentification"), "ID", ident.value, ident.scheme)


def _contact(parent: Element, contact: ContactPoint | None) -> None:
    if contact is None or not (contact.name or contact.phone or contact.email):
        return
    el = cac(parent, "Contact")
    cbc(el, "Name", contact.name)
    cbc(el, "Telephone", contact.phone)
    cbc(el, "ElectronicMail", contact.email)


def _party(party: Party, *, seller: bool, sepa_creditor_id: str | None = None) -> Element:
    el = cac(None, "Party")
    if party.endpoint is not None:
        identifier(el, "EndpointID", party.endpoint.value, party.endpoint.scheme)
    for ident in france.identifiers(party):  # with the SIRET (scheme 0009) where there is one
        _party_identification(el, ident)
    if sepa_creditor_id:
        _party_identification(el, Identifier(value=sepa_creditor_id, scheme=SEPA))
    if _written(party.trading_name):
        cbc(cac(el, "PartyName"), "Name", party.trading_name)
    address(el, "PostalAddress", party.address)
    if _written(party.vat_id):  # no PartyTaxScheme without its CompanyID (UBL-SR-53)
        scheme = cac(el, "PartyTaxScheme")
        cbc(scheme, "CompanyID", party.vat_id)
        cbc(cac(scheme, "TaxScheme"), "ID", "VAT")
    # BT-32 exists for the seller only; the buyer has no tax registration term in EN 16931.
    if seller and _written(party.tax_registration_id):
        scheme = cac(el, "PartyTaxScheme")
        cbc(scheme, "CompanyID", party.tax_registration_id)
        scheme_id = TAX_REGISTRATION_SCHEME.get(party.address.country, DEFAULT_TAX_REGISTRATION_SCHEME)
        cbc(cac(scheme, "TaxScheme"), "ID", scheme_id)
    legal = cac(el, "PartyLegalEntity")
    cbc(legal, "RegistrationName", party.name)
    registration = france.legal_id(party)  # the SIREN (scheme 0002) where there is one
    if registration is not None:
        identifier(legal, "CompanyID", registration.value, registration.scheme)
    if seller:  # BT-33 seller additional legal information; no buyer counterpart
        cbc(legal, "CompanyLegalForm", party.legal_form)
    _contact(el, party.contact)
    return el


def supplier_party(seller: Party, invoice: InvoiceInput) -> Element:
    wrapper = cac(None, "AccountingSupplierParty")
    sepa = creditor_id(invoice) if invoice.payee is None else None
    wrapper.append(_party(seller, seller=True, sepa_creditor_id=sepa))
    return wrapper


def customer_party(buyer: Party) -> Element:
    wrapper = cac(None, "AccountingCustomerParty")
    wrapper.append(_party(buyer, seller=False))
    return wrapper


def payee_party(invoice: InvoiceInput) -> Element | None:
    """BG-10: name (BT-59), identifier (BT-60), legal registration id (BT-61), and the
    creditor id (BT-90) when the payee, not the seller, collects the direct debit."""
    payee = invoice.payee
    if payee is None:
        return None
    el = cac(None, "PayeeParty")
    for ident in france.identifiers(payee):
        _party_identification(el, ident)
    sepa = creditor_id(invoice)
    if sepa:
        _party_identification(el, Identifier(value=sepa, scheme=SEPA))
    if _written(payee.name):
        cbc(cac(el, "PartyName"), "Name", payee.name)
    registration = france.legal_id(payee)
    if registration is not None:
        identifier(cac(el, "PartyLegalEntity"), "CompanyID", registration.value, registration.scheme)
    return el


def tax_representative_party(rep: TaxRepresentative | None) -> Element | None:
    """BG-11: name (BT-62), postal address (BG-12) and VAT identifier (BT-63)."""
    if rep is None:
        return None
    el = cac(None, "TaxRepresentativeParty")
    if _written(rep.name):
        cbc(cac(el, "PartyName"), "Name", rep.name)
    address(el, "PostalAddress", rep.address)
    if _written(rep.vat_id):
        scheme = cac(el, "PartyTaxScheme")
        cbc(scheme, "CompanyID", rep.vat_id)
        cbc(cac(scheme, "TaxScheme"), "ID", "VAT")
    return el
