"""Invoice lines (BG-25) as `IncludedSupplyChainTradeLineItem`, with item (BG-31), price
(BG-29) and line period (BG-26).

Net amounts, net prices and resolved line allowances/charges come from `Totals`. A credit
note's lines are the same element (CII has no separate credit note line).
"""

from __future__ import annotations

from faktura.domain.invoice import Item, LineItem
from faktura.domain.totals import LineTotals
from faktura.render.cii.allowances import allowance_charge, price_discount
from faktura.render.cii.common import Element, amount, leaf, period, ram
from faktura.render.cii.tax import category_tax
from faktura.render.ubl.common import decimal_text, price_text

#: UNTDID 1001 code that marks a line reference as the invoiced object (BT-128).
INVOICED_OBJECT = "130"


def _product(parent: Element, item: Item, line: LineItem) -> None:
    el = ram(parent, "SpecifiedTradeProduct")
    if item.standard_id is not None:
        leaf(el, "GlobalID", item.standard_id.value, schemeID=item.standard_id.scheme)
    leaf(el, "SellerAssignedID", item.seller_id)
    leaf(el, "BuyerAssignedID", item.buyer_id)
    leaf(el, "Name", item.name)
    leaf(el, "Description", item.description or line.description)
    for attr in item.attributes:
        characteristic = ram(el, "ApplicableProductCharacteristic")
        leaf(characteristic, "Description", attr.name)
        leaf(characteristic, "Value", attr.value)
    for cls in item.classifications:
        classification = ram(el, "DesignatedProductClassification")
        leaf(classification, "ClassCode", cls.code, listID=cls.list_id, listVersionID=cls.list_version)
    if item.origin_country:
        leaf(ram(el, "OriginTradeCountry"), "ID", item.origin_country)


def _agreement(parent: Element, line: LineItem, totals: LineTotals) -> None:
    el = ram(parent, "SpecifiedLineTradeAgreement")
    if line.order_line_reference:
        leaf(ram(el, "BuyerOrderReferencedDocument"), "LineID", line.order_line_reference)
    if line.gross_unit_price is not None:
        gross = ram(el, "GrossPriceProductTradePrice")
        leaf(gross, "ChargeAmount", price_text(line.gross_unit_price))
        if totals.base_quantity is not None:
            leaf(gross, "BasisQuantity", decimal_text(totals.base_quantity), unitCode=line.unit_code)
        price_discount(gross, line.gross_unit_price, totals.net_price)
    net = ram(el, "NetPriceProductTradePrice")
    leaf(net, "ChargeAmount", price_text(totals.net_price))
    if totals.base_quantity is not None:
        leaf(net, "BasisQuantity", decimal_text(totals.base_quantity), unitCode=line.unit_code)


def _settlement(parent: Element, line: LineItem, totals: LineTotals) -> None:
    el = ram(parent, "SpecifiedLineTradeSettlement")
    category_tax(el, "ApplicableTradeTax", totals.tax_category, totals.tax_rate)
    if line.period is not None:
        period(el, line.period.start_date, line.period.end_date)
    for res in (*totals.allowances, *totals.charges):
        allowance_charge(el, res)
    amount(ram(el, "SpecifiedTradeSettlementLineMonetarySummation"), "LineTotalAmount", totals.net_amount)
    if line.object_id is not None:
        ref = ram(el, "AdditionalReferencedDocument")
        leaf(ref, "IssuerAssignedID", line.object_id.value)
        leaf(ref, "TypeCode", INVOICED_OBJECT)
        leaf(ref, "ReferenceTypeCode", line.object_id.scheme)
    if line.accounting_cost:
        leaf(ram(el, "ReceivableSpecifiedTradeAccountingAccount"), "ID", line.accounting_cost)


def line(parent: Element, index: int, li: LineItem, lt: LineTotals) -> Element:
    """One line; `index` (1-based) is the line id when the client sent none (BT-126)."""
    el = ram(parent, "IncludedSupplyChainTradeLineItem")
    doc = ram(el, "AssociatedDocumentLineDocument")
    leaf(doc, "LineID", li.id or str(index))
    if li.note and li.note.strip():
        leaf(ram(doc, "IncludedNote"), "Content", li.note)
    _product(el, li.item, li)
    _agreement(el, li, lt)
    leaf(
        ram(el, "SpecifiedLineTradeDelivery"),
        "BilledQuantity",
        decimal_text(li.quantity),
        unitCode=li.unit_code,
    )
    _settlement(el, li, lt)
    return el
