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
