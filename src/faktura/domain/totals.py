"""The EN 16931 calculation model: "the system owns the math".

Every total is computed here from the lines, allowances and charges, so BR-CO-10..16 hold
by construction on what we render. Totals a client sends are compared with these, never
trusted. Pure functions over the input model; no I/O.

    line net (BT-131) = round(quantity × price / base quantity) − Σ line allowances + Σ line charges
    BT-106 = Σ BT-131;  BT-109 = BT-106 − BT-107 + BT-108
    per VAT (category, rate): taxable = Σ line nets + charges − allowances; tax = round(taxable × rate)
    BT-110 = Σ breakdown tax; BT-112 = BT-109 + BT-110; BT-115 = BT-112 − BT-113 + BT-114
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from faktura.domain.invoice import AllowanceCharge, InvoiceInput, LineItem
from faktura.domain.money import HUNDRED, ZERO, dsum, percent_of, round2

#: Categories whose VAT amount is always zero (BR-Z/E/AE/K/G/O-*).
ZERO_TAX_CATEGORIES = frozenset({"Z", "E", "AE", "K", "G", "O"})
#: Categories that carry no rate at all (BR-O-05 ... BR-O-08).
NO_RATE_CATEGORIES = frozenset({"O"})
PRICE_DECIMALS = Decimal("0.00000001")


class ResolvedAllowanceCharge(msgspec.Struct, kw_only=True):
    """An allowance or charge with its amount worked out (percentage × base when needed)."""

    charge: bool
    amount: Decimal
    base_amount: Decimal | None
    percentage: Decimal | None
    reason: str | None
    reason_code: str | None
    tax_category: str | None = None
    tax_rate: Decimal | None = None


class LineTotals(msgspec.Struct, kw_only=True):
    net_price: Decimal  # BT-146, net of VAT, after any inclusive-of-tax conversion
    base_quantity: Decimal | None
    net_amount: Decimal  # BT-131
    allowances: list[ResolvedAllowanceCharge]
    charges: list[ResolvedAllowanceCharge]
    tax_category: str
    tax_rate: Decimal | None


class TaxSubtotal(msgspec.Struct, kw_only=True):
    """BG-23 VAT breakdown, one per (category, rate)."""

    category: str
    rate: Decimal | None
    taxable_amount: Decimal  # BT-116
    tax_amount: Decimal  # BT-117
    exemption_reason: str | None = None  # BT-120
    exemption_reason_code: str | None = None  # BT-121


class Totals(msgspec.Struct, kw_only=True):
    lines: list[LineTotals]
    allowances: list[ResolvedAllowanceCharge]
    charges: list[ResolvedAllowanceCharge]
    breakdown: list[TaxSubtotal]
    line_extension_amount: Decimal  # BT-106
    allowance_total: Decimal  # BT-107
    charge_total: Decimal  # BT-108
    tax_exclusive_amount: Decimal  # BT-109
    tax_amount: Decimal  # BT-110
    tax_inclusive_amount: Decimal  # BT-112
    prepaid_amount: Decimal  # BT-113
    rounding_amount: Decimal  # BT-114
    payable_amount: Decimal  # BT-115
    tax_amount_in_tax_currency: Decimal | None = None  # BT-111


def rate_key(category: str, rate: Decimal | None) -> Decimal | None:
    """The breakdown key's rate: none for 'O', zero for other zero-tax categories when absent."""
    if rate is None or category in NO_RATE_CATEGORIES:
        return _rate_key(category, rate)
    key = (category, rate)  # equal rates (19, 19.00) hash alike and share their key
    try:
        return _RATE_KEYS[key]
    except KeyError:
        pass
    except TypeError:  # a NaN: not hashable
        return _rate_key(category, rate)
    if len(_RATE_KEYS) > 4096:
        _RATE_KEYS.clear()  # client-chosen rates: keep the memo bounded
    value = _RATE_KEYS[key] = _rate_key(category, rate)
    return value


_RATE_KEYS: dict[tuple[str, Decimal], Decimal | None] = {}


def _rate_key(category: str, rate: Decimal | None) -> Decimal | None:
    if category in NO_RATE_CATEGORIES:
        return None
    if rate is None:
        return ZERO if category in ZERO_TAX_CATEGORIES else None
    if rate == 0:
        return ZERO
    plain = rate.normalize()  # 19.00 and 19 are one breakdown; keep 20, not 2E+1
    return plain.quantize(Decimal(1)) if plain.as_tuple().exponent > 0 else plain  # type: ignore[operator]


def _resolve(ac: AllowanceCharge, *, charge: bool, default_base: Decimal) -> ResolvedAllowanceCharge:
    base = ac.base_amount
    if ac.amount is not None:
        amount = round2(ac.amount)
    elif ac.percentage is not None:
        base = base if base is not None else default_base
        amount = percent_of(base, ac.percentage)
    else:
        amount = ZERO
    if ac.percentage is not None and base is None:
        base = default_base
    return ResolvedAllowanceCharge(
        charge=charge,
        amount=amount,
        base_amount=round2(base) if base is not None else None,
        percentage=ac.percentage,
        reason=ac.reason,
        reason_code=ac.reason_code,
        tax_category=ac.tax_category,
        tax_rate=ac.tax_rate,
    )


