"""CII differential test: the native checks against the official CII Schematron, on the
seeded invoice generator of `test_differential.py` (`compliance_cases.make_case`).

Each generated XRechnung invoice (valid ones, and valid ones broken by one to three
mutations) is rendered in CII and run through the CII D16B XSD + CEN EN 16931 CII + KoSIT
XRechnung CII Schematron (the versions the native rule sets implement). Asserted:

- zero false accepts: whenever the oracle rejects, the native checks (rule sets + the
  CII-specific ones of `compliance.cii`) reject too;
- valid invoices (valid in UBL): the same findings on both sides, none but the IGIC rate
  rules whose CII binding is stricter;
- the CII-specific rules: every CII-SR-* / CII-DT-* the oracle reports is one we report,
  and every CII-specific rule we report, the oracle reports;
- the fatal-id sets are equal on every invoice, with the native findings under the CII
  binding's ids (`compliance.binding.CII_BINDING`: where the CEN CII Schematron tests a rule
  in another context, or not at all) and the CII tests of `compliance.cii`. The figures are
  printed with `-s`.
"""

from __future__ import annotations

import random
from collections import Counter

import msgspec
import pytest

from compliance_cases import make_case
from conformance import describe, official_findings
from faktura.compliance.basic import check_invoice
from faktura.compliance.binding import rebind
from faktura.compliance.profiles import PROFILES
from faktura.compliance.syntax import syntax_findings
from faktura.domain.document import XRECHNUNG_3
from faktura.render.cii import render_cii

ORACLE = ("en16931-1.3.16", "xrechnung-2.3.0")  # as the native rule sets of the base profile
RUNS = {"valid": 400, "mutated": 700}
#: the rules `compliance.cii` adds for the CII binding
CII_SPECIFIC = frozenset(
    {
        "CII-SR-046",
        "CII-SR-467",
        "CII-SR-470",
        "BR-AF-05",
        "BR-AF-06",
        "BR-AF-07",
        "PEPPOL-EN16931-R055",
        "BR-17",
        "BR-CL-10",
        "BR-O-12",
        "BR-O-13",
        "BR-O-14",
        "BR-IC-11",
        "BR-DE-23-b",
        "BR-DE-24-b",
        "PEPPOL-EN16931-R054",
    }
)


def _compare(seed: int, mutated: bool, differ: Counter[str]) -> tuple[set[str], set[str]]:
    case = make_case(random.Random(seed), profile=XRECHNUNG_3, mutated=mutated)
    inv = msgspec.structs.replace(case.invoice, syntax="cii")
    findings, totals = check_invoice(inv, seller=case.seller, buyer=case.buyer)
    assert totals is not None
    findings = rebind(findings, inv, "cii")
    findings += syntax_findings(inv, case.seller, case.buyer, totals)
    xml = render_cii(case.document(inv, XRECHNUNG_3), "xrechnung-3")
    xsd_errors, fatal, _ = official_findings(xml, ORACLE)
    skip = frozenset(r.id for rs in PROFILES[XRECHNUNG_3].rule_sets for r in rs.rules if r.on_input)
    ours = {
        f.rule_id
        for f in findings
        if f.fatal and f.rule_id and not f.rule_id.startswith(("FK-", "UBL-")) and f.rule_id not in skip
    }
    theirs = {f.id for f in fatal if f.id not in skip}
    context = (
        f"seed={seed} mutations={case.mutations}\nours={sorted(ours)}\n{describe(fatal)}\nxsd={xsd_errors}"
    )
    assert any(f.fatal for f in findings) or not (fatal or xsd_errors), "false accept:\n" + context
    cii_theirs = {t for t in theirs if t.startswith("CII-")}
    assert cii_theirs <= ours, "CII syntax rule not checked natively:\n" + context
    assert ours & CII_SPECIFIC <= theirs, "CII-specific rule fired alone:\n" + context
    assert ours == theirs, "fatal-id sets differ:\n" + context
    differ.update(f"ours:{i}" for i in ours - theirs)
    differ.update(f"theirs:{i}" for i in theirs - ours)
    return ours, theirs


@pytest.mark.parametrize("kind", list(RUNS))
def test_native_checks_agree_with_official_cii_schematron(kind: str) -> None:
    differ: Counter[str] = Counter()
    fired: Counter[str] = Counter()
    same = 0
    for i in range(RUNS[kind]):
        ours, theirs = _compare(20_261_206 + 7_919 * i, kind == "mutated", differ)
        if kind == "valid":  # valid for UBL: in CII an IGIC rate of 0 is not (BR-AF-05..07)
            assert ours == theirs <= {"BR-AF-05", "BR-AF-06", "BR-AF-07"}, f"ours={ours} theirs={theirs}"
        fired.update(theirs)
        same += ours == theirs
    print(
        f"\nCII {kind}: {RUNS[kind]} invoices, fatal-id sets equal on {same}; differences {differ.most_common()}"
    )
    if kind == "mutated":
        assert len(fired) >= 40, f"only {len(fired)} distinct official rules fired"
        assert {"CII-SR-467", "CII-SR-046"} <= set(fired), sorted(fired)


FACTURX = {"BASIC": "factur-x-basic", "EN16931": "factur-x-en16931", "EXTENDED": "factur-x-extended"}


@pytest.mark.parametrize("level", list(FACTURX))
def test_no_false_accept_as_factur_x(level: str) -> None:
    """The same generator issued as Factur-X at each level: whatever the level's official XSD
    and Schematron (with its code lists) reject, the native checks have refused."""
    key = FACTURX[level]
    oracle = (f"facturx-{key.rsplit('-', 1)[1]}-1.09.2",)
    accepted = 0
    for i in range(300):
        case = make_case(random.Random(31_337 + 104_729 * i), profile=XRECHNUNG_3, mutated=i % 3 != 0)
        inv = msgspec.structs.replace(case.invoice, profile="factur-x", conformance_level=level)
        findings, totals = check_invoice(inv, seller=case.seller, buyer=case.buyer)
        findings += syntax_findings(inv, case.seller, case.buyer, totals)
        if any(f.fatal for f in findings):
            continue
        accepted += 1
        xsd_errors, fatal, _ = official_findings(render_cii(case.document(inv, "factur-x"), key), oracle)
        assert not (xsd_errors or fatal), f"false accept ({case.mutations}):\n{describe(fatal)}\n{xsd_errors}"
    assert accepted >= 100, accepted


def test_ubl_findings_keep_their_ids() -> None:
    """The CII table renames nothing in UBL: the same findings come back for a UBL invoice."""
    renamed = 0
    for i in range(200):
        case = make_case(random.Random(20_261_206 + 7_919 * i), profile=XRECHNUNG_3, mutated=True)
        findings, _ = check_invoice(case.invoice, seller=case.seller, buyer=case.buyer)
        assert rebind(findings, case.invoice, "ubl") == findings
        renamed += rebind(findings, case.invoice, "cii") != findings
    assert renamed > 0
