"""Static checks as tests, so that the README's one test command also lints and type-checks,
and the dependency direction (domain at the centre) cannot erode unnoticed."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "faktura"

# package → packages it must never import (dependencies point inward)
FORBIDDEN = {
    "domain": (
        "litestar",
        "asyncpg",
        "lxml",
        "faktura.api",
        "faktura.db",
        "faktura.render",
        "faktura.compliance",
    ),
    "compliance": ("litestar", "asyncpg", "lxml", "faktura.api", "faktura.db", "faktura.render"),
    "render": ("litestar", "asyncpg", "faktura.api", "faktura.db"),
}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_dependencies_point_inward() -> None:
    bad = []
    for package, forbidden in FORBIDDEN.items():
        for path in (SRC / package).rglob("*.py"):
            for name in imported_modules(path):
                if name.startswith(forbidden):
                    bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert bad == []


def test_ruff() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "src", "tests", "scripts", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy() -> None:
    out = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_installed_packages_are_the_locked_ones() -> None:
    """The README and CI install with `-c requirements.lock`: what runs is what the suite passed
    with. A dependency added to pyproject.toml without a pin here fails this test."""
    from importlib import metadata

    locked = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            locked[name.lower().replace("_", "-")] = version
    installed = {
        d.metadata["Name"].lower().replace("_", "-"): d.version
        for d in metadata.distributions()
        if d.metadata["Name"].lower() not in {"faktura", "pip", "setuptools", "wheel"}
    }
    assert {n: v for n, v in installed.items() if locked.get(n) != v} == {}
