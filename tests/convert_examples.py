"""Convert official UBL example invoices into Faktura request JSON.

    python tests/convert_examples.py FILE.xml...      # prints {"profile", "seller", "buyer", "invoice"}

`convert(xml_bytes)` maps every UBL element the input model can express to its field (the
mapping of `faktura.render.ubl`, read backwards) and raises `Unsupported` with the reason
for what it cannot express (attachments, a tax representative, …). The declared totals of
the original (BT-106, BT-107, BT-110, BT-112, line nets) are carried as the request's
declared totals, so our checks compare them with our own computation.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
El = etree._Element


class Unsupported(Exception):
    """The example uses something the input model cannot express."""


def _t(el: El | None, path: str) -> str | None:
    if el is None:
        return None
    found = el.find(path, NS)
    if found is None or found.text is None or not found.text.strip():
        return None
    return found.text.strip()


def _all(el: El, path: str) -> list[El]:
    return list(el.findall(path, NS))


def _put(d: dict[str, Any], key: str, value: Any) -> None:
    if value not in (None, [], {}, ""):
        d[key] = value


def _ident(el: El | None) -> dict[str, Any] | None:
    if el is None or not (el.text or "").strip():
        return None
    out: dict[str, Any] = {"value": el.text.strip()}
    _put(out, "scheme", el.get("schemeID"))
    return out


def _address(el: El | None) -> dict[str, Any]:
    if el is None:
        raise Unsupported("party without postal address")
    out: dict[str, Any] = {}
    _put(out, "line1", _t(el, "cbc:StreetName"))
    _put(out, "line2", _t(el, "cbc:AdditionalStreetName"))
    _put(out, "line3", _t(el, "cac:AddressLine/cbc:Line"))
    _put(out, "city", _t(el, "cbc:CityName"))
    _put(out, "postal_code", _t(el, "cbc:PostalZone"))
    _put(out, "subdivision", _t(el, "cbc:CountrySubentity"))
    out["country"] = _t(el, "cac:Country/cbc:IdentificationCode")
    return out


def _supporting_document(adr: El) -> dict[str, Any]:
    """BG-24: reference, description, the embedded file (kept base64) and/or its URL."""
    out: dict[str, Any] = {"reference": _t(adr, "cbc:ID")}
    _put(out, "description", _t(adr, "cbc:DocumentDescription"))
    binary = adr.find("cac:Attachment/cbc:EmbeddedDocumentBinaryObject", NS)
    if binary is not None and (binary.text or "").strip():
        out["content"] = "".join(binary.text.split())  # type: ignore[union-attr]
        _put(out, "mime_code", binary.get("mimeCode"))
        _put(out, "filename", binary.get("filename"))
    _put(out, "url", _t(adr, "cac:Attachment/cac:ExternalReference/cbc:URI"))
    return out


def _party(p: El, *, seller: bool) -> tuple[dict[str, Any], list[str]]:
    """(Party JSON, SEPA creditor ids found among its identifiers)."""
    out: dict[str, Any] = {
        "name": _t(p, "cac:PartyLegalEntity/cbc:RegistrationName") or _t(p, "cac:PartyName/cbc:Name")
    }
    _put(out, "trading_name", _t(p, "cac:PartyName/cbc:Name"))
    sepa, ids = [], []
    for pid in _all(p, "cac:PartyIdentification/cbc:ID"):
        if (pid.get("schemeID") or "").upper() == "SEPA":
            sepa.append(pid.text.strip())
        else:
            ids.append(_ident(pid))
    _put(out, "identifiers", [i for i in ids if i])
    for pts in _all(p, "cac:PartyTaxScheme"):
        scheme = _t(pts, "cac:TaxScheme/cbc:ID")
        if scheme == "VAT":
            _put(out, "vat_id", _t(pts, "cbc:CompanyID"))
        elif seller:
            _put(out, "tax_registration_id", _t(pts, "cbc:CompanyID"))
    _put(out, "legal_id", _ident(p.find("cac:PartyLegalEntity/cbc:CompanyID", NS)))
    if seller:
        _put(out, "legal_form", _t(p, "cac:PartyLegalEntity/cbc:CompanyLegalForm"))
    _put(out, "endpoint", _ident(p.find("cbc:EndpointID", NS)))
    out["address"] = _address(p.find("cac:PostalAddress", NS))
    contact: dict[str, Any] = {}
    _put(contact, "name", _t(p, "cac:Contact/cbc:Name"))
    _put(contact, "phone", _t(p, "cac:Contact/cbc:Telephone"))
    _put(contact, "email", _t(p, "cac:Contact/cbc:ElectronicMail"))
    _put(out, "contact", contact)
    return out, sepa


def _ac(el: El, *, document: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _put(out, "amount", _t(el, "cbc:Amount"))
    _put(out, "base_amount", _t(el, "cbc:BaseAmount"))
    _put(out, "percentage", _t(el, "cbc:MultiplierFactorNumeric"))
    _put(out, "reason", _t(el, "cbc:AllowanceChargeReason"))
    _put(out, "reason_code", _t(el, "cbc:AllowanceChargeReasonCode"))
    if document:
        _put(out, "tax_category", _t(el, "cac:TaxCategory/cbc:ID"))
        _put(out, "tax_rate", _t(el, "cac:TaxCategory/cbc:Percent"))
    return out


def _period(el: El | None, *, with_code: bool) -> dict[str, Any] | None:
    if el is None:
        return None
    out: dict[str, Any] = {}
    _put(out, "start_date", _t(el, "cbc:StartDate"))
    _put(out, "end_date", _t(el, "cbc:EndDate"))
    if with_code:
        _put(out, "description_code", _t(el, "cbc:DescriptionCode"))
    return out or None


def convert(xml: bytes) -> dict[str, Any]:
    root = etree.fromstring(xml)
    credit = etree.QName(root).localname == "CreditNote"
    customization = _t(root, "cbc:CustomizationID") or ""
    profile = (
        "xrechnung-3"
        if "xrechnung" in customization
        else "peppol-bis-3"
        if "peppol" in customization
        else None
    )
    if profile is None:
        raise Unsupported(f"specification {customization!r} is neither Peppol BIS 3 nor XRechnung")
    for path, why in (
        ("cac:PrepaidPayment", "XRechnung extension: third-party payments"),
        ("cac:InvoiceLine/cac:SubInvoiceLine", "XRechnung extension: sub-lines"),
        ("cac:StatementDocumentReference", "statement reference"),
    ):
        if root.find(path, NS) is not None:
            raise Unsupported(why)
    project = None
    object_id = None
    attachments: list[dict[str, Any]] = []
    for adr in _all(root, "cac:AdditionalDocumentReference"):
        code = _t(adr, "cbc:DocumentTypeCode")
        if credit and code == "50" and project is None:
            project = _t(adr, "cbc:ID")
        elif code == "130" and object_id is None:
            object_id = _ident(adr.find("cbc:ID", NS))
        elif code is None:
            attachments.append(_supporting_document(adr))
        else:
            raise Unsupported(f"supporting document with type code {code}")
    if len(_all(root, "cac:PaymentTerms")) > 1:
        raise Unsupported("more than one payment terms text")

    seller, sepa = _party(root.find("cac:AccountingSupplierParty/cac:Party", NS), seller=True)  # type: ignore[arg-type]
    buyer, _ = _party(root.find("cac:AccountingCustomerParty/cac:Party", NS), seller=False)  # type: ignore[arg-type]
    inv: dict[str, Any] = {"profile": profile}
    if credit:
        inv["document_type"] = "CREDIT_NOTE"
    type_code = _t(root, "cbc:CreditNoteTypeCode" if credit else "cbc:InvoiceTypeCode")
    if type_code not in ("380", "381"):
        inv["type_code"] = type_code
    _put(inv, "due_date", _t(root, "cbc:DueDate") or _t(root, "cac:PaymentMeans/cbc:PaymentDueDate"))
    _put(inv, "tax_point_date", _t(root, "cbc:TaxPointDate"))
    _put(inv, "currency", _t(root, "cbc:DocumentCurrencyCode"))
    tax_currency = _t(root, "cbc:TaxCurrencyCode")
    if tax_currency:
        inv["tax_currency"] = tax_currency
        for tt in _all(root, "cac:TaxTotal"):
            amount = tt.find("cbc:TaxAmount", NS)
            if amount is not None and amount.get("currencyID") == tax_currency:
                inv["tax_currency_total_tax_amount"] = amount.text
    _put(inv, "notes", [n.text.strip() for n in _all(root, "cbc:Note") if n.text and n.text.strip()])
    _put(inv, "accounting_cost", _t(root, "cbc:AccountingCost"))
    _put(inv, "buyer_reference", _t(root, "cbc:BuyerReference"))
    order = _t(root, "cac:OrderReference/cbc:ID")
    _put(inv, "order_reference", order if order != "NA" else None)
    _put(inv, "sales_order_reference", _t(root, "cac:OrderReference/cbc:SalesOrderID"))
    _put(inv, "contract_reference", _t(root, "cac:ContractDocumentReference/cbc:ID"))
    _put(inv, "project_reference", project or _t(root, "cac:ProjectReference/cbc:ID"))
    _put(inv, "object_id", object_id)
    _put(inv, "attachments", attachments)
    _put(inv, "despatch_reference", _t(root, "cac:DespatchDocumentReference/cbc:ID"))
    _put(inv, "receiving_advice_reference", _t(root, "cac:ReceiptDocumentReference/cbc:ID"))
    _put(inv, "tender_reference", _t(root, "cac:OriginatorDocumentReference/cbc:ID"))
    preceding = []
    for ref in _all(root, "cac:BillingReference/cac:InvoiceDocumentReference"):
        p: dict[str, Any] = {"number": _t(ref, "cbc:ID")}
        _put(p, "issue_date", _t(ref, "cbc:IssueDate"))
        preceding.append(p)
    _put(inv, "preceding_invoices", preceding)
    _put(inv, "invoicing_period", _period(root.find("cac:InvoicePeriod", NS), with_code=True))
    inv["buyer"] = buyer

    rep_el = root.find("cac:TaxRepresentativeParty", NS)
    if rep_el is not None:
        rep: dict[str, Any] = {
            "name": _t(rep_el, "cac:PartyName/cbc:Name"),
            "vat_id": _t(rep_el, "cac:PartyTaxScheme/cbc:CompanyID"),
            "address": _address(rep_el.find("cac:PostalAddress", NS)),
        }
        inv["tax_representative"] = rep
    payee_el = root.find("cac:PayeeParty", NS)
    if payee_el is not None:
        payee: dict[str, Any] = {
            "name": _t(payee_el, "cac:PartyName/cbc:Name"),
            "address": {"country": seller["address"]["country"]},
        }
        ids = [
            _ident(i)
            for i in _all(payee_el, "cac:PartyIdentification/cbc:ID")
            if (i.get("schemeID") or "").upper() != "SEPA"
        ]
        sepa += [
            i.text.strip()
            for i in _all(payee_el, "cac:PartyIdentification/cbc:ID")
            if (i.get("schemeID") or "").upper() == "SEPA"
        ]
        _put(payee, "identifiers", [i for i in ids if i])
        _put(payee, "legal_id", _ident(payee_el.find("cac:PartyLegalEntity/cbc:CompanyID", NS)))
        inv["payee"] = payee

    delivery_el = root.find("cac:Delivery", NS)
    if delivery_el is not None:
        d: dict[str, Any] = {}
        _put(d, "date", _t(delivery_el, "cbc:ActualDeliveryDate"))
        _put(d, "location_id", _ident(delivery_el.find("cac:DeliveryLocation/cbc:ID", NS)))
        _put(d, "party_name", _t(delivery_el, "cac:DeliveryParty/cac:PartyName/cbc:Name"))
        addr = delivery_el.find("cac:DeliveryLocation/cac:Address", NS)
        if addr is not None:
            d["address"] = _address(addr)
        _put(inv, "delivery", d)

    means = []
    for pm in _all(root, "cac:PaymentMeans"):
        m: dict[str, Any] = {"code": _t(pm, "cbc:PaymentMeansCode")}
        code_el = pm.find("cbc:PaymentMeansCode", NS)
        _put(m, "name", code_el.get("name") if code_el is not None else None)
        _put(m, "payment_id", _t(pm, "cbc:PaymentID"))
        acct = pm.find("cac:PayeeFinancialAccount", NS)
        if acct is not None:
            a: dict[str, Any] = {"iban": _t(acct, "cbc:ID")}
            _put(a, "name", _t(acct, "cbc:Name"))
            _put(a, "bic", _t(acct, "cac:FinancialInstitutionBranch/cbc:ID"))
            m["account"] = a
        card = pm.find("cac:CardAccount", NS)
        if card is not None:
            pan = _t(card, "cbc:PrimaryAccountNumberID") or ""
            c: dict[str, Any] = {"account_number": pan[-4:]}
            _put(c, "network", _t(card, "cbc:NetworkID"))
            _put(c, "holder", _t(card, "cbc:HolderName"))
            m["card"] = c
        mandate = pm.find("cac:PaymentMandate", NS)
        if mandate is not None:
            md: dict[str, Any] = {"reference": _t(mandate, "cbc:ID")}
            _put(md, "creditor_id", sepa[0] if sepa else None)
            _put(md, "debited_account", _t(mandate, "cac:PayerFinancialAccount/cbc:ID"))
            m["mandate"] = md
        means.append(m)
    _put(inv, "payment_means", means)
    terms = root.find(
        "cac:PaymentTerms/cbc:Note", NS
    )  # kept verbatim: XRechnung's Skonto lines end with a line break
    _put(
        inv, "payment_terms", terms.text if terms is not None and terms.text and terms.text.strip() else None
    )

    # VAT exemption reasons live on the breakdown in UBL, on lines/allowances in the model
    reasons: dict[str, tuple[str | None, str | None]] = {}
    for sub in _all(root, "cac:TaxTotal/cac:TaxSubtotal"):
        reasons[_t(sub, "cac:TaxCategory/cbc:ID") or ""] = (
            _t(sub, "cac:TaxCategory/cbc:TaxExemptionReason"),
            _t(sub, "cac:TaxCategory/cbc:TaxExemptionReasonCode"),
        )

    def with_reason(d: dict[str, Any]) -> dict[str, Any]:
        reason, code = reasons.get(d.get("tax_category") or "", (None, None))
        _put(d, "tax_exemption_reason", reason)
        _put(d, "tax_exemption_reason_code", code)
        return d

    _put(
        inv,
        "allowances",
        [
            with_reason(_ac(a, document=True))
            for a in _all(root, "cac:AllowanceCharge[cbc:ChargeIndicator='false']")
        ],
    )
    _put(
        inv,
        "charges",
        [
            with_reason(_ac(a, document=True))
            for a in _all(root, "cac:AllowanceCharge[cbc:ChargeIndicator='true']")
        ],
    )

    lines = []
    for ln in _all(root, "cac:CreditNoteLine" if credit else "cac:InvoiceLine"):
        qty_el = ln.find("cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity", NS)
        item_el = ln.find("cac:Item", NS)
        item: dict[str, Any] = {"name": _t(item_el, "cbc:Name")}
        _put(item, "description", _t(item_el, "cbc:Description"))
        _put(item, "seller_id", _t(item_el, "cac:SellersItemIdentification/cbc:ID"))
        _put(item, "buyer_id", _t(item_el, "cac:BuyersItemIdentification/cbc:ID"))
        _put(item, "standard_id", _ident(item_el.find("cac:StandardItemIdentification/cbc:ID", NS)))  # type: ignore[union-attr]
        _put(item, "origin_country", _t(item_el, "cac:OriginCountry/cbc:IdentificationCode"))
        classes = []
        for c in _all(item_el, "cac:CommodityClassification/cbc:ItemClassificationCode"):  # type: ignore[arg-type]
            cls: dict[str, Any] = {"code": c.text.strip(), "list_id": c.get("listID")}
            _put(cls, "list_version", c.get("listVersionID"))
            classes.append(cls)
        _put(item, "classifications", classes)
        _put(
            item,
            "attributes",
            [
                {"name": _t(a, "cbc:Name"), "value": _t(a, "cbc:Value")}
                for a in _all(item_el, "cac:AdditionalItemProperty")
            ],
        )  # type: ignore[arg-type]
        li: dict[str, Any] = {"id": _t(ln, "cbc:ID"), "item": item}
        _put(li, "note", _t(ln, "cbc:Note"))
        li["quantity"] = qty_el.text.strip() if qty_el is not None and qty_el.text else "1"
        li["unit_code"] = qty_el.get("unitCode") if qty_el is not None else "C62"
        li["unit_price"] = _t(ln, "cac:Price/cbc:PriceAmount")
        _put(li, "base_quantity", _t(ln, "cac:Price/cbc:BaseQuantity"))
        _put(li, "gross_unit_price", _t(ln, "cac:Price/cac:AllowanceCharge/cbc:BaseAmount"))
        li["total_amount"] = _t(ln, "cbc:LineExtensionAmount")
        li["tax_category"] = _t(item_el, "cac:ClassifiedTaxCategory/cbc:ID")
        _put(li, "tax_rate", _t(item_el, "cac:ClassifiedTaxCategory/cbc:Percent"))
        with_reason(li)
        _put(
            li,
            "allowances",
            [_ac(a, document=False) for a in _all(ln, "cac:AllowanceCharge[cbc:ChargeIndicator='false']")],
        )
        _put(
            li,
            "charges",
            [_ac(a, document=False) for a in _all(ln, "cac:AllowanceCharge[cbc:ChargeIndicator='true']")],
        )
        _put(li, "accounting_cost", _t(ln, "cbc:AccountingCost"))
        _put(li, "period", _period(ln.find("cac:InvoicePeriod", NS), with_code=False))
        _put(li, "order_line_reference", _t(ln, "cac:OrderLineReference/cbc:LineID"))
        _put(li, "object_id", _ident(ln.find("cac:DocumentReference/cbc:ID", NS)))
        lines.append(li)
    inv["line_items"] = lines

    total = root.find("cac:LegalMonetaryTotal", NS)
    _put(inv, "prepaid_amount", _t(total, "cbc:PrepaidAmount"))
    _put(inv, "rounding_amount", _t(total, "cbc:PayableRoundingAmount"))
    _put(inv, "sub_total", _t(total, "cbc:LineExtensionAmount"))
    _put(inv, "total_discount", _t(total, "cbc:AllowanceTotalAmount"))
    _put(inv, "total_amount", _t(total, "cbc:TaxInclusiveAmount"))
    for tt in _all(root, "cac:TaxTotal"):
        amount = tt.find("cbc:TaxAmount", NS)
        if amount is not None and amount.get("currencyID") == inv.get("currency"):
            inv["total_tax_amount"] = amount.text
    original = {
        "line_extension_amount": _t(total, "cbc:LineExtensionAmount"),
        "tax_exclusive_amount": _t(total, "cbc:TaxExclusiveAmount"),
        "tax_inclusive_amount": _t(total, "cbc:TaxInclusiveAmount"),
        "payable_amount": _t(total, "cbc:PayableAmount"),
    }
    return {
        "profile": profile,
        "number": _t(root, "cbc:ID"),
        "issue_date": _t(root, "cbc:IssueDate"),
        "seller": seller,
        "buyer": buyer,
        "invoice": inv,
        "original_totals": {k: str(Decimal(v)) for k, v in original.items() if v is not None},
    }


def main(paths: list[str]) -> int:
    for p in paths:
        try:
            print(json.dumps(convert(Path(p).read_bytes()), ensure_ascii=False, indent=2))
        except Unsupported as exc:
            print(f"{p}: cannot express: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
