"""Namespaces and the few element builders every UBL aggregate module shares.

Formatting lives here so that every amount in the document is written the same way:
two decimals and a `currencyID` (BR-DEC-*, PEPPOL-EN16931-R051). No arithmetic beyond that.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from faktura.domain.invoice import Address, Period
from faktura.domain.money import decimal_text as decimal_text  # shared by every renderer
from faktura.domain.money import fmt, round2
from faktura.domain.money import price_text as price_text
from faktura.render.tree import Element as Element

NS_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
#: The root's namespace declarations; every other element is written under its prefix.
NSMAP = {"cac": NS_CAC, "cbc": NS_CBC}


def cac(parent: Element | None, name: str) -> Element:
    """A `cac:` aggregate, appended to `parent` when one is given."""
    el = Element("cac:" + name)
    if parent is not None:
        parent.children.append(el)
    return el


def cbc(parent: Element | None, name: str, text: str | None, /, **attrs: str | None) -> Element | None:
    """A `cbc:` leaf; nothing at all when the value is absent (PEPPOL-EN16931-R008: no empty elements)."""
    if text is None or not text.strip():
        return None
    el = Element("cbc:" + name, text, {k: v for k, v in attrs.items() if v is not None} if attrs else None)
    if parent is not None:
        parent.children.append(el)
    return el


def amount_text(value: Decimal) -> str:
    """An EN 16931 amount: exactly two decimals. The totals engine already rounded it; this pads."""
    return fmt(round2(value))


def amount(parent: Element, name: str, value: Decimal, currency: str) -> Element:
    el = cbc(parent, name, amount_text(value), currencyID=currency)
    assert el is not None
    return el


def date_text(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def identifier(parent: Element, name: str, value: str, scheme: str | None) -> Element | None:
    return cbc(parent, name, value, schemeID=scheme)


def address(parent: Element, name: str, addr: Address) -> Element:
    """BG-5 / BG-8 / BG-15: line 3 goes to `cac:AddressLine`, as Peppol BIS maps it."""
    el = cac(parent, name)
    cbc(el, "StreetName", addr.line1)
    cbc(el, "AdditionalStreetName", addr.line2)
    cbc(el, "CityName", addr.city)
    cbc(el, "PostalZone", addr.postal_code)
    cbc(el, "CountrySubentity", addr.subdivision)
    if addr.line3:
        cbc(cac(el, "AddressLine"), "Line", addr.line3)
    cbc(cac(el, "Country"), "IdentificationCode", addr.country)
    return el


def period(parent: Element | None, value: Period, *, with_code: bool) -> Element | None:
    """BG-14 / BG-26. The description code (BT-8) exists on the document period only."""
    start, end = date_text(value.start_date), date_text(value.end_date)
    code = value.description_code if with_code else None
    if not (start or end or code):
        return None
    el = cac(parent, "InvoicePeriod")
    cbc(el, "StartDate", start)
    cbc(el, "EndDate", end)
    cbc(el, "DescriptionCode", code)
    return el
