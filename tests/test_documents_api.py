"""PDF and archive over the API: issue → `pdf.render` queued in the same transaction →
the worker's handler renders and archives → `GET /pdf` serves the archived PDF/A-3b whose
embedded XML is the archived XML; drafts preview as DRAFT and are never archived; the
export ZIP carries XML, PDF and a manifest; branding is snapshotted at issue time."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
import zipfile
from typing import Any

import asyncpg
import httpx
import pytest
from PIL import Image
from tests.conftest import Tenant, invoice_body, make_contact, make_platform, make_tenant
from tests.pdf_support import attachments, norm, pdf_text, pdfa_identification

from faktura.documents import PDF_JOB
from faktura.jobs import JobContext
from faktura.settings import Settings
from faktura.worker import HANDLERS


async def run_pdf_job(app: Any, settings: Settings, owner: asyncpg.Connection, invoice_id: str) -> None:
    """Run the job the issue queued, through the worker's registered handler."""
    payload = await owner.fetchval(
        "SELECT payload FROM pgqueuer WHERE entrypoint = $1 AND dedupe_key = $2",
        PDF_JOB,
        f"{PDF_JOB}:{invoice_id}",
    )
    assert payload is not None, "pdf.render was not queued with the issue"
    await HANDLERS[PDF_JOB](JobContext(app.state.pool, settings), json.loads(payload))


async def issue(client: httpx.AsyncClient, t: Tenant, **contact: Any) -> dict[str, Any]:
    cid = await make_contact(client, t, **contact)
    r = await client.post("/v1/invoices?issue=true", json=invoice_body(cid), headers=t.headers)
    assert r.status_code == 201, r.text
    return r.json()["model"]  # type: ignore[no-any-return]


def png(color: tuple[int, int, int] = (200, 20, 20)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (120, 40), color).save(buf, format="PNG")
    return buf.getvalue()


async def test_issue_renders_in_worker_and_serves_archived_pdf(
    client: httpx.AsyncClient, tenant: Tenant, app: Any, settings: Settings, owner: asyncpg.Connection
) -> None:
    inv = await issue(client, tenant)
    r = await client.get(f"/v1/invoices/{inv['id']}/pdf", headers=tenant.headers)
    assert r.status_code == 202 and r.headers["retry-after"] == "2"

    await run_pdf_job(app, settings, owner, inv["id"])
    await run_pdf_job(app, settings, owner, inv["id"])  # idempotent: a retry archives nothing new

    r = await client.get(f"/v1/invoices/{inv['id']}/pdf", headers=tenant.headers)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    pdf = r.content
    assert r.headers["etag"] == f'"{hashlib.sha256(pdf).hexdigest()}"'
    assert r.headers["content-disposition"] == f'attachment; filename="{inv["number"]}.pdf"'
    again = await client.get(
        f"/v1/invoices/{inv['id']}/pdf", headers={**tenant.headers, "If-None-Match": r.headers["etag"]}
    )
    assert again.status_code == 304

    xml = (await client.get(f"/v1/invoices/{inv['id']}/xml", headers=tenant.headers)).content
    [(embedded, relationship)] = attachments(pdf).values()
    assert embedded == xml and str(relationship) == "/Alternative"
    assert pdfa_identification(pdf) == ("3", "B", True)

    r = await client.get(f"/v1/invoices/{inv['id']}/archive", headers=tenant.headers)
    assert r.status_code == 200
    entries = {e["kind"]: e for e in r.json()["model"]["entries"]}
    assert set(entries) == {"ubl", "pdf"}
    assert entries["ubl"]["sha256"] == hashlib.sha256(xml).hexdigest() == inv["xml"]["sha256"]
    assert entries["pdf"]["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert entries["pdf"]["size"] == len(pdf) and entries["pdf"]["media_type"] == "application/pdf"
    assert entries["pdf"]["prev_hash"] == entries["ubl"]["entry_hash"]
    # example tenant sells from Germany: 8 years from the end of the issue year
    assert entries["ubl"]["retention_until"] == f"{int(inv['issue_date'][:4]) + 8}-12-31"
    assert "AO § 147" in entries["ubl"]["retention_basis"]
    assert "storage_key" not in entries["ubl"]

    text = norm(pdf_text(pdf))
    assert inv["number"] in text and "Factuur" in text  # the example contact (the buyer) reads nl


async def test_buyer_language_and_branding_are_snapshotted_at_issue(
    client: httpx.AsyncClient, owner: asyncpg.Connection, app: Any, settings: Settings
) -> None:
    t = await make_tenant(client, await make_platform(owner))
    r = await client.put(
        "/v1/branding",
        json={"model": {"template": "modern", "accent_color": "#0A7D4F", "footer_text": "Footer version A"}},
        headers=t.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["model"]["version"] == 1 and r.json()["model"]["accent_color"] == "#0a7d4f"
    r = await client.put(
        "/v1/branding/logo", content=png(), headers={**t.headers, "Content-Type": "image/png"}
    )
    assert r.status_code == 200, r.text
    inv = await issue(client, t, language="fr")
    # changed after the issue, before the worker ran: must not show
    r = await client.put(
        "/v1/branding", json={"model": {"footer_text": "Footer version B"}}, headers=t.headers
    )
    assert r.json()["model"]["version"] == 3 and r.json()["model"]["logo"]["media_type"] == "image/png"
    await run_pdf_job(app, settings, owner, inv["id"])
    pdf = (await client.get(f"/v1/invoices/{inv['id']}/pdf", headers=t.headers)).content
    text = norm(pdf_text(pdf))
    assert "Footer version A" in text and "Footer version B" not in text
    assert "Facture" in text and "Net à payer" in text  # the contact's language
    assert b"/Subtype /Image" in pdf or b"/Subtype/Image" in pdf


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"GIF89a....", "image/gif", 415),
        (b"\x89PNG\r\n\x1a\nnot really", "image/png", 422),
        (b"<html/>", "image/svg+xml", 422),
        (b"<svg xmlns='http://www.w3.org/2000/svg'", "image/svg+xml", 422),
        (None, "image/jpeg", 415),  # PNG bytes declared as JPEG
        (b"\x89PNG\r\n\x1a\n" + b"0" * 600_000, "image/png", 413),
    ],
)
async def test_logo_upload_is_type_and_size_checked(
    client: httpx.AsyncClient, tenant: Tenant, body: bytes | None, content_type: str, status: int
) -> None:
    r = await client.put(
        "/v1/branding/logo", content=body or png(), headers={**tenant.headers, "Content-Type": content_type}
    )
    assert r.status_code == status, r.text
    assert r.json()["errors"]


