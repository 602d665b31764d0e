"""`render_ubl(doc)`: a `Document` as a UBL 2.1 Invoice or CreditNote (Peppol BIS Billing 3.0).

The aggregate modules build their elements in whatever order reads best; this module puts
the root's children into the schema's sequence (the two roots differ: a CreditNote has its
TaxPointDate before the type code, no DueDate, and a different reference order). Same
Document in, same bytes out: nothing here depends on time, randomness or dict hashing.
"""

from __future__ import annotations

from typing import NamedTuple

from faktura.domain import france
from faktura.domain.document import (
    FR_CTC,
    FR_CTC_EXTENDED,
    FRENCH_PROFILES,
    PEPPOL_BIS_3,
    XRECHNUNG_3,
    Document,
)
from faktura.render.tree import Element, tostring
from faktura.render.ubl.allowances import allowance_charge
from faktura.render.ubl.common import NS_CREDIT_NOTE, NS_INVOICE, NSMAP, cbc, date_text
from faktura.render.ubl.delivery import delivery
from faktura.render.ubl.lines import line
from faktura.render.ubl.party import customer_party, payee_party, supplier_party, tax_representative_party
from faktura.render.ubl.payment import payment_means, payment_terms
from faktura.render.ubl.references import references
from faktura.render.ubl.tax import tax_totals
from faktura.render.ubl.totals import legal_monetary_total


class UblProfile(NamedTuple):
    customization_id: str  # BT-24
    profile_id: str  # BT-23


#: `doc.profile` -> specification and business process identifiers. A CIUS on top of
#: Peppol BIS (e.g. XRechnung: `urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0`)
#: is one more row here plus its rule set, not a new renderer.
PROFILES: dict[str, UblProfile] = {
    PEPPOL_BIS_3: UblProfile(
        customization_id="urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0",
        profile_id="urn:fdc:peppol.eu:2017:poacc:billing:01:1.0",
    ),
    XRECHNUNG_3: UblProfile(
        customization_id="urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0",
        profile_id="urn:fdc:peppol.eu:2017:poacc:billing:01:1.0",
    ),
    # France (XP Z12-012): BT-23 is the invoice's billing mode (`InvoiceInput.billing_mode`)
    FR_CTC: UblProfile(customization_id="urn:cen.eu:en16931:2017", profile_id=""),
    FR_CTC_EXTENDED: UblProfile(
        customization_id="urn:cen.eu:en16931:2017#conformant#urn.cpro.gouv.fr:1p0:extended-ctc-fr",
        profile_id="",
    ),
}

# Root child sequences of UBL-Invoice-2.1.xsd / UBL-CreditNote-2.1.xsd (elements we never
# write are left out).
INVOICE_SEQUENCE = (
    "CustomizationID", "ProfileID", "ID", "IssueDate", "DueDate", "InvoiceTypeCode", "Note",
    "TaxPointDate", "DocumentCurrencyCode", "TaxCurrencyCode", "AccountingCost", "BuyerReference",
    "InvoicePeriod", "OrderReference", "BillingReference", "DespatchDocumentReference",
    "ReceiptDocumentReference", "StatementDocumentReference", "OriginatorDocumentReference",
    "ContractDocumentReference", "AdditionalDocumentReference", "ProjectReference",
    "AccountingSupplierParty", "AccountingCustomerParty", "PayeeParty", "TaxRepresentativeParty",
    "Delivery", "PaymentMeans", "PaymentTerms", "AllowanceCharge", "TaxTotal", "LegalMonetaryTotal",
    "InvoiceLine",
)  # fmt: skip
CREDIT_NOTE_SEQUENCE = (
    "CustomizationID", "ProfileID", "ID", "IssueDate", "TaxPointDate", "CreditNoteTypeCode", "Note",
    "DocumentCurrencyCode", "TaxCurrencyCode", "AccountingCost", "BuyerReference", "InvoicePeriod",
    "OrderReference", "BillingReference", "DespatchDocumentReference", "ReceiptDocumentReference",
    "ContractDocumentReference", "AdditionalDocumentReference", "StatementDocumentReference",
    "OriginatorDocumentReference", "AccountingSupplierParty", "AccountingCustomerParty", "PayeeParty",
    "TaxRepresentativeParty", "Delivery", "PaymentMeans", "PaymentTerms", "AllowanceCharge", "TaxTotal",
    "LegalMonetaryTotal", "CreditNoteLine",
)  # fmt: skip

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def profile_id(doc: Document, profile: UblProfile) -> str | None:
    """BT-23: the billing mode under the French profiles; the French Peppol process id for a
    French seller's Peppol invoice that carries a billing mode; else the profile's own."""
    mode = doc.invoice.billing_mode
    if doc.profile in FRENCH_PROFILES:
        return mode
    if doc.profile == PEPPOL_BIS_3 and mode and doc.seller.address.country == "FR":
        return france.peppol_process_id(doc.seller, doc.buyer)
    return profile.profile_id


