"""French life-cycle statuses in the timeline and the tenant webhooks, against the real
database and a real HTTP receiver.

A French seller issues an invoice; its platform's statuses (CDAR) arrive through
`receive_status` in a tenant-scoped transaction, as a channel files them; Faktura's own
212 "Encaissée" is built from the settled invoice and filed with `record_sent_status`.
Each status lands once in `GET /v1/invoices/{id}/events` and reaches the tenant's webhook
endpoint once, signed; invalid or misdirected messages are refused and write nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
from tests.conftest import Tenant, make_contact, make_platform, make_tenant
from tests.delivery_support import delivery_settings, http_server, in_process_worker, wait_for

from conformance import describe, official_findings
from faktura.delivery.events import WEBHOOK_EVENTS
from faktura.delivery.signing import HEADER, verify
from faktura.france import cdar, lifecycle
from faktura.france.cdar import (
    CdarError,
    Characteristic,
    InvoiceReference,
    Party,
    StatusDetail,
    StatusMessage,
)
from faktura.france.lifecycle import EVENTS, LifecycleError, Recorded
from faktura.jobs import JobContext
from faktura.settings import Settings

PARIS = cdar.PARIS


def siren(rng: random.Random) -> str:
    """A SIREN with its Luhn check digit."""
    from stdnum import luhn

    body = f"{rng.randint(10**7, 10**8 - 1)}"
    return body + luhn.calc_check_digit(body)


def french_vat(number: str) -> str:
    return f"FR{(12 + 3 * (int(number) % 97)) % 97:02d}{number}"


async def french_tenant(client: httpx.AsyncClient, owner: asyncpg.Connection, number: str) -> Tenant:
    return await make_tenant(
        client,
        await make_platform(owner),
        legal_name="Atelier Lumière SAS",
        trading_name="Atelier Lumière",
        vat_id=french_vat(number),
        siren=number,
        legal_form="SAS au capital de 10 000 EUR",
        address={"line1": "35 rue des Lilas", "city": "Paris", "postal_code": "75018", "country": "FR"},
        endpoint={"value": number, "scheme": "0225"},
        bank_account={"iban": "FR7630006000011234567890189", "name": "Atelier Lumière SAS"},
        language="fr",
    )


#: the mentions a French invoice must carry (BR-FR-05)
FRENCH_NOTES = [
    "#PMT#Indemnité forfaitaire pour frais de recouvrement en cas de retard de paiement : 40 EUR",
    "#PMD#Pénalités de retard : trois fois le taux d'intérêt légal",
    "#AAB#Pas d'escompte pour paiement anticipé",
]


async def french_invoice(client: httpx.AsyncClient, t: Tenant, buyer: str) -> dict[str, Any]:
    cid = await make_contact(
        client,
        t,
        name="Boulangerie Martin SARL",
        vat_id=french_vat(buyer),
        siren=buyer,
        endpoint={"value": buyer, "scheme": "0225"},
        address={"line1": "2 place du Marché", "city": "Lyon", "postal_code": "69002", "country": "FR"},
        language="fr",
    )
    body = {
        "model": {
            "contact": cid,
            "billing_mode": "S1",
            "notes": FRENCH_NOTES,
            "buyer_reference": "CMD-2026-77",
            "due_date": "2026-12-31",
            "payment_terms": "30 jours fin de mois",
            "line_items": [
                {
                    "item": {"name": "Conseil"},
                    "quantity": "2",
                    "unit_code": "HUR",
                    "unit_price": "400.00",
                    "tax_category": "S",
                    "tax_rate": "20",
                },
                {
                    "item": {"name": "Livre"},
                    "quantity": "4",
                    "unit_code": "C62",
                    "unit_price": "25.00",
                    "tax_category": "S",
                    "tax_rate": "5.5",
                },
            ],
        }
    }
    r = await client.post("/v1/invoices?issue=true", json=body, headers=t.headers)
    assert r.status_code == 201, r.text
    return r.json()["model"]  # type: ignore[no-any-return]


async def french_sale(
    client: httpx.AsyncClient, owner: asyncpg.Connection, rng: random.Random
) -> tuple[Tenant, dict[str, Any], str, str]:
    """A French seller (its own platform) and one issued invoice to a French buyer; the SIRENs."""
    seller, buyer = siren(rng), siren(rng)
    tenant = await french_tenant(client, owner, seller)
    return tenant, await french_invoice(client, tenant, buyer), seller, buyer


def pa_status(
    code: int, invoice: dict[str, Any], seller: str, buyer: str, at: dt.datetime, **kw: Any
) -> bytes:
    """A status as the platforms send it to the seller: transmission statuses set by a platform
    (WK), processing ones by the buyer, addressed to the seller's status address."""
    ref = InvoiceReference(
        number=invoice["number"], issue_date=dt.date.fromisoformat(invoice["issue_date"]), seller_id=seller
    )
    transmission = cdar.STATUSES[code].phase == cdar.TRANSMISSION
    issuer = (
        Party(role="WK")
        if transmission
        else Party(role="BY", id=buyer, scheme="0002", name="Boulangerie Martin")
    )
    message = StatusMessage(
        id=kw.pop("message_id", cdar.message_id(ref, code, at)),
        issued_at=at + dt.timedelta(minutes=1),
        status_at=at,
        status_code=code,
        invoice=ref,
        issuer=issuer,
        recipients=(
            Party(role="SE", id=seller, scheme="0002", address=f"{seller}_STATUTS", address_scheme="0225"),
        ),
        **kw,
    )
    return cdar.build_cdar(message)


