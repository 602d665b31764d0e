"""Exact money: Decimal only, one rounding rule.

EN 16931 amounts carry at most two decimals (BR-DEC-*); the standard rounds half away
from zero ("commercial rounding"), which is Decimal's ROUND_HALF_UP.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

import msgspec
import msgspec.inspect as mi

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
    # str() is format(…, "f") whenever it writes no exponent, at a third of the cost
    text = str(value)
    if "E" in text:
        text = format(value, "f")
    return "0" if text in ("-0", "-0.00") and value == 0 else text


#: what a decimal may look like in a request: ASCII digits, an optional sign, point and exponent.
#: `Decimal()` itself also reads "NaN", "inf" and digits of any script ("１２", "٤٩"), which
#: neither EN 16931 nor a reader of the invoice would take for an amount.
_DECIMAL_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def unreadable_decimal(
    value: Any, raw: Any, path: tuple[str | int, ...] = ()
) -> tuple[str | int, ...] | None:
    """The path of the first decimal in a decoded struct tree that was not a plain finite number
    in the request (`raw`, the JSON it was converted from), or None when there is none."""
    if isinstance(value, Decimal):
        if not value.is_finite() or (isinstance(raw, str) and not _DECIMAL_TEXT.fullmatch(raw)):
            return path
    elif isinstance(value, msgspec.Struct):
        get = raw.get if isinstance(raw, dict) else (lambda _: None)
        for name in _decimal_fields(type(value)):
            child = getattr(value, name)
            if (
                child is not None
                and (found := unreadable_decimal(child, get(name), (*path, name))) is not None
            ):
                return found
    elif isinstance(value, list):
        items = raw if isinstance(raw, list) else [None] * len(value)
        for i, (v, r) in enumerate(zip(value, items, strict=False)):
            if (found := unreadable_decimal(v, r, (*path, i))) is not None:
                return found
    return None


@functools.cache
def _decimal_fields(cls: type[msgspec.Struct]) -> tuple[str, ...]:
    """The fields of `cls` whose value can hold a Decimal, in order: the others need no walk
    (a request's many text fields and parties; a ten-line invoice walks a fifth of its values)."""
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    return tuple(f.name for f in info.fields if _may_hold_decimal(f.type, set()))


#: types whose values hold no Decimal: everything else is walked
_SCALARS = (
    mi.StrType, mi.IntType, mi.FloatType, mi.BoolType, mi.NoneType, mi.BytesType, mi.DateType,
    mi.DateTimeType, mi.TimeType, mi.UUIDType, mi.EnumType, mi.LiteralType,
)  # fmt: skip


def _may_hold_decimal(t: mi.Type, seen: set[type]) -> bool:
    """`seen`: the structs being looked into, outermost first."""
    if isinstance(t, _SCALARS):
        return False
    if isinstance(t, mi.Metadata):
        return _may_hold_decimal(t.type, seen)
    if isinstance(t, mi.ListType):
        return _may_hold_decimal(t.item_type, seen)
    if isinstance(t, mi.UnionType):
        return any(_may_hold_decimal(member, seen) for member in t.types)
    if isinstance(t, mi.StructType):
        if t.cls in seen:  # a cycle: assume it may
            return True
        seen.add(t.cls)
        found = any(_may_hold_decimal(f.type, seen) for f in t.fields)
        seen.discard(t.cls)
        return found
    return True  # a Decimal, or anything this does not know


def decimal_text(value: Decimal) -> str:
    """Quantities, rates, percentages as every syntax writes them: the exact value without
    trailing zeros or exponent (the French rules count their decimals, BR-FR-DEC-*)."""
    return fmt(value.normalize()) if value != 0 else "0"


def price_text(value: Decimal) -> str:
    """Unit prices may carry more than two decimals (BT-146 is not an amount); never fewer."""
    normalized = value.normalize()
    exponent = normalized.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return fmt(normalized)
    return fmt(value.quantize(CENT))
