"""French invoices in CII and as Factur-X over the API, and the CII form of the BR-FR rules.

A French profile is issued in CII with `syntax: cii`, and as a Factur-X hybrid PDF when the
invoice also names its profile's Factur-X level (EN16931 for `fr-ctc`, EXTENDED for
`fr-ctc-extended`); any other level, or a level outside CII, is refused with FK-SYNTAX at
the field. Every assert of the official BR-FR CII Schematron is either run natively under
its CII id or explained.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest
from lxml import etree
from tests.conftest import make_platform
from tests.pdf_support import LEVELS, assert_hybrid
from tests.test_documents_api import run_pdf_job

from conformance import describe, kit_dir, official_findings
from faktura.compliance import france
from faktura.compliance.france import cii
from faktura.compliance.syntax import syntax_findings
from faktura.domain.invoice import Identifier
from faktura.domain.notes import subject_and_text
from faktura.settings import Settings
from fr_cii_cases import french_case
from france_corpus import CORPUS_DIR, invoice_model, load, tenant_model

CII_SCHEMATRON = "schematron/fr-ctc-1.4.0.03/CII/EN16931/schematron/BR-FR-Flux2-Schematron-CII.sch"
SCH = {"s": "http://purl.oclc.org/dsdl/schematron"}
NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}


async def _tenant(
    client: httpx.AsyncClient, owner: asyncpg.Connection, case: dict[str, Any]
) -> dict[str, str]:
    key = await make_platform(owner)
    r = await client.post(
        "/v1/tenants", json={"model": tenant_model(case)}, headers={"Authorization": f"Bearer {key}"}
    )
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {key}", "X-Account-Token": r.json()["model"]["account_token"]}


def _case(name: str) -> dict[str, Any]:
    return load(CORPUS_DIR / f"{name}.json")


def _extended_case() -> dict[str, Any]:
    return next(load(p) for p in sorted(CORPUS_DIR.glob("*.json")) if load(p)["profile"] == "fr-ctc-extended")


@pytest.mark.parametrize("profile", ["fr-ctc", "fr-ctc-extended"])
async def test_french_factur_x_is_a_hybrid_pdf(
    client: httpx.AsyncClient, owner: asyncpg.Connection, app: Any, settings: Settings, profile: str
) -> None:
    case = _extended_case() if profile == "fr-ctc-extended" else _case("b1-auto-profile-goods")
    level = "EXTENDED" if profile == "fr-ctc-extended" else "EN16931"
    headers = await _tenant(client, owner, case)
    model = {**invoice_model(case, "cii"), "conformance_level": level}
    r = await client.post("/v1/invoices?issue=true", json={"model": model}, headers=headers)
    assert r.status_code == 201, r.text
    inv = r.json()["model"]
    assert inv["profile"] == profile and inv["xml"]["syntax"] == "cii"
    await run_pdf_job(app, settings, owner, inv["id"])
    pdf = (await client.get(f"/v1/invoices/{inv['id']}/pdf", headers=headers)).content
    xml = (await client.get(f"/v1/invoices/{inv['id']}/xml", headers=headers)).content
    assert hashlib.sha256(xml).hexdigest() == inv["xml"]["sha256"]
    assert_hybrid(pdf, xml, level)  # the Factur-X XMP, and the XML passes the level's validator
    french = ("fr-ctc-1.4.0.03", "fr-ctc-extended-1.4.0.03") if level == "EXTENDED" else ("fr-ctc-1.4.0.03",)
    xsd_errors, fatal, _ = official_findings(xml, french)
    assert not xsd_errors and not fatal, describe(fatal)
    r = await client.get(f"/v1/invoices/{inv['id']}/archive", headers=headers)
    entries = {e["kind"]: e for e in r.json()["model"]["entries"]}
    assert entries["pdf"]["meta"]["factur_x"] == LEVELS[level][0]


async def test_plain_cii_is_no_hybrid(
    client: httpx.AsyncClient, owner: asyncpg.Connection, app: Any, settings: Settings
) -> None:
    case = _case("b1-auto-profile-goods")
    headers = await _tenant(client, owner, case)
    r = await client.post(
        "/v1/invoices?issue=true", json={"model": invoice_model(case, "cii")}, headers=headers
    )
    assert r.status_code == 201, r.text
    inv = r.json()["model"]
    await run_pdf_job(app, settings, owner, inv["id"])
    r = await client.get(f"/v1/invoices/{inv['id']}/archive", headers=headers)
    assert [e["meta"].get("factur_x") for e in r.json()["model"]["entries"]] == [None, None]
    xml = (await client.get(f"/v1/invoices/{inv['id']}/xml", headers=headers)).content
    root = etree.fromstring(xml)
    assert (
        root.findtext(
            "rsm:ExchangedDocumentContext/ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID",
            namespaces=NS,
        )
        == case["invoice"]["billing_mode"]
    )


@pytest.mark.parametrize(
    ("changes", "pointer"),
    [
        ({"syntax": "cii", "conformance_level": "EXTENDED"}, "/model/conformance_level"),  # fr-ctc is EN16931
        ({"syntax": "cii", "conformance_level": "BASIC"}, "/model/conformance_level"),
        ({"conformance_level": "EN16931"}, "/model/conformance_level"),  # a Factur-X is CII
    ],
)
async def test_french_level_that_does_not_exist_is_refused(
    client: httpx.AsyncClient, owner: asyncpg.Connection, changes: dict[str, str], pointer: str
) -> None:
    case = _case("b1-auto-profile-goods")
    headers = await _tenant(client, owner, case)
    model = {**invoice_model(case), "profile": "fr-ctc", **changes}
    r = await client.post("/v1/invoices?issue=true", json={"model": model}, headers=headers)
    assert r.status_code == 422, r.text
    assert [(e.get("rule_id"), e["source"]["pointer"]) for e in r.json()["errors"]] == [
        ("FK-SYNTAX", pointer)
    ]
    listed = await client.get("/v1/invoices", headers=headers)
    assert all(i["status"] == "DRAFT" for i in listed.json()["results"])


def test_note_subject_codes() -> None:
    assert subject_and_text("#PMT#Indemnité de 40 EUR") == ("PMT", "Indemnité de 40 EUR")
    assert subject_and_text("#BAR#B2B") == ("BAR", "B2B")
    assert subject_and_text("#PMT#") == ("PMT", "")
    assert subject_and_text("Livraison #PMT# plus tard") == (None, "Livraison #PMT# plus tard")
    assert subject_and_text("#pmt#minuscule") == (None, "#pmt#minuscule")


def test_factur_x_en16931_carries_one_schemed_buyer_identifier() -> None:
    case = french_case(random.Random(7), mutated=False)
    gln = Identifier(value="4012345000009", scheme="0088")
    buyer = msgspec.structs.replace(case.buyer, siret=None, identifiers=[gln])
    inv = msgspec.structs.replace(case.invoice, conformance_level="EN16931")
    assert not [f for f in syntax_findings(inv, case.seller, buyer) if f.rule_id == "FK-FACTURX-CARDINALITY"]
    with_siret = msgspec.structs.replace(buyer, siret=buyer.siren + "00017" if buyer.siren else None)
    found = [
        f for f in syntax_findings(inv, case.seller, with_siret) if f.rule_id == "FK-FACTURX-CARDINALITY"
    ]
    assert [(f.pointer, f.business_term) for f in found] == [("/model/contact/identifiers", "BT-46")]
    extended = msgspec.structs.replace(inv, profile="fr-ctc-extended", conformance_level="EXTENDED")
    assert not [
        f for f in syntax_findings(extended, case.seller, with_siret) if f.rule_id == "FK-FACTURX-CARDINALITY"
    ]


def test_every_cii_assert_is_native_or_explained() -> None:
    """The closing count for CII: each assert id of the official BR-FR CII Schematron is
    reported natively under that id, or is explained (not applicable to the model, or left
    to another rule in CII)."""
    tree = etree.parse(str(Path(kit_dir()) / CII_SCHEMATRON))
    asserts = {a.get("id") for a in tree.xpath("//s:assert", namespaces=SCH)}
    native = {cii.RENAMED.get(r.id, r.id) for r in france.RULE_SET.rules if r.id not in cii.DROPPED}
    native |= set(cii.NATIVE_IDS)
    explained = {cii.RENAMED.get(i, i) for i in france.RULE_SET.not_applicable} | set(cii.DROPPED)
    assert asserts - native - explained == set()
    assert set(cii.NATIVE_IDS) <= asserts and set(cii.RENAMED.values()) <= asserts
    implemented = asserts & native
    print(
        f"\nBR-FR CII: {len(asserts)} asserts; {len(implemented)} native, {len(asserts - implemented)} explained"
    )
    assert len(implemented) >= 75
