"""The rule engine: rules as data, a context over the request, every rule run, every finding kept.

A `Rule` is the official id, the severity of its official `flag`, the official message, the
EN 16931 business term and a small named predicate. The predicate takes a `Context` and
yields JSON Pointers into the request: one finding per pointer. Rules evaluate the request
model, the resolved parties and the computed totals, never XML; `Context` offers the few
views of them that the official Schematron's XPath looks at (the VAT category and rate each
line, allowance and charge will carry, the breakdown).

`on_input` marks rules that judge a value as the client sent it, where our renderer would
normalise it away (an amount with three decimals is written rounded; a declared total is
not written at all). The Schematron cannot see those on our XML, so the differential test
compares only the other rules, and `docs/compliance.md` says so per rule.

Two kinds of guard keep rules that cannot fire off the hot path. `when` is a rule's own
precondition (a national block's countries, a VAT category in use). `screen` is an
optimisation only: one fast pass over a part of the request (`faktura.compliance.screens`)
that answers for a whole group of rules whether any of them might fire. `plan` groups rules
by screen, then by precondition; `run_plan` asks each once per request.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic, NamedTuple, TypeVar

import msgspec

from faktura.compliance.findings import Finding, Severity
from faktura.domain.invoice import AllowanceCharge, InvoiceInput, Party
from faktura.domain.totals import Totals, rate_key

T = TypeVar("T")
Check = Callable[["Context"], Iterable[str]]
#: where a value sits: a whole pointer, or the path `Context.at` turns into one. Rules that scan
#: many values pass paths and build the pointer only for the values that fail.
Where = str | tuple[str | int, ...]

MISSING_PROBLEM = "MISSING_REQUIRED_FIELD"
TOTAL_PROBLEM = "TOTAL_MISMATCH"


@dataclass(frozen=True, slots=True)
class Rule:
    """One official (or `FK-*`) rule: identity and wording as data, the test as a function."""

    id: str
    severity: Severity
    message: str
    check: Check
    bt: str | None = None
    problem_type: str = "INVALID_FIELD"
    on_input: bool = False
    #: cheap precondition (a country, a VAT category in use): when false the rule cannot fire
    when: Callable[[Context], bool] | None = None
    #: a fast test over a whole part of the request that rules out this rule (and the others
    #: sharing the screen) on most requests: false means the rule cannot fire. Purely an
    #: optimisation; `tests/test_screens.py` checks that findings are the same without screens
    screen: Callable[[Context], bool] | None = None

    @property
    def title(self) -> str:
        return {
            MISSING_PROBLEM: "Missing Required Field",
            TOTAL_PROBLEM: "Total Mismatch",
        }.get(self.problem_type, "Invalid Field" if self.severity is Severity.FATAL else "Warning")


@dataclass(frozen=True, slots=True, eq=False)  # identity: hashable, one object per rule set
class RuleSet:
    """The rules of one specification (or one national block of it), with its version."""

    name: str
    version: str
    source: str  # "en16931", "peppol", "xrechnung", "faktura": which official set the ids belong to
    rules: tuple[Rule, ...]
    #: official ids this set deliberately does not evaluate natively, with the reason
    not_applicable: dict[str, str] = field(default_factory=dict)


def rule(
    id: str,
    message: str,
    *,
    bt: str | None = None,
    severity: Severity = Severity.FATAL,
    problem_type: str = "INVALID_FIELD",
    on_input: bool = False,
    when: Callable[[Context], bool] | None = None,
) -> Callable[[Check], Rule]:
    """Decorator: a named predicate becomes a `Rule` (the function's docstring quotes the spec)."""

    def wrap(fn: Check) -> Rule:
        return Rule(id, severity, message, fn, bt, problem_type, on_input, when)

    return wrap


def required(
    id: str,
    message: str,
    pointer_of: Callable[[Context], str | None],
    bt: str | None = None,
    *,
    when: Callable[[Context], bool] | None = None,
) -> Rule:
    """A required-field row: `pointer_of` returns the pointer of the missing field, or None."""

    def check(ctx: Context) -> Iterable[str]:
        p = pointer_of(ctx)
        return (p,) if p is not None else ()

    return Rule(id, Severity.FATAL, message, check, bt, MISSING_PROBLEM, when=when)


class DocAllowanceCharge(NamedTuple):
    """A document-level allowance or charge as it will be written (BG-20 / BG-21). A named
    tuple: built for every allowance of every checked invoice, it must be cheap to make."""

    position: int  # in `allowances` or `charges`
    charge: bool
    source: AllowanceCharge
    amount: Decimal
    base_amount: Decimal | None
    category: str | None  # None: no cac:TaxCategory is written
    rate: Decimal | None

    @property
    def pointer_name(self) -> str:
        return "charges" if self.charge else "allowances"


class cached_property(Generic[T]):
    """`functools.cached_property` without its lock (3.11 takes one on every first access):
    a context belongs to one check in one thread, and its views are read on every request."""

    def __init__(self, fn: Callable[[Any], T]) -> None:
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    def __get__(self, obj: Any, owner: Any = None) -> T:
        if obj is None:
            return self  # type: ignore[return-value]
        value = obj.__dict__[self.name] = self.fn(obj)
        return value


class Context:
    """What the rules look at: the request, its parties, its totals, and the pointers to them."""

    def __init__(
        self,
        invoice: InvoiceInput,
        *,
        seller: Party | None,
        buyer: Party | None,
        totals: Totals | None,
        profile: str,
        base: str = "/model",
        buyer_pointer: str = "/model/buyer",
        seller_pointer: str = "/tenant",
        encoded: tuple[bytes | None, bytes | None, bytes | None] | None = None,
    ) -> None:
        self.invoice = invoice
        self.seller = seller
        self.buyer = buyer
        self.totals = totals
        self.profile = profile
        self.base = base
        self.buyer_ptr = buyer_pointer
        self.seller_ptr = seller_pointer
        #: values rule modules derive from the request, computed once per check (`memo`)
        self.views: dict[str, Any] = {}
        #: the JSON of (invoice, seller, buyer) when the caller already encoded it
        self._encoded = encoded
        # views every other rule reads, computed once (plain attributes are the cheapest read)
        self.credit_note = invoice.document_type == "CREDIT_NOTE"
        self.currency = invoice.currency or "EUR"
        self.type_code = invoice.type_code or ("381" if self.credit_note else "380")
        self.seller_country = seller.address.country if seller else None
        self.buyer_country = buyer.address.country if buyer else None

    def at(self, *parts: str | int) -> str:
        """Pointer into the request; it stops at the first member the request does not have
        (a finding about `delivery/date` of an invoice without `delivery` points at `delivery`)."""
        node: Any = self.invoice
        out = self.base
        for p in parts:
            out += f"/{p}"
            if isinstance(p, int):
                node = node[p] if isinstance(node, list) and p < len(node) else None
            else:
                node = getattr(node, p, None)
            if node is None:
                break
        return out

    def category_pointer(self, category: str, field: str) -> str:
        """Where a finding about a VAT category (a breakdown, a family rule) points: the first
        line in that category, else the first document allowance/charge (no category is S)."""
        for i, (c, _) in enumerate(self.line_categories):
            if c == category:
                return self.at("line_items", i, field)
        for ac in self.doc_acs:
            if (ac.category or "S") == category:
                return self.at(ac.pointer_name, ac.position, field)
        return self.at("line_items")

    def ptr(self, where: Where) -> str:
        return where if isinstance(where, str) else self.at(*where)

    @cached_property
    def doc_acs(self) -> list[DocAllowanceCharge]:
        out: list[DocAllowanceCharge] = []
        if self.totals is None or not (self.invoice.allowances or self.invoice.charges):
            return out
        for charge, sources, resolved in (
            (False, self.invoice.allowances, self.totals.allowances),
            (True, self.invoice.charges, self.totals.charges),
        ):
            for i, (src, res) in enumerate(zip(sources, resolved, strict=True)):
                cat = src.tax_category
                out.append(
                    DocAllowanceCharge(
                        i,
                        charge,
                        src,
                        res.amount,
                        res.base_amount,
                        cat,
                        rate_key(cat, src.tax_rate) if cat else None,
                    )
                )
        return out

    @cached_property
    def line_categories(self) -> list[tuple[str, Decimal | None]]:
        """(BT-151, BT-152) per line, as written (the totals already resolved each rate)."""
        if self.totals is not None:
            return [(lt.tax_category, lt.tax_rate) for lt in self.totals.lines]
        return [(li.tax_category, rate_key(li.tax_category, li.tax_rate)) for li in self.invoice.line_items]

    @cached_property
    def all_categories(self) -> set[str]:
        """Every VAT category the document names: lines, allowances, charges, breakdown. With
        totals that is the breakdown's: it has a group for every line's category and every
        allowance's and charge's (S for those without one)."""
        inv, totals = self.invoice, self.totals
        if totals is not None:
            return {b.category for b in totals.breakdown}
        cats = {li.tax_category for li in inv.line_items}
        if inv.allowances or inv.charges:
            cats.update([ac.tax_category for ac in (*inv.allowances, *inv.charges) if ac.tax_category])
        return cats

    def encoded(self) -> tuple[bytes | None, bytes | None, bytes | None]:
        """The request, seller and buyer as JSON bytes, for byte-level scans (empty: absent;
        None: not encodable)."""
        if self._encoded is None:
            self._encoded = (_json(self.invoice), _json(self.seller), _json(self.buyer))
        return self._encoded

    def memo(self, key: str, make: Callable[[], Any]) -> Any:
        """A value several rules derive from the request, computed once per check."""
        try:
            return self.views[key]
        except KeyError:
            value = self.views[key] = make()
            return value

    @cached_property
    def line_acs(self) -> bool:
        """Any line-level allowance or charge (BG-27 / BG-28)."""
        return any(li.allowances or li.charges for li in self.invoice.line_items)


# Shared preconditions (`Rule.when`): module-level functions, so that neighbouring rules with the
# same one form one group in `plan`.


def has_document_acs(ctx: Context) -> bool:
    """Document-level allowances or charges (BG-20 / BG-21)."""
    return bool(ctx.invoice.allowances or ctx.invoice.charges)


def has_line_acs(ctx: Context) -> bool:
    return ctx.line_acs


def has_any_acs(ctx: Context) -> bool:
    return bool(ctx.invoice.allowances or ctx.invoice.charges) or ctx.line_acs


def declares_line_totals(ctx: Context) -> bool:
    """A line net amount (BT-131) declared by the client, to be compared with ours."""
    return any(li.total_amount is not None for li in ctx.invoice.line_items)


#: the optional members of the document `sends` can ask about (the details of lines and items
#: have a screen of their own, `screens.details_irregular`)
DOCUMENT_MEMBERS = frozenset([
    "payee", "tax_representative", "tax_point_date", "tax_currency", "sub_total", "total_discount",
    "total_tax_amount", "total_amount", "tax_currency_total_tax_amount", "prepaid_amount",
    "rounding_amount",
])  # fmt: skip


@functools.cache
def sends(member: str) -> Callable[[Context], bool]:
    """Screen: the request gives the optional member `member` somewhere (a payee, an
    invoicing period, an item attribute): a rule that reads only that member cannot fire
    without it. One function object per member, so that `plan` groups all rules about it."""
    if member not in DOCUMENT_MEMBERS:
        raise ValueError(f"{member!r} is not an optional member of the document")

    def guard(ctx: Context) -> bool:
        return getattr(ctx.invoice, member) is not None

    guard.__name__ = f"sends_{member}"
    _MEMBER_OF[guard] = member  # `run_plan` tests it inline, without the call
    return guard


_MEMBER_OF: dict[Callable[[Context], bool], str] = {}


def screened(rules: tuple[Rule, ...], screens: dict[str, Callable[[Context], bool]]) -> tuple[Rule, ...]:
    """`rules` with the screens of `screens` (rule id -> screen) attached: a module's screens as
    one table next to its rules."""
    unknown = screens.keys() - {r.id for r in rules}
    if unknown:
        raise ValueError(f"screens for unknown rules: {sorted(unknown)}")
    return tuple(dataclasses.replace(r, screen=screens[r.id]) if r.id in screens else r for r in rules)


def _json(value: Any) -> bytes | None:
    """JSON bytes (empty for an absent part), or None when the value cannot be encoded."""
    try:
        return b"" if value is None else msgspec.json.encode(value)
    except UnicodeEncodeError:
        return None


@functools.lru_cache(maxsize=32)
def flatten(
    rule_sets: tuple[RuleSet, ...], overrides: tuple[tuple[str, Severity], ...] = ()
) -> tuple[tuple[Rule, Severity], ...]:
    """Every rule once (a rule id two sets share, like the Peppol rules merged into XRechnung,
    runs once), with its effective severity."""
    levels = dict(overrides)
    seen: set[str] = set()
    out = []
    for rs in rule_sets:
        for r in rs.rules:
            if r.id not in seen:
                seen.add(r.id)
                out.append((r, levels.get(r.id, r.severity)))
    return tuple(out)


Guard = Callable[[Context], bool]
#: one rule as the run loop needs it: the rule, its effective severity, its title at that
#: severity and its position in the profile's rule order (findings are reported in that order)
Step = tuple[Rule, Severity, str, int]
#: rules grouped by screen (with the optional member a `sends` screen asks about), and within it
#: by precondition: (screen, member, ((when, steps), …)), …
Plan = tuple[tuple[Guard | None, str | None, tuple[tuple[Guard | None, tuple[Step, ...]], ...]], ...]


@functools.lru_cache(maxsize=32)
def plan(rule_sets: tuple[RuleSet, ...], overrides: tuple[tuple[str, Severity], ...] = ()) -> Plan:
    """`flatten`, with the rules that share a screen grouped under it and, within that, by
    precondition (a VAT category, a national block), wherever they stand in the rule order.
    A shut screen skips its rules wholesale, without asking their preconditions."""
    groups: dict[Guard | None, dict[Guard | None, list[Step]]] = {}
    for position, (r, severity) in enumerate(flatten(rule_sets, overrides)):
        title = r.title if severity is Severity.FATAL else "Warning"
        groups.setdefault(r.screen, {}).setdefault(r.when, []).append((r, severity, title, position))
    return tuple(
        (
            screen,
            _MEMBER_OF.get(screen) if screen is not None else None,
            tuple((when, tuple(steps)) for when, steps in whens.items()),
        )
        for screen, whens in groups.items()
    )


def unscreened(steps: Plan) -> Plan:
    """The same plan without its screens (every rule whose precondition holds runs)."""
    merged: dict[Guard | None, list[Step]] = {}
    for _, _, whens in steps:
        for when, rules in whens:
            merged.setdefault(when, []).extend(rules)
    return (
        (
            None,
            None,
            tuple((when, tuple(sorted(rules, key=lambda s: s[3]))) for when, rules in merged.items()),
        ),
    )


def run(
    rule_sets: Sequence[RuleSet], ctx: Context, overrides: dict[str, Severity] | None = None
) -> list[Finding]:
    """Every rule of every set over `ctx`; all findings, in rule order."""
    return run_plan(plan(tuple(rule_sets), tuple(sorted((overrides or {}).items()))), ctx)


def run_plan(steps: Plan, ctx: Context) -> list[Finding]:
    found: list[tuple[int, Finding]] = []
    holds: dict[Guard, bool] = {}  # a precondition shared by several screens is asked once
    invoice = ctx.invoice
    for screen, member, whens in steps:
        if member is not None:
            if getattr(invoice, member) is None:
                continue
        elif screen is not None and not screen(ctx):
            continue
        for when, rules in whens:
            if when is not None:
                ok = holds.get(when)
                if ok is None:
                    ok = holds[when] = when(ctx)
                if not ok:
                    continue
            for r, severity, title, position in rules:
                for ptr in r.check(ctx):
                    found.append(
                        (
                            position,
                            Finding(
                                rule_id=r.id,
                                severity=severity,
                                title=title,
                                detail=r.message,
                                pointer=ptr,
                                problem_type=r.problem_type,
                                business_term=r.bt,
                            ),
                        )
                    )
    if len(found) > 1:
        found.sort(key=_position)
    return [f for _, f in found]


def _position(item: tuple[int, Finding]) -> int:
    return item[0]
