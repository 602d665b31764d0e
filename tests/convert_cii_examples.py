"""Convert official Factur-X / ZUGFeRD CII example invoices into Faktura request JSON.

    python tests/convert_cii_examples.py FILE.xml...  # prints {"profile", "level", "seller", "buyer", "invoice"}

`convert(xml_bytes)` maps every CII element the input model can express to its field (the
mapping of `faktura.render.cii`, read backwards) and raises `Unsupported` with the reason
for what it cannot express (sub-lines, several deliveries, …). What it reads past without a
field of the model: note subject codes, the document name, the business process (BT-23, which
Faktura writes per profile), dates of order references, the payee's address and a deliver-to
URI (EXTENDED); zero allowance and charge totals are not written back. The declared totals of the
original (BT-106, BT-109, BT-112, BT-115) are carried as the request's declared totals, so
our checks compare them with our own computation.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
}
El = etree._Element

#: guideline id (BT-24) -> Factur-X conformance level
LEVELS = {
    "urn:factur-x.eu:1p0:minimum": "MINIMUM",
    "urn:factur-x.eu:1p0:basicwl": "BASIC_WL",
    "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic": "BASIC",
    "urn:cen.eu:en16931:2017": "EN16931",
    "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended": "EXTENDED",
}

#: what the examples use and the input model has no field for (path below the transaction)
NOT_EXPRESSIBLE = (
    (
        "ram:IncludedSupplyChainTradeLineItem/ram:AssociatedDocumentLineDocument/ram:ParentLineID",
        "sub-lines (EXTENDED line hierarchy)",
    ),
    (
        "ram:IncludedSupplyChainTradeLineItem/ram:SpecifiedLineTradeDelivery/ram:ShipToTradeParty",
        "a deliver-to party per line (EXTENDED)",
    ),
    (
        "ram:IncludedSupplyChainTradeLineItem/ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax[2]",
        "several VAT categories on one line",
    ),
    (
        "ram:IncludedSupplyChainTradeLineItem/ram:SpecifiedTradeProduct/ram:IncludedReferencedProduct",
        "items made of referenced products (EXTENDED)",
    ),
    (
        "ram:IncludedSupplyChainTradeLineItem/ram:SpecifiedLineTradeAgreement/ram:GrossPriceProductTradePrice/ram:AppliedTradeAllowanceCharge[2]",
        "several price discounts on one line (EXTENDED)",
    ),
    (
        "ram:IncludedSupplyChainTradeLineItem/ram:SpecifiedLineTradeAgreement/ram:GrossPriceProductTradePrice/ram:AppliedTradeAllowanceCharge[ram:ChargeIndicator/udt:Indicator='true']",
        "a price surcharge (EXTENDED)",
    ),
    (
        "ram:ApplicableHeaderTradeSettlement/ram:SpecifiedLogisticsServiceCharge",
        "logistics service charges (EXTENDED)",
    ),
    (
        "ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTradePaymentTerms[2]",
        "more than one payment terms (EXTENDED instalments)",
    ),
    (
        "ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTradePaymentTerms/ram:ApplicableTradePaymentDiscountTerms",
        "structured cash discount terms (EXTENDED)",
    ),
    (
        "ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTradePaymentTerms/ram:ApplicableTradePaymentPenaltyTerms",
        "structured payment penalty terms (EXTENDED)",
    ),
    (
        "ram:ApplicableHeaderTradeSettlement/ram:SpecifiedAdvancePayment",
        "advance payments with their own VAT (EXTENDED)",
    ),
    ("ram:ApplicableHeaderTradeSettlement/ram:InvoicerTradeParty", "an invoicer party (EXTENDED)"),
    ("ram:ApplicableHeaderTradeSettlement/ram:InvoiceeTradeParty", "an invoicee party (EXTENDED)"),
    ("ram:ApplicableHeaderTradeSettlement/ram:PayerTradeParty", "a payer party (EXTENDED)"),
    ("ram:ApplicableHeaderTradeAgreement/ram:SalesAgentTradeParty", "a sales agent party (EXTENDED)"),
    ("ram:ApplicableHeaderTradeAgreement/ram:BuyerAgentTradeParty", "a buyer agent party (EXTENDED)"),
    (
        "ram:ApplicableHeaderTradeAgreement/ram:ProductEndUserTradeParty",
        "a product end user party (EXTENDED)",
    ),
    (
        "ram:ApplicableHeaderTradeAgreement/ram:BuyerTaxRepresentativeTradeParty",
        "a buyer tax representative (EXTENDED)",
    ),
    ("ram:ApplicableHeaderTradeDelivery/ram:ShipFromTradeParty", "a ship-from party (EXTENDED)"),
    (
        "ram:ApplicableHeaderTradeDelivery/ram:UltimateShipToTradeParty",
        "an ultimate ship-to party (EXTENDED)",
    ),
    (
        "ram:IncludedSupplyChainTradeLineItem/ram:SpecifiedLineTradeDelivery/ram:DeliveryNoteReferencedDocument",
        "a delivery note reference per line (EXTENDED)",
    ),
    (
        "ram:ApplicableHeaderTradeDelivery/ram:DeliveryNoteReferencedDocument",
        "a delivery note reference (EXTENDED)",
    ),
)


class Unsupported(Exception):
    """The example uses something the input model cannot express."""


def _t(el: El | None, path: str) -> str | None:
    if el is None:
        return None
    found = el.find(path, NS)
    if found is None or found.text is None or not found.text.strip():
        return None
    return found.text.strip()


def _all(el: El | None, path: str) -> list[El]:
    return [] if el is None else list(el.findall(path, NS))


def _put(d: dict[str, Any], key: str, value: Any) -> None:
    if value not in (None, [], {}, ""):
        d[key] = value


def _date(el: El | None, path: str) -> str | None:
    """A CII date (format 102, CCYYMMDD) as ISO 8601."""
    text = (
        _t(el, f"{path}/udt:DateTimeString")
        or _t(el, f"{path}/qdt:DateTimeString")
        or _t(el, f"{path}/udt:DateString")
    )
    if text is None:
        return None
    if len(text) != 8 or not text.isdigit():
        raise Unsupported(f"date {text!r} not in format 102")
    return f"{text[:4]}-{text[4:6]}-{text[6:]}"


def _ident(el: El | None) -> dict[str, Any] | None:
    if el is None or not (el.text or "").strip():
        return None
    out: dict[str, Any] = {"value": el.text.strip()}  # type: ignore[union-attr]
    _put(out, "scheme", el.get("schemeID"))
    return out


def _identifiers(el: El) -> list[dict[str, Any]]:
    return [i for i in (_ident(x) for x in [*_all(el, "ram:ID"), *_all(el, "ram:GlobalID")]) if i]


def _address(el: El | None) -> dict[str, Any]:
    if el is None:
        raise Unsupported("party without postal address")
    out: dict[str, Any] = {}
    _put(out, "line1", _t(el, "ram:LineOne"))
    _put(out, "line2", _t(el, "ram:LineTwo"))
    _put(out, "line3", _t(el, "ram:LineThree"))
    _put(out, "city", _t(el, "ram:CityName"))
    _put(out, "postal_code", _t(el, "ram:PostcodeCode"))
    _put(out, "subdivision", _t(el, "ram:CountrySubDivisionName"))
    out["country"] = _t(el, "ram:CountryID")
    return out


def _party(p: El | None, *, seller: bool) -> dict[str, Any]:
    if p is None:
        raise Unsupported("seller or buyer missing")
    if len(_all(p, "ram:DefinedTradeContact")) > 1:
        raise Unsupported("more than one contact of a party (EXTENDED)")
    out: dict[str, Any] = {"name": _t(p, "ram:Name")}
    _put(out, "trading_name", _t(p, "ram:SpecifiedLegalOrganization/ram:TradingBusinessName"))
    _put(out, "identifiers", _identifiers(p))
    for reg in _all(p, "ram:SpecifiedTaxRegistration/ram:ID"):
        if reg.get("schemeID") == "VA":
            _put(out, "vat_id", (reg.text or "").strip())
        elif seller and reg.get("schemeID") == "FC":
            _put(out, "tax_registration_id", (reg.text or "").strip())
    _put(out, "legal_id", _ident(p.find("ram:SpecifiedLegalOrganization/ram:ID", NS)))
    if seller:
        _put(out, "legal_form", _t(p, "ram:Description"))
    _put(out, "endpoint", _ident(p.find("ram:URIUniversalCommunication/ram:URIID", NS)))
    out["address"] = _address(p.find("ram:PostalTradeAddress", NS))
    contact: dict[str, Any] = {}
    c = p.find("ram:DefinedTradeContact", NS)
    _put(contact, "name", _t(c, "ram:PersonName") or _t(c, "ram:DepartmentName"))
    _put(contact, "phone", _t(c, "ram:TelephoneUniversalCommunication/ram:CompleteNumber"))
    _put(contact, "email", _t(c, "ram:EmailURIUniversalCommunication/ram:URIID"))
    _put(out, "contact", contact)
    return out


def _ac(el: El, *, document: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _put(out, "amount", _t(el, "ram:ActualAmount"))
    _put(out, "base_amount", _t(el, "ram:BasisAmount"))
    _put(out, "percentage", _t(el, "ram:CalculationPercent"))
    _put(out, "reason", _t(el, "ram:Reason"))
    _put(out, "reason_code", _t(el, "ram:ReasonCode"))
    if document:
        _put(out, "tax_category", _t(el, "ram:CategoryTradeTax/ram:CategoryCode"))
        _put(out, "tax_rate", _t(el, "ram:CategoryTradeTax/ram:RateApplicablePercent"))
    return out


def _charges(el: El | None, *, charge: bool, document: bool) -> list[dict[str, Any]]:
    flag = "true" if charge else "false"
    return [
        _ac(a, document=document)
        for a in _all(el, "ram:SpecifiedTradeAllowanceCharge")
        if _t(a, "ram:ChargeIndicator/udt:Indicator") == flag
    ]


def _period(el: El | None) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    _put(out, "start_date", _date(el, "ram:StartDateTime"))
    _put(out, "end_date", _date(el, "ram:EndDateTime"))
    return out or None


def _payment_means(settlement: El, mandate: str | None, creditor: str | None) -> list[dict[str, Any]]:
    means = []
    reference = _t(settlement, "ram:PaymentReference")
    for pm in _all(settlement, "ram:SpecifiedTradeSettlementPaymentMeans"):
        m: dict[str, Any] = {"code": _t(pm, "ram:TypeCode")}
        _put(m, "name", _t(pm, "ram:Information"))
        _put(m, "payment_id", reference)
        acct = pm.find("ram:PayeePartyCreditorFinancialAccount", NS)
        if acct is not None:
            a: dict[str, Any] = {"iban": _t(acct, "ram:IBANID") or _t(acct, "ram:ProprietaryID")}
            _put(a, "name", _t(acct, "ram:AccountName"))
            _put(a, "bic", _t(pm, "ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID"))
            m["account"] = a
        card = pm.find("ram:ApplicableTradeSettlementFinancialCard", NS)
        if card is not None:
            c: dict[str, Any] = {"account_number": (_t(card, "ram:ID") or "")[-4:]}
            _put(c, "holder", _t(card, "ram:CardholderName"))
            m["card"] = c
        debtor = pm.find("ram:PayerPartyDebtorFinancialAccount", NS)
        if mandate is not None or debtor is not None:
            md: dict[str, Any] = {"reference": mandate}
            _put(md, "creditor_id", creditor)
            _put(md, "debited_account", _t(debtor, "ram:IBANID") or _t(debtor, "ram:ProprietaryID"))
            m["mandate"] = md
        means.append(m)
    return means


def _references(agreement: El, inv: dict[str, Any]) -> None:
    _put(
        inv, "sales_order_reference", _t(agreement, "ram:SellerOrderReferencedDocument/ram:IssuerAssignedID")
    )
    _put(inv, "order_reference", _t(agreement, "ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID"))
    _put(inv, "contract_reference", _t(agreement, "ram:ContractReferencedDocument/ram:IssuerAssignedID"))
    _put(inv, "project_reference", _t(agreement, "ram:SpecifiedProcuringProject/ram:ID"))
    attachments = []
    for adr in _all(agreement, "ram:AdditionalReferencedDocument"):
        code = _t(adr, "ram:TypeCode")
        if code == "916":
            out: dict[str, Any] = {"reference": _t(adr, "ram:IssuerAssignedID")}
            _put(out, "description", _t(adr, "ram:Name"))
            _put(out, "url", _t(adr, "ram:URIID"))
            binary = adr.find("ram:AttachmentBinaryObject", NS)
            if binary is not None and (binary.text or "").strip():
                out["content"] = "".join((binary.text or "").split())
                _put(out, "mime_code", binary.get("mimeCode"))
                _put(out, "filename", binary.get("filename"))
            attachments.append(out)
        elif code == "50" and "tender_reference" not in inv:
            _put(inv, "tender_reference", _t(adr, "ram:IssuerAssignedID"))
        elif code == "130" and "object_id" not in inv:
            obj = _ident(adr.find("ram:IssuerAssignedID", NS))
            if obj is not None:
                _put(obj, "scheme", _t(adr, "ram:ReferenceTypeCode"))
            _put(inv, "object_id", obj)
        else:
            raise Unsupported(f"referenced document with type code {code}")
    _put(inv, "attachments", attachments)


def _line(ln: El, order: str | None) -> dict[str, Any]:
    """One line; `order` is the document's purchase order reference (BT-13)."""
    product = ln.find("ram:SpecifiedTradeProduct", NS)
    item: dict[str, Any] = {"name": _t(product, "ram:Name")}
    _put(item, "description", _t(product, "ram:Description"))
    _put(item, "seller_id", _t(product, "ram:SellerAssignedID"))
    _put(item, "buyer_id", _t(product, "ram:BuyerAssignedID"))
    _put(item, "standard_id", _ident(product.find("ram:GlobalID", NS) if product is not None else None))
    _put(item, "origin_country", _t(product, "ram:OriginTradeCountry/ram:ID"))
    classes = []
    for c in _all(product, "ram:DesignatedProductClassification/ram:ClassCode"):
        cls: dict[str, Any] = {"code": (c.text or "").strip(), "list_id": c.get("listID")}
        _put(cls, "list_version", c.get("listVersionID"))
        classes.append(cls)
    _put(item, "classifications", classes)
    _put(
        item,
        "attributes",
        [
            {"name": _t(a, "ram:Description"), "value": _t(a, "ram:Value")}
            for a in _all(product, "ram:ApplicableProductCharacteristic")
        ],
    )
    li: dict[str, Any] = {"id": _t(ln, "ram:AssociatedDocumentLineDocument/ram:LineID"), "item": item}
    _put(li, "note", _t(ln, "ram:AssociatedDocumentLineDocument/ram:IncludedNote/ram:Content"))
    qty = ln.find("ram:SpecifiedLineTradeDelivery/ram:BilledQuantity", NS)
    li["quantity"] = qty.text.strip() if qty is not None and qty.text else "1"
    li["unit_code"] = qty.get("unitCode") if qty is not None else "C62"
    agreement = ln.find("ram:SpecifiedLineTradeAgreement", NS)
    li["unit_price"] = _t(agreement, "ram:NetPriceProductTradePrice/ram:ChargeAmount")
    _put(
        li,
        "base_quantity",
        _t(agreement, "ram:NetPriceProductTradePrice/ram:BasisQuantity")
        or _t(agreement, "ram:GrossPriceProductTradePrice/ram:BasisQuantity"),
    )
    _put(li, "gross_unit_price", _t(agreement, "ram:GrossPriceProductTradePrice/ram:ChargeAmount"))
    _put(li, "order_line_reference", _t(agreement, "ram:BuyerOrderReferencedDocument/ram:LineID"))
    if _t(agreement, "ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID") not in (None, order):
        raise Unsupported("a purchase order of its own on a line (EXTENDED)")
    settlement = ln.find("ram:SpecifiedLineTradeSettlement", NS)
    li["total_amount"] = _t(
        settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount"
    )
    li["tax_category"] = _t(settlement, "ram:ApplicableTradeTax/ram:CategoryCode")
    _put(li, "tax_rate", _t(settlement, "ram:ApplicableTradeTax/ram:RateApplicablePercent"))
    _put(li, "allowances", _charges(settlement, charge=False, document=False))
    _put(li, "charges", _charges(settlement, charge=True, document=False))
    _put(li, "accounting_cost", _t(settlement, "ram:ReceivableSpecifiedTradeAccountingAccount/ram:ID"))
    _put(
        li,
        "period",
        _period(settlement.find("ram:BillingSpecifiedPeriod", NS) if settlement is not None else None),
    )
    for ref in _all(settlement, "ram:AdditionalReferencedDocument"):
        if _t(ref, "ram:TypeCode") != "130":
            raise Unsupported("a line document reference other than the invoiced object")
        obj = _ident(ref.find("ram:IssuerAssignedID", NS))
        if obj is not None:
            _put(obj, "scheme", _t(ref, "ram:ReferenceTypeCode"))
        _put(li, "object_id", obj)
    return li


