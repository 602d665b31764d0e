"""Screens are an optimisation only: with or without them, every request gets the same findings.

A screen (`Rule.screen`) is a fast test over one part of the request that rules out a group of
rules on most requests. If one ever said "cannot fire" for a rule that would have fired, an
invalid invoice would be accepted. So every generated invoice (valid ones, and valid ones
broken by the differential test's mutations, both profiles) is checked twice, with the
profile's plan and with the same plan stripped of its screens, and the findings must be
identical, pointer for pointer. A screen that is open on every invoice would cost without
saving anything, so that fails too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections import Counter
from decimal import Decimal as D

import msgspec
import pytest

from compliance_cases import make_case
from faktura.compliance import basic
from faktura.compliance.engine import Context, plan, run_plan, unscreened
from faktura.compliance.profiles import PROFILES
from faktura.domain.document import PEPPOL_BIS_3, XRECHNUNG_3
from faktura.domain.totals import compute

CASES = 2_000  # per profile: half valid, half mutated


def _context(case, profile_name: str) -> Context:  # type: ignore[no-untyped-def]
    raw = basic.encode(case.invoice)
    return Context(
        case.invoice,
        seller=case.seller,
        buyer=case.buyer,
        totals=compute(case.invoice),
        profile=profile_name,
        encoded=(raw, basic.encode(case.seller), basic.encode(case.buyer)),
    )


@pytest.mark.parametrize("profile_name", [PEPPOL_BIS_3, XRECHNUNG_3])
def test_findings_are_the_same_without_screens(profile_name: str) -> None:
    prof = PROFILES[profile_name]
    steps = plan(prof.rule_sets, tuple(sorted(prof.overrides.items())))
    bare = unscreened(steps)
    screens = {screen for screen, _, _ in steps if screen is not None}
    assert len(screens) >= 10, "the profile's plan has lost its screens"
    opened: Counter[str] = Counter()
    fired: Counter[str] = Counter()
    for i in range(CASES):
        case = make_case(random.Random(7_919 * i + 13), profile=profile_name, mutated=i % 2 == 1)
        screened_findings = run_plan(steps, _context(case, profile_name))
        all_findings = run_plan(bare, _context(case, profile_name))
        assert screened_findings == all_findings, (
            f"case {i}: a screen hid {sorted({f.rule_id for f in all_findings} - {f.rule_id for f in screened_findings})}"
        )
        ctx = _context(case, profile_name)
        ids = {f.rule_id for f in all_findings}
        for screen, rules in ((s, r) for s, _, whens in steps for _, r in whens):
            if screen is not None and screen(ctx):
                opened[screen.__name__] += 1
            if screen is not None and any(r.id in ids for r, *_ in rules):
                fired[screen.__name__] += 1
    # a screen that is open on every invoice saves nothing: it should be rewritten or dropped
    always_open = sorted(s.__name__ for s in screens if opened[s.__name__] == CASES)
    assert not always_open, f"screens open on every invoice: {always_open}"
    assert sum(fired.values()) > 0


# -- perturbations beyond the generator's mutations ------------------------------------------
#
# The generator's mutations are the ones the differential test needs; a screen can also be
# wrong about an input no mutation produces (an empty invoicing period, a blank scheme). So the
# same equality is asked of valid invoices with one to three leaves of the request or the
# parties changed at random to values rules care about: blanks, codes of other lists, signs,
# stray decimals, dates moved, members dropped or doubled.

_TEXTS = ["", " ", "  ", "x", "0088", "0184", "0192", "0196", "SEPA", "ZZZ", "TST", "O", "S", "K", "AE",
          "30", "31", "42", "49", "50", "58", "59", "93", "380", "381", "384", "XX", "DE", "SE", "NL",
          "EL", "EINDAGI", "#AAA#note", "19.0501", "VATEX-EU-IC", "VATEX-EU-O", "C62", "EUR", "SE:BANKGIRO"]  # fmt: skip
_NUMBERS = [D("0"), D("-1"), D("0.001"), D("-0.005"), D("0.3"), D("100"), D("1.500")]


def _leaves(value: object, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    if isinstance(value, msgspec.Struct):
        for f in msgspec.structs.fields(value):
            out.append((*path, f.name))
            out.extend(_leaves(getattr(value, f.name), (*path, f.name)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_leaves(v, (*path, i)))
    return out


def _get(value: object, path: tuple[object, ...]) -> object:
    for p in path:
        value = value[p] if isinstance(p, int) else getattr(value, p)  # type: ignore[index]
    return value


def _set(value: object, path: tuple[object, ...], new: object) -> object:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        items = list(value)  # type: ignore[call-overload]
        items[head] = _set(items[head], rest, new)
        return items
    return msgspec.structs.replace(value, **{head: _set(getattr(value, head), rest, new)})  # type: ignore[type-var]


def _optional(owner: object, name: object) -> bool:
    return any(
        f.name == name and f.default is None
        for f in msgspec.structs.fields(owner)  # type: ignore[arg-type]
    )


def _perturbed(value: object, rnd: random.Random, path: tuple[object, ...]) -> object:
    old = _get(value, path)
    owner = _get(value, path[:-1])
    if old is not None and _optional(owner, path[-1]) and rnd.random() < 0.3:
        return None
    if isinstance(old, bool):
        return not old
    if isinstance(old, str):
        return rnd.choice([*_TEXTS, old + " ", " " + old, old.lower(), old[:-1]])
    if isinstance(old, D):
        return rnd.choice([*_NUMBERS, old * 2, -old, old + D("0.001")])
    if isinstance(old, dt.date):
        return old + dt.timedelta(days=rnd.choice([-400, -1, 1, 400]))
    if isinstance(old, list):
        return [] if not old or rnd.random() < 0.5 else [*old, old[0]]
    return old


def _perturb(case, rnd: random.Random):  # type: ignore[no-untyped-def]
    parts = {"invoice": case.invoice, "seller": case.seller, "buyer": case.buyer}
    for _ in range(rnd.randint(1, 3)):
        name = rnd.choice(list(parts))
        leaves = _leaves(parts[name])
        if leaves:
            path = rnd.choice(leaves)
            parts[name] = _set(parts[name], path, _perturbed(parts[name], rnd, path))
    return dataclasses.replace(case, invoice=parts["invoice"], seller=parts["seller"], buyer=parts["buyer"])


def _outcome(steps, case, profile_name: str):  # type: ignore[no-untyped-def]
    try:
        return run_plan(steps, _context(case, profile_name))
    except Exception as exc:  # an input the decoder would refuse may break a rule: alike, then
        return type(exc).__name__


@pytest.mark.parametrize("profile_name", [PEPPOL_BIS_3, XRECHNUNG_3])
def test_findings_are_the_same_without_screens_on_perturbed_invoices(profile_name: str) -> None:
    prof = PROFILES[profile_name]
    steps = plan(prof.rule_sets, tuple(sorted(prof.overrides.items())))
    bare = unscreened(steps)
    judged = 0
    for i in range(CASES):
        rnd = random.Random(104_729 * i + 7)
        case = _perturb(make_case(rnd, profile=profile_name, mutated=False), rnd)
        screened_outcome = _outcome(steps, case, profile_name)
        bare_outcome = _outcome(bare, case, profile_name)
        assert screened_outcome == bare_outcome, (
            f"case {i}: screened {screened_outcome!r} != {bare_outcome!r}"
        )
        judged += not isinstance(bare_outcome, str)
    assert judged > CASES * 0.9, f"only {judged} of {CASES} perturbed invoices could be judged"
