"""Small named predicates the rule modules share (XPath semantics where the Schematron's differ)."""

from __future__ import annotations

import re
from decimal import ROUND_FLOOR, Decimal

from faktura.domain.invoice import InvoiceInput, Party

HALF = Decimal("0.5")


def present(text: str | None) -> bool:
    """Written at all: the renderer drops empty and whitespace-only text (PEPPOL-EN16931-R008)."""
    return text is not None and bool(text.strip())


def xround(value: Decimal) -> Decimal:
    """XPath `round()`: half towards positive infinity."""
    return (value + HALF).to_integral_value(rounding=ROUND_FLOOR)


def xround2(value: Decimal) -> Decimal:
    """`round(x * 10 * 10) div 100`, the Schematron's two-decimal rounding."""
    return xround(value * 100) / 100


def vat_id(party: Party | None) -> str | None:
    """BT-31 / BT-48 as written (PartyTaxScheme with TaxScheme VAT)."""
    return party.vat_id if party is not None and present(party.vat_id) else None


def representative_vat_id(invoice: InvoiceInput) -> str | None:
    """BT-63 as written: the seller tax representative's VAT identifier (BG-11)."""
    rep = invoice.tax_representative
    return rep.vat_id if rep is not None and present(rep.vat_id) else None


def any_tax_scheme(party: Party | None, *, seller: bool) -> bool:
    """Any PartyTaxScheme/CompanyID: the VAT id, or (seller only) the tax registration id BT-32."""
    if party is None:
        return False
    return present(party.vat_id) or (seller and present(party.tax_registration_id))


def normalize_space(text: str) -> str:
    return " ".join(text.split())


_XS_DOUBLE = re.compile(r"^([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|-?INF)$")


def is_number(text: str) -> bool:
    """XPath `string(number(x)) != 'NaN'`: an xs:double lexical form."""
    return bool(_XS_DOUBLE.match(text.strip()))
