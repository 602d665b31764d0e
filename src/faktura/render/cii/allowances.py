"""Allowances and charges: document level (BG-20/21), line level (BG-27/28), price discount.

Amounts and bases come resolved from `Totals`, as in the UBL renderer.
"""

from __future__ import annotations

from decimal import Decimal

from faktura.domain.invoice import AllowanceCharge
from faktura.domain.totals import ResolvedAllowanceCharge, rate_key
from faktura.render.cii.common import Element, amount, indicator, leaf, ram
from faktura.render.cii.tax import category_tax
from faktura.render.ubl.common import decimal_text, price_text


def allowance_charge(
    parent: Element, res: ResolvedAllowanceCharge, source: AllowanceCharge | None = None
) -> Element:
    """One `SpecifiedTradeAllowanceCharge`. `source` is given at document level only, where
    the allowance or charge carries its own VAT category (BT-95/BT-102); line ones must not."""
    el = ram(parent, "SpecifiedTradeAllowanceCharge")
    indicator(el, "ChargeIndicator", res.charge)
    if res.percentage is not None:
        leaf(el, "CalculationPercent", decimal_text(res.percentage))
    if res.base_amount is not None:
        amount(el, "BasisAmount", res.base_amount)
    amount(el, "ActualAmount", res.amount)
    leaf(el, "ReasonCode", res.reason_code)
    leaf(el, "Reason", res.reason)
    if source is not None and source.tax_category:
        category_tax(
            el, "CategoryTradeTax", source.tax_category, rate_key(source.tax_category, source.tax_rate)
        )
    return el


def price_discount(parent: Element, gross: Decimal, net: Decimal) -> Element:
    """BT-147 on the gross price (BT-148): by definition gross − net, written unrounded."""
    el = ram(parent, "AppliedTradeAllowanceCharge")
    indicator(el, "ChargeIndicator", False)
    leaf(el, "ActualAmount", price_text(gross - net))
    return el
