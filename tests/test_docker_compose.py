"""Static checks of Dockerfile and docker-compose.yml (there is no Docker engine in CI)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from tests.conftest import ADMIN_DSN
from tests.process_support import wait_until_serving

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
                services[n]["depends_on"][name]["condition"] == "service_completed_successfully"
                for n in waiting
            )
        else:
            assert service["healthcheck"]["test"], name
        for dep, cond in (service.get("depends_on") or {}).items():
            want = (
                "service_completed_successfully"
                if services[dep].get("restart") == "no"
                else "service_healthy"
            )
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
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip()[:1] not in ("", "#")
    }
    assert {".venv", ".git", ".env", ".faktura"} <= ignored
    assert not ignored & {"src", "templates", "pyproject.toml", "README.md", "requirements.lock"}


def test_readme_says_how_to_get_the_first_platform_key() -> None:
    assert "docker compose run --rm api faktura platform create" in (ROOT / "README.md").read_text()


# --- the topology, run without a container engine ---------------------------------------------
#
# Each service built from our Dockerfile (migrate, api, worker) runs as its own process with
# exactly the environment compose would give its container (the file's, then the image's
# ENV), its own empty working and data directory, and service host names mapped to loopback.
# The images we do not build are stood in for: postgres by the local server (a fresh
# database; its superuser stands in for the container's), minio by moto's S3 server, mailpit
# by aiosmtpd. Nothing is shared between api and worker but what the file makes them share.


@dataclass
class Topology:
    compose: dict[str, Any]
    dockerfile_env: dict[str, str]
    base: Path
    database: str
    #: (compose host, container port) → local port
    addresses: dict[tuple[str, int], int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def own_ports(self, service: str) -> dict[int, int]:
        return {cport: local for (host, cport), local in self.addresses.items() if host == service}

    def rewrite(self, service: str, text: str) -> str:
        for (host, cport), local in self.addresses.items():
            text = re.sub(rf"\b{re.escape(host)}:{cport}\b", f"127.0.0.1:{local}", text)
        for cport, local in self.own_ports(service).items():
            text = re.sub(rf"\b(0\.0\.0\.0|127\.0\.0\.1|localhost):{cport}\b", f"127.0.0.1:{local}", text)
        return text

    def argv(self, service: str, args: list[str]) -> list[str]:
        out = [self.rewrite(service, a) for a in args]
        for i, a in enumerate(out[:-1]):
            if a == "--host":
                out[i + 1] = "127.0.0.1"
            if a == "--port":
                out[i + 1] = str(self.own_ports(service)[int(out[i + 1])])
        return out

    def env(self, service: str) -> dict[str, str]:
        """The container's environment: the image's ENV, then the service's, mapped."""
        workdir = self.base / service
        (workdir / "data").mkdir(parents=True, exist_ok=True)
        spec = self.compose["services"][service]
        raw = {**(self.dockerfile_env if "build" in spec else {}), **_env(spec)}
        env = {}
        for key, value in raw.items():
            value = self.rewrite(service, value)
            if value in self.compose["services"]:  # a bare host name (FAKTURA_SMTP_HOST)
                port_key = key.removesuffix("_HOST") + "_PORT"
                env[port_key] = str(self.addresses[(value, int(raw[port_key]))])
                value = "127.0.0.1"
            if value == "/data":
                value = str(workdir / "data")
            if value == "/app/templates":
                value = str(ROOT / "templates")
            env.setdefault(key, value)
        if "DATABASE_URL" in raw:
            assert urlsplit(raw["DATABASE_URL"]).hostname == "postgres"
            env["DATABASE_URL"] = ADMIN_DSN.rpartition("/")[0] + "/" + self.database
        return {
            **env,
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "HOME": str(workdir),
            "LANG": "C.UTF-8",
        }

    def run(self, service: str, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(service, args),
            env=self.env(service),
            cwd=self.base / service,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, service: str) -> None:
        log = (self.base / f"{service}.log").open("wb")
        self.procs[service] = subprocess.Popen(
            self.argv(service, self.compose["services"][service]["command"]),
            env=self.env(service),
            cwd=self.base / service,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def healthy(self, service: str) -> bool:
        test = self.compose["services"][service]["healthcheck"]["test"]
        argv = ["sh", "-c", test[1]] if test[0] == "CMD-SHELL" else test[1:]
        return self.run(service, argv, timeout=10).returncode == 0

    def wait_healthy(self, service: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not self.healthy(service):
            proc = self.procs.get(service)
            assert proc is None or proc.poll() is None, self.log(service)
            assert time.monotonic() < deadline, f"{service} not healthy: {self.log(service)}"
            time.sleep(0.5)

    def log(self, service: str) -> str:
        path = self.base / f"{service}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def _image_env(dockerfile: list[tuple[str, str]]) -> dict[str, str]:
    return dict(pair.split("=", 1) for args in _instructions(dockerfile, "ENV") for pair in args.split())


@pytest.fixture
def topology(
    compose: dict[str, Any], dockerfile: list[tuple[str, str]], tmp_path: Path
) -> Iterator[tuple[Topology, Any, Any]]:
    from moto.server import ThreadedMotoServer
    from tests.delivery_support import free_port, smtp_server

    database = f"faktura_compose_{uuid.uuid4().hex[:8]}"
    subprocess.run(["psql", ADMIN_DSN, "-qc", f'CREATE DATABASE "{database}"'], check=True)
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    s3.start()
    topo = Topology(compose, _image_env(dockerfile), tmp_path, database)
    try:
        with smtp_server() as smtp:
            minio = urlsplit(_env(compose["services"]["api"])["FAKTURA_S3_ENDPOINT_URL"])
            api_env = _env(compose["services"]["api"])
            topo.addresses = {
                ("postgres", 5432): int(urlsplit(ADMIN_DSN).port or 5432),
                (str(minio.hostname), int(minio.port or 80)): s3._server.server_port,  # type: ignore[union-attr]
                (api_env["FAKTURA_SMTP_HOST"], int(api_env["FAKTURA_SMTP_PORT"])): smtp.port,
                ("api", 8000): free_port(),
                ("worker", 9100): free_port(),
            }
            yield topo, smtp, s3
    finally:
        topo.stop()
        s3.stop()
        subprocess.run(
            ["psql", ADMIN_DSN, "-qc", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'], check=False
        )


def test_compose_topology_runs_the_tour_to_accepted_and_serves_the_pdf(
    topology: tuple[Topology, Any, Any], compose: dict[str, Any], secrets_env: dict[str, str]
) -> None:
    import boto3
    from tests.pdf_support import attachments

    topo, smtp, _ = topology
    started = time.monotonic()
    assert topo.healthy("postgres")  # its pg_isready -h ..., against the stand-in

    # 1. the one-shot migrate: schema and bucket (with Object Lock)
    done = topo.run("migrate", compose["services"]["migrate"]["command"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "created with Object Lock; default retention GOVERNANCE 3653 days" in done.stdout

    # 2. api and worker, each in its own process, directory and environment
    topo.start("api")
    topo.start("worker")
    api = f"http://127.0.0.1:{topo.addresses[('api', 8000)]}"
    wait_until_serving(api, topo.procs["api"], lambda: topo.log("api"))
    topo.wait_healthy("worker")
    if httpx.get(f"{api}/ready", timeout=5).status_code != 404:  # the api's healthcheck asks /ready
        topo.wait_healthy("api")

    # 3. the first platform key, as the README says: docker compose run --rm api faktura ...
    readme = (ROOT / "README.md").read_text()
    m = re.search(r"docker compose run --rm (\w+) (faktura platform create [^#\n]*?)\s*(#|\n)", readme)
    assert m, "README: docker compose run --rm api faktura platform create NAME"
    created = topo.run(m.group(1), shlex.split(m.group(2)))
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]

    # 4. the tour: tenant, contact, invoice issued, sent by Peppol and e-mail
    examples = ROOT / "docs" / "examples"
    with httpx.Client(base_url=api, timeout=30) as c:
        r = c.post(
            "/v1/tenants",
            json=json.loads((examples / "tenant.json").read_text()),
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code == 201, r.text
        auth = {"Authorization": f"Bearer {key}", "X-Account-Token": r.json()["model"]["account_token"]}
        r = c.post("/v1/contacts", json=json.loads((examples / "contact.json").read_text()), headers=auth)
        assert r.status_code == 201, r.text
        body = json.loads((examples / "invoice.json").read_text())
        body["model"]["contact"] = r.json()["model"]["id"]
        r = c.post("/v1/invoices?issue=true", json=body, headers=auth)
        assert r.status_code == 201, r.text
        invoice = r.json()["model"]["id"]
        for channel in ("peppol", "email"):
            r = c.post(f"/v1/invoices/{invoice}/send", json={"channel": channel}, headers=auth)
            assert r.status_code == 202, r.text

        deadline = time.monotonic() + 60
        while True:
            deliveries = {
                d["channel"]: d["status"]
                for d in c.get(f"/v1/invoices/{invoice}/status", headers=auth).json()["deliveries"]
            }
            if deliveries.get("peppol") == "ACCEPTED" and deliveries.get("email") in ("SENT", "DELIVERED"):
                break
            assert "FAILED" not in deliveries.values(), c.get(
                f"/v1/invoices/{invoice}/deliveries", headers=auth
            ).text
            assert time.monotonic() < deadline, (deliveries, topo.log("worker"))
            time.sleep(0.3)

        # 5. the PDF the worker rendered and archived, served by the api
        while (r := c.get(f"/v1/invoices/{invoice}/pdf", headers=auth)).status_code == 202:
            assert time.monotonic() < deadline, topo.log("worker")
            time.sleep(0.3)
        assert r.status_code == 200 and r.content.startswith(b"%PDF"), r.text[:300]
        xml = c.get(f"/v1/invoices/{invoice}/xml", headers=auth).content
        [(embedded, _)] = attachments(r.content).values()
        assert embedded == xml

        # 6. metrics: the api's route behind the token, the worker's own endpoint
        token = secrets_env["FAKTURA_METRICS_TOKEN"]
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    worker = f"http://127.0.0.1:{topo.addresses[('worker', 9100)]}"
    assert httpx.get(f"{worker}/metrics").status_code == 401
    worker_metrics = httpx.get(f"{worker}/metrics", headers={"Authorization": f"Bearer {token}"}).text
    assert 'faktura_delivery_transitions_total{channel="peppol",status="ACCEPTED"} 1.0' in worker_metrics

    # the archive is in the S3 service, written by both processes, under Object Lock;
    # nothing was archived inside a "container"
    api_env = topo.env("api")
    s3 = boto3.client(
        "s3",
        endpoint_url=api_env["FAKTURA_S3_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id=api_env["FAKTURA_S3_ACCESS_KEY_ID"],
        aws_secret_access_key=api_env["FAKTURA_S3_SECRET_ACCESS_KEY"],
    )
    objects = s3.list_objects_v2(Bucket=api_env["FAKTURA_S3_BUCKET"])["Contents"]
    types = {
        s3.head_object(Bucket=api_env["FAKTURA_S3_BUCKET"], Key=o["Key"])["ContentType"] for o in objects
    }
    assert {"application/xml", "application/pdf"} <= types
    assert all(
        s3.head_object(Bucket=api_env["FAKTURA_S3_BUCKET"], Key=o["Key"])["ObjectLockMode"] == "GOVERNANCE"
        for o in objects
    )
    for service in ("api", "worker"):
        assert not list((topo.base / service).rglob("archive")), service
    # the e-mail went to the catcher, with the UBL the worker read back from the api's archive
    [mail] = smtp.sink.messages
    assert mail["To"] == "ap@vandenberghe.example"
    assert xml in [part.get_payload(decode=True) for part in mail.iter_attachments()]
    # the whole run took seconds
    assert time.monotonic() - started < 120
