"""Peppol channel: the UBL wrapped in a Standard Business Document Header, handed to an
access point through the `AccessPoint` adapter protocol (docs/peppol-access-point.md).

The SBDH carries the sender and receiver participant ids (`iso6523-actorid-upis`), the
document type id (root namespace + local name + CustomizationID + UBL version) and the
process id (ProfileID) read from the issued UBL itself, so they always match the document.
Its `InstanceIdentifier` is the delivery id: an access point must treat a resend with the
same InstanceIdentifier as the same message (that makes a crash-resend harmless).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from lxml import etree

from faktura.delivery.channel import Outgoing, PermanentError, SendResult, TransientError
from faktura.settings import DeliverySettings

SBDH_NS = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
CBC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
PARTICIPANT_SCHEME = "iso6523-actorid-upis"
DOCTYPE_SCHEME = "busdox-docid-qns"
PROCESS_SCHEME = "cenbii-procid-ubl"


@dataclass(frozen=True)
class Envelope:
    sender: str
    receiver: str
    document_type: str
    process: str
    instance_id: str
    xml: bytes
    #: The issued UBL alone, byte for byte (for APs that build their own SBDH).
    ubl: bytes = b""


@dataclass(frozen=True)
class Submitted:
    message_id: str
    evidence: dict[str, Any]
    #: The AP reports back by being asked (`Tracked.reports`), not by calling Faktura.
    poll: bool = False


@dataclass(frozen=True)
class Report:
    """Something an access point says about a sent message, in Faktura's words.

    kind: `receipt` (handed to the receiving AP), `mls` (the receiving AP's Message Level
    Status: code AP/AB accepted, RE rejected), `invoice_response` (the buyer's, UNCL 4343
    code), `failed` (the AP gave up sending). `key` names the report at the AP, so a report
    seen twice is applied once."""

    key: str
    kind: str
    code: str | None = None
    note: str | None = None
    evidence: dict[str, Any] | None = None


class Journal(Protocol):
    """Where an adapter keeps the AP's id for a delivery before it asks the AP to send, so
    that the attempt after a crash finds it (exactly once without help from the AP)."""

    async def recall(self) -> str | None: ...

    async def record(self, message_id: str) -> None: ...


class AccessPoint(Protocol):
    """What Faktura needs from an access point. Implementations: `HttpAccessPoint` (any AP
    speaking the documented HTTP contract), `faktura.delivery.sandbox.SandboxAccessPoint`,
    `faktura.delivery.einvoice_be.EInvoiceBeAccessPoint`, `faktura.delivery.phoss_ap.PhossAccessPoint`."""

    async def is_registered(self, participant: str, document_type: str) -> bool: ...

    async def submit(self, envelope: Envelope, journal: Journal | None = None) -> Submitted: ...


class Tracked(Protocol):
    """An access point whose statuses Faktura polls (`faktura.delivery.tracking`)."""

    async def reports(self, message_id: str) -> list[Report]: ...


def participant_id(party: dict[str, Any]) -> str | None:
    ep = party.get("endpoint") or {}
    if not ep.get("value") or not ep.get("scheme"):
        return None
    return f"{ep['scheme']}:{ep['value']}".lower()


def wrap(ubl: bytes, *, sender: str, receiver: str, instance_id: str, country: str | None = None) -> Envelope:
    doc = etree.fromstring(ubl)
    qname = etree.QName(doc)
    customization = doc.findtext(f"{{{CBC_NS}}}CustomizationID") or ""
    process = doc.findtext(f"{{{CBC_NS}}}ProfileID") or ""
    ubl_version = doc.findtext(f"{{{CBC_NS}}}UBLVersionID") or "2.1"
    document_type = f"{qname.namespace}::{qname.localname}##{customization}::{ubl_version}"

    def sub(parent: Any, tag: str, text: str | None = None, **attrs: str) -> Any:
        el = etree.SubElement(parent, f"{{{SBDH_NS}}}{tag}", **attrs)
        if text is not None:
            el.text = text
        return el

    root = etree.Element(f"{{{SBDH_NS}}}StandardBusinessDocument", nsmap={None: SBDH_NS})
    h = sub(root, "StandardBusinessDocumentHeader")
    sub(h, "HeaderVersion", "1.0")
    sub(sub(h, "Sender"), "Identifier", sender, Authority=PARTICIPANT_SCHEME)
    sub(sub(h, "Receiver"), "Identifier", receiver, Authority=PARTICIPANT_SCHEME)
    di = sub(h, "DocumentIdentification")
    sub(di, "Standard", qname.namespace)
    sub(di, "TypeVersion", ubl_version)
    sub(di, "InstanceIdentifier", instance_id)
    sub(di, "Type", qname.localname)
    sub(
        di,
        "CreationDateAndTime",
        dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    )
    scope = sub(h, "BusinessScope")
    for typ, value, ident in (
        ("DOCUMENTID", document_type, DOCTYPE_SCHEME),
        ("PROCESSID", process, PROCESS_SCHEME),
    ):
        s = sub(scope, "Scope")
        sub(s, "Type", typ)
        sub(s, "InstanceIdentifier", value)
        sub(s, "Identifier", ident)
    if country:
        s = sub(scope, "Scope")
        sub(s, "Type", "COUNTRY_C1")
        sub(s, "InstanceIdentifier", country)
    root.append(doc)
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return Envelope(sender, receiver, document_type, f"{PROCESS_SCHEME}::{process}", instance_id, xml, ubl)


class HttpAccessPointBase:
    """An AP's HTTP API. An operator-configured base URL is trusted; a tenant's (`policy`
    set) is checked against the outbound URL policy before every request, and the request
    goes to the checked address. Network errors, 5xx, 408 and 429 are transient."""

    label = "access point"
    policy: Any = None

    def __init__(self, base_url: str, headers: dict[str, str], timeout: float):
        self.base_url = base_url.rstrip("/")
        self.headers = headers
        self.timeout = timeout

    async def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        url, extensions, headers = self.base_url + path, {}, dict(self.headers)
        if self.policy is not None:
            from faktura.delivery.outbound import resolve

            target = await resolve(url, self.policy)
            url = str(target.url.copy_with(host=str(target.addresses[0])))
            headers["Host"] = target.url.netloc.decode("ascii")
            if not target.literal and target.url.scheme == "https":
                extensions["sni_hostname"] = target.host
        try:
            async with httpx.AsyncClient(timeout=self.timeout, headers=headers, follow_redirects=False) as c:
                r = await c.request(method, url, extensions=extensions, **kw)
        except httpx.HTTPError as e:
            raise TransientError(f"{self.label}: {type(e).__name__}: {e}") from None
        if r.status_code >= 500 or r.status_code in (408, 429):
            raise TransientError(f"{self.label}: HTTP {r.status_code}")
        if r.status_code == 401 and self.label != "access point":
            raise PermanentError(f"{self.label} refused the credentials (HTTP 401)")
        return r


class HttpAccessPoint(HttpAccessPointBase):
    """An access point reached over the HTTP contract in docs/peppol-access-point.md."""

    def __init__(self, base_url: str, token: str | None, timeout: float):
        super().__init__(base_url, {"Authorization": f"Bearer {token}"} if token else {}, timeout)

    async def is_registered(self, participant: str, document_type: str) -> bool:
        r = await self._request(
            "GET", f"/participants/{participant}", params={"document_type": document_type}
        )
        if r.status_code == 404:
            return False
        if r.status_code != 200:
            raise PermanentError(f"access point capability lookup: HTTP {r.status_code}")
        return bool(r.json().get("registered"))

    async def submit(self, envelope: Envelope, journal: Journal | None = None) -> Submitted:
        r = await self._request(
            "POST", "/messages", content=envelope.xml, headers={"Content-Type": "application/xml"}
        )
        if r.status_code not in (200, 201, 202):
            raise PermanentError(f"access point refused the message: HTTP {r.status_code} {r.text[:200]}")
        body = r.json()
        return Submitted(message_id=str(body["message_id"]), evidence=dict(body.get("evidence") or {}))


class NoAccessPoint:
    """Neither an access point nor the sandbox is configured: a Peppol send fails for good,
    saying so, instead of pretending to deliver."""

    REASON = (
        "no Peppol access point is configured (set FAKTURA_PEPPOL_AP_URL, or FAKTURA_PEPPOL_SANDBOX=1"
        " for the built-in sandbox)"
    )

    async def is_registered(self, participant: str, document_type: str) -> bool:
        raise PermanentError(self.REASON)

    async def submit(self, envelope: Envelope, journal: Journal | None = None) -> Submitted:
        raise PermanentError(self.REASON)


class PeppolChannel:
    name = "peppol"

    def __init__(
        self,
        settings: DeliverySettings,
        access_point: AccessPoint,
        journal: Callable[[Outgoing], Journal] | None = None,
        capability: Callable[[str, str, str], Awaitable[None]] | None = None,
    ):
        self.settings = settings
        self.ap = access_point
        self.journal = journal
        #: Native discovery (SML/SMP) instead of asking the AP; raises when it may not send.
        self.capability = capability

    async def send(self, message: Outgoing) -> SendResult:
        if message.syntax != "ubl":
            raise PermanentError(
                f"Peppol BIS Billing 3.0 carries UBL only; this invoice was issued in {message.syntax.upper()}"
                f" (profile {message.profile}): send it by e-mail or webhook"
            )
        sender = participant_id(message.seller)
        receiver = message.target.get("receiver") or participant_id(message.buyer)
        if not sender or not receiver:
            raise PermanentError("seller and buyer need a Peppol endpoint id (BT-34 / BT-49)")
        envelope = wrap(
            message.ubl.content,
            sender=sender,
            receiver=receiver,
            instance_id=str(message.delivery_id),
            country=(message.seller.get("address") or {}).get("country"),
        )
        ap = self.ap
        if message.tenant_settings.get("peppol_access_point"):
            from faktura.delivery.tenant_ap import access_point_of

            ap = access_point_of(self.settings, message.tenant_id, message.tenant_settings) or ap
        # Capability check: is the receiver registered for this document type?
        if self.capability is not None:
            await self.capability(receiver, envelope.document_type, envelope.process)
        elif not await ap.is_registered(receiver, envelope.document_type):
            raise PermanentError(f"receiver {receiver} is not registered for {envelope.document_type}")
        submitted = await ap.submit(envelope, self.journal(message) if self.journal else None)
        return SendResult(
            status="SENT",
            message_id=submitted.message_id,
            evidence={
                **submitted.evidence,
                **({"tracking": "poll"} if submitted.poll else {}),
                "sender": sender,
                "receiver": receiver,
                "document_type": envelope.document_type,
                "process": envelope.process,
                "instance_id": envelope.instance_id,
            },
        )


def new_message_id() -> str:
    return str(uuid.uuid4())
