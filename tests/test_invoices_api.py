"""Invoice lifecycle over the API: draft → issue → immutable, XML download, totals."""

from __future__ import annotations

import base64
from decimal import Decimal

import httpx
from lxml import etree
from tests.conftest import Tenant, invoice_body, make_contact

NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}


async def test_create_draft_then_issue_and_download_xml(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await make_contact(client, tenant)
    r = await client.post("/v1/invoices", json=invoice_body(contact), headers=tenant.headers)
    assert r.status_code == 201, r.text
    body = r.json()
    draft = body["model"]
    assert draft["status"] == "DRAFT" and draft["number"] is None
    assert body["errors"] == []
    # 3 × 49.90 = 149.70 reverse charge (AE), 2 × 24.50 = 49.00 intra-community supply (K),
    # allowance 10.00 on the AE part: no VAT is charged to the Belgian business
    assert Decimal(draft["sub_total"]) == Decimal("198.70")
    assert Decimal(draft["total_tax_amount"]) == 0
    assert Decimal(draft["total_amount"]) == Decimal("188.70")
    assert {b["category"]: Decimal(b["taxable_amount"]) for b in draft["tax_breakdown"]} == {
        "AE": Decimal("139.70"),
        "K": Decimal("49.00"),
    }

    r = await client.post(f"/v1/invoices/{draft['id']}/issue", headers=tenant.headers)
    assert r.status_code == 200, r.text
    issued = r.json()["model"]
    assert issued["status"] == "OPEN"
    assert issued["number"].startswith("INV-")
    assert Decimal(issued["balance"]) == Decimal("188.70")

    r = await client.get(f"/v1/invoices/{draft['id']}/xml", headers=tenant.headers)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/xml")
    assert issued["number"] in r.headers["content-disposition"]
    etag = r.headers["etag"]
    assert etag.strip('"') == issued["xml"]["sha256"]
    root = etree.fromstring(r.content)
    assert root.findtext("cbc:ID", namespaces=NS) == issued["number"]
    assert root.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=NS) == "188.70"
    assert b"upsell" not in r.content  # the memo is private

    r = await client.get(f"/v1/invoices/{draft['id']}/xml", headers={**tenant.headers, "If-None-Match": etag})
    assert r.status_code == 304


async def test_issued_invoice_is_immutable(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await make_contact(client, tenant)
    r = await client.post("/v1/invoices?issue=true", json=invoice_body(contact), headers=tenant.headers)
    assert r.status_code == 201, r.text
    inv = r.json()["model"]
    assert inv["status"] == "OPEN"
    r = await client.patch(f"/v1/invoices/{inv['id']}", json={"model": {"memo": "x"}}, headers=tenant.headers)
    assert r.status_code == 409
    assert r.json()["errors"][0]["problem_type"] == "CONFLICT"
    r = await client.delete(f"/v1/invoices/{inv['id']}", headers=tenant.headers)
    assert r.status_code == 409
    r = await client.post(f"/v1/invoices/{inv['id']}/issue", headers=tenant.headers)
    assert r.status_code == 409


async def test_issue_refused_with_all_findings_and_nothing_consumed(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await make_contact(client, tenant)
    body = invoice_body(contact)
    body["model"]["line_items"][0]["tax_category"] = "S"
    del body["model"]["line_items"][0]["tax_rate"]
    body["model"]["sub_total"] = "1.00"
    del body["model"]["buyer_reference"]
    del body["model"]["order_reference"]
    r = await client.post("/v1/invoices?issue=true", json=body, headers=tenant.headers)
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    rules = {e.get("rule_id") for e in errors}
    assert {"BR-S-05", "PEPPOL-EN16931-R003"} <= rules
    pointers = {e["source"]["pointer"] for e in errors}
    assert "/model/line_items/0/tax_rate" in pointers
    # nothing stored, no number consumed: the next issue gets the series' first number
    r = await client.get("/v1/invoices", headers=tenant.headers)
    assert r.json()["results"] == []
    r = await client.post("/v1/invoices?issue=true", json=invoice_body(contact), headers=tenant.headers)
    assert r.status_code == 201
    assert r.json()["model"]["number"].endswith("-00001")


async def test_declared_totals_are_checked(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await make_contact(client, tenant)
    body = invoice_body(contact, total_amount="188.71", sub_total="198.70")
    r = await client.post("/v1/invoices?issue=true", json=body, headers=tenant.headers)
    assert r.status_code == 422
    errs = r.json()["errors"]
    assert [(e["rule_id"], e["source"]["pointer"]) for e in errs] == [("BR-CO-15", "/model/total_amount")]
    body = invoice_body(contact, total_amount="188.70", sub_total="198.70")
    r = await client.post("/v1/invoices?issue=true", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text


async def test_supporting_document_travels_into_the_xml(client: httpx.AsyncClient, tenant: Tenant) -> None:
    """BG-24: the file goes in as base64, comes out byte-identical in the issued UBL; a bad
    attachment is refused with pointers before anything is numbered."""
    contact = await make_contact(client, tenant)
    pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
    attachment = {
        "reference": "TS-2026-11",
        "description": "Timesheet November",
        "content": base64.b64encode(pdf).decode(),
        "mime_code": "application/pdf",
        "filename": "timesheet-2026-11.pdf",
    }
    body = invoice_body(contact, attachments=[attachment], object_id={"value": "METER-4711", "scheme": "AVV"})
    r = await client.post("/v1/invoices?issue=true", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    inv = r.json()["model"]
    # responses describe the file without carrying it
    assert inv["attachments"] == [
        {k: v for k, v in attachment.items() if k != "content"} | {"size": len(pdf)}
    ]
    xml = (await client.get(f"/v1/invoices/{inv['id']}/xml", headers=tenant.headers)).content
    root = etree.fromstring(xml)
    refs = root.findall("cac:AdditionalDocumentReference", NS)
    assert [ref.findtext("cbc:DocumentTypeCode", namespaces=NS) for ref in refs] == ["130", None]
    assert refs[0].find("cbc:ID", NS).get("schemeID") == "AVV"  # type: ignore[union-attr]
    binary = refs[1].find("cac:Attachment/cbc:EmbeddedDocumentBinaryObject", NS)
    assert binary is not None and base64.b64decode(binary.text or "") == pdf
    assert (binary.get("mimeCode"), binary.get("filename")) == ("application/pdf", "timesheet-2026-11.pdf")

    bad = {**attachment, "mime_code": "application/zip", "filename": None}
    bad.pop("filename")
    r = await client.post(
        "/v1/invoices?issue=true",
        json=invoice_body(contact, attachments=[bad, {**attachment, "content": "not base64!"}]),
        headers=tenant.headers,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["source"]["pointer"] == "/model/attachments/1/content"
    r = await client.post(
        "/v1/invoices?issue=true", json=invoice_body(contact, attachments=[bad]), headers=tenant.headers
    )
    assert r.status_code == 422
    found = {(e["rule_id"], e["source"]["pointer"]) for e in r.json()["errors"]}
    assert {
        ("BR-CL-24", "/model/attachments/0/mime_code"),
        ("PEPPOL-EN16931-CL001", "/model/attachments/0/mime_code"),
        ("UBL-DT-07", "/model/attachments/0/filename"),
    } <= found, found
