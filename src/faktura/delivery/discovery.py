"""Peppol participant discovery, natively: SML look-up (U-NAPTR over DNS), SMP service group
and signed service metadata over HTTP, then the capability check (document type and process).

1. The DNS name of a participant is `base32(sha256(lowercase("scheme:value")))` without
   padding, lower-cased, then `.iso6523-actorid-upis.` and the SML zone (Peppol SML 1.2 /
   Policy for use of identifiers 4.x). Its NAPTR record with service `Meta:SMP` and flag `U`
   rewrites to the SMP's base URL.
2. The SMP answers `GET {smp}/iso6523-actorid-upis::{id}` (service group: which document
   types) and `GET {smp}/iso6523-actorid-upis::{id}/services/busdox-docid-qns::{doctype}`
   (signed service metadata: processes and AP endpoints).
3. The metadata's XML signature is verified with signxml against the CAs in
   `FAKTURA_PEPPOL_SMP_TRUST`. SHA-1 is refused: signxml's default configuration accepts no
   SHA-1 signature or digest method, and Peppol SMPs sign with RSA-SHA256 since SMP spec 1.2.

Every outcome has its own code. Permanent ones (not registered, document type or process not
supported, a bad signature or signer) fail a delivery at once; transient ones (DNS timeout or
server failure, SMP unreachable) are retried. Found results are cached for the NAPTR
record's TTL (at most an hour); failures are not cached.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import dns.asyncresolver
import dns.exception
import dns.resolver
import httpx
from lxml import etree

from faktura.delivery.channel import PermanentError, TransientError
from faktura.settings import Settings

PARTICIPANT_SCHEME = "iso6523-actorid-upis"
DOCTYPE_SCHEME = "busdox-docid-qns"
SMP_NS = "http://busdox.org/serviceMetadata/publishing/1.0/"
IDS_NS = "http://busdox.org/transport/identifiers/1.0/"
WSA_NS = "http://www.w3.org/2005/08/addressing"
NS = {"smp": SMP_NS, "ids": IDS_NS, "wsa": WSA_NS}
MAX_TTL = 3600

#: outcome → permanent?
OUTCOMES = {
    "found": True,
    "not_registered": True,
    "document_type_not_supported": True,
    "process_not_supported": True,
    "signature_invalid": True,
    "signer_untrusted": True,
    "signer_expired": True,
    "dns_failure": False,
    "smp_unreachable": False,
}


@dataclass(frozen=True)
class Discovery:
    participant: str
    outcome: str
    detail: str
    smp_url: str | None = None
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    ttl: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome == "found"

    @property
    def permanent(self) -> bool:
        return OUTCOMES[self.outcome]

    def view(self) -> dict[str, Any]:
        return {
            "participant": self.participant,
            "outcome": self.outcome,
            "can_receive": self.ok,
            "permanent": self.permanent,
            "detail": self.detail,
            "smp_url": self.smp_url,
            "endpoints": self.endpoints,
        }


def participant_hash(participant: str) -> str:
    """`0088:123ABC` → `y7dzfxaf3d4cjz4kcgrxtec6twvcga4ky7zwa5boif6mswd4tdrq`."""
    digest = hashlib.sha256(participant.strip().lower().encode()).digest()
    return base64.b32encode(digest).decode().rstrip("=").lower()


def dns_name(participant: str, zone: str) -> str:
    return f"{participant_hash(participant)}.{PARTICIPANT_SCHEME}.{zone.strip('.')}"


def apply_naptr_regexp(regexp: str, name: str) -> str | None:
    """A U-NAPTR regexp (`!^.*$!https://smp.example/!`) applied to the queried name."""
    if len(regexp) < 3:
        return None
    delim = regexp[0]
    parts = regexp[1:].split(delim)
    if len(parts) < 2:
        return None
    pattern, replacement = parts[0], re.sub(r"\\(\d)", r"\\\1", parts[1])
    if re.match(pattern, name) is None:
        return None
    return re.sub(pattern, replacement, name, count=1)


class Resolver:
    """SML → SMP → capability, with a TTL cache of found answers."""

    def __init__(self, settings: Settings, http_timeout: float = 10.0):
        cfg = settings.delivery
        self.zone = cfg.peppol_sml_zone
        self.trust = cfg.peppol_smp_trust
        self.http_timeout = http_timeout
        self.dns = dns.asyncresolver.Resolver(configure=cfg.peppol_dns_server is None)
        if cfg.peppol_dns_server:
            host, _, port = cfg.peppol_dns_server.partition(":")
            self.dns.nameservers = [host]
            self.dns.port = int(port or 53)
        self.dns.lifetime = 5.0
        self.cache: dict[tuple[str, str, str], tuple[float, Discovery]] = {}

    async def smp_of(self, participant: str) -> tuple[str | None, int, str]:
        """(SMP base URL or None when not registered, TTL, detail); DNS trouble raises."""
        name = dns_name(participant, self.zone)
        try:
            answer = await self.dns.resolve(name, "NAPTR")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None, 0, f"no NAPTR record at {name}"
        for rr in sorted(answer, key=lambda r: (r.order, r.preference)):
            if rr.flags.decode().upper() == "U" and rr.service.decode() == "Meta:SMP":
                url = apply_naptr_regexp(rr.regexp.decode(), name)
                if url:
                    return url.rstrip("/"), min(int(answer.rrset.ttl if answer.rrset else 0), MAX_TTL), name
        return None, 0, f"no Meta:SMP U-NAPTR record at {name}"

    async def discover(self, participant: str, document_type: str, process: str = "") -> Discovery:
        key = (participant.lower(), document_type, process)
        hit = self.cache.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        result = await self._discover(participant.lower(), document_type, process)
        if result.ok and result.ttl > 0:
            self.cache[key] = (time.monotonic() + result.ttl, result)
        return result

    async def _discover(self, participant: str, document_type: str, process: str) -> Discovery:
        try:
            smp, ttl, detail = await self.smp_of(participant)
        except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.exception.DNSException) as e:
            return Discovery(participant, "dns_failure", f"SML look-up failed: {type(e).__name__}: {e}")
        if smp is None:
            return Discovery(participant, "not_registered", f"{participant} is not in the SML ({detail})")
        pid = quote(f"{PARTICIPANT_SCHEME}::{participant}", safe="")
        doc = quote(f"{DOCTYPE_SCHEME}::{document_type}", safe="")
        try:
            async with httpx.AsyncClient(timeout=self.http_timeout) as c:
                group = await c.get(f"{smp}/{pid}")
                if group.status_code == 404:
                    return Discovery(
                        participant, "not_registered", "the SMP does not know the participant", smp
                    )
                meta = await c.get(f"{smp}/{pid}/services/{doc}") if group.status_code == 200 else group
        except httpx.HTTPError as e:
            return Discovery(participant, "smp_unreachable", f"SMP {smp}: {type(e).__name__}: {e}", smp)
        if group.status_code != 200 or meta.status_code >= 500:
            return Discovery(participant, "smp_unreachable", f"SMP {smp}: HTTP {meta.status_code}", smp)
        if meta.status_code == 404:
            return Discovery(
                participant, "document_type_not_supported", f"not registered for {document_type}", smp
            )
        checked = self._verified(meta.content)
        if isinstance(checked, tuple):
            return Discovery(participant, checked[0], checked[1], smp)
        info = checked.find(".//smp:ServiceInformation", NS)
        if info is None:
            return Discovery(participant, "document_type_not_supported", "no ServiceInformation", smp)
        endpoints: list[dict[str, Any]] = []
        processes = []
        for p in info.iterfind("smp:ProcessList/smp:Process", NS):
            pid_text = (p.findtext("ids:ProcessIdentifier", namespaces=NS) or "").strip()
            processes.append(pid_text)
            if process and not _same_process(pid_text, process):
                continue
            for ep in p.iterfind("smp:ServiceEndpointList/smp:Endpoint", NS):
                endpoints.append(
                    {
                        "process": pid_text,
                        "transport_profile": ep.get("transportProfile"),
                        "url": (
                            ep.findtext("wsa:EndpointReference/wsa:Address", namespaces=NS) or ""
                        ).strip(),
                    }
                )
        if not endpoints:
            return Discovery(
                participant,
                "process_not_supported",
                f"registered for the document type, not for process {process} (only {', '.join(processes)})",
                smp,
            )
        return Discovery(participant, "found", "can receive", smp, endpoints, ttl)

    def _verified(self, xml: bytes) -> Any:
        """The signed metadata element, or (outcome, detail) when its signature fails."""
        from cryptography import x509
        from signxml import InvalidCertificate, InvalidInput, InvalidSignature, XMLVerifier

        try:
            root = etree.fromstring(xml)
        except etree.XMLSyntaxError as e:
            return ("signature_invalid", f"not XML: {e}")
        cert_text = root.findtext(".//{http://www.w3.org/2000/09/xmldsig#}X509Certificate")
        if not cert_text:
            return ("signature_invalid", "the service metadata is not signed")
        try:
            cert = x509.load_der_x509_certificate(base64.b64decode("".join(cert_text.split())))
        except ValueError as e:
            return ("signature_invalid", f"unreadable signing certificate: {e}")
        now = dt.datetime.now(dt.UTC)
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            return (
                "signer_expired",
                f"signing certificate {cert.subject.rfc4514_string()} valid only until"
                f" {cert.not_valid_after_utc.isoformat()} (from {cert.not_valid_before_utc.isoformat()})",
            )
        try:
            result = XMLVerifier().verify(xml, ca_pem_file=self.trust)
        except InvalidCertificate as e:
            return (
                "signer_untrusted",
                f"signing certificate {cert.subject.rfc4514_string()} not trusted: {e}",
            )
        except (InvalidSignature, InvalidInput) as e:
            return ("signature_invalid", f"{type(e).__name__}: {e}")
        if isinstance(result, list):  # several signatures: only one is expected
            return ("signature_invalid", "more than one signature")
        return result.signed_xml


def _same_process(found: str, wanted: str) -> bool:
    """`cenbii-procid-ubl::urn:…` and the bare `urn:…` name the same process."""
    return found.split("::")[-1] == wanted.split("::")[-1]


_resolvers: dict[int, Resolver] = {}


def resolver_for(settings: Settings) -> Resolver:
    """One resolver (and cache) per settings object in the process."""
    r = _resolvers.get(id(settings))
    if r is None:
        r = _resolvers[id(settings)] = Resolver(settings)
    return r


def capability_check(settings: Settings) -> Any:
    """The channel's check before a send: raise unless the receiver can take the document."""

    async def check(receiver: str, document_type: str, process: str) -> None:
        found = await resolver_for(settings).discover(receiver, document_type, process)
        if found.ok:
            return
        message = f"Peppol discovery: {found.outcome}: {found.detail}"
        raise PermanentError(message) if found.permanent else TransientError(message)

    return check
