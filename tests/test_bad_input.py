"""Bad input gets a 4xx whose pointer names the field — never a 500, never a partial write."""

from __future__ import annotations

import httpx
import pytest
from tests.conftest import Tenant, invoice_body, make_contact


def _pointer(r: httpx.Response) -> str:
    return r.json()["errors"][0]["source"]["pointer"]  # type: ignore[no-any-return]


async def test_malformed_json(client: httpx.AsyncClient, tenant: Tenant) -> None:
    r = await client.post(
        "/v1/invoices", content=b'{"model": {', headers={**tenant.headers, "content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["errors"][0]["problem_type"] == "MALFORMED_JSON"


async def test_body_without_model_envelope(client: httpx.AsyncClient, tenant: Tenant) -> None:
    r = await client.post("/v1/contacts", json={"name": "x"}, headers=tenant.headers)
    assert r.status_code == 422
    assert _pointer(r) == "/model"


CASES = [
    # (mutation of the invoice model, expected status, expected pointer)
    (lambda m: m.update(currency=5), 422, "/model/currency"),
    (lambda m: m.update(currency="EURO"), 422, "/model/currency"),
    (lambda m: m.update(currency="XYZ"), 422, "/model/currency"),
    (lambda m: m.update(colour="red"), 422, "/model/colour"),
    (lambda m: m["line_items"][1].update(quantity="three"), 422, "/model/line_items/1/quantity"),
    (lambda m: m["line_items"][1].update(unit_price="NaN"), 422, "/model/line_items/1/unit_price"),
    (lambda m: m["line_items"][1].update(unit_price="Infinity"), 422, "/model/line_items/1/unit_price"),
    (lambda m: m["line_items"][0].update(unit_price="1e30"), 422, "/model/line_items/0/unit_price"),
    (lambda m: m["line_items"][0].update(quantity="0.000000000001"), 422, "/model/line_items/0/quantity"),
    (lambda m: m["line_items"][0].update(unit_code="PIECES"), 422, "/model/line_items/0/unit_code"),
    (lambda m: m["line_items"][0].update(tax_category="X"), 422, "/model/line_items/0/tax_category"),
    (lambda m: m["line_items"][0]["item"].update(sku="1"), 422, "/model/line_items/0/item/sku"),
    (lambda m: m["line_items"][0].pop("item"), 422, "/model/line_items/0/item"),
    (lambda m: m.update(issue_date="2026-13-01"), 422, "/model/issue_date"),
    (lambda m: m.update(document_type="RECEIPT"), 422, "/model/document_type"),
    (lambda m: m.update(line_items={}), 422, "/model/line_items"),
    (lambda m: m.update(prepaid_amount="-1e400"), 422, "/model/prepaid_amount"),
    (lambda m: m.update(prepaid_amount=1e300), 422, "/model/prepaid_amount"),
    (lambda m: m["line_items"][1].update(quantity="sNaN"), 422, "/model/line_items/1/quantity"),
    (lambda m: m["line_items"][1].update(quantity="-Infinity"), 422, "/model/line_items/1/quantity"),
    (lambda m: m["line_items"][1].update(quantity="inf"), 422, "/model/line_items/1/quantity"),
    (lambda m: m["line_items"][0].update(quantity="１２"), 422, "/model/line_items/0/quantity"),
    (lambda m: m["line_items"][0].update(unit_price="٤٩.٩٠"), 422, "/model/line_items/0/unit_price"),
    (lambda m: m["allowances"][0].update(amount="1_000"), 422, "/model/allowances/0/amount"),
]


@pytest.mark.parametrize(
    ("mutate", "status", "ptr"), CASES, ids=[c[2] + f"#{i}" for i, c in enumerate(CASES)]
)
async def test_bad_field_points_at_it(
    client: httpx.AsyncClient, tenant: Tenant, mutate: object, status: int, ptr: str
) -> None:
    contact = await make_contact(client, tenant)
    body = invoice_body(contact)
    mutate(body["model"])  # type: ignore[operator]
    for path in ("/v1/invoices", "/v1/invoices?issue=true"):
        r = await client.post(path, json=body, headers=tenant.headers)
        assert r.status_code == status, (path, r.text)
        assert ptr in {e["source"]["pointer"] for e in r.json()["errors"]}, r.text
    # nothing half-written
    assert (await client.get("/v1/invoices", headers=tenant.headers)).json()["results"] == []


@pytest.mark.parametrize(
    ("mutate", "rule", "ptr"),
    [
        (lambda m: m["line_items"][0].update(unit_price="-5"), "BR-27", "/model/line_items/0/unit_price"),
        (lambda m: m["allowances"][0].update(amount="-3"), None, "/model/allowances/0/amount"),
        (lambda m: m["allowances"][0].update(amount="1.234"), "BR-DEC-01", "/model/allowances/0/amount"),
        (lambda m: m["allowances"][0].pop("tax_category"), "BR-32", "/model/allowances/0/tax_category"),
        (
            lambda m: m["line_items"][0].update(tax_category="S", tax_rate="0", tax_exemption_reason=None),
            "BR-S-05",
            "/model/line_items/0/tax_rate",
        ),
        (
            lambda m: m["line_items"][0].update(
                tax_category="E", tax_exemption_reason=None, tax_exemption_reason_code=None
            ),
            "BR-E-10",
            "/model/line_items/0/tax_exemption_reason",
        ),
        (lambda m: m.update(line_items=[]), "BR-16", "/model/line_items"),
        (lambda m: m.update(tax_currency="USD"), "BR-53", "/model/exchange_rate"),
    ],
)
async def test_business_rule_findings_on_issue(
    client: httpx.AsyncClient, tenant: Tenant, mutate: object, rule: str | None, ptr: str
) -> None:
    contact = await make_contact(client, tenant)
    body = invoice_body(contact)
    mutate(body["model"])  # type: ignore[operator]
    body["model"] = {k: v for k, v in body["model"].items() if v is not None}
    r = await client.post("/v1/invoices?issue=true", json=body, headers=tenant.headers)
    assert r.status_code == 422, r.text
    found = {(e.get("rule_id"), e["source"]["pointer"]) for e in r.json()["errors"]}
    assert (rule, ptr) in found, found


async def test_huge_body_is_413(client: httpx.AsyncClient, tenant: Tenant) -> None:
    blob = b'{"model": {"memo": "' + b"x" * (20 * 1024 * 1024) + b'"}}'
    r = await client.post(
        "/v1/invoices", content=blob, headers={**tenant.headers, "content-type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json()["errors"][0]["problem_type"] == "REQUEST_TOO_LARGE"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc", "X-Account-Token": "t"}],
)
async def test_unauthenticated(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    r = await client.get("/v1/invoices", headers=headers)
    assert r.status_code == 401
    assert r.json()["errors"][0]["problem_type"] == "UNAUTHORIZED"


async def test_bad_query_parameters(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for q, ptr in [
        ("page_size=0", "/page_size"),
        ("page_size=abc", "/page_size"),
        ("cursor=!!!", "/cursor"),
        ("status=LOST", "/status"),
        ("created_after=yesterday", "/created_after"),
        ("contact_id=42", "/contact_id"),
        ("expand=payments", "/expand"),
    ]:
        r = await client.get(f"/v1/invoices?{q}", headers=tenant.headers)
        assert r.status_code == 400, q
        assert _pointer(r) == ptr


async def test_unknown_ids_are_404_not_500(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for path in [
        "/v1/invoices/not-a-uuid",
        "/v1/invoices/00000000-0000-0000-0000-000000000000/xml",
        "/v1/contacts/x",
    ]:
        r = await client.get(path, headers=tenant.headers)
        assert r.status_code == 404, path
    assert (await client.get("/v1/nothing", headers=tenant.headers)).status_code == 404
    assert (await client.put("/v1/invoices", headers=tenant.headers)).status_code == 405


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/v1/tenants", b'{"model": {"legal_name": "A\\u0000B", "address": {"country": "DE"}}}'),
        (
            "/v1/contacts",
            b'{"model": {"name": "x", "address": {"country": "BE"}, "contact_name": "esc \\u001b"}}',
        ),
        ("/v1/invoices", b'{"model": {"memo": "bell \\u0007"}}'),
    ],
)
async def test_text_no_database_or_xml_can_store_is_a_422(
    client: httpx.AsyncClient, tenant: Tenant, path: str, raw: bytes
) -> None:
    headers = tenant.platform_headers if path == "/v1/tenants" else tenant.headers
    r = await client.post(path, content=raw, headers={**headers, "content-type": "application/json"})
    assert r.status_code == 422, r.text
    err = r.json()["errors"][0]
    assert err["problem_type"] == "INVALID_CHARACTERS"
    assert err["source"]["pointer"] in ("/model/legal_name", "/model/contact_name", "/model/memo")


async def test_unpaired_surrogate_is_malformed_json(client: httpx.AsyncClient, tenant: Tenant) -> None:
    raw = b'{"model": {"name": "\\udafb", "address": {"country": "BE"}}}'
    r = await client.post(
        "/v1/contacts", content=raw, headers={**tenant.headers, "content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["errors"][0]["problem_type"] == "MALFORMED_JSON"


async def test_number_beyond_float_range_points_at_its_field(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """A bare JSON number no float can hold is read as a decimal and judged where it stands."""
    contact = await make_contact(client, tenant)
    body = invoice_body(contact)
    body["model"]["prepaid_amount"] = "PLACEHOLDER"
    raw = httpx.Request("POST", "/", json=body).content.replace(b'"PLACEHOLDER"', b"-1e400")
    r = await client.post(
        "/v1/invoices", content=raw, headers={**tenant.headers, "content-type": "application/json"}
    )
    assert r.status_code == 422, r.text
    assert "/model/prepaid_amount" in {e["source"]["pointer"] for e in r.json()["errors"]}
