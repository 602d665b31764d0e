"""The OpenAPI document generates a usable typed client: openapi-python-client (as
docs/clients.md runs it) writes a package into a temporary folder without a warning, and the
README tour runs through it with its models only: attributes and enums, no dict indexing."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from tests.conftest import make_platform

from faktura.documents import PDF_JOB
from faktura.jobs import JobContext
from faktura.settings import Settings
from faktura.worker import HANDLERS

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = Path(sys.executable).parent / "openapi-python-client"
pytestmark = pytest.mark.skipif(not GENERATOR.exists(), reason="openapi-python-client is not installed")


def generate(out: Path) -> str:
    """Run the generator exactly as docs/clients.md says; its whole output."""
    done = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(ROOT / "schemas/openapi.json"),
            "--output-path",
            str(out),
            "--meta",
            "none",
            "--config",
            str(ROOT / "docs/clients/openapi-python-client.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


async def _render_pdf(app: Any, settings: Settings, owner: asyncpg.Connection, invoice_id: str) -> None:
    """What the worker does after an issue: run the queued `pdf.render` job."""
    payload = await owner.fetchval(
        "SELECT payload FROM pgqueuer WHERE entrypoint = $1 AND dedupe_key = $2",
        PDF_JOB,
        f"{PDF_JOB}:{invoice_id}",
    )
    await HANDLERS[PDF_JOB](JobContext(app.state.pool, settings), json.loads(payload))


async def test_readme_tour_through_the_generated_python_client(
    app: Any, settings: Settings, owner: asyncpg.Connection, tmp_path: Path
) -> None:
    output = generate(tmp_path / "faktura_client")
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(tmp_path))
    try:
        fc = importlib.import_module("faktura_client")
        api = {
            name: importlib.import_module(f"faktura_client.api.{group}.{name}")
            for group, name in [
                ("tenants", "tenants_create"),
                ("contacts", "contacts_create"),
                ("invoices", "invoices_create"),
                ("invoices", "invoices_issue"),
                ("invoices", "invoices_retrieve"),
                ("invoices", "invoices_xml"),
                ("invoices", "invoices_pdf"),
                ("delivery", "invoices_send"),
                ("delivery", "invoices_status"),
            ]
        }
        m = importlib.import_module("faktura_client.models")
    finally:
        sys.path.remove(str(tmp_path))

    transport = httpx.ASGITransport(app=app)
    key = await make_platform(owner)
    platform = fc.AuthenticatedClient(
        base_url="http://faktura.test", token=key, httpx_args={"transport": transport}
    )

    # 2. a tenant, typed: the account token comes back once
    tenant_input = m.TenantInput.from_dict(
        json.loads((ROOT / "docs/examples/tenant.json").read_text())["model"]
    )
    tenant_input.legal_name = "Muster Software GmbH"
    tenant_input.address = m.Address(line1="Hauptstraße 1", city="Berlin", postal_code="10115", country="DE")
    created = await api["tenants_create"].asyncio(
        client=platform, body=m.TenantsCreateBody(model=tenant_input)
    )
    assert isinstance(created, m.TenantEnvelope), created
    assert created.model.legal_name == "Muster Software GmbH"
    tenant = platform.with_headers({"X-Account-Token": created.model.account_token})

    # 3. a contact
    contact_input = m.ContactInput.from_dict(
        json.loads((ROOT / "docs/examples/contact.json").read_text())["model"]
    )
    contact = await api["contacts_create"].asyncio(
        client=tenant, body=m.ContactsCreateBody(model=contact_input)
    )
    assert isinstance(contact, m.ContactEnvelope), contact

    # 4. a draft invoice for it; money comes back as decimal strings
    invoice_input = m.InvoiceInput.from_dict(
        json.loads((ROOT / "docs/examples/invoice.json").read_text())["model"]
    )
    invoice_input.contact = contact.model.id
    draft = await api["invoices_create"].asyncio(
        client=tenant, body=m.InvoicesCreateBody(model=invoice_input)
    )
    assert isinstance(draft, m.InvoiceEnvelope), draft
    assert draft.model.status is m.InvoiceStatus.DRAFT
    assert isinstance(draft.model.total_amount, str)

    # 5. issue it
    issued = await api["invoices_issue"].asyncio(client=tenant, invoice_id=draft.model.id)
    assert isinstance(issued, m.InvoiceEnvelope), issued
    assert issued.model.status is m.InvoiceStatus.OPEN
    assert issued.model.number and issued.model.total_amount == draft.model.total_amount
    assert issued.model.xml.url.endswith("/xml")

    # 6. the UBL, as bytes
    xml = await api["invoices_xml"].asyncio_detailed(client=tenant, invoice_id=draft.model.id)
    assert xml.status_code == 200
    assert xml.parsed.payload.read().startswith(b"<?xml")

    # the PDF: 202 until the worker has rendered it, then the bytes
    pdf = await api["invoices_pdf"].asyncio_detailed(client=tenant, invoice_id=draft.model.id)
    assert pdf.status_code == 202 and isinstance(pdf.parsed, m.RenderingEnvelope)
    assert pdf.parsed.model.status is m.RenderingStatus.RENDERING
    await _render_pdf(app, settings, owner, draft.model.id)
    pdf = await api["invoices_pdf"].asyncio_detailed(client=tenant, invoice_id=draft.model.id)
    assert pdf.status_code == 200 and pdf.parsed.payload.read().startswith(b"%PDF")

    # 7. send it (the body is {"model": ...} like every POST)
    send = m.InvoicesSendBody(model=m.SendRequest(channel=m.SendRequestChannel.EMAIL))
    sent = await api["invoices_send"].asyncio(client=tenant, invoice_id=draft.model.id, body=send)
    assert isinstance(sent, m.InvoiceDeliveryEnvelope), sent
    assert sent.model.channel == "email" and sent.model.invoice == draft.model.id

    # 8. the status poll
    status = await api["invoices_status"].asyncio(client=tenant, invoice_id=draft.model.id)
    assert isinstance(status, m.StatusPoll), status
    assert [d.id for d in status.deliveries] == [sent.model.id]

    # errors come back as the typed error envelope: a 422 pointing into the body ...
    invoice_input.currency = "euro"
    bad = await api["invoices_create"].asyncio_detailed(
        client=tenant, body=m.InvoicesCreateBody(model=invoice_input)
    )
    assert bad.status_code == 422 and isinstance(bad.parsed, m.ErrorEnvelope)
    assert [e.source.pointer for e in bad.parsed.errors] == ["/model/currency"]

    # ... and a 404
    missing = await api["invoices_retrieve"].asyncio_detailed(client=tenant, invoice_id=str(uuid.uuid4()))
    assert missing.status_code == 404 and isinstance(missing.parsed, m.ErrorEnvelope)
    assert missing.parsed.errors[0].problem_type == "NOT_FOUND"
