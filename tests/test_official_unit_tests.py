"""The official per-rule unit tests (CEN `test/Invoice-unit-UBL`, Peppol `rules/unit-UBL-*`) as fixtures.

`convert_unit_tests.py` turns each official unit test into a Faktura request
(`tests/official_units/*.json`; how and why is in its docstring). Here every test is judged
on the rules it names, and only on those (a unit-test document usually breaks others):
`error`/`warning` means our findings contain the rule id, `success` means they do not.

A case is skipped, with the reason, when
- the unit test could not be converted (something the input model cannot express), or the
  request is refused by the input model's field formats;
- the rule is not one our engine evaluates: listed in a rule set's `not_applicable`, or not
  in the active profile at all;
- the completed document did not reproduce the unit test's outcome under the official
  validator (recorded at conversion: `source_verdict`), or the official validator could not
  check it at all;
- the official validator, run on *our* rendering of the request, does not give the unit
  test's outcome either: the conversion lost the mutation ("mutation not expressible") or
  changed the document around it. For rules that judge what the client declares
  (`on_input`: declared totals, decimals of amounts as sent), the declared values of the
  request are written back into our rendering first, since the renderer writes computed ones.

Everything else must agree with the unit test; known disagreements are listed in
`KNOWN_DIFFERENCES` (strict xfail) until the engine is fixed.
"""

from __future__ import annotations

import functools
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest
from lxml import etree

from conformance import official_findings
from faktura.compliance.basic import check_invoice
from faktura.compliance.findings import Finding
from faktura.compliance.profiles import PROFILES, Profile
from faktura.compliance.rulebook import versioned_profile
from faktura.domain.document import build_document
from faktura.domain.invoice import InvoiceInput, Party
from faktura.render.ubl import render_ubl

FIXTURE_DIR = Path(__file__).resolve().parent / "official_units"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NS = {"cac": CAC, "cbc": CBC}

#: the least number of (unit test, rule) cases that must actually be judged
MIN_USED = 624

#: case id -> why our engine disagrees with the official unit test (and the official
#: validator on our rendering agrees with the unit test); strict xfail until fixed
KNOWN_DIFFERENCES: dict[str, str] = {}


@dataclass(frozen=True)
class Case:
    id: str  # "<file stem>#<test index>:<rule id>"
    group: str  # fixture file stem
    repo: str
    test: dict[str, Any]
    rule: str
    expected: str  # "success" | "error" | "warning"


def _load() -> list[Case]:
    cases = []
    for file in sorted(FIXTURE_DIR.glob("*.json")):
        data = json.loads(file.read_text(encoding="utf-8"))
        for test in data["tests"]:
            for rule, expected in sorted(test["expect"].items()):
                cases.append(Case(f"{test['id']}:{rule}", file.stem, data["repo"], test, rule, expected))
    return cases


CASES = _load()
BY_ID = {c.id: c for c in CASES}


@dataclass(frozen=True)
class Judged:
    used: bool
    reason: str  # the skip reason ("" when used)
    category: str  # the skip reason's kind, for the coverage counts ("used" when used)
    ours: bool | None = None  # our engine reports the rule
    findings: tuple[tuple[str | None, str, bool], ...] = ()


def _skip(category: str, reason: str) -> Judged:
    return Judged(False, reason, category)


@dataclass(frozen=True)
class Evaluated:
    """One fixture test, checked by our engine and rendered (or why it could not be)."""

    problem: tuple[str, str] | None
    inv: InvoiceInput | None = None
    findings: tuple[Finding, ...] = ()
    rendered: bytes = b""


#: the newer version of each profile's families the fixtures are judged under as well (the kit
#: has no unit tests of its own for them: the 3.0.19 tests are held to the newer XSLT)
NEWER: dict[str, tuple[tuple[str, str], ...]] = {
    "peppol-bis-3": (("en16931", "1.3.16"), ("peppol", "3.0.21")),
    "xrechnung-3": (("en16931", "1.3.16"), ("xrechnung", "2.5.0")),
}


def _profile(name: str, newer: bool) -> Profile:
    return versioned_profile(name, NEWER[name]) if newer else PROFILES[name]


