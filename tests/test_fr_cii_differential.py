"""CII differential test of the French rules: the native checks against the official BR-FR
CII Schematron (FNFE-MPE 1.4.0.03), on seeded French invoices from two generators: this
module's (`fr_cii_cases.french_case`: the general generator's invoices made French, valid or
broken by one to three French mutations, a quarter of them also by an EN 16931 one) and the
UBL differential's (`fr_cases.make_fr_case`), both issued in CII. 1,000 invoices per run.

Each invoice is checked natively as `issuing.prepare` does (rule sets of its profile, the CII
binding's ids, the CII findings of `compliance.syntax` and `compliance.france.cii`), rendered
in CII and judged by the CII D16B + D22B XSDs, the CEN EN 16931 CII Schematron and the BR-FR
CII Schematron (`fr-ctc-1.4.0.03`; with `fr-ctc-extended-1.4.0.03` for EXTENDED-CTC-FR).
Asserted on every invoice:

- zero false accepts: whenever the oracle rejects (a fatal finding or an XSD error), the
  native checks reject too;
- the fatal BR-FR id sets are equal, native against official (the sub-line rules BR-FR-MV-*
  and BR-FR-BD-* aside where the native checks refuse a billing mode 8 or 9 as such,
  FK-FR-UNSUPPORTED);
- a valid invoice is accepted by both sides.

The same holds for the Factur-X of French invoices (`test_factur_x_of_french_invoices`:
Factur-X 1.09.2 EN16931 or EXTENDED + the French rules). The figures are printed with `-s`.
"""

from __future__ import annotations

import random
import time
from collections import Counter

import msgspec
import pytest

from compliance_cases import Case
from conformance import describe, official_findings
from faktura.compliance.basic import check_invoice
from faktura.compliance.binding import rebind
from faktura.compliance.syntax import syntax_findings
from faktura.render.cii import render_cii
from faktura.render.einvoice import cii_profile
from fr_cases import make_fr_case
from fr_cii_cases import french_case

ORACLE = ("en16931-1.3.16", "fr-ctc-1.4.0.03")
ORACLE_EXTENDED = (*ORACLE, "fr-ctc-extended-1.4.0.03")
#: (generator, kind, extended) -> invoices per run: this module's generator (`fr_cii_cases`,
#: French mutations on the general generator's invoices) and the UBL differential's
#: (`fr_cases`), both rendered in CII
RUNS = {
    ("cii-cases", "valid", False): 150,
    ("cii-cases", "mutated", False): 350,
    ("cii-cases", "valid", True): 30,
    ("cii-cases", "mutated", True): 70,
    ("fr-cases", "valid", False): 100,
    ("fr-cases", "mutated", False): 300,
}
SEED = 20_261_206
SUB_LINE_RULES = ("BR-FR-MV-", "BR-FR-BD-")
#: the Factur-X level of each French profile, and its official Schematron
FACTURX = {
    "fr-ctc": ("EN16931", "facturx-en16931-1.09.2"),
    "fr-ctc-extended": ("EXTENDED", "facturx-extended-1.09.2"),
}


def _is_french(rule_id: str | None) -> bool:
    return rule_id is not None and rule_id.startswith("BR-FR-")


def draw(generator: str, seed: int, *, mutated: bool, extended: bool) -> Case:
    """A French case of `generator`, its invoice in CII."""
    if generator == "fr-cases":
        rnd = random.Random(seed)
        fr = make_fr_case(rnd, seed % 997, mutated=mutated)
        case = Case(fr.invoice, fr.seller, fr.buyer, number=fr.number, mutations=list(fr.mutations))
        case.invoice = msgspec.structs.replace(case.invoice, profile=fr.profile, syntax="cii")
        return case
    return french_case(random.Random(seed), mutated=mutated, extended=extended)


