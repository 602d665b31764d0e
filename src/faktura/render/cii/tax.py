"""VAT in CII: the category of lines and allowances/charges and the breakdown (BG-23).

The breakdown comes from `Totals`; nothing is summed here. CII has no document-level tax
point: the VAT point date (BT-7) sits on the first breakdown entry (CII-SR-461: once), its
code (BT-8) on every one.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from faktura.domain.totals import Totals
from faktura.render.cii.common import Element, amount, date_only, leaf, ram
from faktura.render.ubl.common import decimal_text
from faktura.render.ubl.tax import NOT_SUBJECT_RATE

VAT = "VAT"
#: BT-8 is written with UNTDID 2005 codes in UBL and the API, with UNTDID 2475 in CII
#: (EN 16931-3-3): invoice date, delivery date, payment date.
DUE_DATE_TYPE_CODES = {"3": "5", "35": "29", "432": "72"}


def category_tax(parent: Element, name: str, category: str, rate: Decimal | None) -> Element:
    """`ApplicableTradeTax` of a line or `CategoryTradeTax` of an allowance/charge; the
    caller passes the rate already keyed by `totals.rate_key` (none for 'O')."""
    el = ram(parent, name)
    leaf(el, "TypeCode", VAT)
    leaf(el, "CategoryCode", category)
    if rate is not None:
        leaf(el, "RateApplicablePercent", decimal_text(rate))
    return el


def breakdown(
    parent: Element, totals: Totals, *, tax_point_date: dt.date | None, period_code: str | None
) -> None:
    """One `ApplicableTradeTax` per (category, rate), BT-116..121."""
    due_date_code = DUE_DATE_TYPE_CODES.get(period_code, period_code) if period_code else None
    for index, sub in enumerate(totals.breakdown):
        el = ram(parent, "ApplicableTradeTax")
        amount(el, "CalculatedAmount", sub.tax_amount)
        leaf(el, "TypeCode", VAT)
        leaf(el, "ExemptionReason", sub.exemption_reason)
        amount(el, "BasisAmount", sub.taxable_amount)
        leaf(el, "CategoryCode", sub.category)
        leaf(el, "ExemptionReasonCode", sub.exemption_reason_code)
        date_only(el, "TaxPointDate", tax_point_date if index == 0 else None)  # once (CII-SR-461)
        leaf(el, "DueDateTypeCode", due_date_code)
        rate = NOT_SUBJECT_RATE if sub.category == "O" else sub.rate
        if rate is not None:
            leaf(el, "RateApplicablePercent", decimal_text(rate))
