"""Document-level references: BT-10..18, BG-3 preceding invoices, BG-14 invoicing period,
BG-24 additional supporting documents.

Where the CreditNote schema lacks an element the Invoice has, the Peppol BIS mapping is
used: the project reference (BT-11) becomes an `AdditionalDocumentReference` with type 50.
"""

from __future__ import annotations

import base64

from faktura.domain.invoice import InvoiceInput, SupportingDocument
from faktura.render.ubl.common import Element, cac, cbc, date_text, identifier, period

#: Peppol BIS: when only a sales order reference (BT-14) is known, the mandatory
#: `OrderReference/ID` is "NA".
NOT_APPLICABLE = "NA"
PROJECT_DOCUMENT_TYPE = "50"
#: UNTDID 1001 code of the document-level invoiced object (BT-18)
INVOICED_OBJECT = "130"


def supporting_document(doc: SupportingDocument) -> Element:
    el = cac(None, "AdditionalDocumentReference")
    cbc(el, "ID", doc.reference)
    cbc(el, "DocumentDescription", doc.description)
    url = doc.url if doc.url and doc.url.strip() else None
    if doc.content or url:
        attachment = cac(el, "Attachment")
        if doc.content:
            cbc(
                attachment,
                "EmbeddedDocumentBinaryObject",
                base64.b64encode(doc.content).decode("ascii"),
                mimeCode=doc.mime_code,
                filename=doc.filename,
            )
        if url:
            cbc(cac(attachment, "ExternalReference"), "URI", url)
    return el


def _id_reference(name: str, value: str | None) -> Element | None:
    if not value:
        return None
    el = cac(None, name)
    cbc(el, "ID", value)
    return el


def references(invoice: InvoiceInput, *, credit_note: bool) -> list[Element]:
    """Everything between BuyerReference and the parties, in any order: the caller sorts."""
    out: list[Element] = []
    if invoice.invoicing_period is not None:
        el = period(None, invoice.invoicing_period, with_code=True)
        if el is not None:
            out.append(el)
    if invoice.order_reference or invoice.sales_order_reference:
        order = cac(None, "OrderReference")
        cbc(order, "ID", invoice.order_reference or NOT_APPLICABLE)
        cbc(order, "SalesOrderID", invoice.sales_order_reference)
        out.append(order)
    for preceding in invoice.preceding_invoices:
        billing = cac(None, "BillingReference")
        ref = cac(billing, "InvoiceDocumentReference")
        cbc(ref, "ID", preceding.number)
        cbc(ref, "IssueDate", date_text(preceding.issue_date))
        out.append(billing)
    for name, value in (
        ("DespatchDocumentReference", invoice.despatch_reference),
        ("ReceiptDocumentReference", invoice.receiving_advice_reference),
        ("OriginatorDocumentReference", invoice.tender_reference),
        ("ContractDocumentReference", invoice.contract_reference),
    ):
        el = _id_reference(name, value)
        if el is not None:
            out.append(el)
    if invoice.object_id is not None:
        obj = cac(None, "AdditionalDocumentReference")
        identifier(obj, "ID", invoice.object_id.value, invoice.object_id.scheme)
        cbc(obj, "DocumentTypeCode", INVOICED_OBJECT)
        out.append(obj)
    out.extend(supporting_document(doc) for doc in invoice.attachments)
    if invoice.project_reference:
        if credit_note:
            project = cac(None, "AdditionalDocumentReference")
            cbc(project, "ID", invoice.project_reference)
            cbc(project, "DocumentTypeCode", PROJECT_DOCUMENT_TYPE)
        else:
            project = cac(None, "ProjectReference")
            cbc(project, "ID", invoice.project_reference)
        out.append(project)
    return out
