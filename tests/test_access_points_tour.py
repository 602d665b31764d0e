"""The README's curl tour, verbatim, with its send step going to a local e-invoice.be or
phoss-ap instead of the sandbox: `faktura serve` (and its job worker) configured for the AP,
through to delivered and the buyer's Invoice Response (ACCEPTED)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.ap_fakes import EInvoiceBeServer, PhossServer
from tests.test_readme_tour import ROOT, _free_port, pytestmark, tour_script

__all__ = ["pytestmark"]

CALLBACK = "tour-callback-token-0123456789abcdef"


def relay_invoice_response(api: str, phoss: PhossServer, stop: threading.Event) -> None:
    """phoss-ap's status API has no Invoice Response: it arrives at phoss-ap as an inbound
    document, which its forwarding hands to Faktura's callback. This plays that relay."""
    while not stop.is_set():
        with phoss.lock:
            done = [i for i, tx in phoss.transactions.items() if tx["mlsStatus"] == "received_ap"]
        for instance in done:
            r = httpx.post(
                f"{api}/v1/peppol/callback",
                json={"message_id": f"phoss-{instance}", "type": "invoice_response", "code": "AP"},
                headers={"Authorization": f"Bearer {CALLBACK}"},
            )
            if r.status_code == 200:
                return
        time.sleep(0.3)


@pytest.mark.parametrize("kind", ["e-invoice-be", "phoss-ap"])
def test_readme_tour_through_a_real_access_point(database_url: str, tmp_path: Path, kind: str) -> None:
    fake: Any = EInvoiceBeServer() if kind == "e-invoice-be" else PhossServer()
    fake.start()
    port = _free_port()
    api = f"http://127.0.0.1:{port}"
    bindir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "FAKTURA_PEPPOL_SANDBOX": "0",
        "FAKTURA_PEPPOL_AP_KIND": kind,
        "FAKTURA_PEPPOL_AP_URL": fake.url,
        "FAKTURA_PEPPOL_AP_TOKEN": fake.token,
        "FAKTURA_PEPPOL_AP_POLL_INTERVAL": "0.3",
        "FAKTURA_RETRY_CAP": "1",
        "FAKTURA_PEPPOL_CALLBACK_TOKEN": CALLBACK,
        "PATH": f"{bindir}:{os.environ['PATH']}",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "faktura.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    stop = threading.Event()
    relay = None
    if kind == "phoss-ap":
        relay = threading.Thread(target=relay_invoice_response, args=(api, fake, stop), daemon=True)
        relay.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{api}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        script = tour_script().replace("http://127.0.0.1:8000", api)
        script = script.replace(".venv/bin/faktura", f"{bindir}/faktura")
        script = script.replace("docs/examples/", f"{ROOT}/docs/examples/")
        out = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        assert "invoice.delivered DELIVERED" in out.stdout and "invoice.accepted ACCEPTED" in out.stdout
        if kind == "e-invoice-be":
            assert fake.uploads == 1 and fake.sends == 1 and fake.violations == []
        else:
            assert fake.submits == 1
            assert "peppol.mls" in out.stdout
    finally:
        stop.set()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        fake.stop()
