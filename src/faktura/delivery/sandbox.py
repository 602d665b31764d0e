"""The built-in sandbox access point: enough of a Peppol network to walk the whole flow
locally. Only when switched on: `FAKTURA_PEPPOL_SANDBOX=1`, or by default for the embedded
database (no DATABASE_URL); FAKTURA_PEPPOL_AP_URL points Faktura at a real access point.
Its reports take no callback token: they are applied in-process.

- Capability lookup: every participant is registered for every document type, except
  `0208:1999999943` (a valid Belgian enterprise number) and ids containing `unregistered`,
  to try the refusal path.
- Submission: the SBDH is stored in `sandbox_ap_messages`, keyed by its InstanceIdentifier
  (a resend of the same delivery is the same message). Then, after
  `FAKTURA_SANDBOX_REPORT_DELAY` seconds, the sandbox reports a delivery receipt and, after
  another delay, an Invoice Response: `AP` (accepted), or `RE` when the document contains
  the text `SANDBOX-REJECT` (e.g. as buyer reference).
- Reports take the same path as a real access point's callback (`apply_inbound`).

Its HTTP face (`/sandbox/peppol-ap/...`) speaks the adapter contract of
docs/peppol-access-point.md, so `HttpAccessPoint` can be pointed at it too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
from lxml import etree

from faktura.delivery.peppol import SBDH_NS, Envelope, Journal, Submitted
from faktura.jobs import JobContext, enqueue
from faktura.settings import Settings

REPORT_JOB = "sandbox_ap.report"
UNREGISTERED = {"0208:1999999943"}


def registered(participant: str) -> bool:
    return participant.lower() not in UNREGISTERED and "unregistered" not in participant


def message_id_for(instance_id: str) -> str:
    return f"sandbox-{instance_id}"


async def store(conn: asyncpg.Connection, settings: Settings, envelope: Envelope) -> Submitted:
    mid = message_id_for(envelope.instance_id)
    async with conn.transaction():
        new = await conn.fetchval(
            "INSERT INTO sandbox_ap_messages (message_id, sender, receiver, document) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT DO NOTHING RETURNING true",
            mid,
            envelope.sender,
            envelope.receiver,
            envelope.xml,
        )
        if new:
            await enqueue(
                conn,
                REPORT_JOB,
                {"message_id": mid, "step": "receipt", "tries": 0},
                delay=dt.timedelta(seconds=settings.delivery.sandbox_report_delay),
            )
    return Submitted(
        message_id=mid,
        evidence={
            "access_point": "sandbox",
            "accepted_at": dt.datetime.now(dt.UTC).isoformat(),
            "duplicate": not new,
        },
    )


class SandboxAccessPoint:
    def __init__(self, pool: asyncpg.Pool, settings: Settings):
        self.pool = pool
        self.settings = settings

    async def is_registered(self, participant: str, document_type: str) -> bool:
        return registered(participant)

    async def submit(self, envelope: Envelope, journal: Journal | None = None) -> Submitted:
        async with self.pool.acquire() as conn:
            return await store(conn, self.settings, envelope)


def parse_envelope(xml: bytes) -> Envelope:
    root = etree.fromstring(xml)
    ns = {"s": SBDH_NS}

    def text(path: str) -> str:
        return str(root.xpath(f"string({path})", namespaces=ns))

    scope = "s:StandardBusinessDocumentHeader/s:BusinessScope/s:Scope"
    return Envelope(
        sender=text("s:StandardBusinessDocumentHeader/s:Sender/s:Identifier"),
        receiver=text("s:StandardBusinessDocumentHeader/s:Receiver/s:Identifier"),
        document_type=text(f"{scope}[s:Type='DOCUMENTID']/s:InstanceIdentifier"),
        process=text(f"{scope}[s:Type='PROCESSID']/s:InstanceIdentifier"),
        instance_id=text("s:StandardBusinessDocumentHeader/s:DocumentIdentification/s:InstanceIdentifier"),
        xml=xml,
    )


async def report(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The `sandbox_ap.report` job: the receipt, then the Invoice Response."""
    from faktura.delivery.service import apply_inbound

    mid = payload["message_id"]
    delay = dt.timedelta(seconds=ctx.settings.delivery.sandbox_report_delay)
    async with ctx.pool.acquire() as conn, conn.transaction():
        doc = await conn.fetchval("SELECT document FROM sandbox_ap_messages WHERE message_id = $1", mid)
        if doc is None:
            return
        if payload["step"] == "receipt":
            applied = await apply_inbound(conn, mid, "receipt", evidence={"access_point": "sandbox"})
            nxt = {"message_id": mid, "step": "invoice_response", "tries": 0}
        else:
            code = "RE" if b"SANDBOX-REJECT" in bytes(doc) else "AP"
            note = "Rejected by the sandbox buyer" if code == "RE" else None
            applied = await apply_inbound(
                conn, mid, "invoice_response", code, note, {"access_point": "sandbox"}
            )
            nxt = None
        if applied is None:
            # The sender has not recorded the message id yet (its commit races this job).
            if payload["tries"] < 20:
                await enqueue(conn, REPORT_JOB, {**payload, "tries": payload["tries"] + 1}, delay=delay)
            return
        await conn.execute(
            "UPDATE sandbox_ap_messages SET status = $2 WHERE message_id = $1", mid, payload["step"]
        )
        if nxt is not None:
            await enqueue(conn, REPORT_JOB, nxt, delay=delay)
