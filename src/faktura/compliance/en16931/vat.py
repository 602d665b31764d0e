"""EN 16931 VAT category families: BR-S, BR-Z, BR-E, BR-AE, BR-IC (K), BR-G, BR-O, BR-AF (L),
BR-AG (M) and BR-B.

The families share one shape, so each is a row of `FAMILIES` and the rules are built from
the row: -01 breakdown presence, -02/03/04 party VAT identifiers, -05/06/07 the rate on
lines/allowances/charges, -08 taxable amount, -09 tax amount, -10 exemption reason. The
few family-specific rules (BR-IC-11/12, BR-O-11..14, BR-B-01/02) follow.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from faktura.compliance.engine import Context, Rule, screened
from faktura.compliance.findings import Severity
from faktura.compliance.predicates import any_tax_scheme, present, representative_vat_id, vat_id, xround2
from faktura.compliance.screens import breakdown_irregular, tax_amounts_irregular
from faktura.domain.money import ZERO
from faktura.domain.totals import rate_key

NOT_APPLICABLE: dict[str, str] = {}


@dataclass(frozen=True, slots=True)
class Family:
    category: str
    prefix: str
    name: str
    #: -01: exactly one breakdown (True) or at least one when used (False)
    single_breakdown: bool
    #: -05..07: the rate test
    rate_ok: Callable[[Decimal | None], bool]
    #: -02..04: the parties' identifiers test
    parties_ok: Callable[[Context], bool]
    #: -08: per rate with ±1 tolerance (True) or one exact sum over the category (False)
    per_rate: bool
    #: -10: exemption reason required (True) or forbidden (False)
    needs_reason: bool


def _seller_any(ctx: Context) -> bool:
    """Any seller PartyTaxScheme (BT-31 or BT-32), or the tax representative's VAT id (BT-63)."""
    return any_tax_scheme(ctx.seller, seller=True) or representative_vat_id(ctx.invoice) is not None


def _seller_vat(ctx: Context) -> bool:
    return vat_id(ctx.seller) is not None or representative_vat_id(ctx.invoice) is not None


def _ae(ctx: Context) -> bool:
    buyer = ctx.buyer
    buyer_ok = buyer is not None and (
        vat_id(buyer) is not None or (buyer.legal_id is not None and present(buyer.legal_id.value))
    )
    return _seller_any(ctx) and buyer_ok


def _k(ctx: Context) -> bool:
    return _seller_vat(ctx) and vat_id(ctx.buyer) is not None


def _o(ctx: Context) -> bool:
    return (
        vat_id(ctx.seller) is None
        and representative_vat_id(ctx.invoice) is None
        and vat_id(ctx.buyer) is None
    )


def _positive(rate: Decimal | None) -> bool:
    return rate is not None and rate > 0


def _zero(rate: Decimal | None) -> bool:
    return rate is not None and rate == 0


def _non_negative(rate: Decimal | None) -> bool:
    return rate is not None and rate >= 0


def _absent(rate: Decimal | None) -> bool:
    return rate is None


FAMILIES = (
    Family("S", "BR-S", "Standard rated", False, _positive, _seller_any, True, False),
    Family("Z", "BR-Z", "Zero rated", True, _zero, _seller_any, False, False),
    Family("E", "BR-E", "Exempt from VAT", True, _zero, _seller_any, False, True),
    Family("AE", "BR-AE", "Reverse charge", True, _zero, _ae, False, True),
    Family("K", "BR-IC", "Intra-community supply", True, _zero, _k, False, True),
    Family("G", "BR-G", "Export outside the EU", True, _zero, _seller_vat, False, True),
    Family("O", "BR-O", "Not subject to VAT", True, _absent, _o, False, True),
    Family("L", "BR-AF", "IGIC", False, _non_negative, _seller_any, True, False),
    Family("M", "BR-AG", "IPSI", False, _non_negative, _seller_any, True, False),
)


def _used_in_lines_or_acs(ctx: Context, cat: str) -> bool:
    return any(c == cat for c, _ in ctx.line_categories) or any(ac.category == cat for ac in ctx.doc_acs)


def _breakdowns(ctx: Context, cat: str) -> list[int]:
    if ctx.totals is None:
        return []
    return [i for i, b in enumerate(ctx.totals.breakdown) if b.category == cat]