@functools.cache
def _evaluate(group: str, test_id: str, newer: bool = False) -> Evaluated:
    test = next(c.test for c in CASES if c.group == group and c.test["id"] == test_id)
    if "request" not in test:
        return Evaluated(("cannot express", f"cannot express: {test['unsupported']}"))
    req = test["request"]
    try:
        inv = msgspec.convert({**req["invoice"], "issue_date": req["issue_date"]}, InvoiceInput, strict=False)
        seller = msgspec.convert(req["seller"], Party, strict=False)
    except msgspec.ValidationError as exc:
        return Evaluated(("model refuses", f"the input model refuses it: {exc}"))
    findings, totals = check_invoice(
        inv, seller=seller, buyer=inv.buyer, rules=_profile(inv.profile or "peppol-bis-3", newer)
    )
    if totals is None or inv.buyer is None or inv.issue_date is None or inv.currency is None:
        return Evaluated(
            ("not renderable", "totals cannot be computed: nothing to render"), inv, tuple(findings)
        )
    doc = build_document(
        inv, number=str(req["number"]), issue_date=inv.issue_date, seller=seller, buyer=inv.buyer,
        currency=inv.currency, profile=inv.profile or "peppol-bis-3",
    )  # fmt: skip
    return Evaluated(None, inv, tuple(findings), render_ubl(doc))


def _set(parent: Any, name: str, value: object) -> None:
    """Overwrite the text of `parent`'s cbc child `name` with a declared value, if both exist."""
    if parent is None or value is None:
        return
    el = parent.find(f"cbc:{name}", NS)
    if el is not None:
        el.text = str(value)


#: what each `on_input` rule judges, written back as declared; only that, so that the
#: official rule relates the declared value to our computed ones, as our rule does
DECLARED: dict[str, frozenset[str]] = {
    "BR-CO-10": frozenset({"sub_total"}),
    "BR-CO-11": frozenset({"total_discount"}),
    "BR-CO-14": frozenset({"total_tax_amount"}),
    "BR-CO-15": frozenset({"total_amount"}),
    "PEPPOL-EN16931-R120": frozenset({"line_nets"}),
    "BR-DEC-15": frozenset({"tax_currency_total_tax_amount"}),
    "BR-DEC-16": frozenset({"prepaid_amount"}),
    "BR-DEC-17": frozenset({"rounding_amount"}),
    **dict.fromkeys(("BR-DEC-01", "BR-DEC-02", "BR-DEC-05", "BR-DEC-06"), frozenset({"document_acs"})),
    **dict.fromkeys(("BR-DEC-24", "BR-DEC-25", "BR-DEC-27", "BR-DEC-28"), frozenset({"line_acs"})),
}


def with_declared(xml: bytes, inv: InvoiceInput, what: frozenset[str]) -> bytes:
    """Our rendering with some amounts as the client declared them where we write computed
    ones (`what`: totals, line net amounts, allowance and charge amounts): the view of the
    `on_input` rules, for the official validator."""
    root = etree.fromstring(xml)
    if "document_acs" in what:
        acs = root.findall("cac:AllowanceCharge", NS)
        for el, ac in zip(acs, [*inv.allowances, *inv.charges], strict=False):
            _set(el, "Amount", ac.amount)
            _set(el, "BaseAmount", ac.base_amount)
    lines = [el for el in root if etree.QName(el).localname in ("InvoiceLine", "CreditNoteLine")]
    for el, li in zip(lines, inv.line_items, strict=False):
        if "line_nets" in what:
            _set(el, "LineExtensionAmount", li.total_amount)
        if "line_acs" in what:
            acs = el.findall("cac:AllowanceCharge", NS)
            for ac_el, ac in zip(acs, [*li.allowances, *li.charges], strict=False):
                _set(ac_el, "Amount", ac.amount)
                _set(ac_el, "BaseAmount", ac.base_amount)
    total = root.find("cac:LegalMonetaryTotal", NS)
    for name, field in (
        ("LineExtensionAmount", "sub_total"),
        ("TaxInclusiveAmount", "total_amount"),
        ("AllowanceTotalAmount", "total_discount"),
        ("PrepaidAmount", "prepaid_amount"),
        ("PayableRoundingAmount", "rounding_amount"),
    ):
        if field in what:
            _set(total, name, getattr(inv, field))
    tax_totals = root.findall("cac:TaxTotal", NS)
    if tax_totals and "total_tax_amount" in what:
        _set(tax_totals[0], "TaxAmount", inv.total_tax_amount)
    if len(tax_totals) > 1 and "tax_currency_total_tax_amount" in what:
        _set(tax_totals[1], "TaxAmount", inv.tax_currency_total_tax_amount)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@functools.cache
def _official(group: str, test_id: str, declared: frozenset[str], newer: bool = False) -> frozenset[str]:
    """Rule ids the official validators report (any flag) on our rendering of the fixture test,
    with the `declared` amounts written back as the client sent them."""
    ev = _evaluate(group, test_id, newer)
    assert ev.inv is not None
    xml = with_declared(ev.rendered, ev.inv, declared) if declared else ev.rendered
    _, fatal, warnings = official_findings(xml, _profile(ev.inv.profile or "peppol-bis-3", newer).oracle)
    return frozenset(f.id for f in (*fatal, *warnings))


