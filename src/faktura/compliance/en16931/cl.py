"""EN 16931 code lists BR-CL-*: every coded value Faktura writes, against the generated lists.

A code is compared as the Schematron compares it: whitespace-normalised, case-sensitive
(BR-CL-22 excepted, which upper-cases). The lists are `faktura.domain.codelists`,
generated from the official Schematron by `scripts/gen_codelists.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from faktura.compliance.engine import Context, Rule, Where, has_any_acs, screened, sends
from faktura.compliance.findings import Severity
from faktura.compliance.predicates import normalize_space, present
from faktura.compliance.screens import (
    codes_off_list,
    details_irregular,
    exemption_codes_irregular,
    period_irregular,
)
from faktura.domain import codelists as cl
from faktura.domain.invoice import Party

NOT_APPLICABLE: dict[str, str] = {}

Values = Callable[[Context], Iterator[tuple[Where, str | None]]]


def _code_rule(
    rid: str,
    message: str,
    bt: str,
    codes: frozenset[str],
    values: Values,
    *,
    upper: bool = False,
    exact: bool = False,
    when: Callable[[Context], bool] | None = None,
) -> Rule:
    """`exact`: the Schematron compares the attribute as written (`@mimeCode = '…'`)."""

    def check(ctx: Context) -> Iterator[str]:
        for where, value in values(ctx):
            if value is None or value in codes:
                continue  # the common case, a code as listed, costs one set lookup
            if exact:
                yield ctx.ptr(where)
                continue
            if not present(value):
                continue
            v = normalize_space(value)
            if (v.upper() if upper else v) not in codes:
                yield ctx.ptr(where)

    return Rule(rid, Severity.FATAL, message, check, bt, when=when)


def parties(ctx: Context) -> Iterator[tuple[Party, str]]:
    """Seller, buyer and payee with their pointers (the ones that are written)."""
    if ctx.seller is not None:
        yield ctx.seller, ctx.seller_ptr
    if ctx.buyer is not None:
        yield ctx.buyer, ctx.buyer_ptr
    if ctx.invoice.payee is not None:
        yield ctx.invoice.payee, ctx.at("payee")


def _type_code(ctx: Context) -> Iterator[tuple[Where, str | None]]:
    yield ("type_code",), ctx.type_code


def _type_codes(ctx: Context) -> frozenset[str]:
    return cl.CREDIT_NOTE_TYPE_CODES if ctx.credit_note else cl.INVOICE_TYPE_CODES


def br_cl_01_check(ctx: Context) -> Iterator[str]:
    if normalize_space(ctx.type_code) not in _type_codes(ctx):
        yield ctx.at("type_code")


BR_CL_01 = Rule(
    "BR-CL-01",
    Severity.FATAL,
    "The document type code MUST be coded by the invoice and credit note related code lists of UNTDID 1001.",
    br_cl_01_check,
    "BT-3",
)


def tax_currency_written(ctx: Context) -> bool:
    """BT-6 is written when it differs from the document currency."""
    inv = ctx.invoice
    return inv.tax_currency is not None and inv.tax_currency != ctx.currency


def tax_currency_total_written(ctx: Context) -> bool:
    """The second TaxTotal (BT-111) is written when BT-6 differs and its amount is known."""
    return (
        tax_currency_written(ctx)
        and ctx.totals is not None
        and ctx.totals.tax_amount_in_tax_currency is not None
    )


def amount_currencies(ctx: Context) -> Iterator[tuple[Where, str | None]]:
    """Every `currencyID` written on an amount: the document currency, and BT-6 on BT-111."""
    yield ("currency",), ctx.currency
    if tax_currency_total_written(ctx):
        yield ("tax_currency",), ctx.invoice.tax_currency


def _currency(ctx: Context) -> Iterator[tuple[Where, str | None]]:
    yield ("currency",), ctx.currency


def _tax_currency(ctx: Context) -> Iterator[tuple[Where, str | None]]:
    if tax_currency_written(ctx):
        yield ("tax_currency",), ctx.invoice.tax_currency


def period_code(ctx: Context) -> Iterator[tuple[Where, str | None]]:
    p = ctx.invoice.invoicing_period
    if p is not None:
        yield ("invoicing_period", "description_code"), p.description_code


def _identifier_schemes(ctx: Context) -> Iterator[tuple[Where, str | None]]:
    """BT-29 / BT-46 / BT-60 schemes; 'SEPA' (BT-90) is allowed on the seller and payee only."""
    for party, ptr in parties(ctx):
        sepa_ok = party is not ctx.buyer
        for i, ident in enumerate(party.identifiers):
            if present(ident.value) and not (
                sepa_ok and ident.scheme is not None and normalize_space(ident.scheme) == "SEPA"
            ):
                yield f"{ptr}/identifiers/{i}/scheme", ident.scheme


def _legal_schemes(ctx: Context) -> Iterator[tuple[Where, str | None]]:
    for party, ptr in parties(ctx):
        if party.legal_id is not None and present(party.legal_id.value):
            yield f"{ptr}/legal_id/scheme", party.legal_id.scheme


def _classifications(ctx: Context) -> Iterator[tuple[Where, str | None]]:
    for i, li in enumerate(ctx.invoice.line_items):
        for j, c in enumerate(li.item.classifications):
            if present(c.code):
                yield ("line_items", i, "item", "classifications", j, "list_id"), c.list_id


def _countries(ctx: Context) -> Iterator[tuple[Where, str | None]]:
    if ctx.seller is not None:
        yield f"{ctx.seller_ptr}/address/country", ctx.seller.address.country
    if ctx.buyer is not None:
        yield f"{ctx.buyer_ptr}/address/country", ctx.buyer.address.country
    d = ctx.invoice.delivery
    if d is not None and d.address is not None:
        yield ("delivery", "address", "country"), d.address.country


def _origins(ctx: Context) -> Iterator[tuple[Where, str | None]]:
    for i, li in enumerate(ctx.invoice.line_items):
        yield ("line_items", i, "item", "origin_country"), li.item.origin_country


def _payment_means(ctx: Context) -> Iterator[tuple[Where, str | None]]:
    for i, pm in enumerate(ctx.invoice.payment_means):
        yield ("payment_means", i, "code"), pm.code


def _doc_categories(ctx: Context) -> Iterator[tuple[Where, str | None]]:
    """cac:TaxCategory: document-level allowances/charges and the breakdown."""
    for ac in ctx.doc_acs:
        yield (ac.pointer_name, ac.position, "tax_category"), ac.category
    if ctx.totals is not None:
        first_line: dict[str, int] = {}  # category -> index of the first line that carries it
        for i, (c, _) in enumerate(ctx.line_categories):
            first_line.setdefault(c, i)
        for b in ctx.totals.breakdown:
            if b.category in first_line:
                yield ("line_items", first_line[b.category], "tax_category"), b.category


def _line_categories(ctx: Context) -> Iterator[tuple[Where, str | None]]:
    for i, (cat, _) in enumerate(ctx.line_categories):
        yield ("line_items", i, "tax_category"), cat


def reason_codes(charge: bool) -> Values:
    name = "charges" if charge else "allowances"

    def values(ctx: Context) -> Iterator[tuple[Where, str | None]]:
        for j, ac in enumerate(getattr(ctx.invoice, name)):
            yield (name, j, "reason_code"), ac.reason_code
        for i, li in enumerate(ctx.invoice.line_items):
            for j, ac in enumerate(getattr(li, name)):
                yield ("line_items", i, name, j, "reason_code"), ac.reason_code

    return values


def _standard_ids(ctx: Context) -> Iterator[tuple[Where, str | None]]:
    for i, li in enumerate(ctx.invoice.line_items):
        std = li.item.standard_id
        if std is not None and present(std.value):
            yield ("line_items", i, "item", "standard_id", "scheme"), std.scheme


def exemption_codes(ctx: Context) -> Iterator[tuple[Where, str | None]]:
    """BT-121 as written: once per breakdown, from the first line/charge of the group with a reason."""
    if ctx.totals is None:
        return
    for b in ctx.totals.breakdown:
        if b.exemption_reason_code is None:
            continue
        ptr = ctx.at("line_items")
        for i, li in enumerate(ctx.invoice.line_items):
            if li.tax_exemption_reason_code == b.exemption_reason_code and li.tax_category == b.category:
                ptr = ctx.at("line_items", i, "tax_exemption_reason_code")
                break
        else:
            for ac in ctx.doc_acs:
                if ac.source.tax_exemption_reason_code == b.exemption_reason_code:
                    ptr = ctx.at(ac.pointer_name, ac.position, "tax_exemption_reason_code")
                    break
        yield ptr, b.exemption_reason_code


def _units(ctx: Context) -> Iterator[tuple[Where, str | None]]:
    for i, li in enumerate(ctx.invoice.line_items):
        yield ("line_items", i, "unit_code"), li.unit_code


def endpoint_schemes(ctx: Context) -> Iterator[tuple[Where, str | None]]:
    for party, ptr in ((ctx.seller, ctx.seller_ptr), (ctx.buyer, ctx.buyer_ptr)):
        if party is not None and party.endpoint is not None and present(party.endpoint.value):
            yield f"{ptr}/endpoint/scheme", party.endpoint.scheme


def object_schemes(ctx: Context) -> Iterator[tuple[Where, str | None]]:
    """BT-18-1 and BT-128-1: the scheme of an invoiced-object identifier, where one is written."""
    obj = ctx.invoice.object_id
    if obj is not None and present(obj.value):
        yield ("object_id", "scheme"), obj.scheme
    for i, li in enumerate(ctx.invoice.line_items):
        if li.object_id is not None and present(li.object_id.value):
            yield ("line_items", i, "object_id", "scheme"), li.object_id.scheme


def mime_codes(ctx: Context) -> Iterator[tuple[Where, str | None]]:
    for i, doc in enumerate(ctx.invoice.attachments):
        if doc.content:
            yield ("attachments", i, "mime_code"), doc.mime_code


def _delivery_location(ctx: Context) -> Iterator[tuple[Where, str | None]]:
    d = ctx.invoice.delivery
    if d is not None and d.location_id is not None and present(d.location_id.value):
        yield ("delivery", "location_id", "scheme"), d.location_id.scheme


SUBJECT_CODES = cl.NOTE_SUBJECT_CODES  # UNTDID 4451, generated from the BR-CL-08 rule


def br_cl_08_check(ctx: Context) -> Iterator[str]:
    """A note that starts a `#XXX#` subject code must use a UNTDID 4451 code (XPath: the text
    between the first two '#', when it is three characters long)."""
    for i, note in enumerate(ctx.invoice.notes):
        if not present(note) or "#" not in note:
            continue
        after = note.split("#", 1)[1]
        if "#" not in after:
            continue  # substring-before(…, '#') is '' when there is no second '#'
        code = after.split("#", 1)[0]
        if len(code) == 3 and code not in SUBJECT_CODES:
            yield ctx.at("notes", i)


BR_CL_08 = Rule(
    "BR-CL-08",
    Severity.FATAL,
    "Invoiced note subject code shall be coded using UNCL4451.",
    br_cl_08_check,
    "BT-21",
)

RULES: tuple[Rule, ...] = (
    BR_CL_01,
    _code_rule("BR-CL-03", "currencyID MUST be coded using ISO code list 4217 alpha-3.", "BT-5", cl.CURRENCY_CODES, amount_currencies),
    _code_rule("BR-CL-04", "Invoice currency code MUST be coded using ISO code list 4217 alpha-3.", "BT-5", cl.CURRENCY_CODES, _currency),
    _code_rule("BR-CL-05", "Tax currency code MUST be coded using ISO code list 4217 alpha-3.", "BT-6", cl.CURRENCY_CODES, _tax_currency),
    _code_rule("BR-CL-06", "Value added tax point date code MUST be coded using a restriction of UNTDID 2005.", "BT-8", cl.PERIOD_DESCRIPTION_CODES, period_code),
    _code_rule("BR-CL-07", "Object identifier identification scheme identifier MUST be coded using a restriction of UNTDID 1153.", "BT-18-1", cl.OBJECT_ID_SCHEMES, object_schemes),
    BR_CL_08,
    _code_rule("BR-CL-10", "Any identifier identification scheme identifier MUST be coded using one of the ISO 6523 ICD list.", "BT-29-1", cl.ICD_SCHEMES, _identifier_schemes),
    _code_rule("BR-CL-11", "Any registration identifier identification scheme identifier MUST be coded using one of the ISO 6523 ICD list.", "BT-30-1", cl.ICD_SCHEMES, _legal_schemes),
    _code_rule("BR-CL-13", "Item classification identifier identification scheme identifier MUST be coded using one of the UNTDID 7143 list.", "BT-158-1", cl.ITEM_CLASSIFICATION_SCHEMES, _classifications),
    _code_rule("BR-CL-14", "Country codes in an invoice MUST be coded using ISO code list 3166-1.", "BT-40", cl.COUNTRY_CODES, _countries),
    _code_rule("BR-CL-15", "Country codes in an invoice MUST be coded using ISO code list 3166-1.", "BT-159", cl.COUNTRY_CODES, _origins),
    _code_rule("BR-CL-16", "Payment means in an invoice MUST be coded using UNCL4461 code list.", "BT-81", cl.PAYMENT_MEANS_CODES, _payment_means),
    _code_rule("BR-CL-17", "Invoice tax categories MUST be coded using UNCL5305 code list.", "BT-118", cl.VAT_CATEGORY_CODES, _doc_categories),
    _code_rule("BR-CL-18", "Invoice tax categories MUST be coded using UNCL5305 code list.", "BT-151", cl.VAT_CATEGORY_CODES, _line_categories),
    _code_rule("BR-CL-19", "Coded allowance reasons MUST belong to the UNCL 5189 code list.", "BT-98", cl.ALLOWANCE_REASON_CODES, reason_codes(False), when=has_any_acs),
    _code_rule("BR-CL-20", "Coded charge reasons MUST belong to the UNCL 7161 code list.", "BT-105", cl.CHARGE_REASON_CODES, reason_codes(True), when=has_any_acs),
    _code_rule("BR-CL-21", "Item standard identifier scheme identifier MUST belong to the ISO 6523 ICD code list.", "BT-157-1", cl.ICD_SCHEMES, _standard_ids),
    _code_rule("BR-CL-22", "Tax exemption reason code identifier scheme identifier MUST belong to the CEF VATEX code list.", "BT-121", cl.VAT_EXEMPTION_REASON_CODES, exemption_codes, upper=True),
    _code_rule("BR-CL-23", "Unit code MUST be coded according to the UN/ECE Recommendation 20 with Rec 21 extension.", "BT-130", cl.UNIT_CODES, _units),
    _code_rule("BR-CL-24", "For Mime code in attribute use MIMEMediaType.", "BT-125-1", cl.MIME_CODES, mime_codes, exact=True),
    _code_rule("BR-CL-25", "Endpoint identifier scheme identifier MUST belong to the CEF EAS code list.", "BT-34-1", cl.EAS_SCHEMES, endpoint_schemes),
    _code_rule("BR-CL-26", "Delivery location identifier scheme identifier MUST belong to the ISO 6523 ICD code list.", "BT-71-1", cl.ICD_SCHEMES, _delivery_location),
)  # fmt: skip

RULES = screened(RULES, {
    "BR-CL-05": sends("tax_currency"),
    "BR-CL-06": period_irregular,
    "BR-CL-07": details_irregular,
    "BR-CL-08": details_irregular,
    "BR-CL-13": details_irregular,
    "BR-CL-15": details_irregular,
    **{
        f"BR-CL-{n:02d}": codes_off_list
        for n in (1, 3, 4, 10, 11, 14, 16, 17, 18, 19, 20, 23, 25)
    },
    "BR-CL-21": details_irregular,
    "BR-CL-22": exemption_codes_irregular,
    "BR-CL-24": details_irregular,
    "BR-CL-26": details_irregular,
})  # fmt: skip
