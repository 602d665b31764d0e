"""The `faktura` command's contract, through a real subprocess as scripts use it."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

#: A PostgreSQL where the test may create and drop a database (CI: local trust auth).
from tests.conftest import ADMIN_DSN

from faktura.db.embedded import start_embedded


def _faktura(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "faktura.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def test_help_lists_commands() -> None:
    result = _faktura("--help")
    assert result.returncode == 0, result.stderr
    for command in ("serve", "migrate", "platform", "worker"):
        assert command in result.stdout
    # A platform is the SaaS product holding the API key; tenants are its sellers.
    assert "tenant" not in result.stdout.lower()


def test_version() -> None:
    from faktura import __version__

    result = _faktura("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"faktura {__version__}"


def test_console_script_installed() -> None:
    script = Path(sys.executable).parent / "faktura"
    exe = str(script) if script.exists() else shutil.which("faktura")
    assert exe, "console script `faktura` not installed (pip install -e .)"
    result = subprocess.run([exe, "platform", "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "create" in result.stdout and "rotate-key" in result.stdout


def test_serve_help_has_contract_options() -> None:
    result = _faktura("serve", "--help")
    assert result.returncode == 0, result.stderr
    for option in ("--host", "--port", "--workers"):
        assert option in result.stdout


def _lead_modules_missing() -> str | None:
    for module in ("faktura.db.migrate", "faktura.db.platforms"):
        if importlib.util.find_spec(module) is None:
            return module
    return None


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    """A fresh, empty database on the test server; dropped afterwards."""
    name = f"faktura_cli_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield urlunsplit(urlsplit(ADMIN_DSN)._replace(path=f"/{name}"))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.mark.skipif(
    _lead_modules_missing() is not None,
    reason=f"{_lead_modules_missing()} does not exist yet; re-enable once it lands",
)
async def test_platform_commands(database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url}

    async def faktura(*args: str) -> subprocess.CompletedProcess[str]:
        result = await asyncio.to_thread(_faktura, *args, env=env)
        assert result.returncode == 0, result.stderr
        return result

    # On a fresh database: `platform create` applies the migrations itself.
    created = await faktura("platform", "create", "Acme Platform")
    key = created.stdout.strip().splitlines()[-1]
    assert key and not any(c.isspace() for c in key) and len(key) >= 20, created.stdout

    listed = [json.loads(line) for line in (await faktura("platform", "list")).stdout.splitlines()]
    (platform,) = [p for p in listed if p["name"] == "Acme Platform"]
    assert key not in json.dumps(listed)  # the plaintext is shown once, never listed

    rotated = (await faktura("platform", "rotate-key", str(platform["id"]))).stdout.strip().splitlines()[-1]
    assert rotated != key and len(rotated) >= 20

    key_id = str(platform["keys"][0]["id"])
    await faktura("platform", "revoke-key", key_id)
    again = await asyncio.to_thread(_faktura, "platform", "revoke-key", key_id, env=env)
    assert again.returncode == 1 and "revoke-key" in again.stderr

    assert (await faktura("migrate")).stdout == ""  # nothing left to apply


@pytest.mark.skipif(
    _lead_modules_missing() is not None,
    reason=f"{_lead_modules_missing()} does not exist yet; re-enable once it lands",
)
async def test_bad_platform_id_is_an_error_not_a_traceback(database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url}
    for platform_id in ("not-a-uuid", str(uuid.uuid4())):
        result = await asyncio.to_thread(_faktura, "platform", "rotate-key", platform_id, env=env)
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(
    importlib.util.find_spec("faktura.api.app") is None,
    reason="faktura.api.app does not exist yet; re-enable once it lands",
)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_with_embedded_db_stops_it_on_signal(sig: signal.Signals) -> None:
    # A 0711 dir in /tmp: as root the embedded server runs unprivileged and must reach it.
    base = Path(tempfile.mkdtemp(prefix="faktura-serve-"))
    base.chmod(0o711)
    data_dir = base / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FAKTURA_APP_DATABASE_URL")}
    env["FAKTURA_DATA_DIR"] = str(data_dir)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "faktura.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.communicate()[0]
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "serve did not start listening within 30 s"
            time.sleep(0.1)
        assert (data_dir / "pg" / "postmaster.pid").exists()
        # The app reaches the embedded database (as the app role the migrations created).
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=10) as response:
            assert response.status == 200
        # The embedded default run is the one that has the sandbox access point by default.
        sandbox = f"http://127.0.0.1:{port}/sandbox/peppol-ap/participants/0208:0477472701"
        with urllib.request.urlopen(sandbox, timeout=10) as response:
            assert response.status == 200

        proc.send_signal(sig)
        output = proc.communicate(timeout=30)[0]
        assert "stopping embedded PostgreSQL" in output, output
        assert not (data_dir / "pg" / "postmaster.pid").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if (data_dir / "pg" / "postmaster.pid").exists():
            start_embedded(data_dir).stop()
        shutil.rmtree(base, ignore_errors=True)
