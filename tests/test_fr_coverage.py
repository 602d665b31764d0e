"""Every BR-FR assert of the kit's UBL Schematron is a native rule or has a written reason, and
the coverage table of `docs/france.md` is the one the kit and the rule sets give today."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from lxml import etree

from conformance import kit_dir
from faktura.compliance import france
from faktura.compliance.france.coverage import NOT_APPLICABLE, NOT_APPLICABLE_EXTENDED
from faktura.compliance.versions import version

ROOT = Path(__file__).resolve().parents[1]
SCH = "{http://purl.oclc.org/dsdl/schematron}"


def kit_ids(family: str) -> set[str]:
    sch = version(family, "1.4.0.03").sch
    assert sch is not None
    tree = etree.parse(str(kit_dir() / sch))
    return {a.get("id") for a in tree.iter(f"{SCH}assert", f"{SCH}report")}


def test_every_br_fr_id_is_implemented_or_explained_and_nothing_else() -> None:
    ids = kit_ids("fr-ctc")
    native = {r.id for r in france.RULE_SET.rules if not r.id.startswith("FK-")}
    assert native & set(NOT_APPLICABLE) == set(), "both implemented and explained"
    assert native | set(NOT_APPLICABLE) == ids
    assert all(reason.strip() for reason in NOT_APPLICABLE.values())


def test_extended_own_ids_are_explained() -> None:
    own = {i for i in kit_ids("fr-ctc-extended") if "FREXT" in i}
    assert own <= set(NOT_APPLICABLE_EXTENDED)
    assert set(NOT_APPLICABLE_EXTENDED) <= kit_ids("fr-ctc-extended")


def test_france_doc_is_current_and_its_table_counts_the_kit() -> None:
    script = str(ROOT / "scripts" / "gen_france_doc.py")
    r = subprocess.run(
        [sys.executable, script, "--check", "--conformance", str(kit_dir())], capture_output=True, text=True
    )
    assert r.returncode == 0, f"docs/france.md is stale: run scripts/gen_france_doc.py\n{r.stderr}"
    page = (ROOT / "docs" / "france.md").read_text(encoding="utf-8")
    rows = dict(
        re.findall(
            r"^\| `(fr-ctc(?:-extended)?-1\.4\.0\.03)` \| UBL \| (\d+ \| \d+ \| \d+ \| \d+) \|$", page, re.M
        )
    )
    total, implemented, explained, neither = (int(x) for x in rows["fr-ctc-1.4.0.03"].split(" | "))
    assert total == len(kit_ids("fr-ctc")) == implemented + explained
    assert implemented == len({r.id for r in france.RULE_SET.rules if not r.id.startswith("FK-")})
    assert neither == 0
    ext = [int(x) for x in rows["fr-ctc-extended-1.4.0.03"].split(" | ")]
    assert ext[0] == len(kit_ids("fr-ctc-extended")) == ext[1] + ext[2] and ext[3] == 0


def _official(family: str) -> dict[str, tuple[str, str]]:
    sch = version(family, "1.4.0.03").sch
    assert sch is not None
    tree = etree.parse(str(kit_dir() / sch))
    return {
        a.get("id"): (a.get("flag") or "fatal", " ".join("".join(a.itertext()).split()))
        for a in tree.iter(f"{SCH}assert", f"{SCH}report")
    }


def test_native_rules_carry_the_official_severity_and_message_prefix() -> None:
    official = _official("fr-ctc")
    for r in france.RULE_SET.rules:
        if r.id.startswith("FK-"):
            continue
        flag, text = official[r.id]
        assert r.severity.value == flag, r.id
        prefix = text.split("]", 1)[0].lstrip("[") if text.startswith("[") else text.split(":", 1)[0].strip()
        assert r.message.lstrip("[").startswith(prefix.split("/")[0]), (r.id, prefix, r.message)


def _function_values(name: str) -> set[str]:
    """The quoted or space-separated values of a `custom:` function of the kit's UBL Schematron."""
    sch = version("fr-ctc", "1.4.0.03").sch
    assert sch is not None
    text = (kit_dir() / sch).read_text(encoding="utf-8")
    body = text.split(f'name="custom:{name}"', 1)[1].split("</xsl:function>", 1)[0]
    quoted = re.findall(r"'([^']*)'", body)
    return {v for q in quoted for v in q.split() if "\\" not in v}  # not the `tokenize` pattern


def test_code_lists_are_the_kit_ones() -> None:
    from faktura.compliance.france import codes

    assert _function_values("is-valid-billing-mode") == codes.BILLING_MODES
    assert _function_values("is-valid-document-type-code") == codes.DOCUMENT_TYPES
    assert _function_values("is-valid-vat-category-code") == codes.VAT_CATEGORIES
    assert _function_values("is-valid-vat-rate") == codes.VAT_RATES
    assert _function_values("is-valid-attachment-code") == codes.ATTACHMENT_CODES
