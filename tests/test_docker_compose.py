"""Static checks of Dockerfile and docker-compose.yml (there is no Docker engine in CI)."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"


_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


class MissingVariable(KeyError):
    pass


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's variable substitution: `${V}`, `${V:-default}`, `${V-default}`, `${V:?err}`,
    `${V?err}`, `$V`, `$$`; applied to every string of the parsed file."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name, op, arg = m.group(1) or m.group(4), m.group(2), m.group(3)
        have = name in env
        set_nonempty = have and env[name] != ""
        if op in (":-", "-"):
            return env[name] if (set_nonempty if op == ":-" else have) else arg
        if op in (":?", "?") and not (set_nonempty if op == ":?" else have):
            raise MissingVariable(f"{name}: {arg}")
        return env.get(name, "")

    return _VAR.sub(sub, value)


def required_variables(text: str) -> set[str]:
    """Variables the file refuses to run without (`${V:?...}` / `${V?...}`)."""
    return {m.group(1) for m in _VAR.finditer(text) if m.group(2) in (":?", "?")}


@pytest.fixture(scope="module")
def raw_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def secrets_env() -> dict[str, str]:
    """What `.env` holds, generated as the compose file's header says."""
    return {name: secrets.token_hex(24) for name in required_variables(COMPOSE.read_text())}


@pytest.fixture(scope="module")
def compose(raw_compose: dict[str, Any], secrets_env: dict[str, str]) -> dict[str, Any]:
    return interpolate(raw_compose, secrets_env)  # type: ignore[no-any-return]


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


# --- what compose promises: secrets, ports, health, one migration step ----------------------

SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN")


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def test_every_secret_comes_from_env_without_a_default(raw_compose: dict[str, Any]) -> None:
    text = COMPOSE.read_text()
    required = required_variables(text)
    assert {"POSTGRES_PASSWORD", "FAKTURA_APP_DB_PASSWORD", "MINIO_ROOT_PASSWORD"} <= required
    assert {"FAKTURA_PEPPOL_CALLBACK_TOKEN", "FAKTURA_METRICS_TOKEN"} <= required
    for name, service in raw_compose["services"].items():
        for key, value in _env(service).items():
            if SECRET_NAME.search(key):
                # a required variable, or (an optional credential) empty by default
                assert re.fullmatch(r"\$\{[A-Z_]+(:\?[^}]*|:-)\}", value), (name, key, value)
    # no ${SECRET:-value} anywhere, e.g. inside a URL
    for m in _VAR.finditer(text):
        if m.group(1) and SECRET_NAME.search(m.group(1)) and m.group(2) in (":-", "-"):
            assert m.group(3) == "", m.group(0)
    # without .env compose refuses to start, naming the variable
    for name in required:
        env = {n: "x" for n in required if n != name}
        with pytest.raises(MissingVariable, match=name):
            interpolate(raw_compose, env)


def test_published_ports_listen_on_loopback_only(compose: dict[str, Any]) -> None:
    published = [(name, str(p)) for name, s in compose["services"].items() for p in s.get("ports", [])]
    assert published
    for name, mapping in published:
        assert mapping.startswith("127.0.0.1:"), (name, mapping)


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        if service.get("restart") == "no":  # one-shot: the others wait for it to succeed
            assert "healthcheck" not in service
            waiting = [n for n, s in services.items() if name in (s.get("depends_on") or {})]
            assert waiting and all(
                services[n]["depends_on"][name]["condition"] == "service_completed_successfully" for n in waiting
            )
        else:
            assert service["healthcheck"]["test"], name
        for dep, cond in (service.get("depends_on") or {}).items():
            want = "service_completed_successfully" if services[dep].get("restart") == "no" else "service_healthy"
            assert cond["condition"] == want, (name, dep)
    assert re.search(r"pg_isready -h \S+", " ".join(services["postgres"]["healthcheck"]["test"]))
    assert "/ready" in " ".join(services["api"]["healthcheck"]["test"])


def test_migrations_run_in_one_place(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "faktura migrate" in " ".join(services["migrate"]["command"])
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert "migrate" not in " ".join(services[name]["command"])


def test_api_and_worker_share_one_archive_and_a_mail_catcher(compose: dict[str, Any]) -> None:
    api, worker = _env(compose["services"]["api"]), _env(compose["services"]["worker"])
    assert api["FAKTURA_ARCHIVE_BACKEND"] == worker["FAKTURA_ARCHIVE_BACKEND"] == "s3"
    for key in ("FAKTURA_S3_ENDPOINT_URL", "FAKTURA_S3_BUCKET", "FAKTURA_SMTP_HOST", "FAKTURA_SMTP_PORT"):
        assert api[key] == worker[key], key
    assert urlsplit(api["FAKTURA_S3_ENDPOINT_URL"]).hostname in compose["services"]
    assert api["FAKTURA_SMTP_HOST"] in compose["services"]


def test_dockerignore_keeps_the_build_context_small() -> None:
    ignored = {
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()[:1] not in ("", "#")
    }
    assert {".venv", ".git", ".env", ".faktura"} <= ignored
    assert not ignored & {"src", "templates", "pyproject.toml", "README.md", "requirements.lock"}


def test_readme_says_how_to_get_the_first_platform_key() -> None:
    assert "docker compose run --rm api faktura platform create" in (ROOT / "README.md").read_text()
