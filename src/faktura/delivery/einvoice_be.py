"""The e-invoice.be access point (`FAKTURA_PEPPOL_AP_KIND=e-invoice-be`), over its public
REST API (OpenAPI 3.1 "e-invoice.be Peppol Access Point API" 1.1.0, bearer API key).

Sending is two steps: `POST /api/documents/ubl` uploads the issued UBL (not the SBDH: the AP
builds its own) as a DRAFT, `POST /api/documents/{id}/send` sends it. The AP does not
deduplicate, so the draft's id is written to the delivery (`Journal.record`) before the send
step; the attempt after a crash finds it and asks the AP about that document first: still a
DRAFT → send it; TRANSIT/SENT → it went out, nothing is sent again.

Statuses are read back from `GET /api/documents/{id}/timeline` (`send_success` → receipt,
`send_failed` → failed, `mlr_received` → the receiving AP's MLS, `imr_received` → the buyer's
Invoice Response), polled with backoff and fetched at once when a signed webhook arrives.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx

from faktura.delivery.channel import PermanentError
from faktura.delivery.peppol import Envelope, HttpAccessPointBase, Journal, Report, Submitted

#: Document states after which the document has left (or is leaving) the AP.
GONE_OUT = {"TRANSIT", "SENT"}
RESPONSE_CODES = {"AB", "IP", "UQ", "CA", "RE", "AP", "PD"}


def _code(details: dict[str, Any] | None) -> str | None:
    """The UNCL 4343 / MLS code in a timeline event's free-form `details` (the description
    leaves them open; these are the keys looked at, in order)."""
    for key in ("response_code", "code", "status"):
        value = (details or {}).get(key)
        if isinstance(value, str) and value.upper() in RESPONSE_CODES:
            return value.upper()
    return None


def signature_ok(secret: str, body: bytes, header: str) -> bool:
    """A webhook is authentic when its signature header is the HMAC-SHA256 of the raw body
    under the webhook's secret (hex, optionally prefixed `sha256=`)."""
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    given = header.strip().removeprefix("sha256=")
    return bool(given) and hmac.compare_digest(given.lower(), expected)


class EInvoiceBeAccessPoint(HttpAccessPointBase):
    name = label = "e-invoice.be"

    def __init__(self, base_url: str, api_key: str | None, timeout: float):
        super().__init__(base_url, {"Authorization": f"Bearer {api_key}"} if api_key else {}, timeout)

    @staticmethod
    def _refused(what: str, r: httpx.Response) -> PermanentError:
        try:
            detail = r.json().get("detail")
        except ValueError:
            detail = r.text[:200]
        return PermanentError(f"e-invoice.be refused {what}: HTTP {r.status_code} {detail}")

    async def is_registered(self, participant: str, document_type: str) -> bool:
        r = await self._request("GET", "/api/lookup", params={"peppol_id": participant})
        if r.status_code != 200:
            raise self._refused("the participant look-up", r)
        body = r.json()
        types = [
            dt.get("value")
            for ep in (body.get("serviceMetadata") or {}).get("endpoints") or []
            for dt in ep.get("documentTypes") or []
        ]
        return document_type in types

    async def document(self, document_id: str) -> dict[str, Any] | None:
        r = await self._request("GET", f"/api/documents/{document_id}")
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            raise self._refused("the document look-up", r)
        return dict(r.json())

    async def submit(self, envelope: Envelope, journal: Journal | None = None) -> Submitted:
        document_id = await journal.recall() if journal else None
        state = None
        if document_id is not None:
            doc = await self.document(document_id)
            state = doc.get("state") if doc else None
            if doc is None:
                document_id = None  # the draft is gone (deleted at the AP): upload again
            elif state in GONE_OUT:
                return self._submitted(document_id, state, resumed=True)
            elif state == "FAILED":
                raise PermanentError(f"e-invoice.be document {document_id} is FAILED")
        if document_id is None:
            r = await self._request(
                "POST",
                "/api/documents/ubl",
                files={"file": (f"{envelope.instance_id}.xml", envelope.ubl, "application/xml")},
            )
            if r.status_code != 201:
                raise self._refused("the UBL", r)
            document_id = str(r.json()["id"])
            if journal is not None:
                await journal.record(document_id)
        sender_scheme, _, sender_id = envelope.sender.partition(":")
        receiver_scheme, _, receiver_id = envelope.receiver.partition(":")
        r = await self._request(
            "POST",
            f"/api/documents/{document_id}/send",
            params={
                "sender_peppol_scheme": sender_scheme,
                "sender_peppol_id": sender_id,
                "receiver_peppol_scheme": receiver_scheme,
                "receiver_peppol_id": receiver_id,
            },
        )
        if r.status_code != 200:
            raise self._refused("to send the document", r)
        return self._submitted(document_id, r.json().get("state"), resumed=state is not None)

    def _submitted(self, document_id: str, state: Any, *, resumed: bool) -> Submitted:
        return Submitted(
            message_id=document_id,
            evidence={
                "access_point": self.name,
                "ap_document_id": document_id,
                "ap_state": state,
                "resumed_after_crash": resumed,
            },
            poll=True,
        )

    async def reports(self, message_id: str) -> list[Report]:
        r = await self._request("GET", f"/api/documents/{message_id}/timeline")
        if r.status_code != 200:
            raise self._refused("the timeline look-up", r)
        out: list[Report] = []
        for i, ev in enumerate(r.json().get("events") or []):
            kind = {
                "send_success": "receipt",
                "send_failed": "failed",
                "mlr_received": "mls",
                "imr_received": "invoice_response",
            }.get(ev.get("event_type"))
            if kind is None:
                continue
            details = ev.get("details") or {}
            code = _code(details)
            if kind == "invoice_response" and code is None:
                continue  # an Invoice Response without a code we know: nothing to apply
            out.append(
                Report(
                    key=str(ev.get("id") or f"{ev.get('event_type')}-{ev.get('timestamp')}-{i}"),
                    kind=kind,
                    code=code,
                    note=details.get("note") or details.get("error"),
                    evidence={"access_point": self.name, "event": ev},
                )
            )
        return out
