"""Payment instructions (BG-16..19) and payment terms (BT-20).

The CreditNote schema has no `DueDate`; Peppol BIS carries BT-9 of a credit note in
`PaymentMeans/PaymentDueDate`, once (UBL-SR-45).
"""

from __future__ import annotations

import datetime as dt

from faktura.domain.invoice import PaymentMeans
from faktura.render.ubl.common import Element, cac, cbc, date_text

#: `CardAccount/NetworkID` is mandatory in UBL; when the client does not know the card
#: network, the Peppol convention for an unknown mandatory code is "NA".
UNKNOWN_NETWORK = "NA"


def payment_means(means: list[PaymentMeans], *, due_date: dt.date | None = None) -> list[Element]:
    out = []
    for index, pm in enumerate(means):
        el = cac(None, "PaymentMeans")
        cbc(el, "PaymentMeansCode", pm.code, name=pm.name)
        if index == 0:
            cbc(el, "PaymentDueDate", date_text(due_date))
        cbc(el, "PaymentID", pm.payment_id)
        if pm.card is not None:
            card = cac(el, "CardAccount")
            cbc(card, "PrimaryAccountNumberID", pm.card.account_number)
            cbc(card, "NetworkID", pm.card.network or UNKNOWN_NETWORK)
            cbc(card, "HolderName", pm.card.holder)
        if pm.account is not None:
            account = cac(el, "PayeeFinancialAccount")
            cbc(account, "ID", pm.account.iban)
            cbc(account, "Name", pm.account.name)
            if pm.account.bic:
                cbc(cac(account, "FinancialInstitutionBranch"), "ID", pm.account.bic)
        if pm.mandate is not None:
            mandate = cac(el, "PaymentMandate")
            cbc(mandate, "ID", pm.mandate.reference)
            if pm.mandate.debited_account:
                cbc(cac(mandate, "PayerFinancialAccount"), "ID", pm.mandate.debited_account)
        out.append(el)
    return out


def payment_terms(note: str | None) -> Element | None:
    if not note:
        return None
    el = cac(None, "PaymentTerms")
    cbc(el, "Note", note)
    return el
