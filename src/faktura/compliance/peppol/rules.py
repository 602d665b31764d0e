"""Peppol BIS Billing 3.0 transaction and code-list rules: PEPPOL-EN16931-R*, -CL*, -P*, -F*."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import msgspec

from faktura.compliance.en16931.cl import (
    amount_currencies,
    endpoint_schemes,
    mime_codes,
    period_code,
    reason_codes,
    tax_currency_total_written,
    tax_currency_written,
)
from faktura.compliance.engine import (
    Context,
    Rule,
    Where,
    declares_line_totals,
    has_any_acs,
    rule,
    screened,
    sends,
)
from faktura.compliance.findings import Severity
from faktura.compliance.predicates import normalize_space, present
from faktura.compliance.screens import (
    allowances_irregular,
    codes_off_list,
    details_irregular,
    document_irregular,
    exemption_codes_irregular,
    parties_irregular,
    payment_irregular,
    period_irregular,
)
from faktura.domain import codelists as cl
from faktura.domain.invoice import AllowanceCharge, LineItem
from faktura.domain.totals import LineTotals

NOT_APPLICABLE: dict[str, str] = {
    "PEPPOL-EN16931-R001": "holds by construction: ProfileID is written from the profile",
    "PEPPOL-EN16931-R004": "holds by construction: CustomizationID is written from the profile",
    "PEPPOL-EN16931-R005": "holds by construction: BT-6 is written only when it differs from BT-5",
    "PEPPOL-EN16931-R007": "holds by construction: ProfileID is written from the profile",
    "PEPPOL-EN16931-R041": "holds by construction: a percentage always gets its base amount (the line or document net)",
    "PEPPOL-EN16931-R043": "holds by construction: ChargeIndicator is always 'true' or 'false'",
    "PEPPOL-EN16931-R044": "holds by construction: the price discount is written as an allowance",
    "PEPPOL-EN16931-R046": "holds by construction: BT-147 is written as gross − net, unrounded",
    "PEPPOL-EN16931-R051": "holds by construction: every amount but BT-111 carries the document currency",
    "PEPPOL-EN16931-R080": "holds by construction: at most one project reference",
    "PEPPOL-EN16931-R100": "holds by construction: at most one invoiced object per line",
    "PEPPOL-EN16931-R101": "holds by construction: the line object reference is written with type 130",
    "PEPPOL-EN16931-R130": "holds by construction: the base quantity takes the line's unit code",
    "PEPPOL-EN16931-F001": "holds by construction: dates are typed and written as YYYY-MM-DD",
}


def _strings(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            yield from _strings(getattr(value, name), (*path, name))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, (*path, i))


NOT_WRITTEN = {"memo", "remote_id", "contact", "series", "document_type", "tax_point_date"}


_BLANK_JSON = re.compile(rb'[:\[,]"(?:\s|\\[ntr])+"')


def _has_blank_text(ctx: Context) -> bool:
    """Fast path: a whitespace-only JSON string anywhere in the request or the parties. Such a
    string opens with a quote and a blank (or an escaped one): substring tests over the three
    encodings rule it out on almost every request before the regular expression runs."""
    for raw in ctx.encoded():  # part by part: joining them would copy every byte once more
        if raw is None:
            return True  # not encodable (a lone surrogate): look at every string
        if (
            _QUOTE_SPACE.search(raw) is not None or (b"\\" in raw and _QUOTE_ESCAPE.search(raw) is not None)
        ) and _BLANK_JSON.search(raw) is not None:
            return True
    return False


#: two-byte literals as regular expressions: `re` finds them in half the time of `bytes in`
_QUOTE_SPACE = re.compile(b'" ')
_QUOTE_ESCAPE = re.compile(rb'"\\')


@rule("PEPPOL-EN16931-R008", "Document MUST not contain empty elements.", on_input=True)
def r008(ctx: Context) -> Iterator[str]:
    """Whitespace-only text would leave an element without content (or an aggregate without
    children). Judged on the request: the renderer drops blank text (and an aggregate left
    empty by it), so the XML never has an empty element."""
    if not _has_blank_text(ctx):
        return
    for (name, *rest), text in _strings(ctx.invoice, ()):
        if name not in NOT_WRITTEN and text and not text.strip():
            yield ctx.at(str(name), *rest)
    for party, ptr in ((ctx.seller, ctx.seller_ptr), (ctx.buyer, ctx.buyer_ptr)):
        if party is not None:
            for path, text in _strings(party, ()):
                if text and not text.strip():
                    yield ptr + "".join(f"/{p}" for p in path)


def _german_pair(ctx: Context) -> bool:
    return (ctx.seller_country or "").upper() == "DE" and (ctx.buyer_country or "").upper() == "DE"


@rule(
    "PEPPOL-EN16931-R002",
    "No more than one note is allowed on document level, unless both supplier and buyer are German organizations.",
    bt="BT-22",
)
def r002(ctx: Context) -> Iterator[str]:
    if sum(1 for n in ctx.invoice.notes if present(n)) > 1 and not _german_pair(ctx):
        yield ctx.at("notes")


@rule(
    "PEPPOL-EN16931-R003",
    "A buyer reference or purchase order reference MUST be provided.",
    bt="BT-10",
    problem_type="MISSING_REQUIRED_FIELD",
)
def r003(ctx: Context) -> Iterator[str]:
    inv = ctx.invoice
    if not (
        present(inv.buyer_reference) or present(inv.order_reference) or present(inv.sales_order_reference)
    ):
        yield ctx.at("buyer_reference")


@rule(
    "PEPPOL-EN16931-R010",
    "Buyer electronic address MUST be provided",
    bt="BT-49",
    problem_type="MISSING_REQUIRED_FIELD",
)
def r010(ctx: Context) -> Iterator[str]:
    b = ctx.buyer
    if b is not None and (b.endpoint is None or not present(b.endpoint.value)):
        yield f"{ctx.buyer_ptr}/endpoint"


@rule(
    "PEPPOL-EN16931-R020",
    "Seller electronic address MUST be provided",
    bt="BT-34",
    problem_type="MISSING_REQUIRED_FIELD",
)
def r020(ctx: Context) -> Iterator[str]:
    s = ctx.seller
    if s is not None and (s.endpoint is None or not present(s.endpoint.value)):
        yield f"{ctx.seller_ptr}/endpoint"


CENT2 = Decimal("0.02")


AcRow = tuple[Where, AllowanceCharge, Decimal, Decimal | None]


def _all_acs(ctx: Context) -> list[AcRow]:
    """(path, source, written amount, written base) of every document and line allowance/charge."""
    return ctx.memo("peppol_all_acs", lambda: list(_each_ac(ctx)))  # type: ignore[no-any-return]


def _each_ac(ctx: Context) -> Iterator[AcRow]:
    for ac in ctx.doc_acs:
        yield (ac.pointer_name, ac.position), ac.source, ac.amount, ac.base_amount
    if ctx.totals is None:
        return
    for i, (li, lt) in enumerate(zip(ctx.invoice.line_items, ctx.totals.lines, strict=True)):
        for name, sources, resolved in (
            ("allowances", li.allowances, lt.allowances),
            ("charges", li.charges, lt.charges),
        ):
            for j, (src, res) in enumerate(zip(sources, resolved, strict=True)):
                yield ("line_items", i, name, j), src, res.amount, res.base_amount


@rule(
    "PEPPOL-EN16931-R040",
    "Allowance/charge amount must equal base amount * percentage/100 if base amount and percentage exists",
    bt="BT-92",
    when=has_any_acs,
)
def r040(ctx: Context) -> Iterator[str]:
    for where, src, amount, base in _all_acs(ctx):
        if src.percentage is not None and base is not None:
            expected = base * src.percentage / 100
            if not (amount - CENT2 <= expected <= amount + CENT2):
                yield f"{ctx.ptr(where)}/amount"


@rule(
    "PEPPOL-EN16931-R042",
    "Allowance/charge percentage MUST be provided when allowance/charge base amount is provided.",
    bt="BT-94",
    when=has_any_acs,
)
def r042(ctx: Context) -> Iterator[str]:
    for where, src, _, base in _all_acs(ctx):
        if src.percentage is None and base is not None:
            yield f"{ctx.ptr(where)}/percentage"


@rule("PEPPOL-EN16931-R053", "Only one tax total with tax subtotals MUST be provided.", bt="BT-110")
def r053(ctx: Context) -> Iterator[str]:
    if ctx.totals is not None and not ctx.totals.breakdown:
        yield ctx.at("line_items")


@rule(
    "PEPPOL-EN16931-R054",
    "Only one tax total without tax subtotals MUST be provided when tax currency code is provided.",
    bt="BT-111",
)
def r054(ctx: Context) -> Iterator[str]:
    if ctx.totals is None:
        return
    without = (0 if ctx.totals.breakdown else 1) + (1 if tax_currency_total_written(ctx) else 0)
    if without != (1 if tax_currency_written(ctx) else 0):
        yield ctx.at("tax_currency")


@rule(
    "PEPPOL-EN16931-R055",
    "Invoice total VAT amount and Invoice total VAT amount in accounting currency MUST have same operational sign",
    bt="BT-111",
)
def r055(ctx: Context) -> Iterator[str]:
    if ctx.totals is None or not tax_currency_written(ctx):
        return
    if not tax_currency_total_written(ctx):
        yield ctx.at("tax_currency_total_tax_amount")
        return
    a, b = ctx.totals.tax_amount_in_tax_currency, ctx.totals.tax_amount
    assert a is not None
    if not ((a <= 0 and b <= 0) or (a >= 0 and b >= 0)):
        yield ctx.at("tax_currency_total_tax_amount")


@rule(
    "PEPPOL-EN16931-R061",
    "Mandate reference MUST be provided for direct debit.",
    bt="BT-89",
    problem_type="MISSING_REQUIRED_FIELD",
)
def r061(ctx: Context) -> Iterator[str]:
    for i, pm in enumerate(ctx.invoice.payment_means):
        if normalize_space(pm.code) in ("49", "59") and (
            pm.mandate is None or not present(pm.mandate.reference)
        ):
            yield ctx.at("payment_means", i, "mandate")


@rule("PEPPOL-EN16931-R110", "Start date of line period MUST be within invoice period.", bt="BT-134")
def r110(ctx: Context) -> Iterator[str]:
    p = ctx.invoice.invoicing_period
    if p is None or p.start_date is None:
        return
    for i, li in enumerate(ctx.invoice.line_items):
        if li.period and li.period.start_date and li.period.start_date < p.start_date:
            yield ctx.at("line_items", i, "period", "start_date")


@rule("PEPPOL-EN16931-R111", "End date of line period MUST be within invoice period.", bt="BT-135")
def r111(ctx: Context) -> Iterator[str]:
    p = ctx.invoice.invoicing_period
    if p is None or p.end_date is None:
        return
    for i, li in enumerate(ctx.invoice.line_items):
        if li.period and li.period.end_date and li.period.end_date > p.end_date:
            yield ctx.at("line_items", i, "period", "end_date")


@rule(
    "PEPPOL-EN16931-R120",
    "Invoice line net amount MUST equal (Invoiced quantity * (Item net price/item price base quantity) + Sum of invoice line charge amount - sum of invoice line allowance amount",
    bt="BT-131",
    problem_type="TOTAL_MISMATCH",
    on_input=True,
    when=declares_line_totals,
)
def r120(ctx: Context) -> Iterator[str]:
    """On input: a declared line total (`total_amount`) must be within the Schematron's slack
    of 0.02 of quantity × (net price / base quantity) + charges − allowances, unrounded
    (`u:slack`). A smaller difference passes here and is flagged by FK-LINE-TOTAL."""
    if ctx.totals is None:
        return
    for i, (li, lt) in enumerate(zip(ctx.invoice.line_items, ctx.totals.lines, strict=True)):
        if li.total_amount is not None and abs(li.total_amount - line_net_unrounded(li, lt)) > CENT2:
            yield ctx.at("line_items", i, "total_amount")


def line_net_unrounded(li: LineItem, lt: LineTotals) -> Decimal:
    base = lt.base_quantity if lt.base_quantity else Decimal(1)
    return (
        li.quantity * (lt.net_price / base)
        + sum((c.amount for c in lt.charges), Decimal(0))
        - sum((a.amount for a in lt.allowances), Decimal(0))
    )


@rule("PEPPOL-EN16931-R121", "Base quantity MUST be a positive number above zero.", bt="BT-149")
def r121(ctx: Context) -> Iterator[str]:
    for i, li in enumerate(ctx.invoice.line_items):
        if li.base_quantity is not None and li.base_quantity <= 0:
            yield ctx.at("line_items", i, "base_quantity")


def _code_list(rid: str, message: str, bt: str, codes: frozenset[str], values: Any, when: Any = None) -> Rule:
    def check(ctx: Context) -> Iterator[str]:
        for where, value in values(ctx):
            if (
                value is not None
                and value not in codes
                and present(value)
                and normalize_space(value) not in codes
            ):
                yield ctx.ptr(where)

    return Rule(rid, Severity.FATAL, message, check, bt, when=when)


@rule("PEPPOL-EN16931-CL001", "Mime code must be according to subset of IANA code list.", bt="BT-125-1")
def cl001(ctx: Context) -> Iterator[str]:
    """`some $code in $MIMECODE satisfies @mimeCode = $code`: compared as written."""
    for where, value in mime_codes(ctx):
        if value is not None and value not in cl.PEPPOL_MIME_CODES:
            yield ctx.ptr(where)


def _currency_ids(ctx: Context) -> Iterator[tuple[Where, str | None]]:
    for ptr, value in amount_currencies(ctx):
        yield ptr, value.strip() if value else value


@rule("PEPPOL-EN16931-P0100", "Invoice type code MUST be set according to the profile.", bt="BT-3")
def p0100(ctx: Context) -> Iterator[str]:
    if not ctx.credit_note and normalize_space(ctx.type_code) not in cl.PEPPOL_INVOICE_TYPE_CODES:
        yield ctx.at("type_code")


@rule("PEPPOL-EN16931-P0101", "Credit note type code MUST be set according to the profile.", bt="BT-3")
def p0101(ctx: Context) -> Iterator[str]:
    if ctx.credit_note and normalize_space(ctx.type_code) not in cl.PEPPOL_CREDIT_NOTE_TYPE_CODES:
        yield ctx.at("type_code")


@rule(
    "PEPPOL-EN16931-P0112",
    "Invoice type code 326 or 384 are only allowed when both buyer and seller are German organizations",
    bt="BT-3",
)
def p0112(ctx: Context) -> Iterator[str]:
    if not ctx.credit_note and normalize_space(ctx.type_code) in ("326", "384") and not _german_pair(ctx):
        yield ctx.at("type_code")


def _vatex(rid: str, code: str, category: str) -> Rule:
    def check(ctx: Context) -> Iterator[str]:
        if ctx.totals is None:
            return
        for b in ctx.totals.breakdown:
            if (
                b.exemption_reason_code is not None
                and b.exemption_reason_code.upper() == code
                and b.category.strip() != category
            ):
                for i, li in enumerate(ctx.invoice.line_items):
                    if li.tax_category == b.category and (li.tax_exemption_reason_code or "").upper() == code:
                        yield ctx.at("line_items", i, "tax_exemption_reason_code")
                        break
                else:
                    yield ctx.at("line_items")

    return Rule(
        rid,
        Severity.FATAL,
        f"Exemption reason must be coded using {code} only for VAT category {category}.",
        check,
        "BT-121",
    )


RULES: tuple[Rule, ...] = (
    r002, r003, r008, r010, r020, r040, r042, r053, r054, r055, r061, r110, r111, r120, r121,
    cl001,
    _code_list("PEPPOL-EN16931-CL002", "Reason code MUST be according to subset of UNCL 5189 D.16B.", "BT-98", cl.PEPPOL_ALLOWANCE_REASON_CODES, reason_codes(False), has_any_acs),
    _code_list("PEPPOL-EN16931-CL003", "Reason code MUST be according to UNCL 7161 D.16B.", "BT-105", cl.PEPPOL_CHARGE_REASON_CODES, reason_codes(True), has_any_acs),
    _code_list("PEPPOL-EN16931-CL006", "Invoice period description code must be according to UNCL 2005 D.16B.", "BT-8", cl.PERIOD_DESCRIPTION_CODES, period_code),
    _code_list("PEPPOL-EN16931-CL007", "Currency code must be according to ISO 4217:2005", "BT-5", cl.PEPPOL_CURRENCY_CODES, _currency_ids),
    _code_list("PEPPOL-EN16931-CL008", "Electronic address identifier scheme must be from the codelist \"Electronic Address Identifier Scheme\"", "BT-34-1", cl.PEPPOL_EAS_SCHEMES, endpoint_schemes),
    p0100, p0101, p0112,
    _vatex("PEPPOL-EN16931-P0104", "VATEX-EU-G", "G"),
    _vatex("PEPPOL-EN16931-P0105", "VATEX-EU-O", "O"),
    _vatex("PEPPOL-EN16931-P0106", "VATEX-EU-IC", "K"),
    _vatex("PEPPOL-EN16931-P0107", "VATEX-EU-AE", "AE"),
    _vatex("PEPPOL-EN16931-P0108", "VATEX-EU-D", "E"),
    _vatex("PEPPOL-EN16931-P0109", "VATEX-EU-F", "E"),
    _vatex("PEPPOL-EN16931-P0110", "VATEX-EU-I", "E"),
    _vatex("PEPPOL-EN16931-P0111", "VATEX-EU-J", "E"),
)  # fmt: skip

RULES = screened(RULES, {
    "PEPPOL-EN16931-R002": details_irregular,
    "PEPPOL-EN16931-R055": sends("tax_currency"),
    "PEPPOL-EN16931-R061": payment_irregular,
    **{f"PEPPOL-EN16931-{rid}": document_irregular for rid in ("R003", "R053", "R054")},
    "PEPPOL-EN16931-R010": parties_irregular,
    "PEPPOL-EN16931-R020": parties_irregular,
    "PEPPOL-EN16931-R040": allowances_irregular,
    "PEPPOL-EN16931-R042": allowances_irregular,
    "PEPPOL-EN16931-R110": period_irregular,
    "PEPPOL-EN16931-R111": period_irregular,
    "PEPPOL-EN16931-R121": details_irregular,
    "PEPPOL-EN16931-CL001": details_irregular,
    "PEPPOL-EN16931-CL006": period_irregular,
    **{
        f"PEPPOL-EN16931-{rid}": codes_off_list
        for rid in ("CL002", "CL003", "CL007", "CL008", "P0100", "P0101", "P0112")
    },
    **{f"PEPPOL-EN16931-P01{n:02d}": exemption_codes_irregular for n in range(4, 12)},
})  # fmt: skip

#: for the rule sets of later versions, which rebuild the code-list rules over their own lists
code_list_rule = _code_list
currency_ids = _currency_ids
all_acs = _all_acs