def scope(app: Any, settings: Settings, tenant: Tenant) -> Any:
    return JobContext(app.state.pool, settings).tenant(tenant.id)


async def receive(app: Any, settings: Settings, tenant: Tenant, xml: bytes, **kw: Any) -> Recorded:
    async with scope(app, settings, tenant) as conn:
        return await lifecycle.receive_status(conn, tenant.id, xml, **kw)


def test_every_lifecycle_event_is_a_tenant_webhook_event() -> None:
    assert set(EVENTS.values()) <= set(WEBHOOK_EVENTS)
    assert {lifecycle.normalized_status(c) for c in cdar.STATUSES} == set(lifecycle.NORMALIZED)
    assert lifecycle.normalized_status(601) == "reported"


async def test_statuses_land_once_in_the_timeline_and_reach_the_webhook(
    client: httpx.AsyncClient, owner: asyncpg.Connection, app: Any, settings: Settings
) -> None:
    rng = random.Random(16)
    seller, buyer = siren(rng), siren(rng)
    tenant = await french_tenant(client, owner, seller)
    lifecycle_events = sorted(set(EVENTS.values()))
    with http_server() as (url, sink):
        ep = await client.post(
            "/v1/webhook-endpoints",
            json={"model": {"url": f"{url}/hook", "event_types": lifecycle_events}},
            headers=tenant.headers,
        )
        assert ep.status_code == 201, ep.text
        secret = ep.json()["model"]["secret"]
        invoice = await french_invoice(client, tenant, buyer)
        iid = uuid.UUID(invoice["id"])
        t0 = dt.datetime(2026, 10, 24, 15, 0, tzinfo=PARIS)  # the day before summer time ends
        steps = [
            (200, {}),
            (202, {}),
            (203, {}),
            (204, {}),
            (
                207,
                {
                    "details": (
                        StatusDetail(reason_code="TX_TVA_ERR", reason="Taux erroné", action_code="NIN"),
                    )
                },
            ),
            (205, {}),
            (
                211,
                {
                    "details": (
                        StatusDetail(
                            characteristics=(
                                Characteristic(
                                    type_code="MPA",
                                    amount=Decimal("1005.50"),
                                    currency="EUR",
                                    date=dt.date(2026, 10, 28),
                                ),
                            )
                        ),
                    )
                },
            ),
        ]
        sent = [
            pa_status(code, invoice, seller, buyer, t0 + dt.timedelta(days=n), **kw)
            for n, (code, kw) in enumerate(steps)
        ]
        for xml, (code, _) in zip(sent[:-1], steps, strict=False):
            done = await receive(app, settings, tenant, xml)
            assert not done.duplicate and done.invoice_id == iid
            assert done.event == EVENTS[lifecycle.normalized_status(code)]
        # the same message again: recorded once; a new one twice at the same moment: once
        again = await receive(app, settings, tenant, sent[5])
        assert again.duplicate and again.event == "invoice.approved"
        async with scope(app, settings, tenant) as conn:
            first = await lifecycle.receive_status(conn, tenant.id, sent[6])
            second_task = asyncio.create_task(receive(app, settings, tenant, sent[6]))
            await asyncio.sleep(0.5)
            assert not second_task.done()  # it waits for the first one's transaction
        second = await second_task
        assert (first.duplicate, second.duplicate) == (False, True) and first.event_id == second.event_id
        # invalid: a dispute without its reason (BR-FR-CDV-15) writes nothing
        bad = sent[4].replace(b"<ram:ReasonCode>TX_TVA_ERR</ram:ReasonCode>", b"")
        with pytest.raises(CdarError) as refused:
            await receive(app, settings, tenant, bad)
        assert [f.rule_id for f in refused.value.findings] == ["BR-FR-CDV-15_MDT-113"]
        # settle the invoice, then send 212 "Encaissée" for the seller
        pay = await client.post(
            f"/v1/invoices/{iid}/payments",
            json={"model": {"amount": "1065.50", "date": "2026-11-02"}},  # 800 + 20 % and 100 + 5.5 %
            headers=tenant.headers,
        )
        assert pay.status_code == 201, pay.text
        async with scope(app, settings, tenant) as conn:
            message = await lifecycle.cashed_status(
                conn,
                tenant.id,
                iid,
                at=dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC),
                to_tax_administration=True,
            )
        cashed_xml = cdar.build_cdar(message)
        xsd, fatal, _ = official_findings(cashed_xml, ("fr-cdar-1.4.0.03",))
        assert not xsd and not fatal, describe(fatal)
        assert [(a.amount, a.percent) for a in message.amounts] == [
            (Decimal("960.00"), Decimal("20")),
            (Decimal("105.50"), Decimal("5.5")),
        ]
        async with scope(app, settings, tenant) as conn:
            done = await lifecycle.record_sent_status(conn, tenant.id, iid, cashed_xml)
        assert done.event == "invoice.cashed" and not done.duplicate

        expected = [*(EVENTS[lifecycle.normalized_status(c)] for c, _ in steps), "invoice.cashed"]
        async with in_process_worker(app.state.pool, delivery_settings(settings)):

            async def all_delivered() -> bool:
                return len(sink.requests) >= len(expected)

            await wait_for(all_delivered)
            await asyncio.sleep(0.5)  # nothing more arrives
    bodies = [httpx.Response(200, content=r.body).json() for r in sink.requests]
    assert sorted(b["type"] for b in bodies) == sorted(expected)
    for req in sink.requests:
        assert verify(secret, req.body, req.headers[HEADER.lower()])
    by_code = {b["data"]["code"]: b for b in bodies}
    assert by_code[207]["data"]["lifecycle_status"] == "disputed"
    assert by_code[207]["data"]["reasons"] == [{"code": "TX_TVA_ERR", "text": "Taux erroné", "action": "NIN"}]
    assert by_code[211]["data"]["amounts"] == [
        {"type": "MPA", "amount": "1005.50", "currency": "EUR", "vat_rate": None, "date": "2026-10-28"}
    ]
    # Europe/Paris with its offset: summer time on the 24th, winter time from the 25th
    assert by_code[200]["data"]["status_at"] == "2026-10-24T15:00:00+02:00"
    assert by_code[202]["data"]["status_at"] == "2026-10-25T15:00:00+01:00"
    assert (
        by_code[212]["data"]["direction"] == "sent" and by_code[212]["data"]["to_tax_administration"] is True
    )
    assert by_code[212]["data"]["status_at"] == "2026-11-02T10:30:00+01:00"
    assert by_code[212]["data"]["invoice"]["status"] == "PAID"
    # the timeline: each status once, in arrival order
    r = await client.get(f"/v1/invoices/{iid}/events", headers=tenant.headers)
    mine = [e for e in r.json()["results"] if e["data"].get("source") == "cdar"]
    assert [e["type"] for e in mine] == expected
    assert [e["data"]["code"] for e in mine] == [c for c, _ in steps] + [212]


