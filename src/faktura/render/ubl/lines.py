"""Invoice / credit note lines (BG-25) with item (BG-31), price (BG-29) and line period (BG-26).

Net amounts, net prices and resolved line allowances/charges come from `Totals`, so
PEPPOL-EN16931-R120 (net = quantity × price / base quantity ± allowances/charges) holds.
"""

from __future__ import annotations

from faktura.domain.invoice import Item, LineItem
from faktura.domain.totals import LineTotals
from faktura.render.ubl.allowances import allowance_charge, price_discount
from faktura.render.ubl.common import Element, amount, cac, cbc, decimal_text, identifier, period, price_text
from faktura.render.ubl.tax import tax_category

#: UNTDID 1001 code that marks a line `DocumentReference` as the invoiced object (BT-128).
INVOICED_OBJECT = "130"


def _item(parent: Element, item: Item, line: LineItem, totals: LineTotals) -> None:
    el = cac(parent, "Item")
    cbc(el, "Description", item.description or line.description)
    cbc(el, "Name", item.name)
    if item.buyer_id:
        cbc(cac(el, "BuyersItemIdentification"), "ID", item.buyer_id)
    if item.seller_id:
        cbc(cac(el, "SellersItemIdentification"), "ID", item.seller_id)
    if item.standard_id is not None:
        std = item.standard_id
        identifier(cac(el, "StandardItemIdentification"), "ID", std.value, std.scheme)
    if item.origin_country:
        cbc(cac(el, "OriginCountry"), "IdentificationCode", item.origin_country)
    for cls in item.classifications:
        cbc(
            cac(el, "CommodityClassification"),
            "ItemClassificationCode",
            cls.code,
            listID=cls.list_id,
            listVersionID=cls.list_version,
        )
    tax_category(el, "ClassifiedTaxCategory", totals.tax_category, totals.tax_rate)
    for attr in item.attributes:
        prop = cac(el, "AdditionalItemProperty")
        cbc(prop, "Name", attr.name)
        cbc(prop, "Value", attr.value)


def _price(parent: Element, line: LineItem, totals: LineTotals, currency: str) -> None:
    el = cac(parent, "Price")
    cbc(el, "PriceAmount", price_text(totals.net_price), currencyID=currency)
    if totals.base_quantity is not None:
        cbc(el, "BaseQuantity", decimal_text(totals.base_quantity), unitCode=line.unit_code)
    if line.gross_unit_price is not None:
        price_discount(el, line.gross_unit_price, totals.net_price, currency)


def line(index: int, li: LineItem, lt: LineTotals, currency: str, *, credit_note: bool) -> Element:
    """One line; `index` (1-based) is the line id when the client sent none (BT-126)."""
    el = cac(None, "CreditNoteLine" if credit_note else "InvoiceLine")
    cbc(el, "ID", li.id or str(index))
    cbc(el, "Note", li.note)
    quantity_tag = "CreditedQuantity" if credit_note else "InvoicedQuantity"
    cbc(el, quantity_tag, decimal_text(li.quantity), unitCode=li.unit_code)
    amount(el, "LineExtensionAmount", lt.net_amount, currency)
    cbc(el, "AccountingCost", li.accounting_cost)
    if li.period is not None:
        period(el, li.period, with_code=False)
    if li.order_line_reference:
        cbc(cac(el, "OrderLineReference"), "LineID", li.order_line_reference)
    if li.object_id is not None:
        ref = cac(el, "DocumentReference")
        identifier(ref, "ID", li.object_id.value, li.object_id.scheme)
        cbc(ref, "DocumentTypeCode", INVOICED_OBJECT)
    for res in (*lt.allowances, *lt.charges):
        el.append(allowance_charge(res, currency))
    _item(el, li.item, li, lt)
    _price(el, li, lt, currency)
    return el
