"""`cac:LegalMonetaryTotal` (BG-22), straight from `Totals`: BR-CO-10..16 hold by construction."""

from __future__ import annotations

from faktura.domain.invoice import InvoiceInput
from faktura.domain.totals import Totals
from faktura.render.ubl.common import Element, amount, cac


def legal_monetary_total(totals: Totals, invoice: InvoiceInput, currency: str) -> Element:
    """Optional totals appear when the invoice has the thing they total (an allowance, a
    charge, a prepayment, a rounding), so a zero is written only where it says something."""
    el = cac(None, "LegalMonetaryTotal")
    amount(el, "LineExtensionAmount", totals.line_extension_amount, currency)
    amount(el, "TaxExclusiveAmount", totals.tax_exclusive_amount, currency)
    amount(el, "TaxInclusiveAmount", totals.tax_inclusive_amount, currency)
    if totals.allowances:
        amount(el, "AllowanceTotalAmount", totals.allowance_total, currency)
    if totals.charges:
        amount(el, "ChargeTotalAmount", totals.charge_total, currency)
    if invoice.prepaid_amount is not None:
        amount(el, "PrepaidAmount", totals.prepaid_amount, currency)
    if invoice.rounding_amount is not None:
        amount(el, "PayableRoundingAmount", totals.rounding_amount, currency)
    amount(el, "PayableAmount", totals.payable_amount, currency)
    return el