@functools.cache
def uses_category(cat: str) -> Callable[[Context], bool]:
    """One shared precondition per VAT category: a rule about category `cat` (the family's,
    and BR-IC-11/12, BR-O-11..14, BR-B-*) can only fire when a line, allowance, charge or the
    breakdown names it. One function object per category, so `engine.plan` groups its rules."""

    def uses(ctx: Context) -> bool:
        return cat in ctx.all_categories

    uses.__name__ = f"uses_{cat}"
    return uses


def _rules(f: Family) -> tuple[Rule, ...]:
    cat, p = f.category, f.prefix
    label = f"'{f.name}' ({cat})"

    def r01(ctx: Context) -> Iterator[str]:
        n = len(_breakdowns(ctx, cat))
        used = _used_in_lines_or_acs(ctx, cat)
        if f.single_breakdown:
            if (used or n) and n != 1:
                yield ctx.category_pointer(cat, "tax_category")
        elif used != (n > 0):
            yield ctx.category_pointer(cat, "tax_category")

    def r02(ctx: Context) -> Iterator[str]:
        if any(c == cat for c, _ in ctx.line_categories) and not f.parties_ok(ctx):
            yield _party_pointer(ctx, f)

    def r0ac(charge: bool) -> Callable[[Context], Iterator[str]]:
        def check(ctx: Context) -> Iterator[str]:
            if any(ac.category == cat and ac.charge is charge for ac in ctx.doc_acs) and not f.parties_ok(
                ctx
            ):
                yield _party_pointer(ctx, f)

        return check

    def r05(ctx: Context) -> Iterator[str]:
        for i, (c, rate) in enumerate(ctx.line_categories):
            if c == cat and not f.rate_ok(rate):
                yield ctx.at("line_items", i, "tax_rate")

    def r0ac_rate(charge: bool) -> Callable[[Context], Iterator[str]]:
        def check(ctx: Context) -> Iterator[str]:
            for ac in ctx.doc_acs:
                if ac.category == cat and ac.charge is charge and not f.rate_ok(ac.rate):
                    yield ctx.at(ac.pointer_name, ac.position, "tax_rate")

        return check

    def r08(ctx: Context) -> Iterator[str]:
        t = ctx.totals
        if t is None:
            return
        for b in t.breakdown:
            if b.category != cat:
                continue
            if f.per_rate:
                if b.rate is None:
                    continue
                if cat == "S":  # BR-S-08 asks for a line or an allowance/charge at this rate
                    exists = any(c == cat and r == b.rate for c, r in ctx.line_categories) or any(
                        ac.category == cat and ac.rate == b.rate for ac in ctx.doc_acs
                    )
                else:  # BR-AF-08 / BR-AG-08 only for invoices with lines
                    exists = bool(ctx.invoice.line_items)
                total = _category_sum(ctx, cat, b.rate)
                if not (exists and abs(b.taxable_amount - total) < 1):
                    yield ctx.category_pointer(cat, "tax_rate")
            elif not (ctx.invoice.line_items and b.taxable_amount == _category_sum(ctx, cat, None)):
                yield ctx.category_pointer(cat, "tax_category")

    def r09(ctx: Context) -> Iterator[str]:
        for i in _breakdowns(ctx, cat):
            b = ctx.totals.breakdown[i]  # type: ignore[union-attr]
            if f.per_rate:
                ok = (
                    b.rate is not None
                    and abs(b.tax_amount) - 1
                    < xround2(abs(b.taxable_amount) * (b.rate / 100))
                    < abs(b.tax_amount) + 1
                )
            else:
                ok = b.tax_amount == 0
            if not ok:
                yield ctx.category_pointer(cat, "tax_rate")

    def r10(ctx: Context) -> Iterator[str]:
        for i in _breakdowns(ctx, cat):
            b = ctx.totals.breakdown[i]  # type: ignore[union-attr]
            has = present(b.exemption_reason) or present(b.exemption_reason_code)
            if has != f.needs_reason:
                yield ctx.category_pointer(cat, "tax_exemption_reason")

    words: dict[object, str] = {
        _positive: "greater than zero",
        _zero: "0 (zero)",
        _absent: "absent (not subject to VAT)",
        _non_negative: "0 (zero) or greater than zero",
    }
    rate_word = words[f.rate_ok]
    reason = "shall have" if f.needs_reason else "shall not have"
    o_input = cat == "O"  # a rate for O is dropped by the renderer; judged as sent

    uses = uses_category(cat)

    def mk(
        rid: str,
        sev: Severity,
        msg: str,
        check: Callable[[Context], Iterator[str]],
        bt: str,
        *,
        on_input: bool = False,
    ) -> Rule:
        return Rule(
            rid,
            sev,
            msg,
            check,
            bt,
            on_input=on_input,
            when=uses,
        )

    return (
        mk(f"{p}-01", Severity.FATAL, f"An Invoice that contains an item, an allowance or a charge where the VAT category code is {label} shall contain {'exactly one' if f.single_breakdown else 'at least one'} VAT breakdown (BG-23) with that VAT category code.", r01, "BG-23"),
        mk(f"{p}-02", Severity.FATAL, f"An Invoice that contains an Invoice line where the Invoiced item VAT category code (BT-151) is {label} shall meet the seller/buyer VAT identifier requirements of that category.", r02, "BT-31"),
        mk(f"{p}-03", Severity.FATAL, f"An Invoice that contains a Document level allowance where the VAT category code (BT-95) is {label} shall meet the seller/buyer VAT identifier requirements of that category.", r0ac(False), "BT-31"),
        mk(f"{p}-04", Severity.FATAL, f"An Invoice that contains a Document level charge where the VAT category code (BT-102) is {label} shall meet the seller/buyer VAT identifier requirements of that category.", r0ac(True), "BT-31"),
        mk(f"{p}-05", Severity.FATAL, f"In an Invoice line where the Invoiced item VAT category code (BT-151) is {label} the Invoiced item VAT rate (BT-152) shall be {rate_word}.", _o_input_rate("line") if o_input else r05, "BT-152", on_input=o_input),
        mk(f"{p}-06", Severity.FATAL, f"In a Document level allowance where the Document level allowance VAT category code (BT-95) is {label} the Document level allowance VAT rate (BT-96) shall be {rate_word}.", _o_input_rate("allowances") if o_input else r0ac_rate(False), "BT-96", on_input=o_input),
        mk(f"{p}-07", Severity.FATAL, f"In a Document level charge where the Document level charge VAT category code (BT-102) is {label} the Document level charge VAT rate (BT-103) shall be {rate_word}.", _o_input_rate("charges") if o_input else r0ac_rate(True), "BT-103", on_input=o_input),
        mk(f"{p}-08", Severity.FATAL, f"For each different value of VAT category rate (BT-119) where the VAT category code (BT-118) is {label}, the VAT category taxable amount (BT-116) shall equal the sum of Invoice line net amounts plus charges minus allowances of that category and rate.", r08, "BT-116"),
        mk(f"{p}-09", Severity.FATAL, f"The VAT category tax amount (BT-117) in a VAT breakdown (BG-23) where the VAT category code (BT-118) is {label} shall {'equal the taxable amount multiplied by the rate' if f.per_rate else 'be 0 (zero)'}.", r09, "BT-117"),
        mk(f"{p}-10", Severity.FATAL, f"A VAT breakdown (BG-23) with VAT category code (BT-118) {label} {reason} a VAT exemption reason code (BT-121) or VAT exemption reason text (BT-120).", r10, "BT-120"),
    )  # fmt: skip


