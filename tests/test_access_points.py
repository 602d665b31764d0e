"""The e-invoice.be and phoss-ap adapters against local access points on loopback: the send
step through to delivered and the Invoice Response, every e-invoice.be request and response
checked against the official OpenAPI description, and a worker killed with SIGKILL between
upload and send delivers exactly once."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import json
import uuid
from typing import Any

import httpx
import pytest
from tests.ap_fakes import EInvoiceBeServer, PhossServer
from tests.conftest import Tenant
from tests.delivery_support import (
    delivery_settings,
    in_process_worker,
    start_worker,
    stop_worker,
    wait_for,
    worker_env,
)
from tests.test_delivery import assert_consistent, delivery, issued_invoice, timeline

from faktura.delivery.einvoice_be import signature_ok
from faktura.delivery.tracking import next_delay
from faktura.settings import Settings


@pytest.fixture
def einvoice() -> Any:
    s = EInvoiceBeServer()
    s.start()
    yield s
    s.stop()


@pytest.fixture
def phoss() -> Any:
    s = PhossServer()
    s.start()
    yield s
    s.stop()


def ap_settings(settings: Settings, kind: str, url: str, token: str) -> Settings:
    return delivery_settings(
        settings,
        sandbox=False,
        peppol_ap_kind=kind,
        peppol_ap_url=url,
        peppol_ap_token=token,
        peppol_ap_poll_interval=0.2,
    )


def crash_worker_env(settings: Settings, kind: str, ap: Any) -> dict[str, str]:
    """A `faktura worker` on the AP, with a short lease so that a killed one is replaced fast."""
    return worker_env(
        settings,
        FAKTURA_PEPPOL_SANDBOX="0",
        FAKTURA_PEPPOL_AP_KIND=kind,
        FAKTURA_PEPPOL_AP_URL=ap.url,
        FAKTURA_PEPPOL_AP_TOKEN=ap.token,
        FAKTURA_PEPPOL_AP_POLL_INTERVAL="0.2",
        FAKTURA_JOB_HEARTBEAT_TIMEOUT="2",
        FAKTURA_DELIVERY_LEASE="3",
        FAKTURA_SEND_TIMEOUT="2.5",
    )


async def send_peppol(client: httpx.AsyncClient, tenant: Tenant) -> tuple[str, str]:
    iid = await issued_invoice(client, tenant)
    r = await client.post(f"/v1/invoices/{iid}/send", json={"channel": "peppol"}, headers=tenant.headers)
    assert r.status_code in (200, 201, 202), r.text
    return iid, r.json()["model"]["id"]


async def until(
    client: httpx.AsyncClient, tenant: Tenant, iid: str, did: str, status: str, timeout: float = 30
) -> dict[str, Any]:
    async def reached() -> bool:
        return bool((await delivery(client, tenant, iid, did))["status"] == status)

    try:
        await wait_for(reached, timeout=timeout)
    except AssertionError:
        raise AssertionError(
            (
                await delivery(client, tenant, iid, did),
                [(e["type"], e["data"]) for e in await timeline(client, tenant, iid)],
            )
        ) from None
    return await delivery(client, tenant, iid, did)


async def test_einvoice_be_send_to_accepted_within_the_description(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings, app: Any, einvoice: EInvoiceBeServer
) -> None:
    iid, did = await send_peppol(client, tenant)
    s = ap_settings(settings, "e-invoice-be", einvoice.url, einvoice.token)
    async with in_process_worker(app.state.pool, s):
        dv = await until(client, tenant, iid, did, "ACCEPTED")
    assert einvoice.violations == []
    assert einvoice.uploads == 1 and einvoice.sends == 1
    doc_id = dv["message_id"]
    assert doc_id in einvoice.documents and dv["response_code"] == "AP"
    assert dv["evidence"]["ap_document_id"] == doc_id and dv["evidence"]["access_point"] == "e-invoice.be"
    # the receiver's ids went with the send, from the buyer's endpoint (BT-49)
    receiver = dv["target"]["receiver"]
    assert einvoice.sent_params[0]["receiver_peppol_scheme"] == [receiver.split(":")[0]]
    events = await timeline(client, tenant, iid)
    kinds = [
        (e["type"], e["data"].get("source"), e["data"].get("code")) for e in events if e["delivery"] == did
    ]
    assert ("invoice.sent", None, None) in kinds
    assert ("invoice.delivered", "receipt", None) in kinds
    assert ("peppol.mls", "mls", "AP") in kinds  # the receiving AP's MLS, already delivered
    assert ("invoice.accepted", "invoice_response", "AP") in kinds
    assert_consistent(events, [dv], "SUBMITTED")


async def test_einvoice_be_rejection_and_unknown_key(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings, app: Any, einvoice: EInvoiceBeServer
) -> None:
    einvoice.invoice_response_code = "RE"
    iid, did = await send_peppol(client, tenant)
    async with in_process_worker(
        app.state.pool, ap_settings(settings, "e-invoice-be", einvoice.url, einvoice.token)
    ):
        dv = await until(client, tenant, iid, did, "REJECTED")
    assert dv["response_code"] == "RE"
    iid2, did2 = await send_peppol(client, tenant)
    async with in_process_worker(
        app.state.pool, ap_settings(settings, "e-invoice-be", einvoice.url, "wrong-key")
    ):
        dv = await until(client, tenant, iid2, did2, "FAILED")
    assert "401" in dv["last_error"] and dv["attempts"] == 1  # a refused key is not retried
    assert einvoice.violations == []


async def test_kill_9_between_upload_and_send_sends_once(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings, einvoice: EInvoiceBeServer
) -> None:
    iid, did = await send_peppol(client, tenant)
    env = crash_worker_env(settings, "e-invoice-be", einvoice)
    einvoice.hold_send.set()  # the upload goes through, the send request stalls
    first = start_worker(env)
    try:
        await wait_for(lambda: asyncio.sleep(0, einvoice.holding.is_set()), timeout=30)
        dv = await delivery(client, tenant, iid, did)
        assert dv["status"] == "SENDING" and dv["message_id"] in einvoice.documents  # recorded first
    finally:
        stop_worker(first, kill=True)  # kill -9 between upload and send
    einvoice.hold_send.clear()
    assert einvoice.uploads == 1 and einvoice.sends == 0
    second = start_worker(env)
    try:
        dv = await until(client, tenant, iid, did, "ACCEPTED", timeout=40)
    finally:
        stop_worker(second)
    assert einvoice.uploads == 1 and einvoice.sends == 1  # the draft was found and sent once
    assert dv["evidence"]["resumed_after_crash"] is True
    assert einvoice.violations == []
    events = await timeline(client, tenant, iid)
    assert [e["data"]["attempt"] for e in events if e["type"] == "delivery.sending"] == [1, 2]


async def test_phoss_kill_9_after_the_ap_took_it_submits_once(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings, phoss: PhossServer
) -> None:
    """phoss-ap stored and sent the SBD, the worker died before hearing so: the next attempt
    finds the transaction by its SBDH instance id and does not submit again."""
    iid, did = await send_peppol(client, tenant)
    env = crash_worker_env(settings, "phoss-ap", phoss)
    phoss.hold_answer.set()
    first = start_worker(env)
    try:
        await wait_for(lambda: asyncio.sleep(0, phoss.holding.is_set()), timeout=30)
    finally:
        stop_worker(first, kill=True)
    phoss.hold_answer.clear()
    second = start_worker(env)
    try:
        dv = await until(client, tenant, iid, did, "DELIVERED", timeout=40)
    finally:
        stop_worker(second)
    assert phoss.submits == 1 and dv["evidence"]["resumed_after_crash"] is True


async def test_crash_after_the_send_does_not_send_again(einvoice: EInvoiceBeServer) -> None:
    """The AP sent it but Faktura never heard: the next attempt looks the document up and
    sees it gone out (the same situation as a worker dying after the send request)."""
    did = str(uuid.uuid4())
    from faktura.delivery.einvoice_be import EInvoiceBeAccessPoint
    from faktura.delivery.peppol import wrap

    ap = EInvoiceBeAccessPoint(einvoice.url, einvoice.token, 5)
    ubl = b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>'
    env = wrap(ubl, sender="0208:0477472701", receiver="0208:0477472702", instance_id=did)

    class Memory:
        value: str | None = None

        async def recall(self) -> str | None:
            return self.value

        async def record(self, message_id: str) -> None:
            self.value = message_id

    journal = Memory()
    first = await ap.submit(env, journal)
    again = await ap.submit(env, journal)
    assert first.message_id == again.message_id and einvoice.sends == 1 and einvoice.uploads == 1
    assert again.evidence["resumed_after_crash"] is True
    assert einvoice.violations == []


async def test_einvoice_be_participant_lookup(einvoice: EInvoiceBeServer) -> None:
    from faktura.delivery.einvoice_be import EInvoiceBeAccessPoint

    doctype = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##x::2.1"
    einvoice.registered["0208:0477472701"] = [doctype]
    ap = EInvoiceBeAccessPoint(einvoice.url, einvoice.token, 5)
    assert await ap.is_registered("0208:0477472701", doctype) is True
    assert await ap.is_registered("0208:0477472701", doctype + "-other") is False
    assert await ap.is_registered("0208:1999999943", doctype) is False
    assert einvoice.violations == []


async def test_einvoice_be_webhook_signature_then_poll(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings, app: Any, einvoice: EInvoiceBeServer
) -> None:
    secret = app.state.settings.delivery.peppol_ap_webhook_secret
    body = b'{"event": "document.sent", "document_id": "doc_unknown"}'
    good = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    r = await client.post("/v1/peppol/e-invoice-be/webhook", content=body, headers={"X-Signature": "0" * 64})
    assert r.status_code == 401
    r = await client.post("/v1/peppol/e-invoice-be/webhook", content=body, headers={"X-Signature": good})
    assert r.status_code == 202 and r.json()["model"]["known"] is False
    empty = b"{}"
    sig = hmac.new(secret.encode(), empty, hashlib.sha256).hexdigest()
    r = await client.post("/v1/peppol/e-invoice-be/webhook", content=empty, headers={"X-Signature": sig})
    assert r.status_code == 422 and r.json()["errors"][0]["source"]["pointer"] == "/document_id"
    assert signature_ok("s", b"x", "sha256=" + hmac.new(b"s", b"x", hashlib.sha256).hexdigest())
    assert not signature_ok("s", b"y", hmac.new(b"s", b"x", hashlib.sha256).hexdigest())


async def test_einvoice_be_signed_webhook_pulls_the_statuses_at_once(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings, app: Any, einvoice: EInvoiceBeServer
) -> None:
    """Polling is slow here (an hour); the signed webhook makes Faktura read the timeline now."""
    iid, did = await send_peppol(client, tenant)
    s = ap_settings(settings, "e-invoice-be", einvoice.url, einvoice.token)
    s = dataclasses.replace(s, delivery=dataclasses.replace(s.delivery, peppol_ap_poll_interval=3600))
    async with in_process_worker(app.state.pool, s):
        dv = await until(client, tenant, iid, did, "SENT")
        body = json.dumps({"event": "document.sent", "document_id": dv["message_id"]}).encode()
        secret = settings.delivery.peppol_ap_webhook_secret or ""
        sig = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        r = await client.post("/v1/peppol/e-invoice-be/webhook", content=body, headers={"X-Signature": sig})
        assert r.status_code == 202 and r.json()["model"]["known"] is True
        dv = await until(client, tenant, iid, did, "ACCEPTED", timeout=15)
    assert dv["response_code"] == "AP" and einvoice.violations == []


async def test_phoss_send_to_delivered_mls_and_invoice_response(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings, app: Any, phoss: PhossServer
) -> None:
    iid, did = await send_peppol(client, tenant)
    async with in_process_worker(app.state.pool, ap_settings(settings, "phoss-ap", phoss.url, phoss.token)):
        dv = await until(client, tenant, iid, did, "DELIVERED")

        async def mls_seen() -> bool:
            return any(e["type"] == "peppol.mls" for e in await timeline(client, tenant, iid))

        await wait_for(mls_seen)
    assert phoss.submits == 1, (
        phoss.transactions,
        [(e["type"], e["data"]) for e in await timeline(client, tenant, iid)],
    )
    assert dv["message_id"] == f"phoss-{did}"
    assert dv["evidence"]["ap_transaction_id"] == "tx-1" and dv["evidence"]["sbdh_instance_id"] == did
    # the buyer's Invoice Response comes back through the callback path
    r = await client.post(
        "/v1/peppol/callback",
        json={"message_id": dv["message_id"], "type": "invoice_response", "code": "AP"},
        headers={"Authorization": f"Bearer {settings.delivery.peppol_callback_token}"},
    )
    assert r.status_code == 200, r.text
    dv = await delivery(client, tenant, iid, did)
    assert dv["status"] == "ACCEPTED"
    assert_consistent(await timeline(client, tenant, iid), [dv], "SUBMITTED")


async def test_phoss_resend_after_crash_is_a_status_lookup(phoss: PhossServer) -> None:
    from faktura.delivery.peppol import wrap
    from faktura.delivery.phoss_ap import PhossAccessPoint

    ap = PhossAccessPoint(phoss.url, phoss.token, 5)
    ubl = b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>'
    env = wrap(ubl, sender="0208:0477472701", receiver="0208:0477472702", instance_id="inst-1")
    a = await ap.submit(env)
    b = await ap.submit(env)  # the attempt after a crash
    assert a.message_id == b.message_id and phoss.submits == 1 and b.evidence["resumed_after_crash"]
    phoss.mls_status = "received_re"
    reports = await ap.reports(a.message_id)
    reports = await ap.reports(a.message_id)
    assert [(r.kind, r.code) for r in reports] == [("receipt", None), ("mls", "RE")]
    bad = PhossAccessPoint(phoss.url, "wrong", 5)
    from faktura.delivery.channel import PermanentError

    with pytest.raises(PermanentError, match="401"):
        await bad.submit(env)


def test_poll_backoff_doubles_then_caps() -> None:
    assert [next_delay(t, 30, 3600) for t in range(1, 9)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]


async def test_tenant_access_point_credentials_encrypted_and_used(
    client: httpx.AsyncClient,
    tenant: Tenant,
    settings: Settings,
    app: Any,
    owner: Any,
    einvoice: EInvoiceBeServer,
) -> None:
    """A tenant brings its own e-invoice.be account: the key is stored sealed, never shown,
    the URL passes the outbound policy, and the tenant's sends go there."""
    url = "/v1/peppol/access-point"
    body = {"kind": "e-invoice-be", "url": einvoice.url, "token": einvoice.token}
    r = await client.put(url, json={"model": body}, headers=tenant.headers)
    assert r.status_code == 409 and "FAKTURA_SECRETS_KEY" in r.text  # no key, nothing stored
    key = base64.b64encode(b"k" * 32).decode()
    keyed = dataclasses.replace(settings, delivery=dataclasses.replace(settings.delivery, secrets_key=key))
    original = app.state.settings
    app.state.settings = keyed
    try:
        r = await client.put(
            url, json={"model": {**body, "url": "http://169.254.169.254/latest"}}, headers=tenant.headers
        )
        assert r.status_code == 422 and r.json()["errors"][0]["source"]["pointer"] == "/model/url"
        r = await client.put(url, json={"model": {**body, "kind": "other"}}, headers=tenant.headers)
        assert r.status_code == 422
        r = await client.put(url, json={"model": body}, headers=tenant.headers)
        assert r.status_code == 200, r.text
        assert r.json()["model"] == {
            "configured": True,
            "kind": "e-invoice-be",
            "url": einvoice.url,
            "token_set": True,
        }
        assert einvoice.token not in r.text
        # delivery settings keep it when they change
        r = await client.put(
            "/v1/delivery-settings", json={"model": {"email_from": "a@b.test"}}, headers=tenant.headers
        )
        assert r.status_code == 200, r.text
    finally:
        app.state.settings = original
    stored = await owner.fetchval(
        "SELECT data::text FROM delivery_settings WHERE tenant_id = $1", uuid.UUID(tenant.id)
    )
    assert einvoice.token not in stored and '"v1:' in stored
    iid, did = await send_peppol(client, tenant)
    worker = dataclasses.replace(
        ap_settings(settings, "e-invoice-be", "http://127.0.0.1:9", "deployment-key"),
    )
    worker = dataclasses.replace(worker, delivery=dataclasses.replace(worker.delivery, secrets_key=key))
    async with in_process_worker(app.state.pool, worker):
        dv = await until(client, tenant, iid, did, "ACCEPTED")
    assert einvoice.sends == 1 and dv["evidence"]["access_point"] == "e-invoice.be"
    assert einvoice.violations == []
    assert (await client.delete(url, headers=tenant.headers)).status_code == 204
    assert (await client.get(url, headers=tenant.headers)).json()["model"]["configured"] is False


def test_settings_refuse_bad_access_point_configuration() -> None:
    from faktura.settings import DeliverySettings

    problems = DeliverySettings(
        peppol_ap_kind="other", secrets_key="c2hvcnQ=", peppol_discovery=True
    ).problems()
    assert any("FAKTURA_PEPPOL_AP_KIND" in p for p in problems)
    assert any("FAKTURA_SECRETS_KEY" in p for p in problems)
    assert any("FAKTURA_PEPPOL_SMP_TRUST" in p for p in problems)
    # polled APs need no callback token; the contract does
    assert DeliverySettings(peppol_ap_kind="phoss-ap", peppol_ap_url="https://ap.test").problems() == []
    assert DeliverySettings(peppol_ap_url="https://ap.test").problems() != []
    env = DeliverySettings.from_env(
        {"FAKTURA_PEPPOL_AP_KIND": "e-invoice-be", "FAKTURA_PEPPOL_AP_POLL_INTERVAL": "5"}
    )
    assert env.peppol_ap_kind == "e-invoice-be" and env.peppol_ap_poll_interval == 5
