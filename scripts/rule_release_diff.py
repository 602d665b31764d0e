"""Diff two official Schematron versions: which asserts were added, removed or changed.

A rule release is a new `.sch`; what Faktura must port is exactly what changed in it. This
reads two `.sch` files of the conformance kit and lists, per official id, the asserts (and
reports) that were added, removed, or changed in flag, context or test, and the global
`<let>` values (code lists such as the EAS list) that changed, because a test that reads a
`<let>` changes meaning without changing text. Whitespace is normalised before comparing.

    python scripts/rule_release_diff.py OLD.sch NEW.sch [--title T] [--out FILE]
    python scripts/rule_release_diff.py --family peppol 3.0.18 3.0.21

With `--family`, the files come from `faktura.compliance.versions` (the kit path of each
version); the outputs for Peppol 3.0.18 -> 3.0.21 and XRechnung 2.3.0 -> 2.5.0 are committed as
`docs/rule-diff-*.md`. A compiled ISO-skeleton `.xsl` is read too (XRechnung 2.3.0, whose
`.sch` in the kit are build sources without the merged Peppol rules).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
SCH = "http://purl.oclc.org/dsdl/schematron"
XSL = "http://www.w3.org/1999/XSL/Transform"
SVRL = "http://purl.oclc.org/dsdl/svrl"


#: versions whose `.sch` in the kit are build sources (rules merged only at build time): the
#: diff reads their compiled stylesheet instead
COMPILED = {("xrechnung", "2.3.0"): "schematron/xrechnung/xslt/XRechnung-UBL-validation.xsl"}


@dataclass(frozen=True)
class Assert:
    id: str
    flag: str
    context: str
    test: str


def _norm(text: str | None) -> str:
    return " ".join((text or "").split())


def asserts(path: Path) -> dict[str, Assert]:
    """Every assert and report of a `.sch` (or of an ISO-skeleton compiled `.xsl`, where a
    version's `.sch` are build sources), by official id (the first, where an id repeats)."""
    tree = etree.parse(str(path))
    if tree.getroot().tag == f"{{{XSL}}}stylesheet":
        return _compiled_asserts(tree)
    out: dict[str, Assert] = {}
    for rule in tree.iter(f"{{{SCH}}}rule"):
        context = _norm(rule.get("context"))
        for a in rule.iter(f"{{{SCH}}}assert", f"{{{SCH}}}report"):
            rid = a.get("id") or ""
            test = _norm(a.get("test"))
            if a.tag == f"{{{SCH}}}report":
                test = f"report: {test}"
            out.setdefault(rid, Assert(rid, a.get("flag") or "fatal", context, test))
    return out


def _compiled_asserts(tree: etree._ElementTree) -> dict[str, Assert]:
    out: dict[str, Assert] = {}
    for template in tree.iter(f"{{{XSL}}}template"):
        fired = template.find(f"{{{SVRL}}}fired-rule")
        if fired is None:
            continue
        context = _norm(fired.get("context"))
        for node in template.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
            attrs = {a.get("name"): "".join(a.itertext()).strip() for a in node.iter(f"{{{XSL}}}attribute")}
            test = _norm(node.get("test"))
            if node.tag == f"{{{SVRL}}}successful-report":
                test = f"report: {test}"
            rid = attrs.get("id", "")
            out.setdefault(rid, Assert(rid, attrs.get("flag", "fatal"), context, test))
    return out


def lets(path: Path) -> dict[str, str]:
    """The `<let>` values outside rules (variables and code lists the tests read); of a
    compiled `.xsl`, its top-level parameters and variables."""
    root = etree.parse(str(path)).getroot()
    if root.tag == f"{{{XSL}}}stylesheet":
        return {
            e.get("name") or "": _norm(e.get("select"))
            for e in root.iterchildren(f"{{{XSL}}}param", f"{{{XSL}}}variable")
            if e.get("select") is not None  # the skeleton's own file parameters have none
        }
    rule = f"{{{SCH}}}rule"
    out = {}
    for inc in root.iter(f"{{{SCH}}}include"):  # e.g. XRechnung's common.sch
        out.update(lets(path.parent / (inc.get("href") or "")))
    for e in root.iter(f"{{{SCH}}}let"):
        if not any(p.tag == rule for p in e.iterancestors()):
            out[e.get("name") or ""] = _norm(e.get("value"))
    return out


@dataclass(frozen=True)
class Diff:
    added: list[Assert]
    removed: list[Assert]
    #: (old, new, what changed: "flag", "context", "test")
    changed: list[tuple[Assert, Assert, tuple[str, ...]]]
    #: (name, old value or None, new value or None)
    lets: list[tuple[str, str | None, str | None]]


def diff(old: Path, new: Path) -> Diff:
    a, b = asserts(old), asserts(new)
    changed = []
    for rid in a.keys() & b.keys():
        what = tuple(f for f in ("flag", "context", "test") if getattr(a[rid], f) != getattr(b[rid], f))
        if what:
            changed.append((a[rid], b[rid], what))
    la, lb = lets(old), lets(new)
    return Diff(
        added=[b[r] for r in sorted(b.keys() - a.keys())],
        removed=[a[r] for r in sorted(a.keys() - b.keys())],
        changed=sorted(changed, key=lambda c: c[0].id),
        lets=[(n, la.get(n), lb.get(n)) for n in sorted(la.keys() | lb.keys()) if la.get(n) != lb.get(n)],
    )


def _words(value: str | None) -> set[str] | None:
    """The codes of a `tokenize('…')` or `' … '` code list; None for any other expression."""
    if value is None:
        return set()
    if value.startswith("tokenize('"):
        return set(value[len("tokenize('") : value.index("'", len("tokenize('"))].split())
    if value.startswith("' ") and value.endswith(" '"):  # KoSIT's space-padded lists
        return set(value[1:-1].split())
    return None


def _short(text: str, limit: int = 300) -> str:
    text = text.replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render(d: Diff, title: str, old: str, new: str) -> str:
    lines = [
        f"# {title}",
        "",
        f"Generated by `scripts/rule_release_diff.py` from `{old}` and `{new}`; do not edit by hand.",
        f"Added {len(d.added)}, removed {len(d.removed)}, changed {len(d.changed)} asserts;"
        f" {len(d.lets)} global `<let>` values changed.",
        "",
        "## Added asserts",
        "",
        "| Id | Flag | Context | Test |",
        "|---|---|---|---|",
        *(f"| {a.id} | {a.flag} | `{_short(a.context, 120)}` | `{_short(a.test)}` |" for a in d.added),
        "",
        "## Removed asserts",
        "",
        "| Id | Flag | Context |",
        "|---|---|---|",
        *(f"| {a.id} | {a.flag} | `{_short(a.context, 120)}` |" for a in d.removed),
        "",
        "## Changed asserts",
        "",
        "| Id | Changed | Old | New |",
        "|---|---|---|---|",
    ]
    for o, n, what in d.changed:
        olds = "; ".join(f"{w}: `{_short(getattr(o, w))}`" for w in what)
        news = "; ".join(f"{w}: `{_short(getattr(n, w))}`" for w in what)
        lines.append(f"| {o.id} | {', '.join(what)} | {olds} | {news} |")
    lines += [
        "",
        "## Changed code lists and variables (`<let>`)",
        "",
        "| Name | Removed | Added |",
        "|---|---|---|",
    ]
    for name, ov, nv in d.lets:
        wo, wn = _words(ov), _words(nv)
        if wo is not None and wn is not None:
            gone, came = sorted(wo - wn), sorted(wn - wo)
            lines.append(f"| {name} | {' '.join(gone) or '—'} | {' '.join(came) or '—'} |")
        else:
            lines.append(f"| {name} | (expression) `{_short(ov or '—')}` | `{_short(nv or '—')}` |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--family", help="read OLD and NEW as versions of this family (peppol, xrechnung)")
    ap.add_argument("--title")
    ap.add_argument("--out")
    ap.add_argument(
        "--conformance",
        default=os.environ.get("FAKTURA_CONFORMANCE_DIR", str(ROOT.parent / "shared/conformance")),
    )
    args = ap.parse_args()
    kit = Path(args.conformance)
    if args.family:
        from faktura.compliance.versions import version

        old_v, new_v = version(args.family, args.old), version(args.family, args.new)
        old_rel, new_rel = COMPILED.get((old_v.family, old_v.version), old_v.sch), new_v.sch
        if not (old_rel and new_rel):
            ap.error("a version without a .sch in the kit cannot be diffed")
        old_path, new_path = kit / old_rel, kit / new_rel
        title = args.title or f"{old_v.title} {old_v.version} -> {new_v.version}: what changed"
    else:
        old_path, new_path = Path(args.old), Path(args.new)
        old_rel, new_rel = args.old, args.new
        title = args.title or f"{args.old} -> {args.new}"
    text = render(diff(old_path, new_path), title, old_rel, new_rel)
    if args.out:
        Path(args.out).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
