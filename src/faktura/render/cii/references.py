"""Document references: the agreement's (BT-11..14, BT-17, BT-18, BG-24), the delivery's
(BT-15, BT-16) and the preceding invoices (BG-3) in the settlement."""

from __future__ import annotations

import base64

from faktura.domain.invoice import InvoiceInput, SupportingDocument
from faktura.render.cii.common import Element, formatted_date, leaf, ram, written

#: UNTDID 1001 codes of `AdditionalReferencedDocument/TypeCode`
SUPPORTING_DOCUMENT = "916"
TENDER = "50"
INVOICED_OBJECT = "130"
#: BT-11 has no name in the model, but `SpecifiedProcuringProject/Name` is mandatory in CII:
#: EN 16931-3-3 writes this fixed text
PROJECT_NAME = "Project reference"


def _referenced(parent: Element, name: str, value: str | None) -> Element | None:
    if not written(value):
        return None
    el = ram(parent, name)
    leaf(el, "IssuerAssignedID", value)
    return el


def _supporting_document(parent: Element, doc: SupportingDocument) -> None:
    el = ram(parent, "AdditionalReferencedDocument")
    leaf(el, "IssuerAssignedID", doc.reference)
    leaf(el, "URIID", doc.url)
    leaf(el, "TypeCode", SUPPORTING_DOCUMENT)
    leaf(el, "Name", doc.description)
    if doc.content:
        leaf(
            el,
            "AttachmentBinaryObject",
            base64.b64encode(doc.content).decode("ascii"),
            mimeCode=doc.mime_code,
            filename=doc.filename,
        )


def agreement_references(parent: Element, invoice: InvoiceInput) -> None:
    """Everything after the parties in `ApplicableHeaderTradeAgreement`, in schema order."""
    _referenced(parent, "SellerOrderReferencedDocument", invoice.sales_order_reference)
    _referenced(parent, "BuyerOrderReferencedDocument", invoice.order_reference)
    _referenced(parent, "ContractReferencedDocument", invoice.contract_reference)
    for doc in invoice.attachments:
        _supporting_document(parent, doc)
    tender = _referenced(parent, "AdditionalReferencedDocument", invoice.tender_reference)
    if tender is not None:
        leaf(tender, "TypeCode", TENDER)
    if invoice.object_id is not None:
        obj = ram(parent, "AdditionalReferencedDocument")
        leaf(obj, "IssuerAssignedID", invoice.object_id.value)
        leaf(obj, "TypeCode", INVOICED_OBJECT)
        leaf(obj, "ReferenceTypeCode", invoice.object_id.scheme)
    if written(invoice.project_reference):
        project = ram(parent, "SpecifiedProcuringProject")
        leaf(project, "ID", invoice.project_reference)
        leaf(project, "Name", PROJECT_NAME)


def delivery_references(parent: Element, invoice: InvoiceInput) -> None:
    _referenced(parent, "DespatchAdviceReferencedDocument", invoice.despatch_reference)
    _referenced(parent, "ReceivingAdviceReferencedDocument", invoice.receiving_advice_reference)


def preceding_invoices(parent: Element, invoice: InvoiceInput) -> None:
    """BG-3: number (BT-25) and issue date (BT-26) of each invoice a credit note corrects."""
    for preceding in invoice.preceding_invoices:
        el = ram(parent, "InvoiceReferencedDocument")
        leaf(el, "IssuerAssignedID", preceding.number)
        formatted_date(el, "FormattedIssueDateTime", preceding.issue_date)