def _children(doc: Document) -> list[Element]:
    inv, totals, currency = doc.invoice, doc.totals, doc.currency
    credit_note = doc.is_credit_note
    profile = PROFILES.get(doc.profile)
    if profile is None:
        raise ValueError(f"no UBL profile {doc.profile!r}; known: {', '.join(PROFILES)}")
    out: list[Element | None] = [
        cbc(None, "CustomizationID", profile.customization_id),
        cbc(None, "ProfileID", profile_id(doc, profile)),
        cbc(None, "ID", doc.number),
        cbc(None, "IssueDate", date_text(doc.issue_date)),
        cbc(None, "DueDate", None if credit_note else date_text(inv.due_date)),  # see payment.py
        cbc(None, "CreditNoteTypeCode" if credit_note else "InvoiceTypeCode", doc.type_code),
        *(cbc(None, "Note", note) for note in inv.notes),
        cbc(None, "TaxPointDate", date_text(inv.tax_point_date)),
        cbc(None, "DocumentCurrencyCode", currency),
        cbc(None, "TaxCurrencyCode", inv.tax_currency if inv.tax_currency != currency else None),
        cbc(None, "AccountingCost", inv.accounting_cost),
        cbc(None, "BuyerReference", inv.buyer_reference),
        *references(inv, credit_note=credit_note),
        supplier_party(doc.seller, inv),
        customer_party(doc.buyer),
        payee_party(inv),
        tax_representative_party(inv.tax_representative),
        delivery(inv.delivery),
        *payment_means(inv.payment_means, due_date=inv.due_date if credit_note else None),
        payment_terms(inv.payment_terms),
        *(allowance_charge(r, currency, s) for s, r in zip(inv.allowances, totals.allowances, strict=True)),
        *(allowance_charge(r, currency, s) for s, r in zip(inv.charges, totals.charges, strict=True)),
        *tax_totals(totals, currency, inv.tax_currency),
        legal_monetary_total(totals, inv, currency),
        *(
            line(i, li, lt, currency, credit_note=credit_note)
            for i, (li, lt) in enumerate(zip(inv.line_items, totals.lines, strict=True), start=1)
        ),
    ]
    return [el for el in out if el is not None]


def render_ubl(doc: Document) -> bytes:
    """The UBL 2.1 XML of `doc`, UTF-8 with an XML declaration. `memo` is private: never written."""
    return XML_DECLARATION + tostring(tree(doc)) + b"\n"


def tree(doc: Document) -> Element:
    """The root element, its children in the schema's sequence."""
    ns, root_name, sequence = (
        (NS_CREDIT_NOTE, "CreditNote", CREDIT_NOTE_SEQUENCE)
        if doc.is_credit_note
        else (NS_INVOICE, "Invoice", INVOICE_SEQUENCE)
    )
    position = {name: i for i, name in enumerate(sequence)}
    root = Element(root_name, attrs={"xmlns": ns} | {f"xmlns:{p}": uri for p, uri in NSMAP.items()})
    # sorted() is stable: repeated elements (notes, lines, allowances) keep their order.
    root.children = sorted(_children(doc), key=lambda el: position[el.name])
    return root
