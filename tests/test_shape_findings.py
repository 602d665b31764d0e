"""A request that does not fit the wire schema: every problem in one 422, each at its pointer
and with the official rule that covers it (msgspec alone stops at the first)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.conftest import Tenant, example, invoice_body, make_contact
from tests.delivery_support import in_process_worker, wait_for

from faktura.compliance.basic import shape_findings
from faktura.domain.invoice import InvoiceInput
from faktura.settings import Settings


def _found(r: httpx.Response) -> set[tuple[str | None, str]]:
    return {(e.get("rule_id"), e["source"]["pointer"]) for e in r.json()["errors"]}


def _five_problems(model: dict[str, Any]) -> None:
    """Five independent problems, each of which msgspec alone would report on its own."""
    model["buyer"] = {"address": {"country": "BE"}}  # no name (BR-07)
    model.pop("contact")
    model["currency"] = "EURO"  # malformed code (BR-CL-04)
    model["line_items"][0].pop("quantity")  # BR-22
    model["line_items"][1]["unit_price"] = "cheap"  # wrong type, no official rule
    model["colour"] = "red"  # unknown member


FIVE = {
    ("BR-07", "/model/buyer/name"),
    ("BR-CL-04", "/model/currency"),
    ("BR-22", "/model/line_items/0/quantity"),
    (None, "/model/line_items/1/unit_price"),
    (None, "/model/colour"),
}


async def test_five_problems_five_findings_in_one_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = invoice_body(await make_contact(client, tenant))
    _five_problems(body["model"])
    for path in ("/v1/invoices", "/v1/invoices?issue=true", "/v1/invoices/validate"):
        r = await client.post(path, json=body, headers=tenant.headers)
        assert r.status_code == 422, (path, r.text)
        assert _found(r) == FIVE, path
        assert all(e["severity"] == "fatal" for e in r.json()["errors"])
    assert (await client.get("/v1/invoices", headers=tenant.headers)).json()["results"] == []


async def test_patch_reports_every_problem(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = invoice_body(await make_contact(client, tenant))
    iid = (await client.post("/v1/invoices", json=body, headers=tenant.headers)).json()["model"]["id"]
    patch = {"model": {"tax_currency": "usd", "type_code": "X80", "due_date": "soon"}}
    r = await client.patch(f"/v1/invoices/{iid}", json=patch, headers=tenant.headers)
    assert r.status_code == 422
    assert _found(r) == {
        ("BR-CL-05", "/model/tax_currency"),
        ("BR-CL-01", "/model/type_code"),
        (None, "/model/due_date"),
    }


async def test_tenant_and_contact_name_their_rules(client: httpx.AsyncClient, tenant: Tenant) -> None:
    seller = example("tenant")
    del seller["model"]["legal_name"]
    seller["model"]["address"] = {"city": "Hamburg"}
    seller["model"]["default_currency"] = 978
    r = await client.post("/v1/tenants", json=seller, headers=tenant.platform_headers)
    assert r.status_code == 422
    assert _found(r) == {
        ("BR-06", "/model/legal_name"),
        ("BR-09", "/model/address/country"),
        ("BR-CL-04", "/model/default_currency"),
    }
    buyer = example("contact")
    buyer["model"]["name"] = ""
    del buyer["model"]["address"]
    r = await client.post("/v1/contacts", json=buyer, headers=tenant.headers)
    assert r.status_code == 422
    assert _found(r) == {("BR-07", "/model/name"), ("BR-10", "/model/address")}


@pytest.mark.parametrize(
    ("member", "value", "rule"),
    [
        (("line_items", 0, "item", "name"), "", "BR-25"),
        (("line_items", 0, "unit_price"), None, "BR-26"),
        (("line_items", 0, "unit_code"), "", "BR-23"),
        (("line_items", 0, "tax_category"), "s", "BR-CL-18"),
        (("line_items", 0, "item", "origin_country"), "Germany", "BR-CL-15"),
        (("allowances", 0, "tax_category"), 1, "BR-CL-17"),
        (("preceding_invoices",), [{"issue_date": "2026-01-01"}], "BR-55"),
        (("payment_means",), [{"code": "58", "account": {"name": "x"}}], "BR-50"),
        (("delivery",), {"address": {"city": "Gent"}}, "BR-57"),
        (("tax_representative",), {"name": "Rep"}, "BR-56"),
        (("attachments",), [{"description": "timesheet"}], "BR-52"),
    ],
)
def test_each_member_names_its_rule(member: tuple[str | int, ...], value: Any, rule: str) -> None:
    model = invoice_body("c")["model"]
    target = model
    for part in member[:-1]:
        target = target[part]
    target[member[-1]] = value
    assert rule in {f.rule_id for f in shape_findings(model, InvoiceInput, "/model")}


def test_a_fitting_model_has_no_shape_findings() -> None:
    assert shape_findings(invoice_body("c")["model"], InvoiceInput, "/model") == []


async def test_bulk_item_reports_every_problem(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings, app: Any
) -> None:
    contact = await make_contact(client, tenant)
    bad = invoice_body(contact)["model"]
    _five_problems(bad)
    items = [
        {"idempotency_key": "ok", "model": invoice_body(contact)["model"]},
        {"idempotency_key": "bad", "model": bad},
    ]
    r = await client.post("/v1/invoices/bulk", json={"items": items}, headers=tenant.headers)
    assert r.status_code == 202, r.text
    url = f"/v1/invoices/bulk/{r.json()['model']['id']}"

    async def done() -> bool:
        got = (await client.get(url, headers=tenant.headers)).json()["model"]
        return bool(got["counts"]["PENDING"] == 0)

    async with in_process_worker(app.state.pool, settings):
        await wait_for(done, timeout=30)
    got = (await client.get(url, headers=tenant.headers)).json()["model"]["items"]
    assert got[0]["status"] == "SUCCESS"
    assert got[1]["status"] == "FAILED"
    assert {(e.get("rule_id"), e["source"]["pointer"]) for e in got[1]["errors"]} == FIVE
