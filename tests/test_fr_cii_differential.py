"""CII differential test of the French rules: the native checks against the official BR-FR
CII Schematron (FNFE-MPE 1.4.0.03), on seeded French invoices (`fr_cii_cases.french_case`:
valid ones, and ones broken by one to three French mutations, a quarter of them also by an
EN 16931 one).

Each invoice is checked natively as `issuing.prepare` does (rule sets of its profile, the CII
binding's ids, the CII findings of `compliance.syntax` and `compliance.france.cii`), rendered
in CII and judged by the CII D16B + D22B XSDs, the CEN EN 16931 CII Schematron and the BR-FR
CII Schematron (`fr-ctc-1.4.0.03`; with `fr-ctc-extended-1.4.0.03` for EXTENDED-CTC-FR).
Asserted on every invoice:

- zero false accepts: whenever the oracle rejects (a fatal finding or an XSD error), the
  native checks reject too;
- the fatal BR-FR id sets are equal, native against official;
- a valid invoice has no finding at all on either side.

The figures (invoices, equal sets, which rules fired) are printed with `-s`.
"""

from __future__ import annotations

import random
import time
from collections import Counter

import pytest

from conformance import describe, official_findings
from faktura.compliance.basic import check_invoice
from faktura.compliance.binding import rebind
from faktura.compliance.syntax import syntax_findings
from faktura.render.cii import render_cii
from fr_cii_cases import french_case

ORACLE = ("en16931-1.3.16", "fr-ctc-1.4.0.03")
ORACLE_EXTENDED = (*ORACLE, "fr-ctc-extended-1.4.0.03")
#: (kind, extended) -> invoices per run
RUNS = {("valid", False): 250, ("mutated", False): 650, ("valid", True): 50, ("mutated", True): 100}
SEED = 20_261_206
SUB_LINE_RULES = ("BR-FR-MV-", "BR-FR-BD-")


def _is_french(rule_id: str | None) -> bool:
    return rule_id is not None and rule_id.startswith("BR-FR-")


def compare(seed: int, *, mutated: bool, extended: bool) -> tuple[set[str], set[str], bool]:
    """(native fatal BR-FR ids, official fatal BR-FR ids, whether the oracle rejected)."""
    case = french_case(random.Random(seed), mutated=mutated, extended=extended)
    inv = case.invoice
    findings, totals = check_invoice(inv, seller=case.seller, buyer=case.buyer)
    findings = rebind(findings, inv, "cii")
    findings += syntax_findings(inv, case.seller, case.buyer, totals)
    refused = any(f.fatal for f in findings)
    try:
        xml = render_cii(case.document(inv, inv.profile or "fr-ctc"), inv.profile or "fr-ctc")
    except (ValueError, ArithmeticError):
        assert refused, f"seed={seed} {case.mutations}: not renderable, yet accepted"
        return set(), set(), True
    xsd_errors, fatal, _ = official_findings(xml, ORACLE_EXTENDED if extended else ORACLE)
    ours = {f.rule_id for f in findings if f.fatal and _is_french(f.rule_id)}
    theirs = {f.id for f in fatal if _is_french(f.id)}
    if "FK-FR-UNSUPPORTED" in {f.rule_id for f in findings}:
        # a multi-vendor or bidirectional billing mode (8, 9) is refused as such: the model has
        # no sub-lines, and the rules on them (BR-FR-MV-*, BR-FR-BD-*) are not run natively
        theirs = {t for t in theirs if not t.startswith(SUB_LINE_RULES)}
    context = (
        f"seed={seed} mutations={case.mutations}\nnative={sorted(f.rule_id or '' for f in findings if f.fatal)}"
        f"\n{describe(fatal)}\nxsd={xsd_errors}"
    )
    rejected = bool(fatal or xsd_errors)
    assert refused or not rejected, "false accept:\n" + context
    assert ours == theirs, "BR-FR fatal-id sets differ:\n" + context
    if not mutated:
        assert not refused and not rejected, "valid invoice refused:\n" + context
    return ours, theirs, rejected


@pytest.mark.parametrize(
    ("kind", "extended"), list(RUNS), ids=[f"{k}-{'ext' if e else 'en'}" for k, e in RUNS]
)
def test_native_french_rules_agree_with_official_cii_schematron(kind: str, extended: bool) -> None:
    fired: Counter[str] = Counter()
    rejected = 0
    start = time.monotonic()
    runs = RUNS[(kind, extended)]
    for i in range(runs):
        _ours, theirs, oracle_rejected = compare(
            SEED + 7_919 * i + (1 if extended else 0), mutated=kind == "mutated", extended=extended
        )
        fired.update(theirs)
        rejected += oracle_rejected
    elapsed = time.monotonic() - start
    print(
        f"\nFR CII {kind}{' EXTENDED-CTC-FR' if extended else ''}: {runs} invoices in {elapsed:.1f} s,"
        f" BR-FR fatal-id sets equal on all {runs}, rejected by the oracle {rejected};"
        f" {len(fired)} BR-FR ids fired: {sorted(fired)}"
    )
    if kind == "mutated" and not extended:
        assert len(fired) >= 25, f"only {len(fired)} BR-FR rules fired: {sorted(fired)}"