def _profile_rules(profile: Profile) -> tuple[dict[str, bool], dict[str, str]]:
    """(implemented rule id -> on_input, not-applicable rule id -> reason) of a profile."""
    implemented = {r.id: r.on_input for rs in profile.rule_sets for r in rs.rules}
    na = {k: v for rs in profile.rule_sets for k, v in rs.not_applicable.items()}
    return implemented, na


def rule_set_of(case: Case) -> str:
    """The name of the rule set a case's rule belongs to (for the coverage counts)."""
    profile = PROFILES[case.test.get("request", {}).get("profile", "peppol-bis-3")]
    for rs in profile.rule_sets:
        if case.rule in rs.not_applicable or any(r.id == case.rule for r in rs.rules):
            return rs.name
    return "en16931" if case.rule.startswith(("BR-", "UBL-")) else "peppol-bis-3"


def reported(outcome: str) -> bool:
    return outcome != "success"


@functools.cache
def judge(case_id: str, newer: bool = False) -> Judged:
    case = BY_ID[case_id]
    test = case.test
    profile = _profile(test.get("request", {}).get("profile", "peppol-bis-3"), newer)
    implemented, na = _profile_rules(profile)
    if case.rule not in implemented:
        if case.rule in na:
            return _skip("not evaluated natively", f"not evaluated natively: {na[case.rule]}")
        return _skip("not in the profile", f"{case.rule} is not a rule of {profile.name}'s rule sets")
    verdict = test["source_verdict"].get(case.rule)
    if verdict is None:
        return _skip("not checkable", f"cannot check: {test['unsupported']}")
    if reported(verdict) != reported(case.expected):
        return _skip(
            "completion changes the outcome",
            f"completed onto the base invoice, the document gives {verdict} for {case.rule} "
            f"under the official validator, not {case.expected}",
        )
    ev = _evaluate(case.group, test["id"], newer)
    if ev.problem is not None:
        return _skip(*ev.problem)
    declared = DECLARED.get(case.rule, frozenset()) if implemented[case.rule] else frozenset()
    theirs = case.rule in _official(case.group, test["id"], declared, newer)
    if theirs != reported(case.expected):
        if reported(case.expected):
            return _skip(
                "mutation not expressible",
                f"mutation not expressible: the official validator does not report {case.rule} on our rendering",
            )
        return _skip(
            "conversion changes the outcome",
            f"the official validator reports {case.rule} on our rendering: the conversion changed the document",
        )
    ours = any(f.rule_id == case.rule for f in ev.findings)
    return Judged(True, "", "used", ours, tuple((f.rule_id, f.pointer, f.fatal) for f in ev.findings))


def _param(case: Case) -> Any:
    marks = []
    if case.id in KNOWN_DIFFERENCES:
        marks.append(pytest.mark.xfail(reason=KNOWN_DIFFERENCES[case.id], strict=True))
    return pytest.param(case.id, id=case.id, marks=marks)


@pytest.mark.parametrize("newer", [False, True], ids=["3.0.18-2.3.0", "3.0.21-2.5.0"])
@pytest.mark.parametrize("case_id", [_param(c) for c in CASES])
def test_official_unit_test(case_id: str, newer: bool) -> None:
    case = BY_ID[case_id]
    j = judge(case_id, newer)
    if not j.used:
        pytest.skip(j.reason)
    t = case.test
    assert j.ours == reported(case.expected), (
        f"{case.repo} {t['path']} @ {t['commit'][:12]} test {t['index']}: the unit test expects "
        f"{case.expected} for {case.rule}, and so does the official validator on our rendering; "
        f"our findings: {[f for f in j.findings if f[0] == case.rule] or 'none'}"
    )


def test_coverage(record_property: Any) -> None:
    """Enough official unit tests are judged; the counts per rule set are reported."""
    used: Counter[str] = Counter()
    skipped: dict[str, Counter[str]] = defaultdict(Counter)
    for case in CASES:
        j = judge(case.id)
        rs = rule_set_of(case)
        if j.used:
            used[rs] += 1
        else:
            skipped[rs][j.category] += 1
    lines = [
        f"{rs}: {used[rs]} used, {sum(skipped[rs].values())} skipped "
        f"({', '.join(f'{k}: {n}' for k, n in skipped[rs].most_common())})"
        for rs in sorted(set(used) | set(skipped))
    ]
    summary = "\n".join(lines)
    record_property("official_unit_tests", summary)
    print(f"\nofficial unit tests, {len(CASES)} cases:\n{summary}")
    assert sum(used.values()) >= MIN_USED, summary
    newer = sum(1 for case in CASES if judge(case.id, True).used)
    print(f"judged under Peppol 3.0.21 / XRechnung 2.5.0 as well: {newer}")
    assert newer >= MIN_USED - 5, newer  # the same fixtures, held to the newer official XSLT