async def test_misdirected_statuses_are_refused(
    client: httpx.AsyncClient, owner: asyncpg.Connection, app: Any, settings: Settings
) -> None:
    rng = random.Random(17)
    tenant, invoice, seller, buyer = await french_sale(client, owner, rng)
    other = await french_tenant(client, owner, siren(rng))
    at = dt.datetime(2026, 12, 1, 9, 0, tzinfo=PARIS)
    cases = [
        ({**invoice, "number": "NOPE-1"}, seller, "FK-CDAR-INVOICE"),
        ({**invoice, "issue_date": "2026-01-02"}, seller, "FK-CDAR-INVOICE-DATE"),
        (invoice, siren(rng), "FK-CDAR-SELLER"),
    ]
    for ref, who, rule in cases:
        with pytest.raises(LifecycleError) as refused:
            await receive(app, settings, tenant, pa_status(205, ref, who, buyer, at))
        assert refused.value.findings[0].rule_id == rule
    # another tenant's scope does not see the invoice
    with pytest.raises(LifecycleError) as refused:
        await receive(app, settings, other, pa_status(205, invoice, seller, buyer, at))
    assert refused.value.findings[0].rule_id == "FK-CDAR-INVOICE"
    r = await client.get(f"/v1/invoices/{invoice['id']}/events", headers=tenant.headers)
    assert not [e for e in r.json()["results"] if e["data"].get("source") == "cdar"]
    # a settled invoice only is cashed
    async with scope(app, settings, tenant) as conn:
        with pytest.raises(ValueError, match="only a settled invoice"):
            await lifecycle.cashed_status(
                conn, tenant.id, uuid.UUID(invoice["id"]), at=at, to_tax_administration=False
            )


