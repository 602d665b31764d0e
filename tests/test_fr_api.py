"""France through the API: the request schema and its errors, the automatic and explicit
profile choice, the French Peppol process ids, the rule catalogue and the `meta` schema."""

from __future__ import annotations

import copy
from typing import Any

import asyncpg
import httpx
from lxml import etree
from tests.conftest import make_platform

from conformance import official_findings
from france_corpus import CASES, invoice_model, load, tenant_model

NS = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}
BASE = load(next(p for p in CASES if p.stem == "s1-services-standard-rate"))


async def _tenant(
    client: httpx.AsyncClient, owner: asyncpg.Connection, case: dict[str, Any] = BASE
) -> dict[str, str]:
    key = await make_platform(owner)
    r = await client.post(
        "/v1/tenants", json={"model": tenant_model(case)}, headers={"Authorization": f"Bearer {key}"}
    )
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {key}", "X-Account-Token": r.json()["model"]["account_token"]}


async def _validate(
    client: httpx.AsyncClient, headers: dict[str, str], model: dict[str, Any]
) -> dict[str, Any]:
    r = await client.post("/v1/invoices/validate", json={"model": model}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _errors(body: dict[str, Any]) -> set[tuple[str, str]]:
    return {(e.get("rule_id"), e["source"]["pointer"]) for e in body["errors"]}


async def test_missing_french_terms_are_reported_with_official_ids_and_pointers(
    client: httpx.AsyncClient, owner: asyncpg.Connection
) -> None:
    headers = await _tenant(client, owner)
    model = invoice_model(BASE)
    del model["billing_mode"]
    model["notes"] = [n for n in model["notes"] if "#PMT#" not in n]
    model["buyer"] = {k: v for k, v in model["buyer"].items() if k != "endpoint"}
    body = await _validate(client, headers, model)
    assert body["model"]["valid"] is False
    assert body["model"]["rule_versions"] == {"en16931": "1.3.16", "fr_ctc": "1.4.0.03"}
    errors = _errors(body)
    assert ("BR-FR-08_BT-23", "/model/billing_mode") in errors
    assert ("BR-FR-05_BT-22-1", "/model/notes") in errors
    assert ("BR-FR-12_BT-49", "/model/buyer/endpoint") in errors
    assert ("BR-FR-21_BT-49", "/model/buyer/endpoint") in errors
    messages = {e["rule_id"]: e["detail"] for e in body["errors"]}
    assert messages["BR-FR-08_BT-23"].startswith("[BR-FR-08/BT-23]")


async def test_check_digits_and_address_shape_are_ours(
    client: httpx.AsyncClient, owner: asyncpg.Connection
) -> None:
    case = copy.deepcopy(BASE)
    case["seller"]["siren"] = "412207640"  # nine digits, wrong Luhn check digit
    headers = await _tenant(client, owner, case)
    model = invoice_model(case)
    model["buyer"]["endpoint"] = {"value": model["buyer"]["siren"] + "_12345678901234", "scheme": "0225"}
    errors = _errors(await _validate(client, headers, model))
    assert ("FK-FR-SIREN", "/tenant/siren") in errors
    assert ("FK-FR-ADDRESS", "/model/buyer/endpoint/value") in errors


async def test_schema_refuses_malformed_french_fields(
    client: httpx.AsyncClient, owner: asyncpg.Connection
) -> None:
    headers = await _tenant(client, owner)
    for field, value, pointer in (
        ("billing_mode", "X1", "/model/billing_mode"),
        ("buyer", {**BASE["buyer"], "siren": "12345"}, "/model/buyer/siren"),
        ("buyer", {**BASE["buyer"], "siret": "1234567890123A"}, "/model/buyer/siret"),
    ):
        model = {**invoice_model(BASE), field: value}
        r = await client.post("/v1/invoices", json={"model": model}, headers=headers)
        assert r.status_code in (400, 422), r.text
        assert pointer in {e["source"]["pointer"] for e in r.json()["errors"]}, r.text


async def test_sub_line_billing_modes_are_refused_and_nothing_is_issued(
    client: httpx.AsyncClient, owner: asyncpg.Connection
) -> None:
    headers = await _tenant(client, owner)
    model = {**invoice_model(BASE), "billing_mode": "S8"}
    r = await client.post("/v1/invoices?issue=true", json={"model": model}, headers=headers)
    assert r.status_code == 422, r.text
    assert ("FK-FR-UNSUPPORTED", "/model/billing_mode") in _errors(r.json())
    listed = (await client.get("/v1/invoices", headers=headers)).json()["results"]
    assert listed == []  # create-and-issue refused: no draft either


async def test_french_profile_in_cii_is_refused_until_issued_in_cii(
    client: httpx.AsyncClient, owner: asyncpg.Connection
) -> None:
    headers = await _tenant(client, owner)
    body = await _validate(client, headers, invoice_model(BASE, syntax="cii"))
    assert any(e.get("rule_id") == "FK-SYNTAX" for e in body["errors"])


async def test_peppol_invoice_of_a_french_seller_carries_the_french_process_id(
    client: httpx.AsyncClient, owner: asyncpg.Connection
) -> None:
    headers = await _tenant(client, owner)
    # Peppol BIS 3 allows one note (PEPPOL-EN16931-R002) and wants a buyer reference (R003)
    model = {**invoice_model(BASE), "profile": "peppol-bis-3", "buyer_reference": "ACHATS-7"}
    model["notes"] = ["".join(BASE["invoice"]["notes"])]
    body = await _validate(client, headers, model)
    assert body["errors"] == [], body["errors"]
    xml = body["model"]["xml"].encode()
    assert (
        etree.fromstring(xml).findtext("cbc:ProfileID", namespaces=NS)
        == "urn:peppol:france:billing:regulated"
    )
    xsd, fatal, _ = official_findings(xml, ("en16931-1.3.16", "peppol-3.0.21"))
    assert xsd == [] and fatal == [], [(f.id, f.text) for f in fatal]
    # to a buyer outside the French mandate: the non-regulated process
    model["buyer"] = {**load(next(p for p in CASES if p.stem == "s1-intra-eu-services-de"))["buyer"]}
    model["line_items"] = load(next(p for p in CASES if p.stem == "s1-intra-eu-services-de"))["invoice"][
        "line_items"
    ]
    xml = (await _validate(client, headers, model))["model"]["xml"].encode()
    assert (
        etree.fromstring(xml).findtext("cbc:ProfileID", namespaces=NS)
        == "urn:peppol:france:billing:non-regulated"
    )
    # without a billing mode, Peppol's own process id, as before
    del model["billing_mode"]
    xml = (await _validate(client, headers, model))["model"]["xml"].encode()
    assert (
        etree.fromstring(xml).findtext("cbc:ProfileID", namespaces=NS)
        == "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
    )


async def test_automatic_choice_needs_a_french_business_buyer(
    client: httpx.AsyncClient, owner: asyncpg.Connection
) -> None:
    headers = await _tenant(client, owner)
    model = {k: v for k, v in invoice_model(BASE).items() if k != "profile"}
    assert (await _validate(client, headers, model))["model"]["profile"] == "fr-ctc"
    # a French buyer known by a Peppol address only stays on Peppol BIS 3
    model["buyer"] = {k: v for k, v in model["buyer"].items() if k not in ("siren", "siret", "endpoint")} | {
        "endpoint": {"value": model["buyer"]["siret"], "scheme": "0009"}
    }
    assert (await _validate(client, headers, model))["model"]["profile"] == "peppol-bis-3"


async def test_catalogue_and_meta_schema_know_the_french_profiles(
    client: httpx.AsyncClient, owner: asyncpg.Connection
) -> None:
    headers = await _tenant(client, owner)
    r = await client.get("/v1/compliance/rules?profile=fr-ctc-extended&date=2026-12-06")
    assert r.status_code == 200, r.text
    catalogue = r.json()
    assert catalogue["rule_versions"] == {
        "en16931": "1.3.16",
        "fr_ctc": "1.4.0.03",
        "fr_ctc_extended": "1.4.0.03",
    }
    rows = {row["id"]: row for row in catalogue["results"]}
    assert rows["BR-FR-10_BT-30"]["rule_set"] == "fr-ctc" and rows["BR-FR-10_BT-30"]["version"] == "1.4.0.03"
    schema = (await client.get("/v1/invoices/meta/post?profile=fr-ctc", headers=headers)).json()
    required = schema["x-faktura-required"]
    assert "BR-FR-08_BT-23" in required["/model/billing_mode"]
    assert "BR-FR-05_BT-22-1" in required["/model/notes"]
    assert "BR-FR-12_BT-49" in required["/model/buyer/endpoint"]
    assert "billing_mode" in schema["$defs"]["InvoiceInput"]["required"]


async def test_a_number_the_french_rules_refuse_is_given_back(
    client: httpx.AsyncClient, owner: asyncpg.Connection
) -> None:
    """BT-1 is the series' number: BR-FR-01/02 are checked on it at issue, and the refusal
    rolls the counter back, so the next French-valid issue of the series is still gapless."""
    headers = await _tenant(client, owner)
    r = await client.post(
        "/v1/number-series",
        json={"model": {"code": "FR", "format": "FACT {year} N°{seq:04}"}},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    model = {**invoice_model(BASE), "series": "FR"}
    r = await client.post("/v1/invoices?issue=true", json={"model": model}, headers=headers)
    assert r.status_code == 422, r.text
    errors = _errors(r.json())
    assert {("BR-FR-01_BT-1-2", "/model/series"), ("BR-FR-02_BT-1", "/model/series")} <= errors
    r = await client.post(
        "/v1/number-series", json={"model": {"code": "FR2", "format": "F-{year}-{seq:04}"}}, headers=headers
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        "/v1/invoices?issue=true", json={"model": {**model, "series": "FR2"}}, headers=headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["model"]["number"] == "F-2026-0001"


async def test_a_second_legal_id_beside_the_siren_is_refused(
    client: httpx.AsyncClient, owner: asyncpg.Connection
) -> None:
    headers = await _tenant(client, owner)
    model = invoice_model(BASE)
    model["buyer"] = {**model["buyer"], "legal_id": {"value": "RCS Paris B 303 265 045"}}
    assert ("FK-FR-LEGAL-ID", "/model/buyer/legal_id") in _errors(await _validate(client, headers, model))
    model["buyer"]["legal_id"] = {"value": model["buyer"]["siren"], "scheme": "0002"}
    assert (await _validate(client, headers, model))["errors"] == []
