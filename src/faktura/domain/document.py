"""A document ready to render: the input with its parties resolved, number and totals fixed.

This is what the renderers (UBL, later PDF) take. It is built at issue time (and for dry
runs) from the stored draft, the tenant (seller) and the contact (buyer).
"""

from __future__ import annotations

import datetime as dt

import msgspec

from faktura.domain.invoice import InvoiceInput, Party
from faktura.domain.totals import Totals, compute

PEPPOL_BIS_3 = "peppol-bis-3"
XRECHNUNG_3 = "xrechnung-3"
#: Factur-X and ZUGFeRD: one format (CII in a PDF/A-3) under its French and German names
FACTUR_X = "factur-x"
ZUGFERD = "zugferd"
#: France (XP Z12-012): the EN 16931 profile and EXTENDED-CTC-FR, both under the BR-FR rules
FR_CTC = "fr-ctc"
FR_CTC_EXTENDED = "fr-ctc-extended"
FRENCH_PROFILES = frozenset({FR_CTC, FR_CTC_EXTENDED})


class Document(msgspec.Struct, kw_only=True):
    number: str
    issue_date: dt.date
    currency: str
    seller: Party
    buyer: Party
    invoice: InvoiceInput
    totals: Totals
    profile: str = PEPPOL_BIS_3

    @property
    def is_credit_note(self) -> bool:
        return self.invoice.document_type == "CREDIT_NOTE"

    @property
    def type_code(self) -> str:
        return self.invoice.type_code or ("381" if self.is_credit_note else "380")


def build_document(
    invoice: InvoiceInput,
    *,
    number: str,
    issue_date: dt.date,
    seller: Party,
    buyer: Party,
    currency: str,
    profile: str = PEPPOL_BIS_3,
) -> Document:
    """Fix number, date, parties and currency, and compute the totals once."""
    invoice = msgspec.structs.replace(invoice, issue_date=issue_date, currency=currency)
    return Document(
        number=number,
        issue_date=issue_date,
        currency=currency,
        seller=seller,
        buyer=buyer,
        invoice=invoice,
        totals=compute(invoice),
        profile=profile,
    )