def _o_input_rate(where: str) -> Callable[[Context], Iterator[str]]:
    def check(ctx: Context) -> Iterator[str]:
        if where == "line":
            for i, li in enumerate(ctx.invoice.line_items):
                if li.tax_category == "O" and li.tax_rate is not None:
                    yield ctx.at("line_items", i, "tax_rate")
        else:
            for j, ac in enumerate(getattr(ctx.invoice, where)):
                if ac.tax_category == "O" and ac.tax_rate is not None:
                    yield ctx.at(where, j, "tax_rate")

    return check


def _party_pointer(ctx: Context, f: Family) -> str:
    if f.category == "O":
        if vat_id(ctx.seller):
            return f"{ctx.seller_ptr}/vat_id"
        if representative_vat_id(ctx.invoice):
            return ctx.at("tax_representative", "vat_id")
        return f"{ctx.buyer_ptr}/vat_id"
    seller_ok = _seller_vat(ctx) if f.category in ("K", "G") else _seller_any(ctx)
    return f"{ctx.seller_ptr}/vat_id" if not seller_ok else f"{ctx.buyer_ptr}/vat_id"


def _category_sum(ctx: Context, cat: str, rate: Decimal | None) -> Decimal:
    """Σ line nets + Σ charges − Σ allowances written with this category (and rate)."""
    total = ZERO
    lines = ctx.totals.lines if ctx.totals else []
    for (c, r), lt in zip(ctx.line_categories, lines, strict=True):
        if c == cat and (rate is None or r == rate):
            total += lt.net_amount
    for ac in ctx.doc_acs:
        if ac.category == cat and (rate is None or ac.rate == rate):
            total += ac.amount if ac.charge else -ac.amount
    return total


