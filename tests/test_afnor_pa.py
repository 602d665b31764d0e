"""The PA channel (AFNOR XP Z12-013) against a local PA on loopback whose every request and
response is validated with openapi-core against the two official OpenAPI documents
(`tests/afnor_pa_fake.py`): configuration, the Directory Service preflight, submission
exactly once, the PA's acknowledgement, its life-cycle statuses (CDAR flows, by poll and by
signed webhook) through to cashed, and the failure cases."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
from tests import france_corpus
from tests.afnor_pa_fake import AfnorPaServer, sign
from tests.conformance import describe, official_findings
from tests.conftest import Tenant, invoice_body, make_contact, make_platform
from tests.delivery_support import delivery_settings, http_server, in_process_worker, wait_for
from tests.test_access_points import until
from tests.test_delivery import delivery, timeline

from faktura.delivery.events import WEBHOOK_EVENTS
from faktura.delivery.tenant_ap import seal
from faktura.france import cdar, lifecycle
from faktura.settings import Settings

BUYER_SIREN = "552100554"
BUYER_SIRET = "55210055400013"
KEY = base64.b64encode(b"p" * 32).decode()


@pytest.fixture
def pa() -> Iterator[AfnorPaServer]:
    s = AfnorPaServer()
    s.start()
    s.add_line(BUYER_SIREN)
    s.add_line(BUYER_SIREN, BUYER_SIRET)
    s.add_line("732829320", enabled=False)
    yield s
    s.stop()
    assert s.violations == [], s.violations


def keyed(settings: Settings, **kw: Any) -> Settings:
    return delivery_settings(settings, secrets_key=KEY, sandbox=False, peppol_ap_poll_interval=0.2, **kw)


@asynccontextmanager
async def keyed_app(app: Any, settings: Settings) -> AsyncIterator[Settings]:
    original = app.state.settings
    app.state.settings = keyed(settings)
    try:
        yield app.state.settings
    finally:
        app.state.settings = original


def pa_model(pa: AfnorPaServer, **kw: Any) -> dict[str, Any]:
    return {"model": {"flow_url": pa.flow_url, "directory_url": pa.directory_url, "token": pa.token, **kw}}


async def configure(
    client: httpx.AsyncClient, tenant: Tenant, pa: AfnorPaServer, **kw: Any
) -> dict[str, Any]:
    r = await client.put("/v1/france/pa", json=pa_model(pa, **kw), headers=tenant.headers)
    assert r.status_code == 200, r.text
    return r.json()["model"]  # type: ignore[no-any-return]


async def french_invoice(
    client: httpx.AsyncClient, tenant: Tenant, address: str = f"{BUYER_SIREN}_{BUYER_SIRET}"
) -> str:
    cid = await make_contact(client, tenant, endpoint={"scheme": "0225", "value": address})
    r = await client.post("/v1/invoices?issue=true", json=invoice_body(cid), headers=tenant.headers)
    assert r.status_code == 201, r.text
    return r.json()["model"]["id"]  # type: ignore[no-any-return]


async def send(client: httpx.AsyncClient, tenant: Tenant, iid: str) -> httpx.Response:
    return await client.post(
        f"/v1/invoices/{iid}/send", json={"model": {"channel": "afnor-pa"}}, headers=tenant.headers
    )


async def test_configuration_secret_sealed_and_webhook_subscribed(
    client: httpx.AsyncClient,
    tenant: Tenant,
    settings: Settings,
    app: Any,
    owner: asyncpg.Connection,
    pa: AfnorPaServer,
) -> None:
    r = await client.put("/v1/france/pa", json=pa_model(pa), headers=tenant.headers)
    assert r.status_code == 409 and "FAKTURA_SECRETS_KEY" in r.text  # nothing stored without a key
    async with keyed_app(app, settings):
        r = await client.put("/v1/france/pa", json=pa_model(pa, token=None), headers=tenant.headers)
        assert r.status_code == 422 and r.json()["errors"][0]["source"]["pointer"] == "/model/token"
        r = await client.put(
            "/v1/france/pa", json=pa_model(pa, auth="oauth2", token=None), headers=tenant.headers
        )
        assert r.json()["errors"][0]["source"]["pointer"] == "/model/token_url"
        r = await client.put(
            "/v1/france/pa", json=pa_model(pa, flow_url="http://169.254.169.254/flow"), headers=tenant.headers
        )
        assert r.status_code == 422 and r.json()["errors"][0]["source"]["pointer"] == "/model/flow_url"
        # bad credentials: the PA's 401 on the subscription is a clear 422 on the secret
        r = await client.put("/v1/france/pa", json=pa_model(pa, token="wrong"), headers=tenant.headers)
        assert r.status_code == 422, r.text
        err = r.json()["errors"][0]
        assert (
            err["problem_type"] == "PA_REFUSED"
            and "401" in err["detail"]
            and err["source"]["pointer"] == "/model/token"
        )
        view = await configure(client, tenant, pa)
        assert view["configured"] and view["secret_set"] and view["auth"] == "bearer"
        assert pa.token not in json.dumps(view)
        assert list(pa.webhooks) == [view["webhook_id"]]
        hook = pa.webhooks[view["webhook_id"]]
        assert (
            hook["callbackUrl"].endswith(f"/v1/france/pa/webhook/{tenant.id}")
            and hook["flowDirection"] == "In"
        )
        # OAuth2 client credentials replace it; the old subscription is cancelled at the PA
        view2 = await configure(
            client,
            tenant,
            pa,
            auth="oauth2",
            token=None,
            token_url=pa.token_url,
            client_id="faktura-client",
            client_secret="pa-client-secret",
        )
        assert view2["auth"] == "oauth2" and list(pa.webhooks) == [view2["webhook_id"]]
        assert ("POST", "/auth/token", 200) in pa.calls
    stored = await owner.fetchrow(
        "SELECT secret, webhook_key FROM pa_settings WHERE tenant_id = $1", uuid.UUID(tenant.id)
    )
    assert stored["secret"].startswith("v1:") and "pa-client-secret" not in stored["secret"]
    assert stored["webhook_key"].startswith("v1:")
    r = await client.get("/v1/france/pa", headers=tenant.headers)
    assert r.json()["model"]["client_id"] == "faktura-client" and "pa-client-secret" not in r.text
    async with keyed_app(app, settings):
        assert (await client.delete("/v1/france/pa", headers=tenant.headers)).status_code == 204
    assert pa.webhooks == {}
    assert (await client.get("/v1/france/pa", headers=tenant.headers)).json()["model"] == {
        "configured": False
    }


async def test_directory_preflight(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings, app: Any, pa: AfnorPaServer
) -> None:
    async with keyed_app(app, settings):
        r = await client.get(f"/v1/france/pa/addressees/{BUYER_SIREN}", headers=tenant.headers)
        assert r.status_code == 409  # no PA yet
        r = await send(client, tenant, await french_invoice(client, tenant))
        assert r.status_code == 409 and r.json()["errors"][0]["source"]["pointer"] == "/model/channel"
        await configure(client, tenant, pa, webhook=False)
        r = await client.get(f"/v1/france/pa/addressees/{BUYER_SIREN}_{BUYER_SIRET}", headers=tenant.headers)
        assert r.status_code == 200, r.text
        assert r.json()["model"]["addressing_identifier"] == f"{BUYER_SIREN}_{BUYER_SIRET}"
        # an unknown SIRET of a known SIREN falls back to the SIREN's line
        r = await client.get(
            f"/v1/france/pa/addressees/{BUYER_SIREN}_{BUYER_SIREN}00099", headers=tenant.headers
        )
        assert r.json()["model"]["addressing_identifier"] == BUYER_SIREN
        for missing in ("732829320", "999999999"):  # a disabled line, no line
            r = await client.get(f"/v1/france/pa/addressees/{missing}", headers=tenant.headers)
            assert r.status_code == 422 and r.json()["errors"][0]["problem_type"] == "NOT_ADDRESSABLE"
        # not addressable → 422 before anything is queued or sent
        iid = await french_invoice(client, tenant, "732829320")
        r = await send(client, tenant, iid)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["source"]["pointer"] == "/model/channel"
        assert "732829320" in r.json()["errors"][0]["detail"]
        assert (await client.get(f"/v1/invoices/{iid}/deliveries", headers=tenant.headers)).json()[
            "results"
        ] == []
    assert pa.out_flows() == []


async def test_submit_once_acknowledged_and_lost_answer_not_resubmitted(
    client: httpx.AsyncClient,
    tenant: Tenant,
    settings: Settings,
    app: Any,
    owner: asyncpg.Connection,
    pa: AfnorPaServer,
) -> None:
    async with keyed_app(app, settings) as s:
        await configure(client, tenant, pa, webhook=False)
        iid = await french_invoice(client, tenant)
        r = await send(client, tenant, iid)
        assert r.status_code == 202, r.text
        did = r.json()["model"]["id"]
        assert r.json()["model"]["target"]["addressee"]["siret"] == BUYER_SIRET
        pa.lose_answer = True  # the PA stores the flow, the answer never reaches Faktura
        async with in_process_worker(app.state.pool, s):
            dv = await until(client, tenant, iid, did, "SENT")
            await wait_for(lambda: _has(client, tenant, iid, "pa.acknowledged"))
    flows = pa.out_flows()
    assert len(flows) == 1 and pa.posts_by_tracking == {did: 1}  # the retry found it by trackingId
    flow = flows[0]
    assert dv["message_id"] == flow["flowId"] and dv["attempts"] == 2
    ev = dv["evidence"]
    assert ev["pa_flow_id"] == flow["flowId"] and ev["tracking_id"] == did and ev["resumed"] is True
    assert ev["sha256"] == flow["sha256"] and ev["flow_syntax"] == "UBL"
    issued = await owner.fetchval(
        "SELECT content FROM invoice_documents WHERE invoice_id = $1 AND kind = 'ubl'", uuid.UUID(iid)
    )
    assert pa.files[flow["flowId"]] == issued  # the issued XML, byte for byte
    events = await timeline(client, tenant, iid)
    assert [
        e["type"]
        for e in events
        if e["type"] in ("delivery.retry_scheduled", "invoice.sent", "pa.acknowledged")
    ] == [
        "delivery.retry_scheduled",
        "invoice.sent",
        "pa.acknowledged",
    ]


async def _has(client: httpx.AsyncClient, tenant: Tenant, iid: str, kind: str) -> bool:
    return any(e["type"] == kind for e in await timeline(client, tenant, iid))


async def _called(pa: AfnorPaServer, method: str, path: str) -> bool:
    return any(c[:2] == (method, path) for c in pa.calls)


async def test_pa_rejects_down_and_bad_credentials(
    client: httpx.AsyncClient,
    tenant: Tenant,
    settings: Settings,
    app: Any,
    owner: asyncpg.Connection,
    pa: AfnorPaServer,
) -> None:
    async with keyed_app(app, settings) as s:
        await configure(client, tenant, pa, webhook=False)
        # the PA rejects the flow: REJECTED with its reason, invoice.rejected announced
        pa.reject = "BR-FR-05: the seller's SIREN is missing"
        iid = await french_invoice(client, tenant)
        did = (await send(client, tenant, iid)).json()["model"]["id"]
        async with in_process_worker(app.state.pool, s):
            dv = await until(client, tenant, iid, did, "REJECTED")
        rejected = [e for e in await timeline(client, tenant, iid) if e["type"] == "invoice.rejected"]
        assert (
            rejected[0]["data"]["code"] == "RE"
            and "BR-FR-05" in rejected[0]["data"]["note"]
            and "InvalidSchema" in rejected[0]["data"]["note"]
        )
        pa.reject = None
        # the PA is down: retried with backoff, sent once it is back
        pa.down = True
        iid = await french_invoice(client, tenant)
        r = await send(client, tenant, iid)
        assert r.status_code == 202  # a PA that cannot be reached now does not block the request
        did = r.json()["model"]["id"]
        async with in_process_worker(app.state.pool, s):
            await wait_for(lambda: _has(client, tenant, iid, "delivery.retry_scheduled"))
            retry = next(
                e for e in await timeline(client, tenant, iid) if e["type"] == "delivery.retry_scheduled"
            )
            assert "503" in retry["data"]["error"]
            pa.down = False
            dv = await until(client, tenant, iid, did, "SENT")
        assert dv["attempts"] >= 2 and pa.posts_by_tracking[did] == 1
        # bad credentials: the preflight says so at once; a send already queued when the
        # credentials are revoked ends FAILED at its first attempt, with the PA's 401
        iid = await french_invoice(client, tenant)
        did = (await send(client, tenant, iid)).json()["model"]["id"]
        await owner.execute(
            "UPDATE pa_settings SET secret = $2 WHERE tenant_id = $1",
            uuid.UUID(tenant.id),
            seal(s.delivery, tenant.id, "revoked"),
        )
        r = await send(client, tenant, await french_invoice(client, tenant))
        assert r.status_code == 422 and "401" in r.json()["errors"][0]["detail"]
        async with in_process_worker(app.state.pool, s):
            dv = await until(client, tenant, iid, did, "FAILED")
        assert dv["attempts"] == 1 and "credentials" in dv["last_error"] and "401" in dv["last_error"]


async def test_webhook_signature(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings, app: Any, pa: AfnorPaServer
) -> None:
    async with keyed_app(app, settings):
        view = await configure(client, tenant, pa)
    key = pa.webhooks[view["webhook_id"]]["signingKey"]
    body = json.dumps({"flowId": str(uuid.uuid4())}).encode()
    url = f"/v1/france/pa/webhook/{tenant.id}"
    now = int(time.time())

    async def call(signature: str, stamp: int) -> httpx.Response:
        headers = {
            "Afnor-Signature": signature,
            "Afnor-Signature-Timestamp": str(stamp),
            "Content-Type": "application/json",
        }
        async with keyed_app(app, settings):
            return await client.post(url, content=body, headers=headers)

    assert (await call(sign(key, body, now), now)).status_code == 200
    assert (await call(sign(key, body, now), now + 1)).status_code == 401  # the timestamp is signed too
    assert (await call(sign(key, body, now - 3600), now - 3600)).status_code == 401  # stale
    assert (await call(sign(base64.b64encode(b"x" * 32).decode(), body, now), now)).status_code == 401
    r = await client.post(
        f"/v1/france/pa/webhook/{uuid.uuid4()}", content=body, headers={"Afnor-Signature-Timestamp": str(now)}
    )
    assert r.status_code == 401


# -- end to end: issue → PA → statuses through to cashed ----------------------------------


def pa_status(invoice: dict[str, Any], code: int, at: dt.datetime, **extra: Any) -> bytes:
    """A CDAR status as the PA passes it on: a platform's (200-203) or the buyer's."""
    seller = invoice["seller"]
    buyer = invoice["buyer"]
    status = cdar.STATUSES[code]
    by_platform = status.sent_by.endswith("platform")
    issuer = (
        cdar.Party(role="WK")
        if by_platform
        else cdar.Party(role="BY", id=buyer["siren"], scheme="0002", name=buyer["name"])
    )
    to = cdar.Party(
        role="SE",
        id=seller["siren"],
        scheme="0002",
        name=seller["name"],
        address=seller["siren"],
        address_scheme="0225",
    )
    reference = cdar.InvoiceReference(
        number=invoice["number"],
        issue_date=dt.date.fromisoformat(invoice["issue_date"]),
        seller_id=seller["siren"],
    )
    message = cdar.StatusMessage(
        id=cdar.message_id(reference, code, at),
        issued_at=at,
        status_at=at,
        status_code=code,
        invoice=reference,
        issuer=issuer,
        recipients=(to,),
        **extra,
    )
    return cdar.build_cdar(message)


async def relay_webhooks(client: httpx.AsyncClient, pa: AfnorPaServer) -> list[int]:
    """Hand the PA's webhook calls, bytes and signature as it made them, to the app."""
    assert pa.outbox is not None
    calls, pa.outbox[:] = list(pa.outbox), []
    return [
        (await client.post(httpx.URL(url).path, content=body, headers=headers)).status_code
        for url, body, headers in calls
    ]


