"""Namespaces and the element builders every CII aggregate module shares.

Numbers are written by the UBL formatting helpers (two decimals for amounts, exact quantities
and rates, prices with their own decimals), so both syntaxes show the same figures. CII
amounts carry no `currencyID` except the VAT total (BT-110/111), as EN 16931 maps them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TypeAlias

from lxml import etree

from faktura.domain.invoice import Address, Identifier
from faktura.render.ubl.common import amount_text

NS_RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
NS_QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NS_RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
NS_UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
NSMAP = {"rsm": NS_RSM, "qdt": NS_QDT, "ram": NS_RAM, "udt": NS_UDT}

#: UN/CEFACT date format code 102: CCYYMMDD
DATE_FORMAT = "102"

Element: TypeAlias = etree._Element


def ram(parent: Element | None, name: str) -> Element:
    """A `ram:` aggregate, appended to `parent` when one is given."""
    tag = f"{{{NS_RAM}}}{name}"
    return etree.Element(tag) if parent is None else etree.SubElement(parent, tag)


def leaf(parent: Element, name: str, text: str | None, /, **attrs: str | None) -> Element | None:
    """A `ram:` leaf; nothing at all when the value is absent (no empty elements)."""
    if text is None or not text.strip():
        return None
    el = ram(parent, name)
    for key, value in attrs.items():
        if value is not None:
            el.set(key, value)
    el.text = text
    return el


def written(text: str | None) -> bool:
    """`leaf` drops blank text; an aggregate that needs the text is dropped with it."""
    return text is not None and bool(text.strip())


def amount(parent: Element, name: str, value: Decimal, currency: str | None = None) -> Element:
    el = leaf(parent, name, amount_text(value), currencyID=currency)
    assert el is not None
    return el


def _date(parent: Element, name: str, value: dt.date | None, qualified: str) -> Element | None:
    """`<name><qualified format="102">CCYYMMDD</qualified></name>`, or nothing without a date."""
    if value is None:
        return None
    el = ram(parent, name)
    etree.SubElement(el, qualified, format=DATE_FORMAT).text = value.strftime("%Y%m%d")
    return el


def date_time(parent: Element, name: str, value: dt.date | None) -> Element | None:
    """`<name><udt:DateTimeString format="102">CCYYMMDD</…></name>`."""
    return _date(parent, name, value, f"{{{NS_UDT}}}DateTimeString")


def formatted_date(parent: Element, name: str, value: dt.date | None) -> Element | None:
    """The qualified-type date of referenced documents (BT-26): `qdt:DateTimeString`."""
    return _date(parent, name, value, f"{{{NS_QDT}}}DateTimeString")


def date_only(parent: Element, name: str, value: dt.date | None) -> Element | None:
    """BT-7 is a `udt:DateString` in CII (a date without time)."""
    return _date(parent, name, value, f"{{{NS_UDT}}}DateString")


def indicator(parent: Element, name: str, value: bool) -> Element:
    el = ram(parent, name)
    etree.SubElement(el, f"{{{NS_UDT}}}Indicator").text = "true" if value else "false"
    return el


def identifiers(parent: Element, values: list[Identifier]) -> None:
    """Party and location identifiers: `ram:ID` without a scheme, `ram:GlobalID` with one
    (the schema wants every ID before every GlobalID)."""
    for ident in values:
        if ident.scheme is None:
            leaf(parent, "ID", ident.value)
    for ident in values:
        if ident.scheme is not None:
            leaf(parent, "GlobalID", ident.value, schemeID=ident.scheme)


def address(parent: Element, name: str, addr: Address) -> Element:
    """BG-5 / BG-8 / BG-12 / BG-15 as a `PostalTradeAddress`."""
    el = ram(parent, name)
    leaf(el, "PostcodeCode", addr.postal_code)
    leaf(el, "LineOne", addr.line1)
    leaf(el, "LineTwo", addr.line2)
    leaf(el, "LineThree", addr.line3)
    leaf(el, "CityName", addr.city)
    leaf(el, "CountryID", addr.country)
    leaf(el, "CountrySubDivisionName", addr.subdivision)
    return el


def period(parent: Element, start: dt.date | None, end: dt.date | None) -> Element | None:
    """BG-14 / BG-26 as a `BillingSpecifiedPeriod` (BT-8 lives on the VAT breakdown in CII)."""
    if start is None and end is None:
        return None
    el = ram(parent, "BillingSpecifiedPeriod")
    date_time(el, "StartDateTime", start)
    date_time(el, "EndDateTime", end)
    return el
