"""The compliance endpoints: dry-run validation, the rule catalogue, the per-tenant request schema."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
from tests.conftest import Tenant, invoice_body, make_contact

from conformance import official_findings


async def _count(client: httpx.AsyncClient, tenant: Tenant) -> int:
    return len((await client.get("/v1/invoices", headers=tenant.headers)).json()["results"])


async def test_validate_is_a_dry_run_with_xml(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await make_contact(client, tenant)
    before = await _count(client, tenant)
    r = await client.post("/v1/invoices/validate", json=invoice_body(contact), headers=tenant.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["errors"] == [] and body["model"]["valid"] is True
    assert body["model"]["profile"] == "peppol-bis-3"
    assert body["model"]["rule_versions"]["en16931"] == "1.3.16"
    xml = body["model"]["xml"].encode()
    xsd, fatal, _ = official_findings(xml)
    assert xsd == [] and fatal == []
    assert await _count(client, tenant) == before  # nothing stored
    # and no number was consumed: the first issued invoice still gets the first number
    r = await client.post("/v1/invoices?issue=true", json=invoice_body(contact), headers=tenant.headers)
    assert r.status_code == 201, r.text
    assert r.json()["model"]["number"].endswith("1")


async def test_validate_reports_every_finding(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await make_contact(client, tenant)
    body = invoice_body(contact)
    body["model"]["line_items"][0].update(tax_category="S", tax_rate="0")
    body["model"]["buyer_reference"] = None
    body["model"]["order_reference"] = None
    body["model"] = {k: v for k, v in body["model"].items() if v is not None}
    r = await client.post("/v1/invoices/validate", json=body, headers=tenant.headers)
    assert r.status_code == 200, r.text
    got = {(e["rule_id"], e["source"]["pointer"]) for e in r.json()["errors"]}
    assert ("BR-S-05", "/model/line_items/0/tax_rate") in got
    assert ("PEPPOL-EN16931-R003", "/model/buyer_reference") in got
    assert r.json()["model"]["valid"] is False


async def test_xrechnung_profile_is_rendered_and_checked(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await make_contact(client, tenant)
    body = invoice_body(contact, profile="xrechnung-3")
    r = await client.post("/v1/invoices/validate", json=body, headers=tenant.headers)
    assert r.status_code == 200, r.text
    model = r.json()["model"]
    assert "xrechnung_3.0" in model["xml"]
    assert model["rule_versions"]["xrechnung"] == "2.5.0"  # in force since 2026-01-31 (2.6.0 not implemented)
    rules = {e["rule_id"] for e in r.json()["errors"]}
    assert all(not rid.startswith("PEPPOL-EN16931-CL") for rid in rules)


async def test_rules_catalogue(client: httpx.AsyncClient, tenant: Tenant) -> None:
    r = await client.get("/v1/compliance/rules?profile=peppol-bis-3&country=NO", headers=tenant.headers)
    assert r.status_code == 200, r.text
    rows = {row["id"]: row for row in r.json()["results"]}
    assert rows["BR-CO-15"]["source"] == "en16931" and rows["BR-CO-15"]["version"] == "1.3.16"
    assert rows["NO-R-001"]["country"] == "NO"
    assert "DK-R-002" not in rows and "BR-DE-1" not in rows
    xr = (
        await client.get("/v1/compliance/rules?profile=xrechnung-3&date=2025-06-01", headers=tenant.headers)
    ).json()
    xrows = {row["id"]: row for row in xr["results"]}
    assert xrows["BR-DE-15"]["version"] == "2.3.0"
    assert xrows["BR-CL-23"]["severity"] == "warning"  # KoSIT's override
    assert (await client.get("/v1/compliance/rules?profile=nope", headers=tenant.headers)).status_code == 400
    bad = await client.get("/v1/compliance/rules?date=2026-13-01", headers=tenant.headers)
    assert bad.status_code == 400 and bad.json()["errors"][0]["source"]["pointer"] == "/date"


async def test_rules_catalogue_by_date(client: httpx.AsyncClient, tenant: Tenant) -> None:
    """The rules in force on a day: each side of the Peppol 3.0.21 and 3.0.22 boundaries and
    of XRechnung 2.5.0, with the fallback said where the version in force is not implemented."""

    async def on(profile: str, date: str) -> dict[str, Any]:
        r = await client.get(f"/v1/compliance/rules?profile={profile}&date={date}", headers=tenant.headers)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    before = await on("peppol-bis-3", "2026-08-23")
    assert before["rule_versions"] == {"en16931": "1.3.16", "peppol_bis": "3.0.18"}
    assert "3.0.20 is in force" in before["notes"][0]  # not implemented: 3.0.18 applies, said so
    assert "DK-R-017" not in {row["id"] for row in before["results"]}
    after = await on("peppol-bis-3", "2026-08-24")
    assert after["rule_versions"]["peppol_bis"] == "3.0.21" and after["notes"] == []
    rows = {row["id"]: row for row in after["results"]}
    assert rows["DK-R-017"]["version"] == "3.0.21" and rows["DK-R-003"]["severity"] == "fatal"
    assert [v["version"] for v in after["versions"][1]["later"]] == ["3.0.22", "3.1.0"]
    assert (await on("peppol-bis-3", "2026-12-14"))["rule_versions"]["peppol_bis"] == "3.0.22"
    assert (await on("xrechnung-3", "2026-01-30"))["rule_versions"]["xrechnung"] == "2.3.0"
    xr = await on("xrechnung-3", "2026-01-31")
    assert xr["rule_versions"]["xrechnung"] == "2.5.0"
    assert {row["version"] for row in xr["results"] if row["source"] == "xrechnung"} == {"2.5.0"}


async def test_meta_schemas(client: httpx.AsyncClient, tenant: Tenant) -> None:
    r = await client.get("/v1/invoices/meta/post", headers=tenant.headers)
    assert r.status_code == 200, r.text
    schema = r.json()
    required = schema["x-faktura-required"]
    assert "BR-16" in required["/model/line_items"]
    assert "line_items" in schema["$defs"]["InvoiceInput"]["required"]
    xr = (await client.get("/v1/invoices/meta/post?profile=xrechnung-3", headers=tenant.headers)).json()
    assert "BR-DE-15" in xr["x-faktura-required"]["/model/buyer_reference"]
    contact = await make_contact(client, tenant)
    body = invoice_body(contact)
    body["model"]["line_items"] = []
    draft = (await client.post("/v1/invoices", json=body, headers=tenant.headers)).json()["model"]
    r = await client.get(f"/v1/invoices/meta/patch/{draft['id']}", headers=tenant.headers)
    assert r.status_code == 200, r.text
    assert r.json()["x-faktura-missing"]["/model/line_items"] == "BR-16"
    # the static routes do not shadow the invoice routes, nor the other way round
    assert (await client.get(f"/v1/invoices/{draft['id']}", headers=tenant.headers)).status_code == 200
    assert (await client.get("/v1/invoices/meta/patch/nope", headers=tenant.headers)).status_code == 404


async def test_validate_never_renders_what_xml_cannot_carry(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await make_contact(client, tenant)
    body = invoice_body(contact, buyer_reference="PO\x1f1")
    r = await client.post("/v1/invoices/validate", json=body, headers=tenant.headers)
    # text that neither XML nor PostgreSQL can carry is refused when the body is read: no XML
    assert r.status_code == 422, r.text
    assert r.json()["model"] is None
    assert "/model/buyer_reference" in {e["source"]["pointer"] for e in r.json()["errors"]}


async def test_profile_is_chosen_from_tenant_and_buyer(
    client: httpx.AsyncClient, owner: asyncpg.Connection
) -> None:
    """Explicit profile > tenant default > XRechnung for a German public buyer > Peppol BIS 3."""
    from tests.conftest import example, make_platform, make_tenant

    t = await make_tenant(client, await make_platform(owner))
    be = await make_contact(client, t)
    de_public = await make_contact(
        client,
        t,
        name="Stadt Musterhausen",
        vat_id="DE136695976",
        legal_id=None,
        endpoint={"value": "04011000-12345-03", "scheme": "0204"},
        address={"line1": "Rathausplatz 1", "city": "Musterhausen", "postal_code": "12345", "country": "DE"},
    )
    cases = [
        (invoice_body(be), "peppol-bis-3"),
        (invoice_body(de_public, buyer_reference="04011000-12345-03"), "xrechnung-3"),
        (
            invoice_body(de_public, buyer_reference="04011000-12345-03", profile="peppol-bis-3"),
            "peppol-bis-3",
        ),
    ]
    for body, expected in cases:
        r = await client.post("/v1/invoices/validate", json=body, headers=t.headers)
        assert r.status_code == 200, r.text
        assert r.json()["model"]["profile"] == expected, (body["model"].get("buyer_reference"), r.text[:300])
    r = await client.patch(
        f"/v1/tenants/{t.id}", json={"model": {"default_profile": "xrechnung-3"}}, headers=t.platform_headers
    )
    assert r.status_code == 200, r.text
    r = await client.post("/v1/invoices/validate", json=invoice_body(be), headers=t.headers)
    assert r.json()["model"]["profile"] == "xrechnung-3"
    assert example("tenant")["model"].get("default_profile") is None
