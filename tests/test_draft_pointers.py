"""A draft's findings point at what the client sent: every pointer into `/model` resolves in
the request, or names a missing member of an object that is there (property check over many
generated drafts, complete and with members dropped at random)."""

from __future__ import annotations

import random
import re
from typing import Any

import httpx
import msgspec
from tests.conftest import Tenant

from compliance_cases import valid_case
from faktura.compliance.basic import MEMBER_TERMS, anchored
from faktura.compliance.findings import Finding, Severity

DRAFTS = 60


def _resolves(sent: Any, ptr: str) -> tuple[bool, bool]:
    """(the pointer resolves, it names a missing member of an object that is there)."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in ptr.split("/")[1:]]
    node = sent
    for k, part in enumerate(parts):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, k == len(parts) - 1 and isinstance(node, dict)
    return True, True


def _sparse(value: Any, rnd: random.Random) -> Any:
    """`value` with members dropped at random (required ones too: those drafts are 422s)."""
    if isinstance(value, dict):
        return {k: _sparse(v, rnd) for k, v in value.items() if rnd.random() > 0.25}
    if isinstance(value, list):
        return [_sparse(v, rnd) for v in value if rnd.random() > 0.2]
    return value


def _requires(f: dict[str, Any], member: str) -> bool:
    """The finding asks for the member: a missing-member finding, or one whose rule is about
    the member's business term (BR-S-05 on a line's VAT rate, BT-152)."""
    if f["problem_type"].startswith("MISSING_"):
        return True
    said = set(re.findall(r"\bB[TG]-\d+\b", f["detail"])) | {f.get("business_term")}
    return bool(MEMBER_TERMS.get(member, frozenset()) & said)


def _bad_pointers(sent: dict[str, Any], body: dict[str, Any]) -> list[tuple[str | None, str]]:
    bad = []
    for f in [*body["errors"], *body["warnings"]]:
        ptr = f["source"]["pointer"]
        if not ptr.startswith("/model"):
            continue  # the tenant (seller) or a query parameter: not the request body
        ok, parent_ok = _resolves({"model": sent}, ptr)
        if not ok and not (parent_ok and _requires(f, ptr.rsplit("/", 1)[-1])):
            bad.append((f.get("rule_id"), ptr))
    return bad


async def test_draft_findings_point_at_what_was_sent(client: httpx.AsyncClient, tenant: Tenant) -> None:
    models: list[dict[str, Any]] = [
        {},
        {"line_items": [{"item": {"name": "x"}, "quantity": "1", "unit_price": "1"}]},
    ]
    for i in range(DRAFTS):
        rnd = random.Random(104_729 * i + 7)
        case = valid_case(rnd, "peppol-bis-3" if i % 3 else "xrechnung-3")
        model = msgspec.to_builtins(msgspec.structs.replace(case.invoice, buyer=case.buyer, contact=None))
        models.append(_sparse(model, rnd) if i % 4 else model)
    statuses: dict[int, int] = {}
    total = 0
    for model in models:
        r = await client.post("/v1/invoices", json={"model": model}, headers=tenant.headers)
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        assert r.status_code in (201, 422), r.text
        body = r.json()
        total += len(body["errors"]) + len(body["warnings"])
        assert not _bad_pointers(model, body), (_bad_pointers(model, body), model)
    assert statuses.get(201, 0) >= DRAFTS // 3 and statuses.get(422, 0) >= 5, statuses
    assert total > 3 * len(models)


async def test_empty_draft_points_at_the_model_not_at_tax_currency(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    r = await client.post("/v1/invoices", json={"model": {}}, headers=tenant.headers)
    assert r.status_code == 201
    found = {(w.get("rule_id"), w["source"]["pointer"]) for w in r.json()["warnings"]}
    assert ("PEPPOL-EN16931-R054", "/model") in found, found
    assert ("BR-16", "/model/line_items") in found  # missing, and /model is there: says where to add


def _finding(ptr: str, problem_type: str = "INVALID_FIELD", detail: str = "d") -> Finding:
    return Finding(
        rule_id="X",
        severity=Severity.WARNING,
        title="t",
        detail=detail,
        pointer=ptr,
        problem_type=problem_type,
    )


def test_anchored_moves_up_to_the_nearest_member_sent() -> None:
    sent = {"line_items": [{"item": {"name": "a/b"}}], "contact": "c-1"}
    cases = {
        ("/model/line_items/0/item/name", "INVALID_FIELD"): "/model/line_items/0/item/name",
        ("/model/line_items/0/tax_rate", "INVALID_FIELD"): "/model/line_items/0",
        ("/model/line_items/0/tax_rate", "MISSING_REQUIRED_FIELD"): "/model/line_items/0/tax_rate",
        ("/model/line_items/3/tax_rate", "MISSING_REQUIRED_FIELD"): "/model/line_items",
        ("/model/contact/endpoint", "MISSING_REQUIRED_FIELD"): "/model/contact",
        ("/model/delivery/address/country", "MISSING_REQUIRED_FIELD"): "/model",
        ("/tenant/vat_id", "INVALID_FIELD"): "/tenant/vat_id",
    }
    for (ptr, ptype), want in cases.items():
        (got,) = anchored([_finding(ptr, ptype)], sent)
        assert got.pointer == want, (ptr, ptype, got.pointer)
    # a finding about the absent member's own business term names it (BR-S-05 on BT-152)
    rate = _finding(
        "/model/line_items/0/tax_rate", detail="The VAT rate (BT-152) shall be greater than zero."
    )
    assert anchored([rate], sent)[0].pointer == "/model/line_items/0/tax_rate"
    about_other = _finding("/model/tax_currency", detail="Only one tax total (BT-111) MUST be provided.")
    assert anchored([about_other], sent)[0].pointer == "/model"
