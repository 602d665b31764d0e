"""Peppol discovery on loopback: a DNS server (dnslib) answering U-NAPTR for the SML zone, an
SMP serving service metadata signed at setup with throwaway certificates (cryptography +
signxml). Each failure has its own outcome; the participant hash matches peppol-commons'
test vectors."""

from __future__ import annotations

import dataclasses
import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from dnslib import NAPTR, QTYPE, RR, DNSLabel
from dnslib.server import BaseResolver, DNSServer
from lxml import etree
from signxml import XMLSigner, methods
from tests.conftest import Tenant

from faktura.delivery.channel import PermanentError, TransientError
from faktura.delivery.discovery import (
    Resolver,
    apply_naptr_regexp,
    capability_check,
    dns_name,
    participant_hash,
    resolver_for,
)
from faktura.settings import Settings

ZONE = "acc.edelivery.tech.ec.europa.eu"
INVOICE = (
    "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##urn:cen.eu:en16931:2017#compliant"
    "#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1"
)
CREDIT_NOTE = INVOICE.replace("Invoice", "CreditNote")
PROCESS = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"


# -- the official vectors (phax/peppol-commons PeppolNaptrURLProviderTest) ------------------


@pytest.mark.parametrize(
    ("participant", "name"),
    [
        ("9915:test", "eh5boavaktmbgzyh2a63dz4qov33fvp5nsdvqklucfraayoodw6a"),
        ("0088:1234567890123", "sjsyvccmqyjxk3weuapffq4x3umcrf4qryherj4vovhmonh7gccq"),
        ("0088:123abc", "y7dzfxaf3d4cjz4kcgrxtec6twvcga4ky7zwa5boif6mswd4tdrq"),
        ("0088:123ABC", "y7dzfxaf3d4cjz4kcgrxtec6twvcga4ky7zwa5boif6mswd4tdrq"),
        ("0010:5798000000001", "xukhfqabqziki3ykvr2fhr4snfa3pf5vpq6k4tonv3lmvsy5arvq"),
    ],
)
def test_participant_hash_official_vectors(participant: str, name: str) -> None:
    assert participant_hash(participant) == name
    assert dns_name(participant, ZONE) == f"{name}.iso6523-actorid-upis.{ZONE}"


def test_naptr_regexp() -> None:
    assert apply_naptr_regexp("!^.*$!https://smp.example/!", "x.y") == "https://smp.example/"
    assert apply_naptr_regexp("!^x$!https://smp.example/!", "y") is None
    assert apply_naptr_regexp("!", "y") is None


# -- certificates ------------------------------------------------------------------------


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _cert(
    cn: str, issuer: str, key: Any, signer: Any, *, ca: bool, days: tuple[int, int]
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    usage = x509.KeyUsage(True, False, False, False, False, ca, ca, False, False)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=days[0]))
        .not_valid_after(now + dt.timedelta(days=days[1]))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .sign(signer, hashes.SHA256())
    )