def convert(xml: bytes) -> dict[str, Any]:
    root = etree.fromstring(xml)
    guideline = (
        _t(root, "rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID") or ""
    )
    level = LEVELS.get(guideline)
    if level is None:
        raise Unsupported(f"specification {guideline!r} is no Factur-X conformance level")
    if level in ("MINIMUM", "BASIC_WL"):
        raise Unsupported(f"{level} carries no invoice lines: not an invoice Faktura issues")
    transaction = root.find("rsm:SupplyChainTradeTransaction", NS)
    assert transaction is not None
    for path, why in NOT_EXPRESSIBLE:
        if transaction.xpath(path, namespaces=NS):
            raise Unsupported(why)
    header = root.find("rsm:ExchangedDocument", NS)
    agreement = transaction.find("ram:ApplicableHeaderTradeAgreement", NS)
    delivery_el = transaction.find("ram:ApplicableHeaderTradeDelivery", NS)
    settlement = transaction.find("ram:ApplicableHeaderTradeSettlement", NS)
    assert agreement is not None and settlement is not None
    type_code = _t(header, "ram:TypeCode")
    inv: dict[str, Any] = {"profile": "factur-x", "conformance_level": level}
    if type_code in ("381", "261", "396", "532"):
        inv["document_type"] = "CREDIT_NOTE"
    if type_code not in ("380", "381"):
        inv["type_code"] = type_code
    seller = _party(agreement.find("ram:SellerTradeParty", NS), seller=True)
    buyer = _party(agreement.find("ram:BuyerTradeParty", NS), seller=False)
    _put(
        inv,
        "notes",
        [n.text.strip() for n in _all(header, "ram:IncludedNote/ram:Content") if n.text and n.text.strip()],
    )
    _put(inv, "buyer_reference", _t(agreement, "ram:BuyerReference"))
    _references(agreement, inv)
    _put(
        inv,
        "despatch_reference",
        _t(delivery_el, "ram:DespatchAdviceReferencedDocument/ram:IssuerAssignedID"),
    )
    _put(
        inv,
        "receiving_advice_reference",
        _t(delivery_el, "ram:ReceivingAdviceReferencedDocument/ram:IssuerAssignedID"),
    )
    _put(inv, "currency", _t(settlement, "ram:InvoiceCurrencyCode"))
    tax_currency = _t(settlement, "ram:TaxCurrencyCode")
    total = settlement.find("ram:SpecifiedTradeSettlementHeaderMonetarySummation", NS)
    if tax_currency and tax_currency != inv.get("currency"):
        inv["tax_currency"] = tax_currency
        for amount in _all(total, "ram:TaxTotalAmount"):
            if amount.get("currencyID") == tax_currency:
                inv["tax_currency_total_tax_amount"] = (amount.text or "").strip()
    _put(inv, "accounting_cost", _t(settlement, "ram:ReceivableSpecifiedTradeAccountingAccount/ram:ID"))
    preceding = []
    for ref in _all(settlement, "ram:InvoiceReferencedDocument"):
        p: dict[str, Any] = {"number": _t(ref, "ram:IssuerAssignedID")}
        _put(p, "issue_date", _date(ref, "ram:FormattedIssueDateTime"))
        preceding.append(p)
    _put(inv, "preceding_invoices", preceding)
    period = _period(settlement.find("ram:BillingSpecifiedPeriod", NS))
    code = _t(settlement, "ram:ApplicableTradeTax/ram:DueDateTypeCode")
    if code is not None:
        period = {**(period or {}), "description_code": code}
    _put(inv, "invoicing_period", period)
    _put(inv, "tax_point_date", _date(settlement, "ram:ApplicableTradeTax/ram:TaxPointDate"))
    inv["buyer"] = buyer

    rep_el = agreement.find("ram:SellerTaxRepresentativeTradeParty", NS)
    if rep_el is not None:
        inv["tax_representative"] = {
            "name": _t(rep_el, "ram:Name"),
            "vat_id": _t(rep_el, "ram:SpecifiedTaxRegistration/ram:ID"),
            "address": _address(rep_el.find("ram:PostalTradeAddress", NS)),
        }
    payee_el = settlement.find("ram:PayeeTradeParty", NS)
    if payee_el is not None:
        payee: dict[str, Any] = {
            "name": _t(payee_el, "ram:Name"),
            "address": {"country": seller["address"]["country"]},
        }
        _put(payee, "identifiers", _identifiers(payee_el))
        _put(payee, "legal_id", _ident(payee_el.find("ram:SpecifiedLegalOrganization/ram:ID", NS)))
        inv["payee"] = payee

    if delivery_el is not None:
        d: dict[str, Any] = {}
        _put(d, "date", _date(delivery_el, "ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime"))
        ship_to = delivery_el.find("ram:ShipToTradeParty", NS)
        if ship_to is not None:
            ids = _identifiers(ship_to)
            if len(ids) > 1:
                raise Unsupported("more than one deliver-to location identifier")
            _put(d, "location_id", ids[0] if ids else None)
            _put(d, "party_name", _t(ship_to, "ram:Name"))
            addr = ship_to.find("ram:PostalTradeAddress", NS)
            if addr is not None:
                d["address"] = _address(addr)
        _put(inv, "delivery", d)

    terms = settlement.find("ram:SpecifiedTradePaymentTerms", NS)
    _put(inv, "due_date", _date(terms, "ram:DueDateDateTime"))
    description = terms.find("ram:Description", NS) if terms is not None else None
    _put(
        inv,
        "payment_terms",
        description.text if description is not None and (description.text or "").strip() else None,
    )
    _put(
        inv,
        "payment_means",
        _payment_means(
            settlement, _t(terms, "ram:DirectDebitMandateID"), _t(settlement, "ram:CreditorReferenceID")
        ),
    )

    # VAT exemption reasons live on the breakdown in CII, on lines/allowances in the model
    reasons: dict[str, tuple[str | None, str | None]] = {}
    for tax in _all(settlement, "ram:ApplicableTradeTax"):
        reasons[_t(tax, "ram:CategoryCode") or ""] = (
            _t(tax, "ram:ExemptionReason"),
            _t(tax, "ram:ExemptionReasonCode"),
        )

    def with_reason(d: dict[str, Any]) -> dict[str, Any]:
        reason, code = reasons.get(d.get("tax_category") or "", (None, None))
        _put(d, "tax_exemption_reason", reason)
        _put(d, "tax_exemption_reason_code", code)
        return d

    _put(inv, "allowances", [with_reason(a) for a in _charges(settlement, charge=False, document=True)])
    _put(inv, "charges", [with_reason(a) for a in _charges(settlement, charge=True, document=True)])
    inv["line_items"] = [
        with_reason(_line(ln, inv.get("order_reference")))
        for ln in _all(transaction, "ram:IncludedSupplyChainTradeLineItem")
    ]

    _put(inv, "prepaid_amount", _t(total, "ram:TotalPrepaidAmount"))
    _put(inv, "rounding_amount", _t(total, "ram:RoundingAmount"))
    _put(inv, "sub_total", _t(total, "ram:LineTotalAmount"))
    _put(inv, "total_discount", _t(total, "ram:AllowanceTotalAmount"))
    _put(inv, "total_amount", _t(total, "ram:GrandTotalAmount"))
    for amount in _all(total, "ram:TaxTotalAmount"):
        if amount.get("currencyID") in (None, inv.get("currency")):
            inv["total_tax_amount"] = (amount.text or "").strip()
    original = {
        "line_extension_amount": _t(total, "ram:LineTotalAmount"),  # BT-106
        "tax_exclusive_amount": _t(total, "ram:TaxBasisTotalAmount"),  # BT-109
        "tax_inclusive_amount": _t(total, "ram:GrandTotalAmount"),  # BT-112
        "payable_amount": _t(total, "ram:DuePayableAmount"),  # BT-115
    }
    return {
        "profile": "factur-x",
        "level": level,
        "number": _t(header, "ram:ID"),
        "issue_date": _date(header, "ram:IssueDateTime"),
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
