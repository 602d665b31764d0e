"""EN 16931 decimals BR-DEC-*: amounts carry at most two decimals.

Every amount we compute is rounded to two decimals before it is written, so the rules on
computed amounts hold by construction. The amounts a client sends are checked as sent
(`on_input`): we do not round a client's money silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal

from faktura.compliance.engine import Context, Rule, Where, has_document_acs, has_line_acs, screened, sends
from faktura.compliance.findings import Severity
from faktura.compliance.screens import allowances_irregular
from faktura.domain.invoice import AllowanceCharge

COMPUTED = "holds by construction: a computed amount, written with two decimals"
NOT_APPLICABLE: dict[str, str] = {
    rid: COMPUTED
    for rid in ("BR-DEC-09", "BR-DEC-10", "BR-DEC-11", "BR-DEC-12", "BR-DEC-13", "BR-DEC-14", "BR-DEC-18",
                "BR-DEC-19", "BR-DEC-20", "BR-DEC-23")
}  # fmt: skip


def too_precise(value: Decimal | None) -> bool:
    return value is not None and value.is_finite() and value.as_tuple().exponent < -2  # type: ignore[operator]


def _dec(
    rid: str,
    label: str,
    values: Callable[[Context], Iterator[tuple[Where, Decimal | None]]],
    when: Callable[[Context], bool] | None = None,
) -> Rule:
    def check(ctx: Context) -> Iterator[str]:
        for where, value in values(ctx):
            if too_precise(value):
                yield ctx.ptr(where)

    bt = label.rsplit("(", 1)[1].rstrip(")")
    return Rule(
        rid,
        Severity.FATAL,
        f"The allowed maximum number of decimals for {label} is 2.",
        check,
        bt,
        on_input=True,
        when=when,
    )


def _doc(charge: bool, attr: str) -> Callable[[Context], Iterator[tuple[Where, Decimal | None]]]:
    def values(ctx: Context) -> Iterator[tuple[Where, Decimal | None]]:
        name = "charges" if charge else "allowances"
        for j, ac in enumerate(getattr(ctx.invoice, name)):
            yield (name, j, attr), getattr(ac, attr)

    return values


def _line(charge: bool, attr: str) -> Callable[[Context], Iterator[tuple[Where, Decimal | None]]]:
    def values(ctx: Context) -> Iterator[tuple[Where, Decimal | None]]:
        name = "charges" if charge else "allowances"
        for i, li in enumerate(ctx.invoice.line_items):
            acs: list[AllowanceCharge] = getattr(li, name)
            for j, ac in enumerate(acs):
                yield ("line_items", i, name, j, attr), getattr(ac, attr)

    return values


def _field(name: str) -> Callable[[Context], Iterator[tuple[Where, Decimal | None]]]:
    def values(ctx: Context) -> Iterator[tuple[Where, Decimal | None]]:
        yield (name,), getattr(ctx.invoice, name)

    return values


RULES: tuple[Rule, ...] = (
    _dec("BR-DEC-01", "the Document level allowance amount (BT-92)", _doc(False, "amount"), has_document_acs),
    _dec(
        "BR-DEC-02",
        "the Document level allowance base amount (BT-93)",
        _doc(False, "base_amount"),
        has_document_acs,
    ),
    _dec("BR-DEC-05", "the Document level charge amount (BT-99)", _doc(True, "amount"), has_document_acs),
    _dec(
        "BR-DEC-06",
        "the Document level charge base amount (BT-100)",
        _doc(True, "base_amount"),
        has_document_acs,
    ),
    _dec(
        "BR-DEC-15",
        "the Invoice total VAT amount in accounting currency (BT-111)",
        _field("tax_currency_total_tax_amount"),
    ),
    _dec("BR-DEC-16", "the Paid amount (BT-113)", _field("prepaid_amount")),
    _dec("BR-DEC-17", "the Rounding amount (BT-114)", _field("rounding_amount")),
    _dec("BR-DEC-24", "the Invoice line allowance amount (BT-136)", _line(False, "amount"), has_line_acs),
    _dec(
        "BR-DEC-25",
        "the Invoice line allowance base amount (BT-137)",
        _line(False, "base_amount"),
        has_line_acs,
    ),
    _dec("BR-DEC-27", "the Invoice line charge amount (BT-141)", _line(True, "amount"), has_line_acs),
    _dec(
        "BR-DEC-28", "the Invoice line charge base amount (BT-142)", _line(True, "base_amount"), has_line_acs
    ),
)

RULES = screened(RULES, {
    **{f"BR-DEC-{n:02d}": allowances_irregular for n in (1, 2, 5, 6, 24, 25, 27, 28)},
    "BR-DEC-15": sends("tax_currency_total_tax_amount"),
    "BR-DEC-16": sends("prepaid_amount"),
    "BR-DEC-17": sends("rounding_amount"),
})  # fmt: skip
