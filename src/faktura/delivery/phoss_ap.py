"""phoss-ap, the open-source access point (`FAKTURA_PEPPOL_AP_KIND=phoss-ap`), over its REST
API (`OutboundController`): every request carries the API token as `X-Token`.

`POST /api/outbound/submit-sbd` takes Faktura's SBD as it is (sender, receiver, document
type, process and C1 country are read from its header) and sends it at once; `GET
/api/outbound/status/{sbdhInstanceID}` returns the transaction (`OutboundTransactionResponse`):
`status` pending/sending/sent/failed/permanently_failed/rejected and `mlsStatus`
pending/received_ap/received_ab/received_re/not_applicable.

phoss-ap does not deduplicate a resend, and it knows a transaction by the SBDH instance
identifier Faktura chose (the delivery id). So every attempt first asks for the status of
that identifier: found → the message is (being) sent and is not submitted again. phoss-ap
has no webhooks: statuses are polled with backoff.
"""

from __future__ import annotations

from typing import Any

import httpx

from faktura.delivery.channel import PermanentError
from faktura.delivery.peppol import Envelope, HttpAccessPointBase, Journal, Report, Submitted

MLS_CODES = {"received_ap": "AP", "received_ab": "AB", "received_re": "RE"}


class PhossAccessPoint(HttpAccessPointBase):
    name = label = "phoss-ap"

    def __init__(self, base_url: str, token: str | None, timeout: float):
        super().__init__(base_url, {"X-Token": token} if token else {}, timeout)

    async def is_registered(self, participant: str, document_type: str) -> bool:
        # phoss-ap checks the receiver itself (SMP look-up) when sending; without native
        # discovery Faktura lets it.
        return True

    async def status(self, instance_id: str) -> dict[str, Any] | None:
        r = await self._request(
            "GET", f"/api/outbound/status/{instance_id}", params={"includeArchive": "true"}
        )
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            raise PermanentError(f"phoss-ap status look-up: HTTP {r.status_code}")
        return dict(r.json())

    async def submit(self, envelope: Envelope, journal: Journal | None = None) -> Submitted:
        known = await self.status(envelope.instance_id)
        if known is not None and known.get("status") not in ("rejected", "permanently_failed"):
            return self._submitted(envelope.instance_id, known, resumed=True)
        if known is not None:
            raise PermanentError(
                f"phoss-ap: transaction {known.get('id')} is {known.get('status')}: {known.get('errorDetails')}"
            )
        r = await self._request(
            "POST",
            "/api/outbound/submit-sbd",
            content=envelope.xml,
            headers={"Content-Type": "application/xml"},
        )
        if r.status_code == 404:
            raise PermanentError("phoss-ap: sending is disabled in its configuration (HTTP 404)")
        if r.status_code == 422:
            # Stored, but the first sending attempt failed; phoss-ap retries on its own.
            report = _json(r)
            known = await self.status(envelope.instance_id)
            if known is None:
                raise PermanentError(f"phoss-ap could not send: {report}")
            return self._submitted(envelope.instance_id, known, resumed=False, report=report)
        if r.status_code != 200:
            raise PermanentError(f"phoss-ap refused the SBD: HTTP {r.status_code} {r.text[:200]}")
        known = await self.status(envelope.instance_id) or {}
        return self._submitted(envelope.instance_id, known, resumed=False, report=_json(r))

    def _submitted(
        self, instance_id: str, tx: dict[str, Any], *, resumed: bool, report: Any = None
    ) -> Submitted:
        evidence: dict[str, Any] = {
            "access_point": self.name,
            "ap_transaction_id": tx.get("id"),
            "sbdh_instance_id": instance_id,
            "ap_status": tx.get("status"),
            "resumed_after_crash": resumed,
        }
        if report is not None:
            evidence["sending_report"] = report
        return Submitted(message_id=f"phoss-{instance_id}", evidence=evidence, poll=True)

    async def reports(self, message_id: str) -> list[Report]:
        instance_id = message_id.removeprefix("phoss-")
        tx = await self.status(instance_id)
        if tx is None:
            return []
        out: list[Report] = []
        evidence = {"access_point": self.name, "transaction": tx}
        if tx.get("status") == "sent":
            out.append(Report(key="sent", kind="receipt", evidence=evidence))
        elif tx.get("status") in ("permanently_failed", "rejected"):
            out.append(
                Report(key=tx["status"], kind="failed", note=tx.get("errorDetails"), evidence=evidence)
            )
        code = MLS_CODES.get(tx.get("mlsStatus") or "")
        if code is not None:
            out.append(Report(key=f"mls-{code}", kind="mls", code=code, evidence=evidence))
        return out


def _json(r: httpx.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return r.text[:500]