async def test_svg_logo_and_unknown_template(client: httpx.AsyncClient, tenant: Tenant) -> None:
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'
    )
    r = await client.put(
        "/v1/branding/logo", content=svg, headers={**tenant.headers, "Content-Type": "image/svg+xml"}
    )
    assert r.status_code == 200, r.text
    assert (await client.get("/v1/branding/logo", headers=tenant.headers)).content == svg
    r = await client.put("/v1/branding", json={"model": {"template": "baroque"}}, headers=tenant.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["source"]["pointer"] == "/model/template"
    r = await client.put("/v1/branding", json={"model": {"accent_color": "red"}}, headers=tenant.headers)
    assert r.status_code == 422


async def test_draft_preview_is_marked_and_never_archived(
    client: httpx.AsyncClient, tenant: Tenant, owner: asyncpg.Connection
) -> None:
    cid = await make_contact(client, tenant, language="de")
    r = await client.post("/v1/invoices", json=invoice_body(cid), headers=tenant.headers)
    draft = r.json()["model"]
    r = await client.get(f"/v1/invoices/{draft['id']}/pdf", headers=tenant.headers)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    text = norm(pdf_text(r.content))
    assert "Entwurf: keine gültige Rechnung" in text and "ENTWURF" in text
    assert attachments(r.content) == {}
    assert (
        await owner.fetchval(
            "SELECT count(*) FROM archive_entries WHERE invoice_id = $1", uuid.UUID(draft["id"])
        )
        == 0
    )
    r = await client.get(f"/v1/invoices/{draft['id']}/archive", headers=tenant.headers)
    assert r.json()["model"]["entries"] == []


async def test_pdf_and_archive_of_another_tenant_are_404(
    client: httpx.AsyncClient, tenant: Tenant, owner: asyncpg.Connection
) -> None:
    inv = await issue(client, tenant)
    other = await make_tenant(client, await make_platform(owner))
    for path in ("pdf", "archive"):
        r = await client.get(f"/v1/invoices/{inv['id']}/{path}", headers=other.headers)
        assert r.status_code == 404


async def test_export_zip_has_xml_pdf_and_manifest(
    client: httpx.AsyncClient, owner: asyncpg.Connection, app: Any, settings: Settings
) -> None:
    t = await make_tenant(client, await make_platform(owner))
    a = await issue(client, t)
    b = await issue(client, t)
    await run_pdf_job(app, settings, owner, a["id"])  # b's PDF is still "rendering"
    day = a["issue_date"]
    r = await client.get(f"/v1/archive/export?from={day}&to={day}", headers=t.headers)
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    manifest = json.loads(zf.read("manifest.json"))
    rows = list(csv.DictReader(io.StringIO(zf.read("manifest.csv").decode())))
    assert [(f["number"], f["kind"]) for f in manifest["files"]] == [
        (a["number"], "ubl"),
        (a["number"], "pdf"),
        (b["number"], "ubl"),
    ]
    assert len(rows) == 3
    for f in manifest["files"]:
        assert f["verified"] is True
        assert hashlib.sha256(zf.read(f["path"])).hexdigest() == f["sha256"]
    xml_a = (await client.get(f"/v1/invoices/{a['id']}/xml", headers=t.headers)).content
    assert zf.read(manifest["files"][0]["path"]) == xml_a
    r = await client.get("/v1/archive/export?from=2020-01-01&to=2019-01-01", headers=t.headers)
    assert r.status_code == 422  # well-formed dates, an empty period
    r = await client.get("/v1/archive/export?from=2020-01-01", headers=t.headers)
    assert r.status_code == 400