def _pem(obj: Any) -> bytes:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return bytes(
        obj.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


@dataclasses.dataclass
class Pki:
    trust: Path
    signer: tuple[bytes, bytes]  # key, cert
    expired: tuple[bytes, bytes]
    stranger: tuple[bytes, bytes]  # chains to a CA nobody trusts


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    ca_key, other_key = _key(), _key()
    ca = _cert("Test SMP CA", "Test SMP CA", ca_key, ca_key, ca=True, days=(-1, 30))
    leaf_key = _key()
    leaf = _cert("smp.test", "Test SMP CA", leaf_key, ca_key, ca=False, days=(-1, 30))
    old = _cert("smp.test old", "Test SMP CA", leaf_key, ca_key, ca=False, days=(-30, -1))
    stranger = _cert("smp.test", "Other CA", leaf_key, other_key, ca=False, days=(-1, 30))
    trust = tmp_path_factory.mktemp("pki") / "smp-trust.pem"
    trust.write_bytes(_pem(ca))
    k = _pem(leaf_key)
    return Pki(trust, (k, _pem(leaf)), (k, _pem(old)), (k, _pem(stranger)))


def signed_metadata(participant: str, doctype: str, process: str, key_cert: tuple[bytes, bytes]) -> bytes:
    xml = f"""<SignedServiceMetadata xmlns="http://busdox.org/serviceMetadata/publishing/1.0/"
 xmlns:ids="http://busdox.org/transport/identifiers/1.0/" xmlns:wsa="http://www.w3.org/2005/08/addressing">
 <ServiceMetadata><ServiceInformation>
  <ids:ParticipantIdentifier scheme="iso6523-actorid-upis">{participant}</ids:ParticipantIdentifier>
  <ids:DocumentIdentifier scheme="busdox-docid-qns">{doctype}</ids:DocumentIdentifier>
  <ProcessList><Process>
   <ids:ProcessIdentifier scheme="cenbii-procid-ubl">{process}</ids:ProcessIdentifier>
   <ServiceEndpointList><Endpoint transportProfile="peppol-transport-as4-v2_0">
    <wsa:EndpointReference><wsa:Address>https://ap.receiver.test/as4</wsa:Address></wsa:EndpointReference>
    <RequireBusinessLevelSignature>false</RequireBusinessLevelSignature>
    <Certificate>MIIB</Certificate><ServiceDescription>AP</ServiceDescription>
    <TechnicalContactUrl>https://ap.receiver.test</TechnicalContactUrl>
   </Endpoint></ServiceEndpointList>
  </Process></ProcessList>
 </ServiceInformation></ServiceMetadata></SignedServiceMetadata>"""
    signer = XMLSigner(
        method=methods.enveloped,
        signature_algorithm="rsa-sha256",
        digest_algorithm="sha256",
        c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#",
    )
    signed = signer.sign(etree.fromstring(xml.encode()), key=key_cert[0], cert=key_cert[1])
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))


# -- the SML (DNS) and the SMP -------------------------------------------------------------


class Sml(BaseResolver):  # type: ignore[misc]
    def __init__(self) -> None:
        self.records: dict[str, str] = {}  # DNS name → SMP URL
        self.broken = False
        self.queries = 0

    def resolve(self, request: Any, handler: Any) -> Any:
        self.queries += 1
        reply = request.reply()
        if self.broken:
            reply.header.rcode = 2  # SERVFAIL
            return reply
        qname = str(request.q.qname).rstrip(".")
        url = self.records.get(qname)
        if url is None:
            reply.header.rcode = 3  # NXDOMAIN
            return reply
        if request.q.qtype == QTYPE.NAPTR:
            rdata = NAPTR(100, 10, b"U", b"Meta:SMP", f"!^.*$!{url}!".encode(), DNSLabel("."))
            reply.add_answer(RR(request.q.qname, QTYPE.NAPTR, rdata=rdata, ttl=60))
        return reply


class Network:
    def __init__(self, pki: Pki) -> None:
        self.pki = pki
        self.sml = Sml()
        self.metadata: dict[tuple[str, str], bytes] = {}  # (participant, doctype) → signed XML
        self.smp_reads = 0

    def register(
        self, participant: str, doctype: str = INVOICE, process: str = PROCESS, signer: Any = None
    ) -> None:
        self.sml.records[dns_name(participant, ZONE)] = self.smp_url
        self.metadata[(participant.lower(), doctype)] = signed_metadata(
            participant, doctype, process, signer or self.pki.signer
        )