def _breakdown_has(ctx: Context, cat: str) -> bool:
    return ctx.totals is not None and any(b.category == cat for b in ctx.totals.breakdown)


def _ic_11(ctx: Context) -> Iterator[str]:
    if not _breakdown_has(ctx, "K"):
        return
    d, p = ctx.invoice.delivery, ctx.invoice.invoicing_period
    period_written = p is not None and (p.start_date or p.end_date or present(p.description_code))
    if not ((d is not None and d.date is not None) or period_written):
        yield ctx.at("delivery", "date") if d is not None else ctx.at("delivery")


def _ic_12(ctx: Context) -> Iterator[str]:
    d = ctx.invoice.delivery
    if _breakdown_has(ctx, "K") and not (d is not None and d.address is not None):
        yield ctx.at("delivery", "address")


def _o_11(ctx: Context) -> Iterator[str]:
    if _breakdown_has(ctx, "O") and ctx.totals and any(b.category != "O" for b in ctx.totals.breakdown):
        yield ctx.at("line_items")


def _o_12(ctx: Context) -> Iterator[str]:
    if _breakdown_has(ctx, "O"):
        for i, (c, _) in enumerate(ctx.line_categories):
            if c != "O":
                yield ctx.at("line_items", i, "tax_category")


def _o_ac(charge: bool) -> Callable[[Context], Iterator[str]]:
    def check(ctx: Context) -> Iterator[str]:
        if _breakdown_has(ctx, "O"):
            for ac in ctx.doc_acs:
                if ac.charge is charge and ac.category is not None and ac.category != "O":
                    yield ctx.at(ac.pointer_name, ac.position, "tax_category")

    return check


def _b_used(ctx: Context) -> bool:
    return "B" in ctx.all_categories


def _b_01(ctx: Context) -> Iterator[str]:
    """Split payment (B) is Italian only: every country code in the invoice must be IT."""
    if not _b_used(ctx):
        return
    codes = []
    if ctx.seller:
        codes.append(ctx.seller.address.country)
    if ctx.buyer:
        codes.append(ctx.buyer.address.country)
    d = ctx.invoice.delivery
    if d and d.address:
        codes.append(d.address.country)
    if ctx.invoice.tax_representative is not None:
        codes.append(ctx.invoice.tax_representative.address.country)
    codes += [li.item.origin_country for li in ctx.invoice.line_items if li.item.origin_country]
    if any(c != "IT" for c in codes):
        yield ctx.category_pointer("B", "tax_category")


def _b_02(ctx: Context) -> Iterator[str]:
    if _b_used(ctx) and "S" in ctx.all_categories:
        yield ctx.category_pointer("B", "tax_category")


RULES: tuple[Rule, ...] = (
    *(r for f in FAMILIES for r in _rules(f)),
    Rule("BR-IC-11", Severity.FATAL, "In an Invoice with a VAT breakdown (BG-23) where the VAT category code (BT-118) is 'Intra-community supply' the Actual delivery date (BT-72) or the Invoicing period (BG-14) shall not be blank.", _ic_11, "BT-72", "MISSING_REQUIRED_FIELD", when=uses_category("K")),
    Rule("BR-IC-12", Severity.FATAL, "In an Invoice with a VAT breakdown (BG-23) where the VAT category code (BT-118) is 'Intra-community supply' the Deliver to country code (BT-80) shall not be blank.", _ic_12, "BT-80", "MISSING_REQUIRED_FIELD", when=uses_category("K")),
    Rule("BR-O-11", Severity.FATAL, "An Invoice that contains a VAT breakdown group (BG-23) with a VAT category code (BT-118) 'Not subject to VAT' shall not contain other VAT breakdown groups (BG-23).", _o_11, "BG-23", when=uses_category("O")),
    Rule("BR-O-12", Severity.FATAL, "An Invoice that contains a VAT breakdown group (BG-23) with a VAT category code (BT-118) 'Not subject to VAT' shall not contain an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is not 'Not subject to VAT'.", _o_12, "BT-151", when=uses_category("O")),
    Rule("BR-O-13", Severity.FATAL, "An Invoice that contains a VAT breakdown group (BG-23) with a VAT category code (BT-118) 'Not subject to VAT' shall not contain Document level allowances (BG-20) where Document level allowance VAT category code (BT-95) is not 'Not subject to VAT'.", _o_ac(False), "BT-95", when=uses_category("O")),
    Rule("BR-O-14", Severity.FATAL, "An Invoice that contains a VAT breakdown group (BG-23) with a VAT category code (BT-118) 'Not subject to VAT' shall not contain Document level charges (BG-21) where Document level charge VAT category code (BT-102) is not 'Not subject to VAT'.", _o_ac(True), "BT-102", when=uses_category("O")),
    Rule("BR-B-01", Severity.FATAL, "An Invoice where the VAT category code (BT-151, BT-95 or BT-102) is 'Split payment' shall be a domestic Italian invoice.", _b_01, "BT-151", when=uses_category("B")),
    Rule("BR-B-02", Severity.FATAL, "An Invoice with a VAT category code 'Split payment' shall not contain the VAT category code 'Standard rated'.", _b_02, "BT-151", when=uses_category("B")),
)  # fmt: skip


