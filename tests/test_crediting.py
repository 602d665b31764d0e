"""Credit notes settle what they reference: partial credit lowers the balance, full credit
makes the invoice VOID; both appear in the invoice's timeline."""

from __future__ import annotations

from decimal import Decimal

import httpx
from tests.conftest import Tenant, invoice_body, make_contact


async def _issue(client: httpx.AsyncClient, t: Tenant, body: dict[str, object]) -> dict[str, object]:
    r = await client.post("/v1/invoices?issue=true", json=body, headers=t.headers)
    assert r.status_code == 201, r.text
    return r.json()["model"]  # type: ignore[no-any-return]


async def test_partial_then_full_credit_voids_the_invoice(client: httpx.AsyncClient, tenant: Tenant) -> None:
    contact = await make_contact(client, tenant)
    inv = await _issue(client, tenant, invoice_body(contact))
    total = Decimal(str(inv["total_amount"]))

    # credit one of the two 7 % books: 24.50 + 7 % = 26.22
    partial = invoice_body(
        contact, document_type="CREDIT_NOTE", preceding_invoices=[{"number": inv["number"]}]
    )
    partial["model"]["line_items"] = [{**partial["model"]["line_items"][1], "quantity": "1"}]
    partial["model"]["allowances"] = []
    cn1 = await _issue(client, tenant, partial)
    after = (await client.get(f"/v1/invoices/{inv['id']}", headers=tenant.headers)).json()["model"]
    assert Decimal(after["balance"]) == total - Decimal(str(cn1["total_amount"]))
    assert after["status"] == "OPEN"

    rest = invoice_body(contact, document_type="CREDIT_NOTE", preceding_invoices=[{"number": inv["number"]}])
    rest["model"]["line_items"][1]["quantity"] = "1"
    cn2 = await _issue(client, tenant, rest)
    # the two halves carry their own VAT rounding (one cent more in all): never credited past zero
    assert Decimal(str(cn1["total_amount"])) + Decimal(str(cn2["total_amount"])) >= total
    final = (await client.get(f"/v1/invoices/{inv['id']}", headers=tenant.headers)).json()["model"]
    assert final["status"] == "VOID"
    assert Decimal(final["balance"]) == 0
    assert Decimal(str(final["credited_amount"])) == total
    events = (await client.get(f"/v1/invoices/{inv['id']}/events", headers=tenant.headers)).json()["results"]
    kinds = [e["type"] for e in events]
    assert kinds.count("invoice.credited") == 2 and "invoice.status_changed" in kinds
    r = await client.post(
        f"/v1/invoices/{inv['id']}/payments",
        json={"model": {"amount": "1.00", "date": "2026-11-22"}},
        headers=tenant.headers,
    )
    assert r.status_code == 409


async def test_credit_note_for_unknown_invoice_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    contact = await make_contact(client, tenant)
    inv = await _issue(client, tenant, invoice_body(contact))
    cn = invoice_body(contact, document_type="CREDIT_NOTE", preceding_invoices=[{"number": "ELSEWHERE-1"}])
    await _issue(client, tenant, cn)
    same = (await client.get(f"/v1/invoices/{inv['id']}", headers=tenant.headers)).json()["model"]
    assert same["status"] == "OPEN" and same["balance"] == inv["balance"]