@pytest.fixture
def network(pki: Pki) -> Iterator[Network]:
    net = Network(pki)

    class Smp(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            net.smp_reads += 1
            path = unquote(self.path).removeprefix("/smp/")
            pid, _, rest = path.partition("/services/")
            participant = pid.removeprefix("iso6523-actorid-upis::").lower()
            mine = {d: x for (p, d), x in net.metadata.items() if p == participant}
            if not mine:
                body, code = b"", 404
            elif not rest:
                body, code = b"<ServiceGroup/>", 200
            else:
                x = mine.get(rest.removeprefix("busdox-docid-qns::"))
                body, code = (x, 200) if x else (b"", 404)
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Smp)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    net.smp_url = f"http://127.0.0.1:{http.server_address[1]}/smp"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dns_server = DNSServer(net.sml, address="127.0.0.1", port=port)
    dns_server.start_thread()
    net.dns = f"127.0.0.1:{port}"
    try:
        yield net
    finally:
        dns_server.stop()
        http.shutdown()
        http.server_close()


def discovery_settings(settings: Settings, net: Network) -> Settings:
    return dataclasses.replace(
        settings,
        delivery=dataclasses.replace(
            settings.delivery,
            peppol_discovery=True,
            peppol_sml_zone=ZONE,
            peppol_dns_server=net.dns,
            peppol_smp_trust=str(net.pki.trust),
        ),
    )


async def test_discovery_outcomes(settings: Settings, network: Network) -> None:
    net = network
    net.register("0208:0477472701")  # found
    net.register("0208:0000000097", doctype=CREDIT_NOTE)  # wrong document type
    net.register("0208:0000000196", process="urn:other:process")  # wrong process
    net.register("0208:0000000295", signer=net.pki.expired)
    net.register("0208:0000000394", signer=net.pki.stranger)
    net.register("0208:0000000493")
    key = ("0208:0000000493", INVOICE)
    net.metadata[key] = net.metadata[key].replace(b"ap.receiver.test/as4", b"ap.attacker.test/as4")
    net.register("0208:0000000691")  # re-labelled as SHA-1: refused by policy
    key = ("0208:0000000691", INVOICE)
    net.metadata[key] = net.metadata[key].replace(
        b"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", b"http://www.w3.org/2000/09/xmldsig#rsa-sha1"
    )
    r = Resolver(discovery_settings(settings, net))

    found = await r.discover("0208:0477472701", INVOICE, PROCESS)
    assert (found.outcome, found.permanent) == ("found", True), found
    assert found.endpoints == [
        {
            "process": PROCESS,
            "transport_profile": "peppol-transport-as4-v2_0",
            "url": "https://ap.receiver.test/as4",
        }
    ]
    assert found.smp_url == net.smp_url and found.ttl == 60
    outcomes = {
        p: (await r.discover(p, INVOICE, PROCESS)).outcome
        for p in (
            "0208:1999999943",
            "0208:0000000097",
            "0208:0000000196",
            "0208:0000000295",
            "0208:0000000394",
            "0208:0000000493",
        )
    }
    assert outcomes == {
        "0208:1999999943": "not_registered",
        "0208:0000000097": "document_type_not_supported",
        "0208:0000000196": "process_not_supported",
        "0208:0000000295": "signer_expired",
        "0208:0000000394": "signer_untrusted",
        "0208:0000000493": "signature_invalid",
    }
    net.sml.records[dns_name("0208:0000000790", ZONE)] = "http://127.0.0.1:9/smp"  # nothing listens
    down = await r.discover("0208:0000000790", INVOICE, PROCESS)
    assert (down.outcome, down.permanent) == ("smp_unreachable", False)
    sha1 = await r.discover("0208:0000000691", INVOICE, PROCESS)
    assert sha1.outcome == "signature_invalid" and "SHA1" in sha1.detail
    net.sml.broken = True
    failed = await r.discover("0208:0000000592", INVOICE, PROCESS)
    assert (failed.outcome, failed.permanent) == ("dns_failure", False)
    # a found answer is served from the cache for the record's TTL, even with DNS down
    reads = net.smp_reads
    assert (await r.discover("0208:0477472701", INVOICE, PROCESS)).outcome == "found"
    assert net.smp_reads == reads


