"""VAT: the category aggregate (lines, allowances, breakdown) and the TaxTotal(s), BG-23.

The breakdown comes from `Totals`; nothing is summed here. With a VAT accounting currency
(BT-6) a second TaxTotal carries only BT-111, without subtotals (PEPPOL-EN16931-R053/R054).
"""

from __future__ import annotations

from decimal import Decimal

from faktura.domain.totals import Totals
from faktura.render.ubl.common import Element, amount, cac, cbc, decimal_text

VAT = "VAT"
#: BT-119 of an 'O' breakdown. EN 16931 forbids a rate on 'O' lines and allowances/charges
#: (BR-O-05..07) but not on the breakdown, and XRechnung (BR-DE-14) and Peppol's German
#: block (DE-R-014) require one on every breakdown: 0 satisfies all of them.
NOT_SUBJECT_RATE = Decimal(0)


def tax_category(
    parent: Element,
    name: str,
    category: str,
    rate: Decimal | None,
    *,
    exemption_reason: str | None = None,
    exemption_reason_code: str | None = None,
) -> Element:
    """`cac:TaxCategory` / `cac:ClassifiedTaxCategory`. No rate for 'O' (BR-O-05..08):
    the caller passes the rate already keyed by `totals.rate_key`."""
    el = cac(parent, name)
    cbc(el, "ID", category)
    if rate is not None:
        cbc(el, "Percent", decimal_text(rate))
    cbc(el, "TaxExemptionReasonCode", exemption_reason_code)
    cbc(el, "TaxExemptionReason", exemption_reason)
    cbc(cac(el, "TaxScheme"), "ID", VAT)
    return el


def tax_totals(totals: Totals, currency: str, tax_currency: str | None) -> list[Element]:
    """BT-110 with its breakdown, then BT-111 in the VAT accounting currency when there is one."""
    main = cac(None, "TaxTotal")
    amount(main, "TaxAmount", totals.tax_amount, currency)
    for sub in totals.breakdown:
        el = cac(main, "TaxSubtotal")
        amount(el, "TaxableAmount", sub.taxable_amount, currency)
        amount(el, "TaxAmount", sub.tax_amount, currency)
        tax_category(
            el,
            "TaxCategory",
            sub.category,
            NOT_SUBJECT_RATE if sub.category == "O" else sub.rate,
            exemption_reason=sub.exemption_reason,
            exemption_reason_code=sub.exemption_reason_code,
        )
    out = [main]
    if tax_currency and tax_currency != currency and totals.tax_amount_in_tax_currency is not None:
        accounting = cac(None, "TaxTotal")
        amount(accounting, "TaxAmount", totals.tax_amount_in_tax_currency, tax_currency)
        out.append(accounting)
    return out
