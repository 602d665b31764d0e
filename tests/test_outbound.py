"""The outbound URL policy and the sandbox switch: tenant-given URLs that point into the
operator's network are refused at registration and again at delivery, connections go to
the address that was checked, the sandbox access point exists only when asked for, and
access point callbacks need a configured token. Loopback only: public addresses appear
only as values the policy admits, nothing connects to them."""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import os
import shutil
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from tests.conftest import (
    CALLBACK_TOKEN,
    Tenant,
    example,
    fail_on_server_error,
    make_contact,
    make_platform,
    make_tenant,
)
from tests.delivery_support import delivery_settings, http_server, in_process_worker, wait_for
from tests.test_delivery import delivery, issued_invoice

from faktura.api.app import create_app, create_pool
from faktura.delivery.jobs import HANDLERS as DELIVERY_JOBS
from faktura.delivery.outbound import (
    Address,
    HostUnresolvable,
    OutboundRefused,
    Policy,
    numeric_ipv4,
    resolve,
)
from faktura.delivery.webhook import post_pinned
from faktura.settings import DeliverySettings, Settings

#: Each class the policy refuses, as a tenant could spell it, with the reason it gives.
REFUSED = [
    ("http://127.0.0.1:5432/", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://2130706433/", "loopback"),
    ("http://0x7f000001/", "loopback"),
    ("http://127.1/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://[64:ff9b::7f00:1]/", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://[fd00:ec2::254]/", "metadata"),
    ("http://[::ffff:169.254.169.254]/", "metadata"),
    ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
    ("http://169.254.1.1/", "link-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://10.0.0.1/", "private"),
    ("http://172.16.5.4/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://[fd12:3456:789a::1]/", "private"),
    ("http://224.0.0.1/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://240.0.0.1/", "private"),
    ("http://100.64.0.1/", "not a public address"),
    ("http://localhost:8000/", "loopback"),
    ("http://LOCALHOST./", "loopback"),
    ("ftp://8.8.8.8/", "only http and https"),
    ("file:///etc/passwd", "only http and https"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED, ids=[u for u, _ in REFUSED])
async def test_policy_refuses_each_address_class(url: str, reason: str) -> None:
    with pytest.raises(OutboundRefused, match=reason):
        await resolve(url, Policy())


def test_numeric_forms_read_like_the_c_resolver() -> None:
    loopback = ipaddress.IPv4Address("127.0.0.1")
    assert {numeric_ipv4(h) for h in ("2130706433", "0x7f000001", "127.1", "0177.0.0.1", "127.0.1")} == {
        loopback
    }
    assert numeric_ipv4("1.2.3.4.example") is None and numeric_ipv4("256.1.1.1") is None
    assert numeric_ipv4("08.1.1.1") is None and numeric_ipv4("4294967296") is None


async def test_every_resolved_address_must_be_public() -> None:
    """A name with one public and one internal address is refused (which one the client
    would have used is not ours to guess)."""

    async def mixed(host: str, port: int) -> list[Address]:
        return [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("10.1.2.3")]

    with pytest.raises(OutboundRefused, match=r"hooks\.example resolves to 10\.1\.2\.3, which is a private"):
        await resolve("https://hooks.example/in", Policy(), lookup=mixed)

    async def public(host: str, port: int) -> list[Address]:
        return [ipaddress.ip_address("93.184.215.14")]

    target = await resolve("https://hooks.example/in", Policy(), lookup=public)
    assert target.addresses == (ipaddress.ip_address("93.184.215.14"),) and target.host == "hooks.example"

    async def nothing(host: str, port: int) -> list[Address]:
        raise OSError("Name or service not known")

    with pytest.raises(HostUnresolvable):
        await resolve("https://hooks.example/in", Policy(), lookup=nothing)


async def test_allow_list_admits_networks_and_names_never_metadata() -> None:
    env = {"FAKTURA_OUTBOUND_ALLOW": "127.0.0.1, 10.20.0.0/16 [::1] *.corp.example"}
    allow = DeliverySettings.from_env(env).outbound_allow
    assert allow == ("127.0.0.1", "10.20.0.0/16", "[::1]", "*.corp.example")
    policy = Policy.parse(allow)
    for url in ("http://127.0.0.1:5432/", "http://2130706433/", "http://10.20.3.4/", "http://[::1]/"):
        assert (await resolve(url, policy)).addresses
    with pytest.raises(OutboundRefused):
        await resolve("http://10.21.0.1/", policy)

    async def internal(host: str, port: int) -> list[Address]:
        return [ipaddress.ip_address("10.99.0.7")]

    assert (await resolve("https://erp.corp.example/", policy, lookup=internal)).addresses
    for url in ("http://169.254.169.254/", "http://metadata.google.internal/"):
        with pytest.raises(OutboundRefused, match="never allowed"):
            await resolve(url, Policy.parse(["0.0.0.0/0", "metadata.google.internal"]))
    assert DeliverySettings(outbound_allow=("10.0.0.0/33",)).problems()


async def test_connection_goes_to_the_checked_address() -> None:
    """The POST reaches the address `resolve` checked, naming the host only in the Host
    header: `hooks.example` itself never resolves (a second lookup could not succeed)."""

    async def checked(host: str, port: int) -> list[Address]:
        return [ipaddress.ip_address("127.0.0.1")]

    with http_server() as (url, sink):
        port = httpx.URL(url).port
        target = await resolve(f"http://hooks.example:{port}/in", Policy.parse(["127.0.0.1"]), lookup=checked)
        r = await post_pinned(target, b"{}", {"Content-Type": "application/json"}, 5.0)
    assert r.status_code == 200
    [req] = sink.requests
    assert req.path == "/in" and req.headers["host"] == f"hooks.example:{port}"


@contextlib.asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second app on the session's database with other settings."""
    app = create_app(settings)
    app.state.pool = await create_pool(dataclasses.replace(settings, pool_max_size=4))
    try:
        transport = httpx.ASGITransport(app=app)
        hooks = {"response": [fail_on_server_error]}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://faktura.test", event_hooks=hooks
        ) as c:
            yield c
    finally:
        await app.state.pool.close()


@pytest.fixture(scope="module")
async def strict(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app as shipped: no allow-list."""
    strict_settings = dataclasses.replace(settings, delivery=DeliverySettings())
    async with app_client(strict_settings) as c:
        yield c


REGISTRATION = [
    "http://127.0.0.1:5432/",
    "http://[::1]/",
    "http://0.0.0.0/",
    "http://2130706433/",
    "http://169.254.169.254/",
    "http://metadata.google.internal/",
    "http://10.0.0.1/",
    "http://[fd00::1]/",
    "http://[ff05::1]/",
    "http://239.1.2.3/",
    "http://localhost/",
]


@pytest.mark.parametrize("url", REGISTRATION)
async def test_webhook_registration_refuses_internal_targets(
    strict: httpx.AsyncClient, owner: asyncpg.Connection, url: str
) -> None:
    t = await make_tenant(strict, await make_platform(owner))
    r = await strict.post(
        "/v1/webhook-endpoints",
        json={"model": {"url": url, "event_types": ["invoice.paid"]}},
        headers=t.headers,
    )
    assert r.status_code == 422, r.text
    [err] = r.json()["errors"]
    assert err["problem_type"] == "URL_NOT_ALLOWED" and err["source"]["pointer"] == "/model/url"
    assert "allowed" in err["detail"]
    assert not await owner.fetchval("SELECT count(*) FROM webhook_endpoints WHERE tenant_id = $1", t.id)


async def test_every_tenant_url_field_is_checked(
    strict: httpx.AsyncClient, owner: asyncpg.Connection
) -> None:
    """Endpoint PATCH, a contact's webhook_url (create and patch), the `url` of a send."""
    t = await make_tenant(strict, await make_platform(owner))
    bad = "http://127.0.0.1:5432/"
    ep = await strict.post(
        "/v1/webhook-endpoints",
        json={"model": {"url": "http://93.184.215.14/hook", "event_types": ["invoice.paid"]}},
        headers=t.headers,
    )
    assert ep.status_code == 201, ep.text
    r = await strict.patch(
        f"/v1/webhook-endpoints/{ep.json()['model']['id']}", json={"model": {"url": bad}}, headers=t.headers
    )
    assert r.status_code == 422 and r.json()["errors"][0]["source"]["pointer"] == "/model/url"
    body = example("contact")
    body["model"]["webhook_url"] = bad
    r = await strict.post("/v1/contacts", json=body, headers=t.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["source"]["pointer"] == "/model/webhook_url"
    cid = await make_contact(strict, t)
    r = await strict.patch(
        f"/v1/contacts/{cid}", json={"model": {"webhook_url": "http://[::1]/"}}, headers=t.headers
    )
    assert r.status_code == 422 and r.json()["errors"][0]["source"]["pointer"] == "/model/webhook_url"
    iid = await issued_invoice(strict, t)
    r = await strict.post(
        f"/v1/invoices/{iid}/send", json={"channel": "webhook", "url": bad}, headers=t.headers
    )
    assert r.status_code == 422 and r.json()["errors"][0]["source"]["pointer"] == "/url"
    assert r.json()["errors"][0]["problem_type"] == "URL_NOT_ALLOWED"


async def test_operator_allow_list_admits_loopback(client: httpx.AsyncClient, tenant: Tenant) -> None:
    """The suite's own app runs with FAKTURA_OUTBOUND_ALLOW=127.0.0.1: that address is
    admitted, its neighbours are not."""
    ok = await client.post(
        "/v1/webhook-endpoints",
        json={"model": {"url": "http://127.0.0.1:9/hook", "event_types": ["invoice.paid"]}},
        headers=tenant.headers,
    )
    assert ok.status_code == 201, ok.text
    for url in ("http://127.0.0.2/", "http://[::1]/", "http://10.0.0.1/"):
        r = await client.post(
            "/v1/webhook-endpoints",
            json={"model": {"url": url, "event_types": ["invoice.paid"]}},
            headers=tenant.headers,
        )
        assert r.status_code == 422, url


async def test_delivery_time_recheck_refuses_a_now_forbidden_target(
    client: httpx.AsyncClient, tenant: Tenant, app: Any, settings: Settings
) -> None:
    """Registered while 127.0.0.1 was allowed; the operator then drops it from the
    allow-list. The tenant webhook and the webhook channel both fail at once with the
    reason recorded, and nothing reaches the server."""
    with http_server() as (url, sink):
        ep = await client.post(
            "/v1/webhook-endpoints",
            json={"model": {"url": f"{url}/hook", "event_types": ["invoice.issued"]}},
            headers=tenant.headers,
        )
        assert ep.status_code == 201, ep.text
        iid = await issued_invoice(client, tenant, webhook_url=f"{url}/inbox")
        sent = await client.post(
            f"/v1/invoices/{iid}/send", json={"channel": "webhook"}, headers=tenant.headers
        )
        did = sent.json()["model"]["id"]
        eid = ep.json()["model"]["id"]
        closed = delivery_settings(settings, outbound_allow=())
        async with in_process_worker(app.state.pool, closed, DELIVERY_JOBS):

            async def settled() -> bool:
                log = (
                    await client.get(f"/v1/webhook-endpoints/{eid}/deliveries", headers=tenant.headers)
                ).json()
                d = await delivery(client, tenant, iid, did)
                return d["status"] == "FAILED" and any(w["status"] == "FAILED" for w in log["results"])

            await wait_for(settled, timeout=20)
    assert sink.requests == []
    d = await delivery(client, tenant, iid, did)
    assert d["attempts"] == 1 and "127.0.0.1 is a loopback address" in d["last_error"]
    [w] = (await client.get(f"/v1/webhook-endpoints/{eid}/deliveries", headers=tenant.headers)).json()[
        "results"
    ]
    assert (
        w["attempts"] == 1 and "loopback" in w["last_error"] and "FAKTURA_OUTBOUND_ALLOW" in w["last_error"]
    )


# -- the sandbox and the callback ---------------------------------------------------------------


def test_sandbox_only_when_asked() -> None:
    db = {"DATABASE_URL": "postgresql://faktura@db/faktura"}
    assert not Settings.from_env(db).delivery.sandbox
    assert Settings.from_env({}).delivery.sandbox  # the embedded default of the README
    assert Settings.from_env({**db, "FAKTURA_PEPPOL_SANDBOX": "1"}).delivery.sandbox
    assert not Settings.from_env({"FAKTURA_PEPPOL_SANDBOX": "0"}).delivery.sandbox
    assert Settings.from_env(db).delivery.peppol_callback_token is None  # no default token


async def test_sandbox_routes_are_404_when_off_and_present_when_on(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    assert not settings.delivery.sandbox
    assert (await client.get("/sandbox/peppol-ap/participants/0208:0477472701")).status_code == 404
    assert (await client.post("/sandbox/peppol-ap/messages", content=b"<x/>")).status_code == 404
    on = dataclasses.replace(settings, delivery=dataclasses.replace(settings.delivery, sandbox=True))
    async with app_client(on) as c:
        assert (await c.get("/sandbox/peppol-ap/participants/0208:0477472701")).status_code == 200


async def test_callback_without_configured_token_is_401(
    client: httpx.AsyncClient, tenant: Tenant, owner: asyncpg.Connection, settings: Settings
) -> None:
    """The old public default token, or any other, forges nothing."""
    iid = await issued_invoice(client, tenant)
    did = (
        await client.post(f"/v1/invoices/{iid}/send", json={"channel": "peppol"}, headers=tenant.headers)
    ).json()["model"]["id"]
    await owner.execute(
        "UPDATE deliveries SET status = 'SENT', message_id = $2 WHERE id = $1", did, f"ap-{did}"
    )
    forged = {"message_id": f"ap-{did}", "type": "invoice_response", "code": "AP"}
    without = dataclasses.replace(
        settings, delivery=dataclasses.replace(settings.delivery, peppol_callback_token=None)
    )
    async with app_client(without) as c:
        for token in ("sandbox-callback-token", CALLBACK_TOKEN, ""):
            r = await c.post("/v1/peppol/callback", json=forged, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 401, token
        assert (await c.post("/v1/peppol/callback", json=forged)).status_code == 401
    assert (await delivery(client, tenant, iid, did))["status"] == "SENT"


async def test_peppol_send_without_access_point_or_sandbox_fails_with_reason(
    client: httpx.AsyncClient, tenant: Tenant, app: Any, settings: Settings
) -> None:
    iid = await issued_invoice(client, tenant)
    did = (
        await client.post(f"/v1/invoices/{iid}/send", json={"channel": "peppol"}, headers=tenant.headers)
    ).json()["model"]["id"]
    async with in_process_worker(app.state.pool, delivery_settings(settings, sandbox=False), DELIVERY_JOBS):

        async def failed() -> bool:
            return (await delivery(client, tenant, iid, did))["status"] == "FAILED"

        await wait_for(failed, timeout=20)
    d = await delivery(client, tenant, iid, did)
    assert "no Peppol access point is configured" in d["last_error"] and d["attempts"] == 1


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_real_access_point_without_callback_token_refuses_to_start(command: str, database_url: str) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "FAKTURA_PEPPOL_AP_URL": "https://ap.example/peppol",
    }
    env.pop("FAKTURA_PEPPOL_CALLBACK_TOKEN", None)
    out = subprocess.run(
        [sys.executable, "-m", "faktura.cli", command], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2, out.stderr
    assert "FAKTURA_PEPPOL_CALLBACK_TOKEN" in out.stderr and "configuration error" in out.stderr
    with pytest.raises(ValueError, match="FAKTURA_PEPPOL_CALLBACK_TOKEN"):
        create_app(Settings.from_env(env))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
async def test_https_to_the_checked_address_verifies_the_name(tmp_path: Path) -> None:
    """Over TLS the pinned connection sends the host name as SNI and verifies the
    certificate against it: a certificate for another name is refused."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    args = "req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=hooks.example"
    args += " -addext subjectAltName=DNS:hooks.example"
    subprocess.run(
        ["openssl", *args.split(), "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    server_names: list[str | None] = []
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)

    def record_sni(sock: Any, name: str | None, ctx: Any) -> None:
        server_names.append(name)

    tls.sni_callback = record_sni
    trust = ssl.create_default_context(cafile=str(cert))
    policy = Policy.parse(["127.0.0.1"])

    async def loopback(host: str, port: int) -> list[Address]:
        return [ipaddress.ip_address("127.0.0.1")]

    with http_server(tls=tls) as (url, sink):
        port = httpx.URL(url).port
        target = await resolve(f"https://hooks.example:{port}/in", policy, lookup=loopback)
        r = await post_pinned(target, b"{}", {}, 5.0, verify=trust)
        assert r.status_code == 200 and server_names == ["hooks.example"]
        assert sink.requests[0].headers["host"] == f"hooks.example:{port}"
        other = await resolve(f"https://other.example:{port}/in", policy, lookup=loopback)
        with pytest.raises(httpx.ConnectError, match="certificate verify failed"):
            await post_pinned(other, b"{}", {}, 5.0, verify=trust)
    assert len(sink.requests) == 1