async def test_dns_timeout_is_transient(settings: Settings, network: Network) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:  # answers nothing
        silent.bind(("127.0.0.1", 0))
        s = discovery_settings(settings, network)
        s = dataclasses.replace(
            s,
            delivery=dataclasses.replace(
                s.delivery, peppol_dns_server=f"127.0.0.1:{silent.getsockname()[1]}"
            ),
        )
        r = Resolver(s)
        r.dns.lifetime = 0.5
        started = time.monotonic()
        got = await r.discover("0208:0477472701", INVOICE, PROCESS)
    assert (got.outcome, got.permanent) == ("dns_failure", False) and time.monotonic() - started < 3
    check = capability_check(s)
    resolver_for(s).dns.lifetime = 0.5
    with pytest.raises(TransientError, match="dns_failure"):
        await check("0208:0477472701", INVOICE, PROCESS)


async def test_capability_check_before_send(settings: Settings, network: Network) -> None:
    network.register("0208:0477472701")
    check = capability_check(discovery_settings(settings, network))
    await check("0208:0477472701", INVOICE, f"cenbii-procid-ubl::{PROCESS}")
    with pytest.raises(PermanentError, match="not_registered"):
        await check("0208:1999999943", INVOICE, PROCESS)


async def test_preflight_endpoint(
    client: httpx.AsyncClient, tenant: Tenant, app: Any, network: Network
) -> None:
    network.register("0208:0477472701")
    r = await client.get("/v1/peppol/participants/0208:0477472701", headers=tenant.headers)
    assert r.status_code == 409  # discovery not configured on this app
    original = app.state.settings
    app.state.settings = discovery_settings(original, network)
    try:
        r = await client.get("/v1/peppol/participants/0208:0477472701", headers=tenant.headers)
        assert r.status_code == 200, r.text
        assert r.json()["model"]["can_receive"] is True
        r = await client.get(
            "/v1/peppol/participants/0208:0477472701",
            params={"document_type": CREDIT_NOTE},
            headers=tenant.headers,
        )
        assert r.json()["model"]["outcome"] == "document_type_not_supported"
        r = await client.get("/v1/peppol/participants/nocolon", headers=tenant.headers)
        assert r.status_code == 422 and r.json()["errors"][0]["source"]["pointer"] == "/participant"
    finally:
        app.state.settings = original
    assert (await client.get("/v1/peppol/participants/0208:1")).status_code == 401


async def test_send_checks_the_receiver_by_discovery(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings, app: Any, network: Network
) -> None:
    """With discovery on, an unregistered buyer fails the delivery at once (no AP asked);
    a registered one goes out."""
    from tests.delivery_support import delivery_settings, in_process_worker, wait_for
    from tests.test_delivery import delivery, issued_invoice

    network.register("0208:0477472701")
    s = delivery_settings(discovery_settings(settings, network))
    iid = await issued_invoice(client, tenant)
    d = (
        await client.post(f"/v1/invoices/{iid}/send", json={"channel": "peppol"}, headers=tenant.headers)
    ).json()
    did = d["model"]["id"]
    async with in_process_worker(app.state.pool, s):

        async def settled() -> bool:
            return (await delivery(client, tenant, iid, did))["status"] in (
                "SENT",
                "DELIVERED",
                "ACCEPTED",
                "FAILED",
            )

        await wait_for(settled)
        first = await delivery(client, tenant, iid, did)
        network.sml.records.clear()  # the buyer leaves Peppol …
        resolver_for(s).cache.clear()  # … and the record's TTL has run out
        iid2 = await issued_invoice(client, tenant)
        d2 = (
            await client.post(f"/v1/invoices/{iid2}/send", json={"channel": "peppol"}, headers=tenant.headers)
        ).json()["model"]["id"]

        async def failed() -> bool:
            return (await delivery(client, tenant, iid2, d2))["status"] == "FAILED"

        await wait_for(failed)
    assert first["status"] != "FAILED", first
    second = await delivery(client, tenant, iid2, d2)
    assert "not_registered" in second["last_error"] and second["attempts"] == 1
