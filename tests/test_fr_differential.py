"""BR-FR differential test: the native French rules against the official Schematron.

Seeded French invoices (`fr_cases`: valid ones, and valid ones broken by one to three
mutations aimed at the BR-FR rules) are rendered in UBL and judged by the official XSD +
EN 16931 1.3.16 + BR-FR 1.4.0.03 Schematron (+ EXTENDED-CTC-FR 1.4.0.03 for that profile).
Asserted on every invoice:

- zero false accepts: whenever the oracle reports a fatal finding or an XSD error, the native
  checks reject;
- equal fatal BR-FR id sets: the `BR-FR-*` ids the native rules report are exactly those the
  official Schematron reports. The one deliberate exclusion: the multi-vendor and
  bidirectional ids (BR-FR-MV-*, BR-FR-BD-*, `coverage.SUB_LINES`), which only fire for
  billing modes B8..M9 that Faktura refuses as a whole (FK-FR-UNSUPPORTED); the refusal is
  still checked by the first assertion. Every other id the kit explains as unreachable would
  show up here if it ever fired. EXTENDED-CTC-FR's own ids (BR-FREXT-*) are its relaxed forms of
  EN 16931 rules (`coverage.NOT_APPLICABLE_EXTENDED`): they count for the first assertion only.

The EN 16931 ids are held to their own oracle by `test_differential.py`. 1,000 invoices per
run (300 valid, 700 mutated); the figures are printed with `-s`.
"""

from __future__ import annotations

import random
import time
from collections import Counter

import pytest

from conformance import describe, official_findings_by_set
from faktura.compliance.basic import check_invoice
from faktura.compliance.france.coverage import NOT_APPLICABLE, SUB_LINES
from faktura.compliance.rulebook import versioned_profile
from faktura.domain.document import build_document
from faktura.render.ubl import render_ubl
from fr_cases import MUTATIONS, FrCase, make_fr_case

RUNS = {"valid": 300, "mutated": 700}
SEED = 20261206
EXCLUDED = frozenset(rid for rid, why in NOT_APPLICABLE.items() if why == SUB_LINES)
ORACLE = {
    "fr-ctc": ("en16931-1.3.16", "fr-ctc-1.4.0.03"),
    "fr-ctc-extended": ("en16931-1.3.16", "fr-ctc-1.4.0.03", "fr-ctc-extended-1.4.0.03"),
}
VERSIONS = {
    "fr-ctc": (("en16931", "1.3.16"), ("fr-ctc", "1.4.0.03")),
    "fr-ctc-extended": (("en16931", "1.3.16"), ("fr-ctc", "1.4.0.03"), ("fr-ctc-extended", "1.4.0.03")),
}


def compare(case: FrCase) -> tuple[set[str], set[str]]:
    """(ours, theirs): the fatal BR-FR ids of both sides, after asserting the two properties."""
    inv = case.invoice
    assert inv.issue_date is not None and inv.currency is not None
    profile = versioned_profile(case.profile, VERSIONS[case.profile])
    findings, totals = check_invoice(inv, seller=case.seller, buyer=case.buyer, rules=profile)
    assert totals is not None
    doc = build_document(
        inv,
        number=case.number,
        issue_date=inv.issue_date,
        seller=case.seller,
        buyer=case.buyer,
        currency=inv.currency,
        profile=case.profile,
    )
    xsd_errors, by_set = official_findings_by_set(render_ubl(doc), ORACLE[case.profile])
    fatal = [f for fs in by_set.values() for f in fs if f.fatal]
    ours = {f.rule_id for f in findings if f.fatal and f.rule_id and f.rule_id.startswith("BR-FR-")}
    theirs = {f.id for f in fatal if f.id.startswith("BR-FR-") and f.id not in EXCLUDED}
    context = f"mutations={case.mutations}\nours={sorted(ours)}\n{describe(fatal)}\nxsd={xsd_errors}"
    assert any(f.fatal for f in findings) or not (fatal or xsd_errors), "false accept:\n" + context
    assert ours == theirs, "BR-FR sets differ:\n" + context
    return ours, {f.id for f in fatal}


@pytest.mark.parametrize("kind", list(RUNS))
def test_native_br_fr_rules_agree_with_official_schematron(kind: str) -> None:
    rnd = random.Random(f"{SEED}-{kind}")
    fired: Counter[str] = Counter()
    applied: Counter[str] = Counter()
    started = time.perf_counter()
    for index in range(RUNS[kind]):
        case = make_fr_case(rnd, index, mutated=kind == "mutated")
        ours, theirs = compare(case)
        if kind == "valid":
            assert theirs == set(), f"a valid case was rejected: {sorted(theirs)}"
        fired.update(ours)
        applied.update(case.mutations)
    print(
        f"\n{kind}: {RUNS[kind]} invoices in {time.perf_counter() - started:.1f} s;"
        f" {len(fired)} distinct BR-FR ids fired: {dict(sorted(fired.items()))}"
    )
    if kind == "mutated":
        assert set(applied) == set(MUTATIONS), f"mutations never drawn: {set(MUTATIONS) - set(applied)}"
        assert len(fired) >= 40, f"only {len(fired)} distinct BR-FR ids fired"


def test_at_least_a_thousand_invoices_per_run() -> None:
    assert sum(RUNS.values()) >= 1000
