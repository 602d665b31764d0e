"""The release workflow's guards: every official assert of every supported version is implemented
or explained, and every line of a committed release diff is followed by the new version.

`scripts/gen_compliance_doc.py` says per version where each official id is checked or why it
cannot apply; `scripts/rule_release_diff.py` lists what a release changed. Both read the
conformance kit, so a new kit version that brings an assert nobody looked at fails here.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from conformance import kit_dir
from faktura.compliance import xrechnung
from faktura.compliance.peppol import v3_0_21
from faktura.compliance.rulebook import RULE_SETS
from faktura.compliance.versions import VERSIONS, version

ROOT = Path(__file__).resolve().parents[1]


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def doc() -> ModuleType:
    return _script("gen_compliance_doc")


@pytest.fixture(scope="module")
def release_diff() -> ModuleType:
    return _script("rule_release_diff")


def test_every_assert_of_every_supported_version_is_implemented_or_explained(doc: ModuleType) -> None:
    missing = doc.unexplained(kit_dir())
    assert set(missing) == {f"{v.family} {v.version}" for v in VERSIONS if v.implemented}
    assert all(ids == [] for ids in missing.values()), f"neither implemented nor explained: {missing}"


def test_unexplained_is_not_vacuous(doc: ModuleType) -> None:
    """A rule set that forgets an id (here: the whole Peppol 3.0.21 set emptied) is reported."""
    real = RULE_SETS[("peppol", "3.0.21")]
    import dataclasses

    RULE_SETS[("peppol", "3.0.21")] = dataclasses.replace(real, rules=(), not_applicable={})
    try:
        missing = doc.unexplained(kit_dir())["peppol 3.0.21"]
    finally:
        RULE_SETS[("peppol", "3.0.21")] = real
    assert "DK-R-017" in missing and "PEPPOL-COMMON-R053" in missing


@pytest.mark.parametrize(
    ("family", "old", "new"), [("peppol", "3.0.18", "3.0.21"), ("xrechnung", "2.3.0", "2.5.0")]
)
def test_release_diff_is_committed_and_current(family: str, old: str, new: str) -> None:
    out = ROOT / "docs" / f"rule-diff-{family}-{old}-{new}.md"
    script = str(ROOT / "scripts" / "rule_release_diff.py")
    r = subprocess.run(
        [sys.executable, script, "--family", family, old, new], capture_output=True, text=True, check=True
    )
    assert out.read_text() == r.stdout, (
        f"regenerate: scripts/rule_release_diff.py --family {family} {old} {new} --out …"
    )


def test_every_line_of_the_xrechnung_2_5_0_diff_is_implemented_or_explained(release_diff: ModuleType) -> None:
    kit = kit_dir()
    old_path = kit / release_diff.COMPILED[("xrechnung", "2.3.0")]
    d = release_diff.diff(old_path, kit / str(version("xrechnung", "2.5.0").sch))
    old = {r.id: r for r in RULE_SETS[("xrechnung", "2.3.0")].rules}
    new_set = RULE_SETS[("xrechnung", "2.5.0")]
    new = {r.id: r for r in new_set.rules}
    problems = [f"added {a.id}" for a in d.added if a.id not in new and a.id not in new_set.not_applicable]
    for _, n, what in d.changed:
        if n.id in new_set.not_applicable and n.id not in new:
            continue
        if n.id not in new or new[n.id] is old.get(n.id):
            problems.append(f"changed {n.id} ({', '.join(what)}): shares the 2.3.0 predicate, no reason")
        elif new[n.id].severity.value != n.flag:
            problems.append(f"changed {n.id}: flag {n.flag}, ours {new[n.id].severity.value}")
    problems += [f"<let> {name}" for name, _, _ in d.lets if name not in xrechnung.LETS_2_5_0]
    assert d.added and d.changed and d.lets
    assert problems == []


def test_every_line_of_the_3_0_21_diff_is_implemented_or_explained(release_diff: ModuleType) -> None:
    kit = kit_dir()
    old_v, new_v = version("peppol", "3.0.18"), version("peppol", "3.0.21")
    assert old_v.sch and new_v.sch
    d = release_diff.diff(kit / old_v.sch, kit / new_v.sch)
    old = {r.id: r for r in RULE_SETS[("peppol", "3.0.18")].rules}
    new_set = RULE_SETS[("peppol", "3.0.21")]
    new = {r.id: r for r in new_set.rules}
    problems = []
    for a in d.added:
        if a.id not in new and a.id not in new_set.not_applicable:
            problems.append(f"added {a.id}: not implemented in 3.0.21, no reason")
        elif a.id in new and new[a.id].severity.value != a.flag:
            problems.append(f"added {a.id}: flag {a.flag}, ours {new[a.id].severity.value}")
    for a in d.removed:
        if a.id in new:
            problems.append(f"removed {a.id}: still in the 3.0.21 rule set")
    for _, n, what in d.changed:
        if n.id in v3_0_21.NOT_APPLICABLE or n.id in v3_0_21.SAME_PREDICATE:
            continue
        if n.id not in new or new[n.id] is old.get(n.id):
            problems.append(
                f"changed {n.id} ({', '.join(what)}): 3.0.21 shares the 3.0.18 predicate, no reason"
            )
        elif new[n.id].severity.value != n.flag:
            problems.append(f"changed {n.id}: flag {n.flag}, ours {new[n.id].severity.value}")
    for name, _, _ in d.lets:
        if name not in v3_0_21.LETS:
            problems.append(f"<let> {name} changed: not followed, no reason")
    assert d.added and d.changed and d.lets  # the diff is not empty: the check above is not vacuous
    assert problems == []