def compare(case: Case, *, facturx: bool = False) -> tuple[set[str], set[str], bool]:
    """(native fatal BR-FR ids, official fatal BR-FR ids, whether the oracle rejected), after
    asserting zero false accepts and equal BR-FR id sets."""
    profile = case.invoice.profile or "fr-ctc"
    level, facturx_rules = FACTURX[profile]
    inv = msgspec.structs.replace(case.invoice, conformance_level=level if facturx else None)
    findings, totals = check_invoice(inv, seller=case.seller, buyer=case.buyer)
    findings = rebind(findings, inv, "cii")
    findings += syntax_findings(inv, case.seller, case.buyer, totals)
    refused = any(f.fatal for f in findings)
    try:
        doc = case.document(inv, profile)
        xml = render_cii(doc, cii_profile(doc))
    except (ValueError, ArithmeticError):
        assert refused, f"{case.mutations}: not renderable, yet accepted"
        return set(), set(), True
    extended = profile == "fr-ctc-extended"
    french = ORACLE_EXTENDED[1:] if extended else ORACLE[1:]
    rules = (facturx_rules, *french) if facturx else (ORACLE_EXTENDED if extended else ORACLE)
    xsd_errors, fatal, _ = official_findings(xml, rules)
    ours = {f.rule_id or "" for f in findings if f.fatal and _is_french(f.rule_id)}
    theirs = {f.id for f in fatal if _is_french(f.id)}
    if "FK-FR-UNSUPPORTED" in {f.rule_id for f in findings}:
        # a multi-vendor or bidirectional billing mode (8, 9) is refused as such: the model has
        # no sub-lines, and the rules on them (BR-FR-MV-*, BR-FR-BD-*) are not run natively
        theirs = {t for t in theirs if not t.startswith(SUB_LINE_RULES)}
    context = (
        f"mutations={case.mutations}\nnative={sorted(f.rule_id or '' for f in findings if f.fatal)}"
        f"\n{describe(fatal)}\nxsd={xsd_errors}"
    )
    rejected = bool(fatal or xsd_errors)
    assert refused or not rejected, "false accept:\n" + context
    assert ours == theirs, "BR-FR fatal-id sets differ:\n" + context
    return ours, theirs, rejected


@pytest.mark.parametrize(
    ("generator", "kind", "extended"), list(RUNS), ids=[f"{g}-{k}{'-ext' if e else ''}" for g, k, e in RUNS]
)
def test_native_french_rules_agree_with_official_cii_schematron(
    generator: str, kind: str, extended: bool
) -> None:
    fired: Counter[str] = Counter()
    rejected = 0
    start = time.monotonic()
    runs = RUNS[(generator, kind, extended)]
    for i in range(runs):
        case = draw(generator, SEED + 7_919 * i + extended, mutated=kind == "mutated", extended=extended)
        _ours, theirs, oracle_rejected = compare(case)
        if kind == "valid":
            assert not oracle_rejected, f"a valid case was rejected: {case.mutations}"
        fired.update(theirs)
        rejected += oracle_rejected
    elapsed = time.monotonic() - start
    print(
        f"\nFR CII {generator} {kind}{' EXTENDED-CTC-FR' if extended else ''}: {runs} invoices in {elapsed:.1f} s,"
        f" BR-FR fatal-id sets equal on all {runs}, rejected by the oracle {rejected};"
        f" {len(fired)} BR-FR ids fired: {sorted(fired)}"
    )
    if kind == "mutated" and not extended:
        assert len(fired) >= 25, f"only {len(fired)} BR-FR rules fired: {sorted(fired)}"


def test_at_least_a_thousand_invoices_per_run() -> None:
    assert sum(RUNS.values()) >= 1000


@pytest.mark.parametrize("extended", [False, True], ids=["en16931", "extended"])
def test_factur_x_of_french_invoices(extended: bool) -> None:
    """The same cases as Factur-X at their profile's level, judged by that level's Factur-X
    1.09.2 XSD + Schematron and the French rules: zero false accepts, equal BR-FR id sets."""
    accepted = 0
    for i in range(100):
        case = draw("cii-cases", SEED + 104_729 * i, mutated=i % 3 != 0, extended=extended)
        _ours, _theirs, rejected = compare(case, facturx=True)
        accepted += not rejected
    assert accepted >= 25, accepted