async def french_sale(
    client: httpx.AsyncClient,
    owner: asyncpg.Connection,
    pa: AfnorPaServer,
    hook_url: str,
    channel: str = "afnor-pa",
) -> tuple[Tenant, str, str, dict[str, Any]]:
    """A French seller (tenant with its PA and a webhook endpoint taking every event) issues
    a corpus invoice to a French buyer and queues it for the PA: (tenant, invoice id,
    delivery id, the case with the invoice's number and date)."""
    case = france_corpus.load(france_corpus.CORPUS_DIR / "b1-auto-profile-goods.json")
    key = await make_platform(owner)
    seller = {
        **france_corpus.tenant_model(case),
        "legal_id": {"value": case["seller"]["siren"], "scheme": "0002"},
    }
    r = await client.post("/v1/tenants", json={"model": seller}, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 201, r.text
    tenant = Tenant(key, r.json()["model"]["id"], r.json()["model"]["account_token"])
    r = await client.post(
        "/v1/webhook-endpoints",
        json={"model": {"url": hook_url + "/faktura-hooks", "event_types": list(WEBHOOK_EVENTS)}},
        headers=tenant.headers,
    )
    assert r.status_code == 201, r.text
    pa.add_line(case["buyer"]["siren"])
    await configure(client, tenant, pa)
    r = await client.post(
        "/v1/invoices?issue=true", json={"model": france_corpus.invoice_model(case)}, headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    invoice = r.json()["model"]
    r = await client.post(
        f"/v1/invoices/{invoice['id']}/send", json={"model": {"channel": channel}}, headers=tenant.headers
    )
    assert r.status_code == 202, r.text
    assert r.json()["model"]["channel"] == "afnor-pa"  # `auto` too: a French invoice, a tenant with a PA
    return (
        tenant,
        invoice["id"],
        r.json()["model"]["id"],
        {**case, "number": invoice["number"], "issue_date": invoice["issue_date"]},
    )


async def test_issue_to_cashed_end_to_end(
    client: httpx.AsyncClient, owner: asyncpg.Connection, settings: Settings, app: Any, pa: AfnorPaServer
) -> None:
    """A French invoice goes to the PA; the PA's statuses (by poll and by webhook) land in
    the timeline and fire the tenant's webhooks; the payment that settles it makes Faktura
    send 212 "Encaissée" as a CDAR flow that passes fr-cdar-1.4.0.03; all traffic with the
    PA is valid against the AFNOR documents (the fixture asserts no violation)."""
    hooks = http_server()
    hook_url, sink = hooks.__enter__()
    announced = {
        "invoice.received",
        "invoice.approved",
        "invoice.payment_sent",
        "invoice.cashed",
        "invoice.accepted",
    }

    async def all_announced() -> bool:
        with sink.lock:
            got = {json.loads(req.body)["type"] for req in sink.requests}
        return announced <= got

    pa.outbox = []
    async with keyed_app(app, settings) as s:
        tenant, iid, did, invoice = await french_sale(client, owner, pa, hook_url, channel="auto")
        at = dt.datetime.now(dt.UTC).replace(microsecond=0)
        async with in_process_worker(app.state.pool, s):
            await until(client, tenant, iid, did, "SENT")
            flow = pa.out_flows()[0]
            assert flow["flowProfile"] == "CIUS" and flow["processingRule"] == "B2B"
            # the platforms' statuses, found by polling the PA
            for code in (200, 202, 203):
                pa.push_lifecycle(pa_status(invoice, code, at))
            pa.outbox.clear()  # these webhook calls are lost: the poll finds the flows
            await until(client, tenant, iid, did, "DELIVERED")
            # the buyer's approval and payment, announced by the PA's webhook
            approved = pa.push_lifecycle(pa_status(invoice, 205, at))
            paid = cdar.StatusDetail(
                characteristics=(
                    cdar.Characteristic(
                        type_code="MPA",
                        changed=False,
                        amount=Decimal("9360.00"),
                        currency="EUR",
                        percent=Decimal("20"),
                    ),
                )
            )
            pa.push_lifecycle(pa_status(invoice, 211, at, details=(paid,)))
            assert await relay_webhooks(client, pa) == [200, 200]
            # a webhook call names the flow; Faktura reads that flow from the PA itself
            await wait_for(lambda: _called(pa, "GET", f"/flow-service/v1/flows/{approved}"))
            await until(client, tenant, iid, did, "ACCEPTED")
            await wait_for(lambda: _has(client, tenant, iid, "invoice.payment_sent"))
            # the seller is paid in full: Faktura tells the PA (212, cashed), once the PA
            # is back from an outage
            pa.down = True
            r = await client.post(
                f"/v1/invoices/{iid}/payments",
                json={"model": {"amount": "9360.00", "date": at.date().isoformat()}},
                headers=tenant.headers,
            )
            assert r.status_code == 201, r.text
            await wait_for(
                lambda: asyncio.sleep(0, ("POST", "/flow-service/v1/flows/search", 503) in pa.calls)
            )
            await asyncio.sleep(1)  # the status job has met the outage (it runs at once)
            assert not await _has(client, tenant, iid, "pa.status_sent")
            pa.down = False
            await wait_for(lambda: _has(client, tenant, iid, "invoice.cashed"))
            try:
                # the tenant's webhooks, over HTTP: delivered by the worker, so waited for before
                # it stops (the last of them is queued with "invoice.cashed")
                await wait_for(all_announced)
            finally:
                hooks.__exit__(None, None, None)
    cdar_flows = [f for f in pa.out_flows() if f["flowSyntax"] == "CDAR"]
    assert len(cdar_flows) == 1 and cdar_flows[0]["trackingId"] == f"{iid}-212"
    assert pa.posts_by_tracking[f"{iid}-212"] == 1
    sent = pa.files[cdar_flows[0]["flowId"]]
    assert cdar.parse_cdar(sent).status_code == 212
    xsd, fatal, _ = official_findings(sent, ("fr-cdar-1.4.0.03",))
    assert not xsd and not fatal, describe(fatal)
    events = await timeline(client, tenant, iid)
    kinds = [e["type"] for e in events]
    for expected in (
        "invoice.sent",
        "pa.acknowledged",
        "invoice.submitted",
        "invoice.received",
        "invoice.delivered",
        "invoice.approved",
        "invoice.accepted",
        "invoice.payment_sent",
        "invoice.paid",
        "pa.status_sent",
        "invoice.cashed",
    ):
        assert expected in kinds, (expected, kinds)
    assert kinds.count("invoice.received") == 2 and kinds.count("invoice.submitted") == 1  # 202 and 203; 200
    dv = await delivery(client, tenant, iid, did)
    assert dv["status"] == "ACCEPTED" and dv["evidence"]["pa_flow_id"] == flow["flowId"]
    seen = await owner.fetch(
        "SELECT direction, flow_syntax, status_code FROM pa_flows WHERE invoice_id = $1 ORDER BY created_at",
        uuid.UUID(iid),
    )
    assert sorted((f["direction"], f["status_code"] or "") for f in seen) == [
        ("In", "200"),
        ("In", "202"),
        ("In", "203"),
        ("In", "205"),
        ("In", "211"),
        ("Out", ""),
        ("Out", "212"),
    ]


async def test_every_status_the_pa_passes_on_lands_and_is_announced(
    client: httpx.AsyncClient, owner: asyncpg.Connection, settings: Settings, app: Any, pa: AfnorPaServer
) -> None:
    """Every status a platform or the buyer sets (XP Z12-012 release 1.4), coming from the PA
    as a CDAR flow, is one timeline event of its normalized status and one tenant webhook."""
    codes = sorted(c for c, st in cdar.STATUSES.items() if st.sent_by != "seller")
    pa.outbox = []  # the PA's webhook calls are dropped: the poll finds every flow
    with http_server() as (hook_url, sink):
        async with keyed_app(app, settings) as s:
            tenant, iid, did, invoice = await french_sale(client, owner, pa, hook_url)
            at = dt.datetime.now(dt.UTC).replace(microsecond=0)
            async with in_process_worker(app.state.pool, s):
                await until(client, tenant, iid, did, "SENT")
                for code in codes:
                    status = cdar.STATUSES[code]
                    reasons = sorted(status.reasons or cdar.REASON_CODES)
                    details = (cdar.StatusDetail(reason_code=reasons[0]),) if status.reason_required else ()
                    pa.push_lifecycle(pa_status(invoice, code, at, details=details))
                expected = [lifecycle.EVENTS[lifecycle.normalized_status(c)] for c in codes]

                async def landed() -> bool:
                    kinds = [e["type"] for e in await timeline(client, tenant, iid)]
                    return all(kinds.count(k) >= expected.count(k) for k in expected)

                await wait_for(landed)

                async def announced() -> bool:
                    with sink.lock:
                        got = [json.loads(req.body)["type"] for req in sink.requests]
                    return all(got.count(k) >= expected.count(k) for k in set(expected))

                await wait_for(announced)
    kinds = [e["type"] for e in await timeline(client, tenant, iid)]
    assert {k: kinds.count(k) for k in set(expected)} == {k: expected.count(k) for k in set(expected)}
    seen = await owner.fetchval(
        "SELECT count(*) FROM pa_flows WHERE invoice_id = $1 AND direction = 'In'", uuid.UUID(iid)
    )
    assert seen == len(codes)
