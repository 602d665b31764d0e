"""The whole corpus through the API: tenant from the seller, inline buyer, create-and-issue.

Every invoice must be accepted by our checks (no false rejects) and the stored XML must pass
the official XSD + EN 16931 + Peppol BIS 3 Schematron with zero fatal findings, with the
payable amount our totals engine computes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest
from lxml import etree
from tests.conftest import make_platform

from conformance import official_findings
from faktura.compliance.basic import check_invoice
from faktura.domain.invoice import InvoiceInput, Party
from faktura.domain.totals import compute

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.json"))
NS = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def tenant_model(seller: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in seller.items() if k != "name"}
    return {"legal_name": seller["name"], **out}


@pytest.mark.parametrize("case", CORPUS, ids=[p.stem for p in CORPUS])
def test_basic_checks_accept_every_valid_invoice(case: Path) -> None:
    c = load(case)
    inv = msgspec.convert(c["invoice"], InvoiceInput, strict=False)
    inv = msgspec.structs.replace(
        inv, buyer=msgspec.convert(c["buyer"], Party, strict=False), issue_date=None
    )
    findings, totals = check_invoice(
        inv, seller=msgspec.convert(c["seller"], Party, strict=False), buyer=inv.buyer
    )
    assert [f for f in findings if f.fatal] == []
    assert totals == compute(inv)


@pytest.mark.parametrize("case", CORPUS, ids=[p.stem for p in CORPUS])
async def test_issue_over_api_passes_official_validators(
    client: httpx.AsyncClient, owner: asyncpg.Connection, case: Path
) -> None:
    c = load(case)
    key = await make_platform(owner)
    r = await client.post(
        "/v1/tenants", json={"model": tenant_model(c["seller"])}, headers={"Authorization": f"Bearer {key}"}
    )
    assert r.status_code == 201, r.text
    headers = {"Authorization": f"Bearer {key}", "X-Account-Token": r.json()["model"]["account_token"]}
    model = {**c["invoice"], "buyer": c["buyer"], "issue_date": c["issue_date"]}
    r = await client.post("/v1/invoices?issue=true", json={"model": model}, headers=headers)
    assert r.status_code == 201, r.text
    issued = r.json()["model"]
    xml = (await client.get(f"/v1/invoices/{issued['id']}/xml", headers=headers)).content
    rules = ("en16931", "xrechnung") if issued["profile"] == "xrechnung-3" else ("en16931", "peppol")
    xsd_errors, fatal, _ = official_findings(xml, rules)
    assert xsd_errors == [] and fatal == [], (xsd_errors, fatal)
    root = etree.fromstring(xml)
    payable = root.findtext(
        "cac:LegalMonetaryTotal/cbc:PayableAmount",
        namespaces={**NS, "cac": NS["cbc"].replace("CommonBasic", "CommonAggregate")},
    )
    assert payable == issued["payable_amount"]
