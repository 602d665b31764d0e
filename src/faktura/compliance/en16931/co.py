"""EN 16931 conditions BR-CO-*: cross-field consistency.

BR-CO-10 … BR-CO-16 hold by construction on what we render (the totals are computed, see
`faktura.domain.totals`); as `on_input` rules they compare the totals a client *declares*
with ours. BR-CO-21 … BR-CO-24 share their test with BR-33/38/42/44 and live in `core`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import NamedTuple

from faktura.compliance.engine import TOTAL_PROBLEM, Check, Context, Rule, rule, screened, sends
from faktura.compliance.findings import Severity
from faktura.compliance.predicates import present, xround, xround2
from faktura.compliance.screens import document_irregular, parties_irregular, tax_amounts_irregular
from faktura.domain import codelists as cl
from faktura.domain.totals import rate_key

VAT_PREFIXES = cl.COUNTRY_CODES | {"EL"}  # BR-CO-09: ISO 3166-1 plus "EL" for Greece

NOT_APPLICABLE: dict[str, str] = {
    "BR-CO-04": "holds by construction: every line carries a VAT category (default S)",
    "BR-CO-05": "no test (`true()`) in the Schematron",
    "BR-CO-06": "no test (`true()`) in the Schematron",
    "BR-CO-07": "no test (`true()`) in the Schematron",
    "BR-CO-08": "no test (`true()`) in the Schematron",
    "BR-CO-12": "holds by construction (BT-108 is computed); no declared charge total in the input",
    "BR-CO-13": "holds by construction (BT-109 is computed)",
    "BR-CO-16": "holds by construction (BT-115 is computed)",
    "BR-CO-19": "holds by construction: an empty invoicing period is not written",
    "BR-CO-20": "holds by construction: a line period without dates is not written",
}


@rule(
    "BR-CO-03",
    "Value added tax point date (BT-7) and Value added tax point date code (BT-8) are mutually exclusive.",
    bt="BT-7",
)
def br_co_03(ctx: Context) -> Iterator[str]:
    p = ctx.invoice.invoicing_period
    if ctx.invoice.tax_point_date is not None and p is not None and present(p.description_code):
        yield ctx.at("tax_point_date")


@rule(
    "BR-CO-09",
    "The Seller VAT identifier (BT-31), the Seller tax representative VAT identifier (BT-63) and the Buyer VAT identifier (BT-48) shall have a prefix in accordance with ISO code ISO 3166-1 alpha-2 by which the country of issue may be identified. Nevertheless, Greece may use the prefix 'EL'.",
    bt="BT-31",
)
def br_co_09(ctx: Context) -> Iterator[str]:
    for party, ptr in ((ctx.seller, ctx.seller_ptr), (ctx.buyer, ctx.buyer_ptr)):
        if party is not None and present(party.vat_id) and party.vat_id[:2] not in VAT_PREFIXES:  # type: ignore[index]
            yield f"{ptr}/vat_id"
    rep = ctx.invoice.tax_representative
    if rep is not None and present(rep.vat_id) and rep.vat_id[:2] not in VAT_PREFIXES:
        yield ctx.at("tax_representative", "vat_id")


@rule(
    "BR-CO-17",
    "VAT category tax amount (BT-117) = VAT category taxable amount (BT-116) x (VAT category rate (BT-119) / 100), rounded to two decimals.",
    bt="BT-117",
)
def br_co_17(ctx: Context) -> Iterator[str]:
    """Per breakdown, with the Schematron's ±1 tolerance and XPath rounding."""
    if ctx.totals is None:
        return
    for b in ctx.totals.breakdown:
        if not subtotal_tax_ok(b.taxable_amount, b.tax_amount, b.rate):
            yield ctx.category_pointer(b.category, "tax_rate")


def subtotal_tax_ok(taxable: Decimal, tax: Decimal, rate: Decimal | None) -> bool:
    if rate is None:
        return xround(tax) == 0
    if xround(rate) == 0:
        return xround(tax) == 0
    expected = xround2(abs(taxable) * (rate / 100))
    return abs(tax) - 1 < expected < abs(tax) + 1


@rule(
    "BR-CO-18",
    "An Invoice shall at least have one VAT breakdown group (BG-23).",
    bt="BG-23",
    problem_type="MISSING_REQUIRED_FIELD",
)
def br_co_18(ctx: Context) -> Iterator[str]:
    if ctx.totals is not None and not ctx.totals.breakdown:
        yield ctx.at("line_items")


@rule(
    "BR-CO-26",
    "In order for the buyer to automatically identify a supplier, the Seller identifier (BT-29), the Seller legal registration identifier (BT-30) and/or the Seller VAT identifier (BT-31) shall be present.",
    bt="BT-29",
    problem_type="MISSING_REQUIRED_FIELD",
)
def br_co_26(ctx: Context) -> Iterator[str]:
    s = ctx.seller
    if s is None:
        return
    ids = any(present(i.value) and i.scheme != "SEPA" for i in s.identifiers)
    legal = s.legal_id is not None and present(s.legal_id.value)
    if not (present(s.vat_id) or ids or legal):
        yield f"{ctx.seller_ptr}/vat_id"


