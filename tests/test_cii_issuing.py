"""The syntax as a choice over the API: XRechnung in UBL or CII, Factur-X / ZUGFeRD at a
conformance level, per invoice or as the tenant's default. Issuing renders and archives the
chosen syntax, `GET /xml` serves it under a file name that says which, and choices that do
not exist are refused with `FK-*` findings that point at the field."""

from __future__ import annotations

import hashlib
from typing import Any

import asyncpg
import httpx
from lxml import etree
from tests.conftest import Tenant, example, invoice_body, make_contact, make_platform, make_tenant
from tests.pdf_support import assert_hybrid, attachments
from tests.test_documents_api import run_pdf_job

from conformance import describe, official_findings
from faktura.render.cii.common import NSMAP
from faktura.settings import Settings

GUIDELINE = "rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID"


async def _issue(client: httpx.AsyncClient, tenant: Tenant, **overrides: Any) -> httpx.Response:
    contact = await make_contact(client, tenant)
    return await client.post(
        "/v1/invoices?issue=true", json=invoice_body(contact, **overrides), headers=tenant.headers
    )


async def _xml(client: httpx.AsyncClient, tenant: Tenant, invoice: dict[str, Any]) -> httpx.Response:
    r = await client.get(f"/v1/invoices/{invoice['id']}/xml", headers=tenant.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/xml")
    assert hashlib.sha256(r.content).hexdigest() == invoice["xml"]["sha256"]
    return r


async def test_xrechnung_in_cii_is_issued_archived_and_served(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    r = await _issue(client, tenant, profile="xrechnung-3", syntax="cii")
    assert r.status_code == 201, r.text
    inv = r.json()["model"]
    assert inv["profile"] == "xrechnung-3" and inv["xml"]["syntax"] == "cii"
    xml = await _xml(client, tenant, inv)
    assert xml.headers["content-disposition"].endswith(f'filename="{inv["number"]}.cii.xml"')
    root = etree.fromstring(xml.content)
    assert etree.QName(root).localname == "CrossIndustryInvoice"
    assert root.findtext(GUIDELINE, namespaces=NSMAP).endswith(
        "#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
    )
    assert root.findtext("rsm:ExchangedDocument/ram:ID", namespaces=NSMAP) == inv["number"]
    xsd, fatal, _ = official_findings(xml.content, ("en16931-1.3.16", "xrechnung-2.5.0"))
    assert not xsd and not fatal, describe(fatal) + "\n".join(xsd)
    r = await client.get(f"/v1/invoices/{inv['id']}/archive", headers=tenant.headers)
    entries = {e["kind"]: e for e in r.json()["model"]["entries"]}
    assert "ubl" not in entries
    assert entries["cii"]["sha256"] == inv["xml"]["sha256"]


async def test_factur_x_extended_and_zugferd_default_level(client: httpx.AsyncClient, tenant: Tenant) -> None:
    r = await _issue(client, tenant, profile="factur-x", conformance_level="EXTENDED")
    assert r.status_code == 201, r.text
    inv = r.json()["model"]
    assert inv["xml"] | {"syntax": "cii", "conformance_level": "EXTENDED"} == inv["xml"]
    xml = await _xml(client, tenant, inv)
    assert xml.headers["content-disposition"].endswith(f'filename="{inv["number"]}.factur-x.xml"')
    root = etree.fromstring(xml.content)
    assert root.findtext(GUIDELINE, namespaces=NSMAP) == (
        "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended"
    )
    xsd, fatal, _ = official_findings(xml.content, ("facturx-extended-1.09.2",))
    assert not xsd and not fatal, describe(fatal) + "\n".join(xsd)

    r = await _issue(client, tenant, profile="zugferd")  # no level: EN 16931
    assert r.status_code == 201, r.text
    inv = r.json()["model"]
    assert inv["conformance_level"] == "EN16931" and inv["xml"]["conformance_level"] == "EN16931"
    xml = await _xml(client, tenant, inv)
    assert etree.fromstring(xml.content).findtext(GUIDELINE, namespaces=NSMAP) == "urn:cen.eu:en16931:2017"
    xsd, fatal, _ = official_findings(xml.content, ("facturx-en16931-1.09.2",))
    assert not xsd and not fatal, describe(fatal) + "\n".join(xsd)


async def test_tenant_default_syntax_applies_where_the_profile_allows_it(
    client: httpx.AsyncClient, owner: Any
) -> None:
    tenant = await make_tenant(
        client, await make_platform(owner), default_profile="xrechnung-3", default_syntax="cii"
    )
    r = await _issue(client, tenant)
    assert r.status_code == 201, r.text
    inv = r.json()["model"]
    assert inv["profile"] == "xrechnung-3" and inv["syntax"] == "cii" and inv["xml"]["syntax"] == "cii"
    # Peppol BIS 3 has no CII: the tenant's default does not apply, the invoice stays UBL
    r = await _issue(client, tenant, profile="peppol-bis-3")
    assert r.status_code == 201, r.text
    inv = r.json()["model"]
    assert "syntax" not in inv and inv["xml"]["syntax"] == "ubl"
    xml = await _xml(client, tenant, inv)
    assert etree.QName(etree.fromstring(xml.content)).localname == "Invoice"
    assert xml.headers["content-disposition"].endswith(f'filename="{inv["number"]}.xml"')


async def test_ubl_stays_the_default(client: httpx.AsyncClient, tenant: Tenant) -> None:
    r = await _issue(client, tenant, profile="xrechnung-3")
    assert r.status_code == 201, r.text
    inv = r.json()["model"]
    assert "syntax" not in inv and "conformance_level" not in inv and inv["xml"]["syntax"] == "ubl"
    r = await client.get(f"/v1/invoices/{inv['id']}/archive", headers=tenant.headers)
    assert {e["kind"] for e in r.json()["model"]["entries"]} >= {"ubl"}


async def _refused(client: httpx.AsyncClient, tenant: Tenant, **overrides: Any) -> list[tuple[str, str]]:
    r = await _issue(client, tenant, **overrides)
    assert r.status_code == 422, r.text
    return [(e.get("rule_id"), e["source"]["pointer"]) for e in r.json()["errors"]]


async def test_choices_that_do_not_exist_are_refused(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert ("FK-SYNTAX", "/model/syntax") in await _refused(
        client, tenant, profile="peppol-bis-3", syntax="cii"
    )
    assert ("FK-SYNTAX", "/model/syntax") in await _refused(client, tenant, profile="factur-x", syntax="ubl")
    assert ("FK-SYNTAX", "/model/conformance_level") in await _refused(
        client, tenant, profile="xrechnung-3", conformance_level="BASIC"
    )
    for level in ("MINIMUM", "BASIC_WL"):  # the tenant is a German seller
        errors = await _refused(client, tenant, profile="zugferd", conformance_level=level)
        assert errors == [("FK-FACTURX-LEVEL", "/model/conformance_level")]
    two = [{"number": "INV-1", "issue_date": "2026-10-01"}, {"number": "INV-2", "issue_date": "2026-10-02"}]
    errors = await _refused(
        client,
        tenant,
        profile="xrechnung-3",
        syntax="cii",
        document_type="CREDIT_NOTE",
        preceding_invoices=two,
    )
    assert ("FK-CII-BG3", "/model/preceding_invoices/1") in errors
    # the CII binding's own rules run on the request, with official ids
    two_codes = [
        {"code": "58", "account": {"iban": "DE89370400440532013000"}},
        {"code": "30", "account": {"iban": "DE89370400440532013000"}},
    ]
    errors = await _refused(client, tenant, profile="xrechnung-3", syntax="cii", payment_means=two_codes)
    assert ("CII-SR-467", "/model/payment_means/1/code") in errors
    body_lines = example("invoice")["model"]["line_items"]
    split = [{**body_lines[0], "tax_category": "B", "tax_rate": "22"}]
    errors = await _refused(client, tenant, profile="factur-x", line_items=split)
    assert ("FK-FACTURX-CODE", "/model/line_items/0/tax_category") in errors
    # nothing was numbered: the next invoice gets the series' first number
    r = await _issue(client, tenant)
    assert r.json()["model"]["number"].endswith("-00001")


async def test_unknown_syntax_or_level_is_a_field_error(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for field, value in (("syntax", "pdf"), ("conformance_level", "COMFORT")):
        r = await _issue(client, tenant, **{field: value})
        assert 400 <= r.status_code < 500 and r.status_code != 404, r.text
        assert any(e["source"]["pointer"] == f"/model/{field}" for e in r.json()["errors"]), r.text


async def test_dry_run_shows_the_chosen_syntax(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await make_contact(client, tenant)
    body = invoice_body(contact, profile="factur-x", conformance_level="BASIC")
    r = await client.post("/v1/invoices/validate", json=body, headers=tenant.headers)
    assert r.status_code == 200, r.text
    model = r.json()["model"]
    assert model["syntax"] == "cii" and model["valid"]
    root = etree.fromstring(model["xml"].encode())
    assert root.findtext(GUIDELINE, namespaces=NSMAP).endswith("urn:factur-x.eu:1p0:basic")
    # what BASIC leaves out is announced, one warning per business term, pointing at the field
    warned = {(w["rule_id"], w["business_term"], w["source"]["pointer"]) for w in r.json()["warnings"]}
    assert {
        ("FK-FACTURX-BASIC", "BG-6", "/tenant/contact"),
        ("FK-FACTURX-BASIC", "BT-155", "/model/line_items/0/item/seller_id"),
        ("FK-FACTURX-BASIC", "BT-154", "/model/line_items/0/item/description"),
    } <= warned
    assert root.find(".//ram:DefinedTradeContact", NSMAP) is None


async def test_factur_x_basic_is_issued_valid(client: httpx.AsyncClient, tenant: Tenant) -> None:
    r = await _issue(client, tenant, profile="factur-x", conformance_level="BASIC")
    assert r.status_code == 201, r.text
    assert any(w.get("rule_id") == "FK-FACTURX-BASIC" for w in r.json()["warnings"])
    xml = await _xml(client, tenant, r.json()["model"])
    xsd, fatal, _ = official_findings(xml.content, ("facturx-basic-1.09.2",))
    assert not xsd and not fatal, describe(fatal) + "\n".join(xsd)
    errors = await _refused(
        client, tenant, profile="factur-x", conformance_level="BASIC", rounding_amount="0.01"
    )
    assert ("FK-FACTURX-BASIC", "/model/rounding_amount") in errors


async def test_pdf_of_a_cii_invoice_embeds_the_archived_cii(
    client: httpx.AsyncClient, tenant: Tenant, app: Any, settings: Settings, owner: asyncpg.Connection
) -> None:
    """The PDF job renders from the archived XML whatever its syntax: the PDF/A-3 carries the
    CII bytes exactly as archived (the basis of a Factur-X / ZUGFeRD hybrid)."""
    r = await _issue(client, tenant, profile="zugferd", conformance_level="EN16931")
    assert r.status_code == 201, r.text
    inv = r.json()["model"]
    await run_pdf_job(app, settings, owner, inv["id"])
    pdf = await client.get(f"/v1/invoices/{inv['id']}/pdf", headers=tenant.headers)
    assert pdf.status_code == 200
    xml = await _xml(client, tenant, inv)
    [(embedded, _relationship)] = attachments(pdf.content).values()
    assert embedded == xml.content
    assert_hybrid(pdf.content, xml.content, "EN16931")
    r = await client.get(f"/v1/invoices/{inv['id']}/archive", headers=tenant.headers)
    assert {e["kind"] for e in r.json()["model"]["entries"]} == {"cii", "pdf"}


async def test_tenant_defaults_are_validated_and_factur_x_has_rules(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    model = {"default_syntax": "cii", "default_conformance_level": "EXTENDED"}
    r = await client.patch(f"/v1/tenants/{tenant.id}", json={"model": model}, headers=tenant.platform_headers)
    assert r.status_code == 200, r.text
    r = await client.patch(
        f"/v1/tenants/{tenant.id}", json={"model": {"default_syntax": "xml"}}, headers=tenant.platform_headers
    )
    assert r.status_code == 422, r.text
    assert [e["source"]["pointer"] for e in r.json()["errors"]] == ["/model/default_syntax"]
    for path in ("/v1/compliance/rules?profile=factur-x", "/v1/invoices/meta/post?profile=zugferd"):
        r = await client.get(path, headers=tenant.headers)
        assert r.status_code == 200, r.text
