"""Allowances and charges: document level (BG-20/21), line level (BG-27/28), price discount.

Amounts and bases come resolved from `Totals` (percentage × base already worked out), so
PEPPOL-EN16931-R040 and BR-CO-11/12 hold by construction.
"""

from __future__ import annotations

from decimal import Decimal

from faktura.domain.invoice import AllowanceCharge
from faktura.domain.totals import ResolvedAllowanceCharge, rate_key
from faktura.render.ubl.common import Element, amount, cac, cbc, decimal_text, price_text
from faktura.render.ubl.tax import tax_category


def allowance_charge(
    res: ResolvedAllowanceCharge, currency: str, source: AllowanceCharge | None = None
) -> Element:
    """One `cac:AllowanceCharge`. `source` is given at document level only, where the
    allowance or charge carries its own VAT category (BT-95/BT-102); line ones must not."""
    el = cac(None, "AllowanceCharge")
    cbc(el, "ChargeIndicator", "true" if res.charge else "false")
    cbc(el, "AllowanceChargeReasonCode", res.reason_code)
    cbc(el, "AllowanceChargeReason", res.reason)
    if res.percentage is not None:
        cbc(el, "MultiplierFactorNumeric", decimal_text(res.percentage))
    amount(el, "Amount", res.amount, currency)
    if res.base_amount is not None:
        amount(el, "BaseAmount", res.base_amount, currency)
    if source is not None and source.tax_category:
        # Written as sent: without a category there is no TaxCategory (BR-32/BR-37 report it)
        tax_category(el, "TaxCategory", source.tax_category, rate_key(source.tax_category, source.tax_rate))
    return el


def price_discount(parent: Element, gross: Decimal, net: Decimal, currency: str) -> Element:
    """BT-147/148 inside `cac:Price`. BT-147 is by definition gross − net (PEPPOL-EN16931-R046
    compares them exactly), so both prices are written unrounded."""
    el = cac(parent, "AllowanceCharge")
    cbc(el, "ChargeIndicator", "false")
    cbc(el, "Amount", price_text(gross - net), currencyID=currency)
    cbc(el, "BaseAmount", price_text(gross), currencyID=currency)
    return el
