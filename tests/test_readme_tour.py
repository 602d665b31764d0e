"""The README's curl tour, executed literally against `faktura serve` over real HTTP.

The shell block under "A tour with curl" is run with bash, so the README cannot drift from
what the service does: every request body is a file in docs/examples/.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(
    shutil.which("jq") is None or shutil.which("curl") is None, reason="needs curl and jq"
)


def tour_script() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## A tour with curl", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, "README has no ```sh block in the curl tour"
    return match.group(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_readme_tour_runs(database_url: str, tmp_path: Path) -> None:
    port = _free_port()
    bindir = str(Path(sys.executable).parent)
    # With a DATABASE_URL the sandbox access point is off unless asked for, as the README says.
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "FAKTURA_PEPPOL_SANDBOX": "1",
        "PATH": f"{bindir}:{os.environ['PATH']}",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "faktura.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        script = tour_script().replace("http://127.0.0.1:8000", f"http://127.0.0.1:{port}")
        script = script.replace(".venv/bin/faktura", f"{bindir}/faktura")
        script = script.replace("docs/examples/", f"{ROOT}/docs/examples/")
        out = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        xml = (tmp_path / "invoice.xml").read_bytes()
        root = etree.fromstring(xml)
        assert root.tag.endswith("}Invoice")
        assert '"status": "OPEN"' in out.stdout or '"status":"OPEN"' in out.stdout
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
