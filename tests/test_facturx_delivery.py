"""Sending a Factur-X / ZUGFeRD invoice: by e-mail the hybrid PDF alone (the XML travels
inside it), byte for byte the archived PDF, its hash in the delivery evidence and in the
archive chain; Peppol BIS carries UBL only, so a CII invoice is refused with the reason
recorded on the delivery, and `auto` sends it by e-mail."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest
from tests.conftest import Tenant, invoice_body, make_contact
from tests.delivery_support import delivery_settings, in_process_worker, smtp_server, wait_for
from tests.pdf_support import assert_hybrid
from tests.test_documents_api import run_pdf_job

from faktura.archive import open_store, verify
from faktura.delivery.channel import Attachment, Outgoing, TransientError
from faktura.delivery.email import attachments as email_attachments
from faktura.delivery.service import SEND_JOB, run_delivery
from faktura.settings import Settings

PEPPOL_BUYER = {"endpoint": {"value": "0812345678", "scheme": "0208"}}


async def _issue(client: httpx.AsyncClient, tenant: Tenant, **contact: Any) -> dict[str, Any]:
    cid = await make_contact(client, tenant, **contact)
    body = invoice_body(cid, profile="factur-x", conformance_level="EN16931")
    r = await client.post("/v1/invoices?issue=true", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    return r.json()["model"]  # type: ignore[no-any-return]


async def _delivery(client: httpx.AsyncClient, tenant: Tenant, iid: str, did: str) -> dict[str, Any]:
    r = await client.get(f"/v1/invoices/{iid}/deliveries", headers=tenant.headers)
    return next(d for d in r.json()["results"] if d["id"] == did)


async def test_factur_x_is_emailed_as_the_hybrid_pdf_alone(
    client: httpx.AsyncClient, tenant: Tenant, app: Any, settings: Settings, owner: asyncpg.Connection
) -> None:
    inv = await _issue(client, tenant)
    await run_pdf_job(app, settings, owner, inv["id"])
    r = await client.post(f"/v1/invoices/{inv['id']}/send", json={"channel": "email"}, headers=tenant.headers)
    assert r.status_code == 202, r.text
    did = r.json()["model"]["id"]
    with smtp_server() as smtp:
        s = delivery_settings(settings, smtp_port=smtp.port)
        async with in_process_worker(app.state.pool, s, {SEND_JOB: run_delivery}):

            async def sent() -> bool:
                return (await _delivery(client, tenant, inv["id"], did))["status"] == "SENT"

            await wait_for(sent)
        [msg] = [m for m in smtp.sink.messages if str(m["Message-ID"]) == f"<{did}@faktura.delivery>"]
    pdf = (await client.get(f"/v1/invoices/{inv['id']}/pdf", headers=tenant.headers)).content
    xml = (await client.get(f"/v1/invoices/{inv['id']}/xml", headers=tenant.headers)).content
    parts = {p.get_filename(): p.get_payload(decode=True) for p in msg.iter_attachments()}
    assert parts == {f"{inv['number']}.pdf": pdf}  # the hybrid alone, byte for byte
    assert_hybrid(parts[f"{inv['number']}.pdf"], xml, "EN16931")
    assert "factur-x.xml" in msg.get_body(("plain",)).get_content()
    # what was sent is archived: its hash is the PDF's entry in the tenant's chain
    evidence = await owner.fetchval(
        "SELECT content FROM invoice_documents WHERE invoice_id = $1 AND kind = $2",
        uuid.UUID(inv["id"]),
        f"evidence/{did}/sent",
    )
    sent_hashes = [a["sha256"] for a in msgspec.json.decode(evidence)["evidence"]["attachments"]]
    r = await client.get(f"/v1/invoices/{inv['id']}/archive", headers=tenant.headers)
    entries = {e["kind"]: e["sha256"] for e in r.json()["model"]["entries"]}
    assert sent_hashes == [entries["pdf"]] and entries.keys() == {"cii", "pdf"}
    checked, problems = await verify(owner, open_store(settings), uuid.UUID(tenant.id))
    assert checked >= 2 and problems == []


async def test_peppol_refuses_a_cii_invoice_and_auto_sends_it_by_email(
    client: httpx.AsyncClient, tenant: Tenant, app: Any, settings: Settings
) -> None:
    inv = await _issue(client, tenant, **PEPPOL_BUYER)
    r = await client.post(
        f"/v1/invoices/{inv['id']}/send", json={"channel": "peppol"}, headers=tenant.headers
    )
    assert r.status_code == 202, r.text
    did = r.json()["model"]["id"]
    async with in_process_worker(app.state.pool, delivery_settings(settings), {SEND_JOB: run_delivery}):

        async def failed() -> bool:
            return (await _delivery(client, tenant, inv["id"], did))["status"] == "FAILED"

        await wait_for(failed)
    got = await _delivery(client, tenant, inv["id"], did)
    assert got["attempts"] == 1
    assert got["last_error"].startswith(
        "Peppol BIS Billing 3.0 carries UBL only; this invoice was issued in CII"
    )
    events = (await client.get(f"/v1/invoices/{inv['id']}/events", headers=tenant.headers)).json()["results"]
    [fail] = [e for e in events if e["delivery"] == did and e["data"]["status"] == "FAILED"]
    assert fail["data"]["error"] == got["last_error"] and fail["data"]["permanent"] is True
    r = await client.post(f"/v1/invoices/{inv['id']}/send", json={"channel": "auto"}, headers=tenant.headers)
    assert r.status_code == 202, r.text
    assert r.json()["model"]["channel"] == "email"


def test_factur_x_email_waits_for_its_pdf() -> None:
    """Before the hybrid PDF is rendered there is nothing to send: a retry, not the bare XML."""
    xml = Attachment("INV-1.xml", "application/xml", b"<rsm:CrossIndustryInvoice/>")
    pdf = Attachment("INV-1.pdf", "application/pdf", b"%PDF-1.7")
    outgoing = Outgoing(
        delivery_id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        invoice_id=uuid.uuid4(),
        number="INV-1",
        document_type="INVOICE",
        profile="zugferd",
        issue_date="2026-10-01",
        currency="EUR",
        total="119.00",
        seller={},
        buyer={},
        language="de",
        target={"to": "ap@example.com"},
        documents=[xml],
        syntax="cii",
    )
    with pytest.raises(TransientError, match="not rendered yet"):
        email_attachments(outgoing)
    assert email_attachments(replace(outgoing, documents=[xml, pdf])) == [pdf]
    assert email_attachments(replace(outgoing, profile="xrechnung-3", documents=[xml, pdf])) == [xml, pdf]
    # a French invoice is a Factur-X when issued at its profile's level, else plain CII
    french = replace(outgoing, profile="fr-ctc", conformance_level="EN16931", documents=[xml, pdf])
    assert email_attachments(french) == [pdf]
    assert email_attachments(replace(french, conformance_level=None)) == [xml, pdf]
