"""Exact money: Decimal only, one rounding rule.

EN 16931 amounts carry at most two decimals (BR-DEC-*); the standard rounds half away
from zero ("commercial rounding"), which is Decimal's ROUND_HALF_UP.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Context, Decimal

ZERO = Decimal("0")
HUNDRED = Decimal("100")
CENT = Decimal("0.01")


#: the default context's precision and traps with commercial rounding; its bound `quantize`
#: is four times cheaper than `Decimal.quantize(…, rounding=…)`, which parses a keyword
_QUANTIZE = Context(rounding=ROUND_HALF_UP).quantize


def round2(value: Decimal) -> Decimal:
    """Round to two decimals, half away from zero, as the EN 16931 rules assume."""
    return _QUANTIZE(value, CENT)


def dsum(values: Iterable[Decimal]) -> Decimal:
    """Sum that stays a Decimal (and exact) on an empty input."""
    total = ZERO
    for v in values:
        total += v
    return total


def percent_of(base: Decimal, percentage: Decimal) -> Decimal:
    return round2(base * percentage / HUNDRED)


def fmt(value: Decimal) -> str:
    """Plain decimal text (no exponent) for XML and JSON."""
    text = format(value, "f")
    return "0" if text in ("-0", "-0.00") and value == 0 else text
