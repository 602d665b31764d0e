"""Seller (BG-4), buyer (BG-7), payee (BG-10), seller tax representative (BG-11) and the
deliver-to party (BG-13/15) as `ram:*TradeParty`.

EN 16931 CII mapping: the registered name is `Name`, the trading name and legal registration
id sit in `SpecifiedLegalOrganization`, the VAT id is a `SpecifiedTaxRegistration` with scheme
`VA` and the seller's other tax registration (BT-32) one with scheme `FC`.
"""

from __future__ import annotations

from faktura.domain import france
from faktura.domain.invoice import ContactPoint, Delivery, Party, TaxRepresentative
from faktura.render.cii.common import Element, address, identifiers, leaf, ram, written

VAT_SCHEME = "VA"
TAX_REGISTRATION_SCHEME = "FC"


def _contact(parent: Element, contact: ContactPoint | None) -> None:
    if contact is None or not (written(contact.name) or written(contact.phone) or written(contact.email)):
        return
    el = ram(parent, "DefinedTradeContact")
    leaf(el, "PersonName", contact.name)
    if written(contact.phone):
        leaf(ram(el, "TelephoneUniversalCommunication"), "CompleteNumber", contact.phone)
    if written(contact.email):
        leaf(ram(el, "EmailURIUniversalCommunication"), "URIID", contact.email)


def _tax_registration(parent: Element, value: str | None, scheme: str) -> None:
    if written(value):
        leaf(ram(parent, "SpecifiedTaxRegistration"), "ID", value, schemeID=scheme)


def trade_party(name: str, party: Party, *, seller: bool) -> Element:
    el = ram(None, name)
    identifiers(el, france.identifiers(party))  # with the SIRET (scheme 0009) where there is one
    leaf(el, "Name", party.name)
    if seller:  # BT-33 seller additional legal information; no buyer counterpart
        leaf(el, "Description", party.legal_form)
    registration = france.legal_id(party)  # the SIREN (scheme 0002) where there is one
    if registration is not None or written(party.trading_name):
        legal = ram(el, "SpecifiedLegalOrganization")
        if registration is not None:
            leaf(legal, "ID", registration.value, schemeID=registration.scheme)
        leaf(legal, "TradingBusinessName", party.trading_name)
    _contact(el, party.contact)
    address(el, "PostalTradeAddress", party.address)
    if party.endpoint is not None:
        uri = ram(el, "URIUniversalCommunication")
        leaf(uri, "URIID", party.endpoint.value, schemeID=party.endpoint.scheme)
    _tax_registration(el, party.vat_id, VAT_SCHEME)
    if seller:  # BT-32 exists for the seller only
        _tax_registration(el, party.tax_registration_id, TAX_REGISTRATION_SCHEME)
    return el


def payee_party(payee: Party | None) -> Element | None:
    """BG-10: identifiers (BT-60), name (BT-59), legal registration id (BT-61). The creditor
    id (BT-90) is `CreditorReferenceID` in CII, not a party identifier."""
    if payee is None:
        return None
    el = ram(None, "PayeeTradeParty")
    identifiers(el, payee.identifiers)
    leaf(el, "Name", payee.name)
    if payee.legal_id is not None:
        legal = ram(el, "SpecifiedLegalOrganization")
        leaf(legal, "ID", payee.legal_id.value, schemeID=payee.legal_id.scheme)
    return el


def tax_representative_party(rep: TaxRepresentative | None) -> Element | None:
    """BG-11: name (BT-62), postal address (BG-12) and VAT identifier (BT-63)."""
    if rep is None:
        return None
    el = ram(None, "SellerTaxRepresentativeTradeParty")
    leaf(el, "Name", rep.name)
    address(el, "PostalTradeAddress", rep.address)
    _tax_registration(el, rep.vat_id, VAT_SCHEME)
    return el


def ship_to_party(value: Delivery | None) -> Element | None:
    """BG-13 deliver-to location id (BT-71), party name (BT-70) and address (BG-15)."""
    if value is None or (
        value.location_id is None and value.address is None and not written(value.party_name)
    ):
        return None
    el = ram(None, "ShipToTradeParty")
    if value.location_id is not None:
        identifiers(el, [value.location_id])
    leaf(el, "Name", value.party_name)
    if value.address is not None:
        address(el, "PostalTradeAddress", value.address)
    return el