class Declared(NamedTuple):
    """The totals of the document the client describes: its declared line nets (BT-131) where
    given, the computed ones elsewhere. The official rules judge a declared total against
    this document, not against Faktura's arithmetic (`FK-*` rules do that)."""

    line_extension: Decimal  # Σ BT-131, rounded as BR-CO-10 rounds it
    tax_exclusive: Decimal  # BT-109 with the declared BT-106
    tax: Decimal  # Σ BT-117, each rounded from the client's taxable amount (BR-CO-17)
    tax_slack: Decimal  # how far BT-110 may stray from `tax`: ±1 per taxed breakdown (BR-S-09 …)


def declared(ctx: Context) -> Declared | None:
    t = ctx.totals
    if t is None:
        return None
    inv = ctx.invoice
    shift: dict[tuple[str, Decimal | None], Decimal] = {}
    nets = Decimal(0)
    for li, lt in zip(inv.line_items, t.lines, strict=True):
        net = li.total_amount if li.total_amount is not None else lt.net_amount
        nets += net
        key = (lt.tax_category, rate_key(lt.tax_category, lt.tax_rate))
        shift[key] = shift.get(key, Decimal(0)) + net - lt.net_amount
    line_extension = xround2(nets)
    base = inv.sub_total if inv.sub_total is not None else line_extension
    tax, taxed = Decimal(0), 0
    for b in t.breakdown:
        if b.rate is None or b.rate == 0:
            continue
        taxable = b.taxable_amount + shift.get((b.category, b.rate), Decimal(0))
        expected = xround2(abs(taxable) * (b.rate / 100))
        tax += expected if taxable >= 0 else -expected
        taxed += 1
    return Declared(line_extension, base - t.allowance_total + t.charge_total, tax, Decimal(taxed))


def sub_total_consistent(d: Declared, sent: Decimal) -> bool:
    """BR-CO-10 on the client's document."""
    return sent == d.line_extension


def tax_total_consistent(d: Declared, sent: Decimal) -> bool:
    """BR-CO-14 on the client's document: some BT-117 within the BR-S-09 family's ±1 sums to it."""
    return abs(sent - d.tax) < d.tax_slack if d.tax_slack else sent == d.tax


def total_consistent(d: Declared, sent: Decimal, tax: Decimal) -> bool:
    """BR-CO-15 on the client's document: BT-112 = BT-109 + BT-110."""
    return sent == xround2(d.tax_exclusive + tax)


def declared_tax(ctx: Context, d: Declared) -> Decimal:
    sent = ctx.invoice.total_tax_amount
    return sent if sent is not None else d.tax


def declared_mismatch(
    field: str, attr: str, judged: Callable[[Context, Decimal], bool] | None = None
) -> Check:
    """A declared total (`field`) that differs from the computed one (`attr`) and, with
    `judged`, for which `judged` holds as well."""

    def check(ctx: Context) -> Iterator[str]:
        sent = getattr(ctx.invoice, field)
        if (
            ctx.totals is not None
            and sent is not None
            and sent != getattr(ctx.totals, attr)
            and (judged is None or judged(ctx, sent))
        ):
            yield ctx.at(field)

    return check


def _declared(
    rid: str, field: str, bt: str, attr: str, consistent: Callable[[Context, Decimal], bool] | None = None
) -> Rule:
    """A declared total that differs from the calculation. With `consistent`, only where the
    client's own document breaks the rule too: a total that is right on the client's figures
    but not on Faktura's is the `FK-*` twin's finding (`faktura.compliance.faktura`)."""
    return Rule(
        rid,
        Severity.FATAL,
        f"The declared {bt} does not equal the EN 16931 calculation.",
        declared_mismatch(field, attr, None if consistent is None else lambda c, v: not consistent(c, v)),
        bt,
        TOTAL_PROBLEM,
        on_input=True,
    )


def on_client_document(test: Callable[[Declared, Decimal], bool]) -> Callable[[Context, Decimal], bool]:
    def consistent(ctx: Context, sent: Decimal) -> bool:
        d = declared(ctx)
        return d is not None and test(d, sent)

    return consistent


def total_on_client_document(ctx: Context, sent: Decimal) -> bool:
    d = declared(ctx)
    return d is not None and total_consistent(d, sent, declared_tax(ctx, d))


RULES: tuple[Rule, ...] = (
    br_co_03,
    br_co_09,
    br_co_17,
    br_co_18,
    br_co_26,
    _declared(
        "BR-CO-10", "sub_total", "BT-106", "line_extension_amount", on_client_document(sub_total_consistent)
    ),
    _declared("BR-CO-11", "total_discount", "BT-107", "allowance_total"),
    _declared(
        "BR-CO-14", "total_tax_amount", "BT-110", "tax_amount", on_client_document(tax_total_consistent)
    ),
    _declared("BR-CO-15", "total_amount", "BT-112", "tax_inclusive_amount", total_on_client_document),
)

RULES = screened(RULES, {
    "BR-CO-03": sends("tax_point_date"),
    "BR-CO-09": parties_irregular,
    "BR-CO-17": tax_amounts_irregular,
    "BR-CO-18": document_irregular,
    "BR-CO-26": parties_irregular,
    "BR-CO-10": sends("sub_total"),
    "BR-CO-11": sends("total_discount"),
    "BR-CO-14": sends("total_tax_amount"),
    "BR-CO-15": sends("total_amount"),
})  # fmt: skip
