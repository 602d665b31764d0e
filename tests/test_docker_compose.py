"""Static checks of Dockerfile and docker-compose.yml (there is no Docker engine in CI)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instr, _, rest = line.partition(" ")
            out.append((instr.upper(), rest.strip()))
    return out


def _instructions(dockerfile: list[tuple[str, str]], name: str) -> list[str]:
    return [args for instr, args in dockerfile if instr == name]


def _exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), "use the exec (JSON) form"
    return value


def _build_context(service: dict[str, Any]) -> tuple[Path, str]:
    build = service["build"]
    if isinstance(build, str):
        return (ROOT / build).resolve(), "Dockerfile"
    return (ROOT / build.get("context", ".")).resolve(), build.get("dockerfile", "Dockerfile")


def test_three_services(compose: dict[str, Any]) -> None:
    assert {"postgres", "api", "worker"} <= set(compose["services"])


def test_postgres_has_healthcheck_and_volume(compose: dict[str, Any]) -> None:
    pg = compose["services"]["postgres"]
    assert pg["image"].startswith("postgres:15")
    assert pg["healthcheck"]["test"]
    volume = pg["volumes"][0].split(":")[0]
    assert volume in (compose.get("volumes") or {})


@pytest.mark.parametrize("name", ["api", "worker"])
def test_app_services_build_from_repo_dockerfile(compose: dict[str, Any], name: str) -> None:
    context, dockerfile = _build_context(compose["services"][name])
    assert context == ROOT
    assert (context / dockerfile).resolve() == DOCKERFILE


@pytest.mark.parametrize("name", ["api", "worker"])
def test_app_services_wait_for_healthy_postgres(compose: dict[str, Any], name: str) -> None:
    assert compose["services"][name]["depends_on"]["postgres"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", ["api", "worker"])
def test_database_url_points_at_postgres_service(compose: dict[str, Any], name: str) -> None:
    env = compose["services"][name]["environment"]
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    url = urlsplit(env["DATABASE_URL"])
    assert url.scheme in ("postgresql", "postgres")
    assert url.hostname == "postgres"
    assert url.port in (None, 5432)
    assert url.path == "/faktura"
    assert "FAKTURA_APP_DB_PASSWORD" in env


def test_worker_runs_the_worker(compose: dict[str, Any]) -> None:
    assert compose["services"]["worker"]["command"] == ["faktura", "worker"]


def test_api_serves_on_all_interfaces(compose: dict[str, Any], dockerfile: list[tuple[str, str]]) -> None:
    command = compose["services"]["api"].get("command") or _exec_form(_instructions(dockerfile, "CMD")[-1])
    assert command[:2] == ["faktura", "serve"]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    # The image's own CMD must do the same, for `docker run` without compose.
    cmd = _exec_form(_instructions(dockerfile, "CMD")[-1])
    assert cmd[:2] == ["faktura", "serve"] and cmd[cmd.index("--host") + 1] == "0.0.0.0"


def test_port_mapping_matches_expose(compose: dict[str, Any], dockerfile: list[tuple[str, str]]) -> None:
    exposed = {int(p.split("/")[0]) for args in _instructions(dockerfile, "EXPOSE") for p in args.split()}
    command = compose["services"]["api"].get("command") or []
    serve_port = int(command[command.index("--port") + 1]) if "--port" in command else 8000
    container_ports = {
        int(str(m).rsplit(":", 1)[-1].split("/")[0]) for m in compose["services"]["api"]["ports"]
    }
    assert container_ports == {8000}
    assert serve_port in exposed
    assert container_ports <= exposed


def test_dockerfile_installs_package_as_non_root(dockerfile: list[tuple[str, str]]) -> None:
    assert DOCKERFILE.is_file()
    assert _instructions(dockerfile, "FROM")[0].startswith("python:3.11-slim")
    runs = " ".join(_instructions(dockerfile, "RUN"))
    assert re.search(r"\bpip install (\S+ )*\.(\s|$)", runs), "the package is pip-installed"
    for pkg in ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0", "fonts-dejavu-core"):
        assert pkg in runs
    copied = " ".join(_instructions(dockerfile, "COPY"))
    assert "pyproject.toml" in copied and "src" in copied
    users = _instructions(dockerfile, "USER")
    assert users and users[-1] not in ("root", "0")
