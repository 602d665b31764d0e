"""The French corpus through the API: tenant from the seller, inline buyer, create-and-issue.

Every case must be accepted by the native checks, issued under the profile the case names
(or that Faktura chooses for a French seller invoicing a French business), and its stored
UBL must pass the official XSD + EN 16931 1.3.16 + BR-FR 1.4.0.03 (+ EXTENDED-CTC-FR
1.4.0.03 for `fr-ctc-extended`) with zero fatal findings.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import asyncpg
import httpx
import pytest
from lxml import etree
from tests.conftest import make_platform

from conformance import official_findings
from faktura.compliance.rulebook import check_on
from france_corpus import CASES, domain, invoice_model, load, oracle, tenant_model

NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}
DAY = dt.date(2026, 12, 6)


def test_corpus_is_large_and_varied() -> None:
    cases = [load(p) for p in CASES]
    assert len(cases) >= 40
    invoices = [c["invoice"] for c in cases]
    assert sum(i.get("document_type") == "CREDIT_NOTE" for i in invoices) >= 4
    assert sum(c["profile"] == "fr-ctc-extended" for c in cases) >= 6
    categories = {li["tax_category"] for i in invoices for li in i["line_items"]}
    assert {"S", "Z", "E", "AE", "K", "G"} <= categories
    assert any(i.get("type_code") == "389" for i in invoices)  # self-billing
    assert any(i.get("allowances") and i.get("charges") for i in invoices)
    assert any(li.get("allowances") for i in invoices for li in i["line_items"])
    assert any("profile" not in i for i in invoices)  # the automatic choice


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_native_checks_accept_every_case(path: Path) -> None:
    inv, seller, buyer = domain(load(path))
    findings, _, selection = check_on(inv, seller=seller, buyer=buyer, day=DAY)
    assert [(f.rule_id, f.pointer) for f in findings if f.fatal] == []
    assert selection.versions["fr_ctc"] == "1.4.0.03"


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
async def test_issue_over_api_passes_official_french_rules(
    client: httpx.AsyncClient, owner: asyncpg.Connection, path: Path
) -> None:
    case = load(path)
    key = await make_platform(owner)
    r = await client.post(
        "/v1/tenants", json={"model": tenant_model(case)}, headers={"Authorization": f"Bearer {key}"}
    )
    assert r.status_code == 201, r.text
    headers = {"Authorization": f"Bearer {key}", "X-Account-Token": r.json()["model"]["account_token"]}
    r = await client.post("/v1/invoices?issue=true", json={"model": invoice_model(case)}, headers=headers)
    assert r.status_code == 201, r.text
    issued = r.json()["model"]
    assert issued["profile"] == case["profile"]
    xml = (await client.get(f"/v1/invoices/{issued['id']}/xml", headers=headers)).content
    xsd_errors, fatal, _ = official_findings(xml, oracle(case))
    assert xsd_errors == [] and fatal == [], (xsd_errors, [(f.id, f.text) for f in fatal])
    root = etree.fromstring(xml)
    assert root.findtext("cbc:ProfileID", namespaces=NS) == case["invoice"]["billing_mode"]
    assert (
        root.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=NS) == issued["payable_amount"]
    )