_FAMILY = {f.category: f for f in FAMILIES}


def family_parties_irregular(ctx: Context) -> bool:
    """Screen of the families' -02/-03/-04: a category in use whose seller/buyer VAT
    identifier requirements are not met."""
    asked: set[object] = set()  # S, Z, E, L and M share one requirement: ask it once
    for cat in ctx.all_categories:
        f = _FAMILY.get(cat)
        if f is not None and f.parties_ok not in asked:
            if not f.parties_ok(ctx):
                return True
            asked.add(f.parties_ok)
    return False


def rates_irregular(ctx: Context) -> bool:
    """Screen of the families' -05/-06/-07: a line, allowance or charge whose rate fails its
    family's test (the O family judges the rate as sent: the renderer drops it)."""
    inv, t = ctx.invoice, ctx.totals
    if t is None:
        return True
    for li, lt in zip(inv.line_items, t.lines, strict=True):
        if _rate_fails(lt.tax_category, lt.tax_rate, li.tax_rate):
            return True
    for ac in (*inv.allowances, *inv.charges):
        cat = ac.tax_category
        if cat is not None and _rate_fails(cat, rate_key(cat, ac.tax_rate), ac.tax_rate):
            return True
    return False


def _rate_fails(category: str, written: Decimal | None, sent: Decimal | None) -> bool:
    f = _FAMILY.get(category)
    if f is None:
        return False
    return sent is not None if category == "O" else not f.rate_ok(written)


def exemption_irregular(ctx: Context) -> bool:
    """Screen of the families' -10: a breakdown with an exemption reason where its category
    forbids one, or without one where it needs one."""
    if ctx.totals is None:
        return True
    for b in ctx.totals.breakdown:
        f = _FAMILY.get(b.category)
        if (
            f is not None
            and (present(b.exemption_reason) or present(b.exemption_reason_code)) != f.needs_reason
        ):
            return True
    return False


def not_subject_mixed(ctx: Context) -> bool:
    """Screen of BR-O-11..14: 'Not subject to VAT' next to another category."""
    cats = ctx.all_categories
    return "O" in cats and len(cats) > 1


def intra_community_undelivered(ctx: Context) -> bool:
    """Screen of BR-IC-11/12: an intra-community supply without a delivery address, or without
    a delivery date or an invoicing period."""
    d, p = ctx.invoice.delivery, ctx.invoice.invoicing_period
    period_written = p is not None and (
        p.start_date is not None or p.end_date is not None or present(p.description_code)
    )
    return d is None or d.address is None or (d.date is None and not period_written)


RULES = screened(RULES, {
    **{f"BR-O-{n}": not_subject_mixed for n in (11, 12, 13, 14)},
    **{f"BR-IC-{n}": intra_community_undelivered for n in (11, 12)},
    **{
        f"{f.prefix}-{n}": screen
        for f in FAMILIES
        for n, screen in (
            ("01", breakdown_irregular),
            ("05", rates_irregular),
            ("06", rates_irregular),
            ("07", rates_irregular),
            ("08", breakdown_irregular),
            ("09", tax_amounts_irregular),
            ("02", family_parties_irregular),
            ("03", family_parties_irregular),
            ("04", family_parties_irregular),
            ("10", exemption_irregular),
        )
    },
})  # fmt: skip
