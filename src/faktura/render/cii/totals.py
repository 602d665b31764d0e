"""`SpecifiedTradeSettlementHeaderMonetarySummation` (BG-22), straight from `Totals`."""

from __future__ import annotations

from faktura.domain.invoice import InvoiceInput
from faktura.domain.totals import Totals
from faktura.render.cii.common import Element, amount, ram


def monetary_summation(parent: Element, totals: Totals, invoice: InvoiceInput, currency: str) -> Element:
    """Optional totals appear when the invoice has the thing they total, as in UBL. The VAT
    total carries its currency, and a second one the VAT accounting currency (BT-111)."""
    el = ram(parent, "SpecifiedTradeSettlementHeaderMonetarySummation")
    amount(el, "LineTotalAmount", totals.line_extension_amount)
    if totals.charges:
        amount(el, "ChargeTotalAmount", totals.charge_total)
    if totals.allowances:
        amount(el, "AllowanceTotalAmount", totals.allowance_total)
    amount(el, "TaxBasisTotalAmount", totals.tax_exclusive_amount)
    amount(el, "TaxTotalAmount", totals.tax_amount, currency)
    tax_currency = invoice.tax_currency
    if tax_currency and tax_currency != currency and totals.tax_amount_in_tax_currency is not None:
        amount(el, "TaxTotalAmount", totals.tax_amount_in_tax_currency, tax_currency)
    if invoice.rounding_amount is not None:
        amount(el, "RoundingAmount", totals.rounding_amount)
    amount(el, "GrandTotalAmount", totals.tax_inclusive_amount)
    if invoice.prepaid_amount is not None:
        amount(el, "TotalPrepaidAmount", totals.prepaid_amount)
    amount(el, "DuePayableAmount", totals.payable_amount)
    return el
