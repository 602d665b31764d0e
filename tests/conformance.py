"""The official validators (UBL 2.1 XSD, CEN EN 16931 and Peppol BIS Schematron) as a test oracle.

The kit lives outside the repository (`FAKTURA_CONFORMANCE_DIR`, default `../shared/conformance`
next to the repo root) and is loaded, not copied, so an upgrade of the artefacts is a
one-folder change. Its `Validator` compiles each XSLT once; we keep one per process because
the CEN + Peppol compile takes seconds and every case after the first is then cheap.
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RULES = ("en16931", "peppol")


def kit_dir() -> Path:
    configured = os.environ.get("FAKTURA_CONFORMANCE_DIR")
    path = Path(configured) if configured else REPO_ROOT.parent / "shared" / "conformance"
    return path.resolve()


@functools.cache
def _module() -> ModuleType:
    script = kit_dir() / "validate.py"
    if not script.is_file():
        raise FileNotFoundError(f"conformance kit not found: {script} (set FAKTURA_CONFORMANCE_DIR)")
    spec = importlib.util.spec_from_file_location("faktura_conformance_validate", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@functools.cache
def _validator() -> Any:
    return _module().Validator()


@functools.cache
def _scratch_dir() -> Path:
    # validate.py works on paths; one private directory per process, reused for every file.
    path = Path(tempfile.mkdtemp(prefix="faktura-conformance-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def official_findings(
    xml_bytes: bytes, rules: tuple[str, ...] = DEFAULT_RULES
) -> tuple[list[str], list[Any], list[Any]]:
    """(XSD errors, fatal findings, non-fatal findings) of the official artefacts for one document.

    Findings are the kit's `Finding` objects (`id`, `flag`, `location`, `text`). A rule set
    that cannot run at all is an error, not a silent pass.
    """
    path = _scratch_dir() / "document.xml"
    path.write_bytes(xml_bytes)
    result = _validator().validate(path, list(rules))
    if result.error:
        raise RuntimeError(f"validator could not check the document: {result.error}")
    findings = [f for fs in result.rules.values() for f in fs]
    return list(result.xsd_errors), [f for f in findings if f.fatal], [f for f in findings if not f.fatal]


def describe(findings: list[Any]) -> str:
    """One line per finding, for assertion messages."""
    return "\n".join(f"[{f.flag}] {f.id} at {f.location}: {f.text}" for f in findings)


def official_findings_by_set(
    xml_bytes: bytes, rules: tuple[str, ...]
) -> tuple[list[str], dict[str, list[Any]]]:
    """(XSD errors, findings per rule set): several versions of a family judged in one run, so
    that the document is parsed and schema-checked once for all of them."""
    path = _scratch_dir() / "document.xml"
    path.write_bytes(xml_bytes)
    result = _validator().validate(path, list(rules))
    if result.error:
        raise RuntimeError(f"validator could not check the document: {result.error}")
    return list(result.xsd_errors), {name: list(result.rules.get(name, [])) for name in rules}
