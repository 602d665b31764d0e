"""Factur-X / ZUGFeRD hybrid PDFs: the issued PDF of a Factur-X invoice is a PDF/A-3 whose
embedded `factur-x.xml` is the archived CII byte for byte, announced in the XMP by the
Factur-X properties and their PDF/A extension-schema description. Without veraPDF here,
every hybrid PDF of the suite goes through `pdf_support.assert_hybrid`, which checks what a
Factur-X validator looks at first; a UBL invoice keeps its PDF as before."""

from __future__ import annotations

import hashlib
from typing import Any

import asyncpg
import httpx
import pytest
from tests.conftest import Tenant, invoice_body, make_contact
from tests.pdf_support import (
    FX,
    LEVELS,
    assert_hybrid,
    attachments,
    extension_schemas,
    fx_properties,
    pdfa_identification,
)
from tests.test_documents_api import run_pdf_job

from faktura.settings import Settings


async def _issued_pdf(
    client: httpx.AsyncClient, tenant: Tenant, app: Any, settings: Settings, owner: Any, **overrides: Any
) -> tuple[dict[str, Any], bytes, bytes]:
    """(invoice, its archived PDF, its archived XML) of a freshly issued invoice."""
    contact = await make_contact(client, tenant)
    r = await client.post(
        "/v1/invoices?issue=true", json=invoice_body(contact, **overrides), headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    inv = r.json()["model"]
    await run_pdf_job(app, settings, owner, inv["id"])
    pdf = await client.get(f"/v1/invoices/{inv['id']}/pdf", headers=tenant.headers)
    assert pdf.status_code == 200, pdf.text
    xml = await client.get(f"/v1/invoices/{inv['id']}/xml", headers=tenant.headers)
    assert xml.status_code == 200, xml.text
    assert hashlib.sha256(xml.content).hexdigest() == inv["xml"]["sha256"]
    return inv, pdf.content, xml.content


@pytest.mark.parametrize(
    ("profile", "level"), [("factur-x", "EN16931"), ("zugferd", "EXTENDED"), ("factur-x", "BASIC")]
)
async def test_factur_x_invoice_is_a_hybrid_pdf(
    client: httpx.AsyncClient,
    tenant: Tenant,
    app: Any,
    settings: Settings,
    owner: asyncpg.Connection,
    profile: str,
    level: str,
) -> None:
    inv, pdf, xml = await _issued_pdf(
        client, tenant, app, settings, owner, profile=profile, conformance_level=level
    )
    assert_hybrid(pdf, xml, level)
    r = await client.get(f"/v1/invoices/{inv['id']}/archive", headers=tenant.headers)
    entries = {e["kind"]: e for e in r.json()["model"]["entries"]}
    assert entries.keys() == {"cii", "pdf"}
    assert entries["pdf"]["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert entries["pdf"]["meta"]["factur_x"] == LEVELS[level][0]


async def test_ubl_invoice_keeps_its_pdf(
    client: httpx.AsyncClient, tenant: Tenant, app: Any, settings: Settings, owner: asyncpg.Connection
) -> None:
    inv, pdf, xml = await _issued_pdf(client, tenant, app, settings, owner, profile="xrechnung-3")
    assert pdfa_identification(pdf) == ("3", "B", True)
    assert attachments(pdf) == {f"{inv['number']}.xml": (xml, "/Alternative")}
    assert fx_properties(pdf) == {} and FX not in extension_schemas(pdf)
    r = await client.get(f"/v1/invoices/{inv['id']}/archive", headers=tenant.headers)
    assert [e["meta"].get("factur_x") for e in r.json()["model"]["entries"]] == [None, None]
