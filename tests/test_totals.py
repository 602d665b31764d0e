"""The EN 16931 totals engine against an independent oracle (exact fractions, rounding
written out by hand) on generated invoices, plus the rounding cases that bite in practice."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from faktura.domain.invoice import AllowanceCharge, InvoiceInput, Item, LineItem
from faktura.domain.money import fmt, round2
from faktura.domain.totals import compute


def oracle_round(x: Fraction) -> Fraction:
    """Half away from zero to cents, on exact rationals."""
    cents = abs(x) * 100
    whole = int(cents)
    if cents - whole >= Fraction(1, 2):
        whole += 1
    return Fraction(whole if x >= 0 else -whole, 100)


money = st.decimals(min_value=Decimal("0"), max_value=Decimal("5000"), places=2)
price = st.decimals(min_value=Decimal("0"), max_value=Decimal("999"), places=4)
qty = st.decimals(min_value=Decimal("-50"), max_value=Decimal("500"), places=3)
rate = st.sampled_from(
    [Decimal("19"), Decimal("7"), Decimal("21"), Decimal("5.5"), Decimal("25"), Decimal("0")]
)


@st.composite
def invoices(draw: st.DrawFn) -> InvoiceInput:
    lines = []
    for _ in range(draw(st.integers(1, 8))):
        r = draw(rate)
        allowances = [AllowanceCharge(amount=draw(money), reason="a") for _ in range(draw(st.integers(0, 2)))]
        charges = [
            AllowanceCharge(percentage=draw(st.decimals(0, 30, places=2)), reason="c")
            for _ in range(draw(st.integers(0, 1)))
        ]
        lines.append(
            LineItem(
                item=Item(name="x"),
                quantity=draw(qty),
                unit_price=draw(price),
                base_quantity=draw(st.sampled_from([None, Decimal("1"), Decimal("10"), Decimal("12")])),
                tax_category="S" if r else "Z",
                tax_rate=r,
                allowances=allowances,
                charges=charges,
            )
        )
    rates = sorted({(li.tax_category, li.tax_rate) for li in lines})
    doc_allow = [
        AllowanceCharge(amount=draw(money), reason="d", tax_category=cat, tax_rate=r)
        for cat, r in draw(st.lists(st.sampled_from(rates), max_size=2))
    ]
    return InvoiceInput(
        currency="EUR",
        line_items=lines,
        allowances=doc_allow,
        prepaid_amount=draw(st.one_of(st.none(), money)),
        rounding_amount=draw(st.one_of(st.none(), st.decimals(Decimal("-0.99"), Decimal("0.99"), places=2))),
    )


@settings(max_examples=300, deadline=None)
@given(invoices())
def test_totals_match_exact_oracle(inv: InvoiceInput) -> None:
    t = compute(inv)
    F = Fraction
    groups: dict[tuple[str, Decimal], Fraction] = {}
    line_sum = F(0)
    for li, lt in zip(inv.line_items, t.lines, strict=True):
        gross = oracle_round(F(li.quantity) * F(li.unit_price) / F(li.base_quantity or 1))
        net = gross - sum((oracle_round(F(a.amount)) for a in li.allowances), F(0))  # type: ignore[arg-type]
        net += sum((oracle_round(gross * F(c.percentage) / 100) for c in li.charges), F(0))  # type: ignore[arg-type]
        assert F(lt.net_amount) == net
        line_sum += net
        key = (li.tax_category, li.tax_rate.normalize() if li.tax_rate else Decimal(0))  # type: ignore[union-attr]
        groups[key] = groups.get(key, F(0)) + net
    allowances = F(0)
    for a in inv.allowances:
        allowances += F(a.amount)  # type: ignore[arg-type]
        key = (a.tax_category, a.tax_rate.normalize() if a.tax_rate else Decimal(0))  # type: ignore[arg-type, union-attr]
        groups[key] -= F(a.amount)  # type: ignore[arg-type]
    tax = sum((oracle_round(v * F(r) / 100) for (_, r), v in groups.items()), F(0))
    assert F(t.line_extension_amount) == line_sum
    assert F(t.allowance_total) == allowances
    assert F(t.tax_exclusive_amount) == line_sum - allowances
    assert F(t.tax_amount) == tax
    assert F(t.tax_inclusive_amount) == line_sum - allowances + tax
    assert F(t.payable_amount) == F(t.tax_inclusive_amount) - F(inv.prepaid_amount or 0) + F(
        inv.rounding_amount or 0
    )
    assert sum(F(b.taxable_amount) for b in t.breakdown) == F(t.tax_exclusive_amount)
    assert all(abs(v.as_tuple().exponent) <= 2 for v in (t.tax_amount, t.payable_amount))  # type: ignore[arg-type]


def test_rounding_half_away_from_zero() -> None:
    assert round2(Decimal("0.005")) == Decimal("0.01")
    assert round2(Decimal("-0.005")) == Decimal("-0.01")
    assert round2(Decimal("2.675")) == Decimal("2.68")  # a float would give 2.67


def test_thirds_and_per_breakdown_rounding() -> None:
    inv = InvoiceInput(
        line_items=[
            LineItem(
                item=Item(name="a"), quantity=Decimal(3), unit_price=Decimal("0.3333"), tax_rate=Decimal(19)
            ),
            LineItem(
                item=Item(name="b"), quantity=Decimal(1), unit_price=Decimal("0.05"), tax_rate=Decimal(19)
            ),
            LineItem(
                item=Item(name="c"), quantity=Decimal(1), unit_price=Decimal("0.05"), tax_rate=Decimal(19)
            ),
        ]
    )
    t = compute(inv)
    assert [lt.net_amount for lt in t.lines] == [Decimal("1.00"), Decimal("0.05"), Decimal("0.05")]
    # VAT is rounded once per breakdown (0.209 → 0.21), not per line (0.19 + 0.01 + 0.01)
    assert t.tax_amount == Decimal("0.21")
    assert t.payable_amount == Decimal("1.31")


def test_breakdown_keys_normalise_rates() -> None:
    inv = InvoiceInput(
        line_items=[
            LineItem(
                item=Item(name="a"), quantity=Decimal(1), unit_price=Decimal(10), tax_rate=Decimal("20.00")
            ),
            LineItem(
                item=Item(name="b"), quantity=Decimal(1), unit_price=Decimal(10), tax_rate=Decimal("20")
            ),
        ]
    )
    (b,) = compute(inv).breakdown
    assert str(b.rate) == "20" and b.taxable_amount == Decimal("20")


@settings(max_examples=500, deadline=None)
@given(
    st.decimals(allow_nan=False, allow_infinity=False)
    | st.from_regex(r"-?[0-9]{1,6}(\.[0-9]{0,9})?E[-+]?[0-9]{1,2}", fullmatch=True).map(Decimal)
)
def test_fmt_writes_plain_decimal_text(value: Decimal) -> None:
    """`fmt` is `format(value, "f")` (but -0 as 0): never an exponent."""
    text = format(value, "f")
    assert fmt(value) == ("0" if text in ("-0", "-0.00") and value == 0 else text)
