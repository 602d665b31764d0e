"""Send and track, through the API with a worker running in-process: e-mail against a real
SMTP server, the Peppol sandbox to ACCEPTED, the webhook channel, the timeline and the
status poll, access point callbacks, payments, isolation of the new routes."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from tests.conftest import CALLBACK_TOKEN, Tenant, invoice_body, make_contact, make_platform, make_tenant
from tests.delivery_support import delivery_settings, http_server, in_process_worker, smtp_server, wait_for

from faktura.delivery.signing import HEADER, verify
from faktura.settings import Settings


async def issued_invoice(client: httpx.AsyncClient, t: Tenant, **contact: Any) -> str:
    cid = await make_contact(client, t, **contact)
    r = await client.post("/v1/invoices?issue=true", json=invoice_body(cid), headers=t.headers)
    assert r.status_code == 201, r.text
    return r.json()["model"]["id"]  # type: ignore[no-any-return]


async def delivery(client: httpx.AsyncClient, t: Tenant, iid: str, did: str) -> dict[str, Any]:
    r = await client.get(f"/v1/invoices/{iid}/deliveries", headers=t.headers)
    return next(d for d in r.json()["results"] if d["id"] == did)


async def timeline(client: httpx.AsyncClient, t: Tenant, iid: str) -> list[dict[str, Any]]:
    return (await client.get(f"/v1/invoices/{iid}/events", headers=t.headers)).json()["results"]  # type: ignore[no-any-return]


def assert_consistent(events: list[dict[str, Any]], deliveries: list[dict[str, Any]], status: str) -> None:
    """The status never contradicts the log: the last event of each delivery names its
    status, and the invoice status is the last status change (OPEN before any)."""
    for d in deliveries:
        mine = [e for e in events if e["delivery"] == d["id"]]
        assert mine[-1]["data"]["status"] == d["status"], (d, mine[-1])
    changes = [e["data"]["to"] for e in events if e["type"] == "invoice.status_changed"]
    assert (changes[-1] if changes else "OPEN") == status


async def test_email_with_both_attachments_byte_identical(
    client: httpx.AsyncClient, tenant: Tenant, app: Any, settings: Settings, owner: asyncpg.Connection
) -> None:
    iid = await issued_invoice(client, tenant)
    r = await client.put(
        "/v1/delivery-settings",
        json={
            "model": {
                "email_from": "Nordlicht <billing@nordlicht.example>",
                "reply_to": "ar@nordlicht.example",
                "subject_template": "Ihre Rechnung {number} ({total} {currency})",
            }
        },
        headers=tenant.headers,
    )
    assert r.status_code == 200, r.text
    r = await client.post(f"/v1/invoices/{iid}/send", json={"channel": "email"}, headers=tenant.headers)
    assert r.status_code == 202, r.text
    d = r.json()["model"]
    assert d["status"] == "QUEUED" and d["target"] == {"to": "ap@vandenberghe.example"}
    again = await client.post(f"/v1/invoices/{iid}/send", json={"channel": "email"}, headers=tenant.headers)
    assert again.status_code == 202 and again.json()["model"]["id"] == d["id"]  # idempotent per channel

    with smtp_server() as smtp:
        s = delivery_settings(settings, smtp_port=smtp.port)
        async with in_process_worker(app.state.pool, s):

            async def sent() -> bool:
                return (await delivery(client, tenant, iid, d["id"]))["status"] == "SENT"

            await wait_for(sent)
            # The PDF is rendered by its own job; a send made once it is archived attaches it.

            async def pdf_ready() -> bool:
                return (
                    await client.get(f"/v1/invoices/{iid}/pdf", headers=tenant.headers)
                ).status_code == 200

            await wait_for(pdf_ready, timeout=60)
            d2 = (
                await client.post(
                    f"/v1/invoices/{iid}/send",
                    json={"channel": "email", "force": True},
                    headers=tenant.headers,
                )
            ).json()["model"]

            async def sent2() -> bool:
                return (await delivery(client, tenant, iid, d2["id"]))["status"] == "SENT"

            await wait_for(sent2)
        mine = {str(m["Message-ID"]): m for m in smtp.sink.messages}
        first, msg = mine[f"<{d['id']}@faktura.delivery>"], mine[f"<{d2['id']}@faktura.delivery>"]
    inv = (await client.get(f"/v1/invoices/{iid}", headers=tenant.headers)).json()["model"]
    assert msg["Subject"] == f"Ihre Rechnung {inv['number']} ({inv['total_amount']} EUR)"
    assert msg["Reply-To"] == "ar@nordlicht.example"
    assert "Beste Brasserie Vandenberghe NV" in msg.get_body(("plain",)).get_content()  # buyer speaks nl
    xml = (await client.get(f"/v1/invoices/{iid}/xml", headers=tenant.headers)).content
    pdf = (await client.get(f"/v1/invoices/{iid}/pdf", headers=tenant.headers)).content
    assert pdf.startswith(b"%PDF")
    parts = {p.get_filename(): p.get_payload(decode=True) for p in msg.iter_attachments()}
    assert parts == {f"{inv['number']}.xml": xml, f"{inv['number']}.pdf": pdf}  # byte-identical
    if len(list(first.iter_attachments())) == 1:  # sent before the PDF was rendered: the XML alone
        assert next(first.iter_attachments()).get_payload(decode=True) == xml
    assert inv["status"] == "SUBMITTED"
    events = await timeline(client, tenant, iid)
    mine = [e["type"] for e in events if e["delivery"] == d["id"]]
    assert mine[0] == "delivery.queued" and mine[-2:] == ["delivery.sending", "invoice.sent"]
    assert events[0]["type"] == "invoice.issued"
    assert [e["data"]["to"] for e in events if e["type"] == "invoice.status_changed"] == ["SUBMITTED"]
    both = [await delivery(client, tenant, iid, x["id"]) for x in (d, d2)]
    assert_consistent(events, both, "SUBMITTED")


async def test_status_poll_etag_and_304(client: httpx.AsyncClient, tenant: Tenant) -> None:
    iid = await issued_invoice(client, tenant)
    r = await client.get(f"/v1/invoices/{iid}/status", headers=tenant.headers)
    assert r.status_code == 200 and r.json()["status"] == "OPEN"
    etag = r.headers["etag"]
    r2 = await client.get(f"/v1/invoices/{iid}/status", headers={**tenant.headers, "If-None-Match": etag})
    assert r2.status_code == 304 and r2.content == b""
    await client.post(f"/v1/invoices/{iid}/send", json={"channel": "email"}, headers=tenant.headers)
    r3 = await client.get(f"/v1/invoices/{iid}/status", headers={**tenant.headers, "If-None-Match": etag})
    assert r3.status_code == 200 and r3.json()["deliveries"][0]["status"] == "QUEUED"


async def test_events_after_beyond_an_event_id_is_a_400(client: httpx.AsyncClient, tenant: Tenant) -> None:
    iid = await issued_invoice(client, tenant)
    for after in ("-1", "-62234858877351739392", str(2**63)):
        r = await client.get(f"/v1/invoices/{iid}/events?after={after}", headers=tenant.headers)
        assert r.status_code == 400, r.text
        assert r.json()["errors"][0]["source"]["pointer"] == "/after"
    r = await client.get(f"/v1/invoices/{iid}/events?after={2**63 - 1}", headers=tenant.headers)
    assert r.status_code == 200 and r.json()["results"] == []


async def test_readme_sandbox_flow_to_accepted(
    client: httpx.AsyncClient, tenant: Tenant, app: Any, settings: Settings, owner: asyncpg.Connection
) -> None:
    """create → issue → send via the Peppol sandbox → poll the status to ACCEPTED."""
    iid = await issued_invoice(client, tenant)
    r = await client.post(f"/v1/invoices/{iid}/send", json={"channel": "auto"}, headers=tenant.headers)
    assert r.status_code == 202 and r.json()["model"]["channel"] == "peppol"
    assert r.json()["model"]["target"] == {"receiver": "0208:0477472701"}
    async with in_process_worker(app.state.pool, delivery_settings(settings)):

        async def accepted() -> bool:
            s = (await client.get(f"/v1/invoices/{iid}/status", headers=tenant.headers)).json()
            return bool(s["deliveries"][0]["status"] == "ACCEPTED")

        await wait_for(accepted)
    status = (await client.get(f"/v1/invoices/{iid}/status", headers=tenant.headers)).json()
    assert status["status"] == "SUBMITTED" and status["deliveries"][0]["response_code"] == "AP"
    d = (await client.get(f"/v1/invoices/{iid}/deliveries", headers=tenant.headers)).json()["results"][0]
    assert d["message_id"] == f"sandbox-{d['id']}"
    assert d["evidence"]["document_type"].endswith(
        "Invoice##urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1"
    )
    sbdh = bytes(
        await owner.fetchval(
            "SELECT document FROM sandbox_ap_messages WHERE message_id = $1", d["message_id"]
        )
    )
    for text in (
        b"9930:de136695976",
        b"0208:0477472701",
        b"urn:fdc:peppol.eu:2017:poacc:billing:01:1.0",
        d["id"].encode(),
        b"<Invoice xmlns=",
    ):
        assert text in sbdh
    events = await timeline(client, tenant, iid)
    types = [e["type"] for e in events]
    assert types[-3:] == ["invoice.status_changed", "invoice.delivered", "invoice.accepted"]
    assert_consistent(events, [d], "SUBMITTED")
    kinds = await owner.fetch("SELECT kind FROM invoice_documents WHERE invoice_id = $1 ORDER BY kind", iid)
    assert [k["kind"] for k in kinds if k["kind"].startswith("evidence/")] == [
        f"evidence/{d['id']}/invoice_response-AP",
        f"evidence/{d['id']}/receipt-receipt",
        f"evidence/{d['id']}/sent",
    ]


async def test_unregistered_receiver_fails_capability_check(
    client: httpx.AsyncClient, tenant: Tenant, app: Any, settings: Settings
) -> None:
    iid = await issued_invoice(client, tenant, endpoint={"value": "1999999943", "scheme": "0208"})
    d = (
        await client.post(f"/v1/invoices/{iid}/send", json={"channel": "peppol"}, headers=tenant.headers)
    ).json()
    async with in_process_worker(app.state.pool, delivery_settings(settings)):

        async def failed() -> bool:
            return (await delivery(client, tenant, iid, d["model"]["id"]))["status"] == "FAILED"

        await wait_for(failed)
    got = await delivery(client, tenant, iid, d["model"]["id"])
    assert got["attempts"] == 1 and "not registered" in got["last_error"]
    assert (await client.get(f"/v1/invoices/{iid}", headers=tenant.headers)).json()["model"][
        "status"
    ] == "OPEN"


async def test_callback_is_authenticated_and_moves_status(
    client: httpx.AsyncClient, tenant: Tenant, owner: asyncpg.Connection
) -> None:
    iid = await issued_invoice(client, tenant)
    did = (
        await client.post(f"/v1/invoices/{iid}/send", json={"channel": "peppol"}, headers=tenant.headers)
    ).json()["model"]["id"]
    # as if the worker had handed it to the access point
    await owner.execute(
        "UPDATE deliveries SET status = 'SENT', message_id = $2 WHERE id = $1", did, f"ap-{did}"
    )
    body = {"message_id": f"ap-{did}", "type": "invoice_response", "code": "UQ", "note": "Which PO?"}
    assert (await client.post("/v1/peppol/callback", json=body)).status_code == 401
    bad = {"Authorization": "Bearer nope"}
    assert (await client.post("/v1/peppol/callback", json=body, headers=bad)).status_code == 401
    auth = {"Authorization": f"Bearer {CALLBACK_TOKEN}"}
    unknown = await client.post("/v1/peppol/callback", json={**body, "message_id": "nope"}, headers=auth)
    assert unknown.status_code == 404
    r = await client.post("/v1/peppol/callback", json=body, headers=auth)
    assert r.status_code == 200 and r.json()["model"]["status"] == "DELIVERED"  # a response proves delivery
    r = await client.post(
        "/v1/peppol/callback", json={**body, "code": "RE", "note": "wrong VAT"}, headers=auth
    )
    assert r.json()["model"]["status"] == "REJECTED" and r.json()["model"]["response_code"] == "RE"
    r = await client.post("/v1/peppol/callback", json={**body, "code": "AP"}, headers=auth)
    assert r.json()["model"]["status"] == "REJECTED"  # no way back from a final answer
    events = await timeline(client, tenant, iid)
    assert [(e["type"], e["data"].get("code")) for e in events if e["type"] != "invoice.status_changed"][
        -3:
    ] == [("invoice.delivered", "UQ"), ("invoice.rejected", "RE"), ("peppol.invoice_response", "AP")]


async def test_webhook_channel_signed_post(
    client: httpx.AsyncClient, tenant: Tenant, app: Any, settings: Settings
) -> None:
    with http_server() as (url, sink):
        iid = await issued_invoice(client, tenant, webhook_url=f"{url}/inbox")
        d = (
            await client.post(f"/v1/invoices/{iid}/send", json={"channel": "webhook"}, headers=tenant.headers)
        ).json()["model"]
        async with in_process_worker(app.state.pool, delivery_settings(settings)):

            async def delivered() -> bool:
                return (await delivery(client, tenant, iid, d["id"]))["status"] == "DELIVERED"

            await wait_for(delivered)
    secret = (await client.get("/v1/delivery-settings", headers=tenant.headers)).json()["model"][
        "webhook_secret"
    ]
    [req] = sink.requests
    assert req.path == "/inbox" and req.headers["faktura-delivery-id"] == d["id"]
    assert req.body == (await client.get(f"/v1/invoices/{iid}/xml", headers=tenant.headers)).content
    assert verify(secret, req.body, req.headers[HEADER.lower()])


async def test_payments_partial_then_paid(client: httpx.AsyncClient, tenant: Tenant) -> None:
    iid = await issued_invoice(client, tenant)
    inv = (await client.get(f"/v1/invoices/{iid}", headers=tenant.headers)).json()["model"]
    total = float(inv["balance"])
    url = f"/v1/invoices/{iid}/payments"
    over = await client.post(
        url, json={"model": {"amount": str(total + 1), "date": "2026-12-01"}}, headers=tenant.headers
    )
    assert over.status_code == 422 and over.json()["errors"][0]["source"]["pointer"] == "/model/amount"
    p1 = await client.post(
        url,
        json={"model": {"amount": "100.00", "date": "2026-12-01", "reference": "SEPA-1"}},
        headers=tenant.headers,
    )
    assert p1.status_code == 201, p1.text
    inv = (await client.get(f"/v1/invoices/{iid}", headers=tenant.headers)).json()["model"]
    assert inv["status"] == "PARTIALLY_PAID" and inv["paid_on_date"] is None
    assert inv["payments"] == [p1.json()["model"]["id"]]
    rest = str(round(total - 100, 2))
    p2 = await client.post(
        url, json={"model": {"amount": rest, "date": "2026-12-05"}}, headers=tenant.headers
    )
    assert p2.status_code == 201
    inv = (await client.get(f"/v1/invoices/{iid}", headers=tenant.headers)).json()["model"]
    assert inv["status"] == "PAID" and inv["paid_on_date"] == "2026-12-05" and float(inv["balance"]) == 0
    assert len(inv["payments"]) == 2
    types = [e["type"] for e in await timeline(client, tenant, iid)]
    assert types.count("payment.recorded") == 2 and types[-1] == "invoice.paid"
    draft = (
        await client.post(
            "/v1/invoices", json=invoice_body(await make_contact(client, tenant)), headers=tenant.headers
        )
    ).json()["model"]["id"]
    r = await client.post(
        f"/v1/invoices/{draft}/payments",
        json={"model": {"amount": "1", "date": "2026-12-01"}},
        headers=tenant.headers,
    )
    assert r.status_code == 409


async def test_send_draft_conflicts_and_missing_address(client: httpx.AsyncClient, tenant: Tenant) -> None:
    cid = await make_contact(client, tenant, email=None)
    draft = (await client.post("/v1/invoices", json=invoice_body(cid), headers=tenant.headers)).json()[
        "model"
    ]["id"]
    assert (await client.post(f"/v1/invoices/{draft}/send", headers=tenant.headers)).status_code == 409
    iid = (
        await client.post("/v1/invoices?issue=true", json=invoice_body(cid), headers=tenant.headers)
    ).json()["model"]["id"]
    r = await client.post(f"/v1/invoices/{iid}/send", json={"channel": "email"}, headers=tenant.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["source"]["pointer"] == "/to"
    r = await client.post(f"/v1/invoices/{iid}/send", json={"channel": "fax"}, headers=tenant.headers)
    assert r.status_code == 422


NEW_ROUTES = [
    ("POST", "/v1/invoices/{issued}/send", {"channel": "email"}),
    ("GET", "/v1/invoices/{issued}/deliveries", None),
    ("GET", "/v1/invoices/{issued}/events", None),
    ("GET", "/v1/invoices/{issued}/status", None),
    ("POST", "/v1/invoices/{issued}/payments", {"model": {"amount": "1", "date": "2026-12-01"}}),
    ("GET", "/v1/invoices/{issued}/payments", None),
    ("GET", "/v1/webhook-endpoints/{endpoint}", None),
    ("PATCH", "/v1/webhook-endpoints/{endpoint}", {"model": {"enabled": False}}),
    ("GET", "/v1/webhook-endpoints/{endpoint}/deliveries", None),
    ("GET", "/v1/invoices/bulk/{batch}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), NEW_ROUTES, ids=[f"{m} {p}" for m, p, _ in NEW_ROUTES])
async def test_foreign_tenant_gets_404_on_delivery_routes(
    client: httpx.AsyncClient, owner: asyncpg.Connection, method: str, path: str, body: object
) -> None:
    a = await make_tenant(client, await make_platform(owner))
    b = await make_tenant(client, await make_platform(owner))
    ids = {"issued": await issued_invoice(client, a)}
    ep = await client.post(
        "/v1/webhook-endpoints",
        json={"model": {"url": "http://127.0.0.1:9/x", "event_types": ["invoice.paid"]}},
        headers=a.headers,
    )
    ids["endpoint"] = ep.json()["model"]["id"]
    batch = await client.post(
        "/v1/invoices/bulk", json={"items": [{"idempotency_key": "k", "model": {}}]}, headers=a.headers
    )
    assert batch.status_code == 202, batch.text
    ids["batch"] = batch.json()["model"]["id"]
    r = await client.request(method, path.format(**ids), json=body, headers=b.headers)
    assert r.status_code == 404, r.text


async def test_tenant_webhooks_signed_replay_safe_and_auto_disabled(
    client: httpx.AsyncClient, tenant: Tenant, app: Any, settings: Settings
) -> None:
    with http_server() as (good_url, good), http_server(lambda req: 500) as (bad_url, bad):
        ep = await client.post(
            "/v1/webhook-endpoints",
            json={"model": {"url": f"{good_url}/hook", "event_types": ["invoice.issued", "invoice.paid"]}},
            headers=tenant.headers,
        )
        assert ep.status_code == 201, ep.text
        secret = ep.json()["model"]["secret"]
        assert secret.startswith("whsec_")
        listed = (
            await client.get(f"/v1/webhook-endpoints/{ep.json()['model']['id']}", headers=tenant.headers)
        ).json()
        assert "secret" not in listed["model"]  # shown once
        failing = await client.post(
            "/v1/webhook-endpoints",
            json={"model": {"url": f"{bad_url}/hook", "event_types": ["invoice.issued"]}},
            headers=tenant.headers,
        )
        fid = failing.json()["model"]["id"]
        iid = await issued_invoice(client, tenant)
        s = delivery_settings(settings, webhook_disable_after=3, retry_base=0.1, retry_cap=0.2)
        async with in_process_worker(app.state.pool, s):

            async def settled() -> bool:
                f = (await client.get(f"/v1/webhook-endpoints/{fid}", headers=tenant.headers)).json()["model"]
                return bool(good.requests) and not f["enabled"]

            await wait_for(settled)
    [req] = good.requests
    event = httpx.Response(200, content=req.body).json()
    assert event["type"] == "invoice.issued" and event["data"]["invoice"]["id"] == iid
    header = req.headers[HEADER.lower()]
    assert verify(secret, req.body, header)
    assert not verify(secret, req.body.replace(b"invoice.issued", b"invoice.paid"), header)  # tampered body
    t = int(header.split(",")[0].removeprefix("t="))
    assert not verify(secret, req.body, header, now=t + 301)  # an old timestamp (a replay)
    assert not verify("whsec_other", req.body, header)
    f = (await client.get(f"/v1/webhook-endpoints/{fid}", headers=tenant.headers)).json()["model"]
    assert not f["enabled"] and "3 failed deliveries" in f["disabled_reason"] and len(bad.requests) == 3
    log = (await client.get(f"/v1/webhook-endpoints/{fid}/deliveries", headers=tenant.headers)).json()[
        "results"
    ]
    assert log[0]["status"] == "FAILED" and log[0]["attempts"] == 3 and log[0]["last_error"] == "HTTP 500"
