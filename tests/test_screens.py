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

import random
from collections import Counter

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
