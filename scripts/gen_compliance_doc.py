"""Write `docs/compliance.md`: every rule id of the official rule sets -> where Faktura checks
it, or why it cannot apply to what Faktura renders.

The official ids, flags and texts are read from the conformance kit (EN 16931 1.3.16
preprocessed Schematron, Peppol BIS 3.0.18 Schematron, the compiled XRechnung 2.3.0 XSLT);
the implementation side from the rule sets themselves (`faktura.compliance.profiles`).

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

from faktura.compliance.engine import Rule
from faktura.compliance.profiles import RULE_SETS

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "compliance.md"
SCH = "http://purl.oclc.org/dsdl/schematron"
XSL = "http://www.w3.org/1999/XSL/Transform"
SVRL = "http://purl.oclc.org/dsdl/svrl"

SOURCES = {
    "en16931": (
        "EN 16931 (CEN) UBL",
        "schematron/en16931-ubl/preprocessed/EN16931-UBL-validation-preprocessed.sch",
    ),
    "peppol-bis-3": (
        "Peppol BIS Billing 3.0 (UBL)",
        "schematron/peppol-bis-3/xslt-3.0.18/PEPPOL-EN16931-UBL-3.0.18.sch",
    ),
    "xrechnung-3": ("XRechnung (KoSIT) UBL", "schematron/xrechnung/xslt/XRechnung-UBL-validation.xsl"),
}

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


def official_rules(kit: Path, name: str) -> list[tuple[str, str, str]]:
    """(id, flag, text) of every assert in the official artefact."""
    _, rel = SOURCES[name]
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


def where(rule: Rule, module: str) -> str:
    return f"`compliance/{module.replace('.', '/')}.py`" + (" (on the request)" if rule.on_input else "")


def implemented() -> dict[str, Rule]:
    out: dict[str, Rule] = {}
    for rs in RULE_SETS.values():
        for r in rs.rules:
            out.setdefault(r.id, r)
    return out


def reasons() -> dict[str, str]:
    out: dict[str, str] = {}
    for rs in RULE_SETS.values():
        out.update(rs.not_applicable)
    return out


def generic_reason(rid: str, flag: str) -> str:
    if rid.startswith("UBL-DT-") and flag == "warning":
        rid = "UBL-DT-W" + rid[len("UBL-DT-") :]
    for prefix, reason in GENERIC:
        if rid.startswith(prefix):
            if flag == "warning" and "warning" not in reason:
                return "warning only; not evaluated natively"
            return reason
    return "not evaluated natively"


def render(kit: Path) -> str:
    impl, why, mods = implemented(), reasons(), modules()
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
        "Ids are those of the artefacts: the IGIC (L) and IPSI (M) families, which EN 16931-1 calls",
        "BR-IG-* and BR-IP-*, are BR-AF-* and BR-AG-* in the 1.3.16 Schematron, and so in findings.",
        "",
    ]
    summary = [
        "| Rule set | Version | Official rules | Implemented (fatal / warning) | Not implemented, with reason (fatal / warning) |",
        "|---|---|---|---|---|",
    ]
    sections = []
    versions = {rs.name: rs.version for rs in RULE_SETS.values()}
    for name, (title, _) in SOURCES.items():
        rows = official_rules(kit, name)
        counts: Counter[str] = Counter()
        body = ["| Id | Flag | Where / why not | Official text |", "|---|---|---|---|"]
        for rid, flag, text in rows:
            if rid in impl:
                counts["impl"] += 1
                counts["impl-" + flag] += 1
                status = where(impl[rid], mods[rid])
            else:
                counts["na"] += 1
                counts["na-" + flag] += 1
                status = why.get(rid) or generic_reason(rid, flag)
            short = (text if len(text) <= 160 else text[:157] + "…").replace("|", "\\|")
            body.append(f"| {rid} | {flag} | {status} | {short} |")
        version = versions.get(name, "")
        summary.append(
            f"| {title} | {version} | {len(rows)} | {counts['impl']} ({counts['impl-fatal']} / {counts['impl-warning']})"
            f" | {counts['na']} ({counts['na-fatal']} / {counts['na-warning']}) |"
        )
        sections += [f"## {title} ({version})", "", *body, ""]
    mods = modules()
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
    for rs in RULE_SETS.values():
        for r in rs.rules:
            if r.id.startswith("FK-"):
                own.append(f"| {r.id} | {r.severity.value} | {where(r, mods[r.id])} | {r.message} |")
    return "\n".join([*lines, *summary, "", *own, "", *sections])


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
