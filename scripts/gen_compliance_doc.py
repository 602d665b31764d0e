"""Write `docs/compliance.md`: for every supported version of every official rule set, each
rule id -> where Faktura checks it, or why it cannot apply to what Faktura renders.

The official ids, flags and texts are read from the conformance kit (each implemented
version's Schematron, as `faktura.compliance.versions` names it; XRechnung 2.3.0 from its
compiled XSLT, since its `.sch` are build sources); the implementation side from that
version's rule set (`faktura.compliance.rulebook`). An id that is neither implemented nor
explained (a reason in a rule set's `not_applicable`, or a reason by id prefix below) is
listed by `unexplained()`, and `tests/test_compliance.py` fails on it.

    python scripts/gen_compliance_doc.py [--conformance ../shared/conformance] [--check]
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections import Counter
from pathlib import Path

from lxml import etree

from faktura.compliance import en16931, faktura
from faktura.compliance.engine import Rule, RuleSet
from faktura.compliance.peppol import rules as peppol_rules
from faktura.compliance.rulebook import RULE_SETS
from faktura.compliance.versions import VERSIONS, RuleVersion

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "compliance.md"
SCH = "http://purl.oclc.org/dsdl/schematron"
XSL = "http://www.w3.org/1999/XSL/Transform"
SVRL = "http://purl.oclc.org/dsdl/svrl"

#: where a version's official asserts are read when not from `RuleVersion.sch`
SOURCE_OVERRIDES = {
    # the 2.3.0 `.sch` in the kit are build sources without the merged Peppol rules
    ("xrechnung", "2.3.0"): "schematron/xrechnung/xslt/XRechnung-UBL-validation.xsl",
    # the 3.0.22 hotfix is not in the kit: its asserts are those of 3.0.21 (P0112 changed)
    ("peppol", "3.0.22"): "schematron/peppol-bis-3.0.21/PEPPOL-EN16931-UBL.sch",
}
TITLES = {
    "en16931": "EN 16931 (CEN) UBL",
    "peppol": "Peppol BIS Billing 3.0 (UBL)",
    "xrechnung": "XRechnung (KoSIT) UBL",
}


def documented() -> list[RuleVersion]:
    """Every implemented version, in table order (France has its own page, docs/france.md)."""
    return [v for v in VERSIONS if v.implemented and v.family in TITLES]


def source(v: RuleVersion) -> str:
    rel = SOURCE_OVERRIDES.get((v.family, v.version), v.sch)
    if rel is None:
        raise ValueError(f"{v.label}: no official artefact to document")
    return rel


#: reasons for official rules no rule set implements, by id prefix (most specific first)
GENERIC = (
    ("UBL-CR-", "warning: a UBL element EN 16931 does not use; the renderer never writes it"),
    (
        "UBL-DT-W",
        "warning: an attribute the renderer never writes (only schemeID, listID, listVersionID, unitCode, currencyID and the payment means name are written)",
    ),
    ("UBL-DT-", "holds by construction: amounts are written with two decimals, no binary objects"),
    ("UBL-SR-", "holds by construction: the renderer writes this element at most once"),
    ("BR-DEC-", "holds by construction: computed amounts are written with two decimals"),
    ("BR-CL-", "holds by construction: the code is fixed by the renderer"),
    ("BR-", "holds by construction: the renderer always writes the element it requires"),
    ("BR-DE-", "warning only; not evaluated natively"),
    ("DE-R-", "warning only; not evaluated natively"),
    ("PEPPOL-", "holds by construction on what the renderer writes"),
)


def official_rules(kit: Path, rel: str) -> list[tuple[str, str, str]]:
    """(id, flag, text) of every assert in the official artefact."""
    tree = etree.parse(str(kit / rel))
    out = []
    if rel.endswith(".sch"):
        for a in tree.iter(f"{{{SCH}}}assert", f"{{{SCH}}}report"):
            out.append((a.get("id") or "", a.get("flag") or "fatal", " ".join("".join(a.itertext()).split())))
    else:
        for fa in tree.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
            attrs = {x.get("name"): "".join(x.itertext()).strip() for x in fa.iter(f"{{{XSL}}}attribute")}
            text = " ".join(" ".join("".join(t.itertext()) for t in fa.iter(f"{{{SVRL}}}text")).split())
            out.append((attrs.get("id", ""), attrs.get("flag", "fatal"), text))
    seen: set[str] = set()
    return [r for r in out if not (r[0] in seen or seen.add(r[0]))]  # type: ignore[func-returns-value]


MODULES = (
    "en16931.core", "en16931.co", "en16931.dec", "en16931.cl", "en16931.vat", "en16931.syntax",
    "peppol.rules", "peppol.common", "peppol.national.no", "peppol.national.dk", "peppol.national.se",
    "peppol.national.it", "peppol.national.nl", "peppol.national.gr", "peppol.national.is_",
    "peppol.national.de", "xrechnung", "faktura",
)  # fmt: skip


def modules() -> dict[str, str]:
    """Rule id -> the module whose RULES define it."""
    out: dict[str, str] = {}
    for name in MODULES:
        module = importlib.import_module(f"faktura.compliance.{name}")
        for r in module.RULES:
            out.setdefault(r.id, name)
    return out


def where(rule: Rule, module: str | None) -> str:
    if module is None:  # a rule of a later version, defined in that version's module
        module = rule.check.__module__.removeprefix("faktura.compliance.")
    return f"`compliance/{module.replace('.', '/')}.py`" + (" (on the request)" if rule.on_input else "")


def sets_of(v: RuleVersion) -> tuple[RuleSet, ...]:
    """The rule sets that answer for a version's asserts (EN 16931 and Faktura's own beside it)."""
    return tuple(dict.fromkeys((en16931.RULE_SET, RULE_SETS[(v.family, v.version)], faktura.RULE_SET)))


def implemented(sets: tuple[RuleSet, ...]) -> dict[str, Rule]:
    out: dict[str, Rule] = {}
    for rs in sets:
        for r in rs.rules:
            out.setdefault(r.id, r)
    return out


def reasons(sets: tuple[RuleSet, ...]) -> dict[str, str]:
    # the Peppol transaction rules KoSIT merges into XRechnung keep Peppol's reasons
    out: dict[str, str] = dict(peppol_rules.NOT_APPLICABLE)
    for rs in sets:
        out.update(rs.not_applicable)
    return out


NO_REASON = "not evaluated natively"
#: the last-resort prefixes of `GENERIC`: they describe, but do not explain, an id they catch
CATCH_ALL = ("BR-", "PEPPOL-")


def _explained_by_prefix(rid: str, flag: str) -> bool:
    if generic_reason(rid, flag) == NO_REASON:
        return False
    probe = "UBL-DT-W" + rid[len("UBL-DT-") :] if rid.startswith("UBL-DT-") and flag == "warning" else rid
    prefix = next(p for p, _ in GENERIC if probe.startswith(p))
    return prefix not in CATCH_ALL or flag == "warning"


def unexplained(kit: Path) -> dict[str, list[str]]:
    """Per version label, the official ids neither implemented nor explained."""
    out: dict[str, list[str]] = {}
    for v in (v for v in VERSIONS if v.implemented):  # France too: its page is docs/france.md
        sets = sets_of(v)
        impl, why = implemented(sets), reasons(sets)
        out[f"{v.family} {v.version}"] = [
            rid
            for rid, flag, _ in official_rules(kit, source(v))
            if rid not in impl and rid not in why and not _explained_by_prefix(rid, flag)
        ]
    return out


def generic_reason(rid: str, flag: str) -> str:
    if rid.startswith("UBL-DT-") and flag == "warning":
        rid = "UBL-DT-W" + rid[len("UBL-DT-") :]
    for prefix, reason in GENERIC:
        if rid.startswith(prefix):
            if flag == "warning" and "warning" not in reason:
                return "warning only; not evaluated natively"
            return reason
    return NO_REASON


def render(kit: Path) -> str:
    mods = modules()
    lines = [
        "# Compliance: every official rule, and where Faktura checks it",
        "",
        "Generated by `scripts/gen_compliance_doc.py` from the conformance kit and the rule sets in",
        "`src/faktura/compliance/`; do not edit by hand. *Implemented* rules run natively on the request",
        "(input model + parties + computed totals) before anything is numbered; `(on the request)` marks",
        "rules that judge a value as the client sent it, where the renderer would normalise it away.",
        "*By construction* means the rule cannot fail on what the renderer writes (it is kept true by",
        "the model, the totals engine or the renderer), so a native check would be dead code.",
        "The differential test (`tests/test_differential.py`) holds every implemented fatal rule, and",
        "every implemented official warning, to the official Schematron's verdict on our own XML; the",
        "official per-rule unit tests (`tests/official_units/`) are fixtures for the rules they name.",
        "",
        "One section per supported version (`faktura.compliance.versions`); a check applies the version in",
        "force on its day. What changed between two versions is in `docs/rule-diff-*.md`",
        "(`scripts/rule_release_diff.py`); how a new version is added, in `docs/rule-releases.md`.",
        "",
        "Ids are those of the artefacts: the IGIC (L) and IPSI (M) families, which EN 16931-1 calls",
        "BR-IG-* and BR-IP-*, are BR-AF-* and BR-AG-* in the 1.3.16 Schematron, and so in findings.",
        "",
    ]
    summary = [
        "| Rule set | Version | In force from | Official rules | Implemented (fatal / warning) | Not implemented, with reason (fatal / warning) |",
        "|---|---|---|---|---|---|",
    ]
    sections = []
    for v in documented():
        sets = sets_of(v)
        impl, why = implemented(sets), reasons(sets)
        title = TITLES[v.family]
        rows = official_rules(kit, source(v))
        counts: Counter[str] = Counter()
        body = ["| Id | Flag | Where / why not | Official text |", "|---|---|---|---|"]
        for rid, flag, text in rows:
            if rid in impl:
                counts["impl"] += 1
                counts["impl-" + flag] += 1
                status = where(impl[rid], mods.get(rid) if impl[rid] is _base(rid) else None)
            else:
                counts["na"] += 1
                counts["na-" + flag] += 1
                status = why.get(rid) or generic_reason(rid, flag)
            short = (text if len(text) <= 160 else text[:157] + "…").replace("|", "\\|")
            body.append(f"| {rid} | {flag} | {status} | {short} |")
        summary.append(
            f"| {title} | {v.version} | {v.effective_from} | {len(rows)} | {counts['impl']} ({counts['impl-fatal']} / {counts['impl-warning']})"
            f" | {counts['na']} ({counts['na-fatal']} / {counts['na-warning']}) |"
        )
        note = f"Source: `{source(v)}` in the conformance kit; in force from {v.effective_from} ({v.source})."
        sections += [f"## {title} ({v.version})", "", note, "", *body, ""]
    own: list[str] = [
        "## Faktura's own rules (FK-*)",
        "",
        "What no official rule checks, and where Faktura is stricter than an official rule: a"
        " declared total that adds up on the client's own figures (declared line net amounts, VAT"
        " within the official tolerance) but differs from Faktura's arithmetic is FK-SUB-TOTAL,"
        " FK-TAX-TOTAL or FK-TOTAL-AMOUNT; BR-CO-10/14/15 are reported only when the client's"
        " figures break them too, as the official validator would on the client's document.",
        "",
        "| Id | Severity | Where | Message |",
        "|---|---|---|---|",
    ]
    for r in faktura.RULE_SET.rules + tuple(  # France's own (FK-FR-*) are in docs/france.md
        r
        for (fam, _), rs in RULE_SETS.items()
        for r in rs.rules
        if rs is not faktura.RULE_SET and fam in TITLES
    ):
        if r.id.startswith("FK-") and not any(r.id in line for line in own):
            own.append(f"| {r.id} | {r.severity.value} | {where(r, mods.get(r.id))} | {r.message} |")
    return "\n".join([*lines, *summary, "", *own, "", *sections])


def _base(rid: str) -> Rule | None:
    """The rule object the module table names (the first version's), to tell a later
    version's own predicate from a shared one."""
    return _BASE.get(rid)


_BASE: dict[str, Rule] = {}
for _name in MODULES:
    for _r in importlib.import_module(f"faktura.compliance.{_name}").RULES:
        _BASE.setdefault(_r.id, _r)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--conformance",
        default=os.environ.get("FAKTURA_CONFORMANCE_DIR", str(ROOT.parent / "shared/conformance")),
    )
    ap.add_argument("--check", action="store_true", help="exit 1 if docs/compliance.md is stale")
    args = ap.parse_args()
    text = render(Path(args.conformance))
    if args.check:
        return 0 if OUT.read_text() == text else 1
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