def net_unit_price(line: LineItem, inclusive_of_tax: bool) -> Decimal:
    """BT-146. With `inclusive_of_tax` the client's price includes VAT at the line's rate;
    the net price is carried to 8 decimals so that quantity × price rounds back exactly."""
    if not inclusive_of_tax or line.tax_rate is None or line.tax_category in ZERO_TAX_CATEGORIES:
        return line.unit_price
    return (line.unit_price / (1 + line.tax_rate / HUNDRED)).quantize(PRICE_DECIMALS)


def line_totals(line: LineItem, inclusive_of_tax: bool = False) -> LineTotals:
    price = net_unit_price(line, inclusive_of_tax) if inclusive_of_tax else line.unit_price
    base_qty = line.base_quantity
    # x / 1 is x, exponent and all: the division only when there is a base quantity
    gross = round2(line.quantity * price / base_qty if base_qty else line.quantity * price)
    if line.allowances or line.charges:
        allowances = [_resolve(a, charge=False, default_base=gross) for a in line.allowances]
        charges = [_resolve(c, charge=True, default_base=gross) for c in line.charges]
        net = gross - dsum(a.amount for a in allowances) + dsum(c.amount for c in charges)
    else:  # most lines: the same sum with nothing to take away or add (-0.00 becomes 0.00)
        allowances, charges, net = [], [], gross + ZERO
    return LineTotals(
        net_price=price,
        base_quantity=base_qty,
        net_amount=net,
        allowances=allowances,
        charges=charges,
        tax_category=line.tax_category,
        tax_rate=rate_key(line.tax_category, line.tax_rate),
    )


Key = tuple[str, Decimal | None]


def compute(invoice: InvoiceInput) -> Totals:
    """All EN 16931 totals of an invoice, exactly. (Written out rather than composed from small
    helpers: it runs on every check and every issue.)"""
    inclusive = invoice.inclusive_of_tax
    lines = [line_totals(li, inclusive) for li in invoice.line_items]
    line_sum = ZERO
    for lt in lines:
        line_sum += lt.net_amount
    allowances = [_resolve(a, charge=False, default_base=line_sum) for a in invoice.allowances]
    charges = [_resolve(c, charge=True, default_base=line_sum) for c in invoice.charges]

    groups: dict[Key, Decimal] = {}
    reasons: dict[Key, tuple[str | None, str | None]] = {}

    def add(key: Key, amount: Decimal, reason: tuple[str | None, str | None]) -> None:
        groups[key] = groups.get(key, ZERO) + amount
        if key not in reasons or reasons[key] == (None, None):
            reasons[key] = reason

    for li, lt in zip(invoice.line_items, lines, strict=True):
        # the line's rate is already its breakdown key (`rate_key` is idempotent)
        add(
            (lt.tax_category, lt.tax_rate),
            lt.net_amount,
            (li.tax_exemption_reason, li.tax_exemption_reason_code),
        )
    for src, res in zip(invoice.allowances, allowances, strict=True):
        cat = src.tax_category or "S"
        add(
            (cat, rate_key(cat, src.tax_rate)),
            -res.amount,
            (src.tax_exemption_reason, src.tax_exemption_reason_code),
        )
    for src, res in zip(invoice.charges, charges, strict=True):
        cat = src.tax_category or "S"
        add(
            (cat, rate_key(cat, src.tax_rate)),
            res.amount,
            (src.tax_exemption_reason, src.tax_exemption_reason_code),
        )

    breakdown = []
    tax_amount = ZERO
    for (category, rate), taxable in groups.items():
        tax = ZERO if category in ZERO_TAX_CATEGORIES or rate is None else round2(taxable * rate / HUNDRED)
        tax_amount += tax
        reason, code = reasons[(category, rate)]
        breakdown.append(
            TaxSubtotal(
                category=category,
                rate=rate,
                taxable_amount=taxable,
                tax_amount=tax,
                exemption_reason=reason,
                exemption_reason_code=code,
            )
        )

    allowance_total = dsum(a.amount for a in allowances)
    charge_total = dsum(c.amount for c in charges)
    tax_exclusive = line_sum - allowance_total + charge_total
    tax_inclusive = tax_exclusive + tax_amount
    prepaid = round2(invoice.prepaid_amount) if invoice.prepaid_amount is not None else ZERO
    rounding = round2(invoice.rounding_amount) if invoice.rounding_amount is not None else ZERO

    tax_in_tax_currency = None
    if invoice.tax_currency and invoice.tax_currency != (invoice.currency or invoice.tax_currency):
        if invoice.tax_currency_total_tax_amount is not None:
            tax_in_tax_currency = round2(invoice.tax_currency_total_tax_amount)
        elif invoice.exchange_rate is not None:
            tax_in_tax_currency = round2(tax_amount * invoice.exchange_rate)

    return Totals(
        lines=lines,
        allowances=allowances,
        charges=charges,
        breakdown=breakdown,
        line_extension_amount=line_sum,
        allowance_total=allowance_total,
        charge_total=charge_total,
        tax_exclusive_amount=tax_exclusive,
        tax_amount=tax_amount,
        tax_inclusive_amount=tax_inclusive,
        prepaid_amount=prepaid,
        rounding_amount=rounding,
        payable_amount=tax_inclusive - prepaid + rounding,
        tax_amount_in_tax_currency=tax_in_tax_currency,
    )