async def test_a_partial_payment_is_cashed_pro_rata(
    client: httpx.AsyncClient, owner: asyncpg.Connection, app: Any, settings: Settings
) -> None:
    tenant, invoice, _, _ = await french_sale(client, owner, random.Random(18))
    iid = uuid.UUID(invoice["id"])
    pay = await client.post(
        f"/v1/invoices/{iid}/payments",
        json={"model": {"amount": "500.00", "date": "2026-11-02"}},
        headers=tenant.headers,
    )
    assert pay.status_code == 201, pay.text
    at = dt.datetime(2026, 11, 2, 11, 0, tzinfo=PARIS)
    async with scope(app, settings, tenant) as conn:
        message = await lifecycle.cashed_status(
            conn, tenant.id, iid, at=at, to_tax_administration=False, paid=Decimal("500.00")
        )
        xml = cdar.build_cdar(message)
        done = await lifecycle.record_sent_status(conn, tenant.id, iid, xml)
    xsd, fatal, _ = official_findings(xml, ("fr-cdar-1.4.0.03",))
    assert not xsd and not fatal, describe(fatal)
    # 500.00 of 1065.50: 960.00 at 20 % and 105.50 at 5.5 %, to the cent
    assert [(a.amount, a.percent) for a in message.amounts] == [
        (Decimal("450.49"), Decimal("20")),
        (Decimal("49.51"), Decimal("5.5")),
    ]
    assert [r.role for r in message.recipients] == ["BY"]  # VAT on debits: not to the PPF
    assert done.event == "invoice.cashed" and done.message.invoice.number == invoice["number"]


async def test_cashed_needs_a_french_address_for_the_buyer(
    client: httpx.AsyncClient, owner: asyncpg.Connection, app: Any, settings: Settings
) -> None:
    tenant = await french_tenant(client, owner, siren(random.Random(19)))
    cid = await make_contact(client, tenant)  # a Belgian buyer: no SIREN, no 0225 address
    body = {
        "model": {
            "contact": cid,
            "buyer_reference": "PO-9",
            "due_date": "2026-12-31",
            "line_items": [
                {
                    "item": {"name": "Conseil"},
                    "quantity": "1",
                    "unit_code": "HUR",
                    "unit_price": "100.00",
                    "tax_category": "AE",
                    "tax_rate": "0",
                    "tax_exemption_reason_code": "VATEX-EU-AE",
                }
            ],
        }
    }
    r = await client.post("/v1/invoices?issue=true", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    iid = uuid.UUID(r.json()["model"]["id"])
    async with scope(app, settings, tenant) as conn:
        with pytest.raises(ValueError, match="buyer's electronic address"):
            await lifecycle.cashed_status(
                conn,
                tenant.id,
                iid,
                at=dt.datetime(2026, 12, 1, tzinfo=PARIS),
                to_tax_administration=False,
                paid=Decimal("1.00"),
            )


def test_the_documented_code_table_is_the_code() -> None:
    """docs/france-lifecycle.md lists every status as `cdar.STATUSES` and the mapping have it."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "france-lifecycle.md").read_text(encoding="utf-8")
    rows = {}
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 8 and cells[0].isdigit():
            rows[int(cells[0])] = cells
    assert sorted(rows) == sorted(cdar.STATUSES)
    for code, (_, french, english, sent_by, tax, phase, event, faktura) in rows.items():
        status = cdar.STATUSES[code]
        normalized = lifecycle.normalized_status(code)
        assert (french, english, phase) == (status.french, status.english, status.phase), code
        assert tax == status.tax_administration and event == f"{normalized} / `{EVENTS[normalized]}`", code
        assert (faktura == "**sends**") == (code in cdar.ISSUER_CODES), code
        assert sent_by.startswith(status.sent_by), code
