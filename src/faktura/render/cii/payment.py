"""Payment instructions (BG-16..19), payment terms (BT-20) and the due date (BT-9).

CII spreads what UBL keeps in `PaymentMeans`: the remittance information (BT-83) is one
`PaymentReference` for the document, the creditor id (BT-90) a `CreditorReferenceID`, and
the mandate reference (BT-89) sits in the payment terms, next to the due date.
"""

from __future__ import annotations

import datetime as dt
import re

from faktura.domain.invoice import BIC, InvoiceInput, PaymentMeans
from faktura.render.cii.common import Element, date_time, leaf, ram, written

#: an IBAN's shape (ISO 13616); anything else (a Swedish giro, a national account) is
#: written as `ProprietaryID`
IBAN_SHAPE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$")


def payment_reference(invoice: InvoiceInput) -> str | None:
    """BT-83: CII has one per document; the first payment means that carries one gives it."""
    return next((pm.payment_id for pm in invoice.payment_means if written(pm.payment_id)), None)


def mandate_reference(invoice: InvoiceInput) -> str | None:
    """BT-89 of the first direct debit."""
    return next((pm.mandate.reference for pm in invoice.payment_means if pm.mandate is not None), None)


def _account(parent: Element, name: str, number: str, account_name: str | None = None) -> None:
    el = ram(parent, name)
    compact = number.replace(" ", "")
    if IBAN_SHAPE.match(compact):
        leaf(el, "IBANID", number)
        leaf(el, "AccountName", account_name)
    else:
        leaf(el, "AccountName", account_name)
        leaf(el, "ProprietaryID", number)


def payment_means(parent: Element, means: list[PaymentMeans]) -> None:
    for pm in means:
        el = ram(parent, "SpecifiedTradeSettlementPaymentMeans")
        leaf(el, "TypeCode", pm.code)
        leaf(el, "Information", pm.name)
        if pm.card is not None:
            card = ram(el, "ApplicableTradeSettlementFinancialCard")
            leaf(card, "ID", pm.card.account_number)
            leaf(card, "CardholderName", pm.card.holder)
        if pm.mandate is not None and pm.mandate.debited_account:
            _account(el, "PayerPartyDebtorFinancialAccount", pm.mandate.debited_account)
        if pm.account is not None:
            _account(el, "PayeePartyCreditorFinancialAccount", pm.account.iban, pm.account.name)
            # BT-86 is a BIC in CII; a Peppol giro marker ("SE:BANKGIRO") has no place here
            if pm.account.bic and BIC.match(pm.account.bic):
                leaf(ram(el, "PayeeSpecifiedCreditorFinancialInstitution"), "BICID", pm.account.bic)


def payment_terms(parent: Element, invoice: InvoiceInput, due_date: dt.date | None) -> Element | None:
    """One `SpecifiedTradePaymentTerms` with the terms text, due date and mandate reference."""
    mandate = mandate_reference(invoice)
    if not (written(invoice.payment_terms) or due_date is not None or mandate):
        return None
    el = ram(parent, "SpecifiedTradePaymentTerms")
    leaf(el, "Description", invoice.payment_terms)
    date_time(el, "DueDateDateTime", due_date)
    leaf(el, "DirectDebitMandateID", mandate)
    return el
