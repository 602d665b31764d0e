"""The delivery state machine: request (API transaction) → claim → send → settle.

    QUEUED ──claim──▶ SENDING ──ok──▶ SENT ──receipt──▶ DELIVERED ──response──▶ ACCEPTED | REJECTED
       ▲                 │ (webhook 2xx goes straight to DELIVERED)
       └──retry (backoff)┤
                         └──permanent error or last attempt──▶ FAILED

Delivery guarantees. The row, not the queue, is the source of truth: a job only names a
delivery. Claiming moves QUEUED → SENDING and sets a lease longer than the send timeout, in
a committed transaction, before any byte goes out; a second job for the same delivery (a
re-picked stale job, a duplicate) finds SENDING with a live lease and steps back, or a
terminal status and does nothing. A worker killed mid-send leaves SENDING behind; pgqueuer
re-picks the job once its heartbeat is stale, the lease has run out, and the send is
retried as the next attempt. So sends are at-least-once, and exactly-once whenever the
crash happens before the peer accepted the message. The one window left — the peer has
accepted, the worker dies before committing SENT — is closed by the delivery key each
channel sends (e-mail Message-ID, SBDH InstanceIdentifier, `Faktura-Delivery-Id`), which
is the same on every attempt, so the receiver can drop the duplicate (Peppol access
points must; the sandbox does). See docs/delivery.md.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import random
import uuid
from typing import Any

import asyncpg

from faktura.delivery import events
from faktura.delivery.channel import Attachment, Channel, Outgoing, PermanentError
from faktura.delivery.email import EmailChannel
from faktura.delivery.peppol import AccessPoint, HttpAccessPoint, NoAccessPoint, PeppolChannel, participant_id
from faktura.delivery.recheck import recheck
from faktura.delivery.webhook import WebhookChannel
from faktura.jobs import JobContext, enqueue
from faktura.metrics import DELIVERY_TRANSITIONS
from faktura.settings import DeliverySettings, Settings

log = logging.getLogger("faktura.delivery")

SEND_JOB = "delivery.send"
CHANNELS = ("peppol", "email", "webhook", "afnor-pa")
COLUMNS = (
    "id, invoice_id, channel, status, target, attempts, max_attempts, lease_until, message_id, evidence,"
    " response_code, last_error, forced, created_at, modified_at, rule_check"
)
TERMINAL = {"SENT", "DELIVERED", "ACCEPTED", "REJECTED", "FAILED"}
RANK = {"QUEUED": 0, "SENDING": 1, "SENT": 2, "DELIVERED": 3, "ACCEPTED": 4, "REJECTED": 4, "FAILED": 4}
STATUS_EVENTS = {
    "QUEUED": "delivery.queued",
    "SENDING": "delivery.sending",
    "SENT": "invoice.sent",
    "DELIVERED": "invoice.delivered",
    "ACCEPTED": "invoice.accepted",
    "REJECTED": "invoice.rejected",
    "FAILED": "invoice.failed",
}
#: Peppol Invoice Response (UNCL 4343 subset) → delivery status; None: informational.
RESPONSE_CODES: dict[str, str | None] = {
    "AB": None,  # message acknowledged
    "IP": None,  # in process
    "UQ": None,  # under query
    "CA": None,  # conditionally accepted
    "RE": "REJECTED",
    "AP": "ACCEPTED",
    "PD": "ACCEPTED",  # fully paid: accepted, and the buyer says it paid
}


class SendRefused(Exception):
    def __init__(self, status: int, title: str, detail: str, pointer: str = ""):
        super().__init__(detail)
        self.status, self.title, self.detail, self.pointer = status, title, detail, pointer


def view(row: Any) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "invoice": str(row["invoice_id"]),
        "channel": row["channel"],
        "status": row["status"],
        "target": row["target"],
        "attempts": row["attempts"],
        "max_attempts": row["max_attempts"],
        "message_id": row["message_id"],
        "evidence": row["evidence"],
        "response_code": row["response_code"],
        "last_error": row["last_error"],
        "forced": row["forced"],
        "rule_check": row["rule_check"],
        "created_at": row["created_at"],
        "modified_at": row["modified_at"],
    }


def backoff(attempt: int, cfg: DeliverySettings) -> float:
    """Exponential backoff with equal jitter: half fixed, half random, capped."""
    delay = min(cfg.retry_cap, cfg.retry_base * 2 ** (attempt - 1))
    return delay / 2 + random.uniform(0, delay / 2)


# -- request side (the API's transaction) ----------------------------------------------------


async def request_send(
    conn: asyncpg.Connection,
    settings: Settings,
    tenant_id: uuid.UUID,
    invoice_id: uuid.UUID,
    channel: str,
    *,
    force: bool = False,
    to: str | None = None,
    url: str | None = None,
    addressee: dict[str, Any] | None = None,
) -> tuple[Any, bool]:
    """Queue a delivery (and its job) in the caller's transaction. Returns (row, created).
    Without `force`, an existing delivery of the invoice on the channel that has not FAILED
    is returned instead of a new one."""
    inv = await conn.fetchrow(
        "SELECT status, issued, contact_id, model FROM invoices WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE",
        tenant_id,
        invoice_id,
    )
    if inv is None:
        raise SendRefused(404, "Not Found", "Invoice not found.")
    if inv["status"] == "DRAFT":
        raise SendRefused(409, "Conflict", "Issue the invoice before sending it.")
    buyer = inv["issued"]["buyer"]
    contact: dict[str, Any] = {}
    if inv["contact_id"] is not None:
        contact = (
            await conn.fetchval(
                "SELECT data FROM contacts WHERE tenant_id = $1 AND id = $2", tenant_id, inv["contact_id"]
            )
            or {}
        )
    if channel == "auto":  # Peppol BIS carries UBL only: a CII invoice goes by e-mail
        ubl = (inv["issued"].get("xml") or {}).get("syntax", "ubl") == "ubl"
        channel = "peppol" if participant_id(buyer) and ubl else "email"
    if not force:
        existing = await conn.fetchrow(
            f"SELECT {COLUMNS} FROM deliveries WHERE tenant_id = $1 AND invoice_id = $2 AND channel = $3"
            " AND status <> 'FAILED' ORDER BY created_at DESC LIMIT 1",
            tenant_id,
            invoice_id,
            channel,
        )
        if existing is not None:
            return existing, False
    target: dict[str, Any]
    if channel == "email":
        address = to or contact.get("email") or (buyer.get("contact") or {}).get("email")
        if not address:
            raise SendRefused(
                422, "Missing Required Field", "No e-mail address on the contact; give `to`.", "/to"
            )
        target = {"to": address}
    elif channel == "webhook":
        hook = url or contact.get("webhook_url")
        if not hook:
            raise SendRefused(
                422, "Missing Required Field", "No webhook_url on the contact; give `url`.", "/url"
            )
        target = {"url": hook}
        await _ensure_webhook_secret(conn, tenant_id)
    elif channel == "afnor-pa":
        # the buyer's directory line, as the Directory Service gave it before the request
        target = {"addressee": addressee or {}}
    else:
        receiver = participant_id(buyer)
        if not receiver:
            raise SendRefused(
                422, "Missing Required Field", "The buyer has no Peppol endpoint id (BT-49).", "/channel"
            )
        target = {"receiver": receiver}
    delivery_id = uuid.uuid4()
    early = await conn.fetchval("SELECT data->'early_rule_versions' FROM tenants WHERE id = $1", tenant_id)
    rule_check = recheck(inv["model"], inv["issued"], settings.check_day(), tuple(early or ()))
    row = await conn.fetchrow(
        "INSERT INTO deliveries (tenant_id, id, invoice_id, channel, status, target, max_attempts, forced, rule_check)"
        f" VALUES ($1, $2, $3, $4, 'QUEUED', $5, $6, $7, $8) RETURNING {COLUMNS}",
        tenant_id,
        delivery_id,
        invoice_id,
        channel,
        target,
        settings.delivery.max_attempts,
        force,
        rule_check,
    )
    await events.record(
        conn,
        tenant_id,
        invoice_id,
        "delivery.queued",
        {"channel": channel, "status": "QUEUED", "target": target},
        delivery_id=delivery_id,
    )
    backlog = await conn.fetchval(_QUEUED_BEFORE, tenant_id, FAIR_SHARE_DEPTH)
    payload = {"tenant_id": str(tenant_id), "delivery_id": str(delivery_id)}
    await enqueue(conn, SEND_JOB, payload, priority=-backlog)
    return row, True


#: How far back a tenant's queue of sends is counted for its next send's place (see below).
FAIR_SHARE_DEPTH = 1000
#: A send's place among everyone's: its tenant's other queued deliveries (up to the depth).
#: The queue picks the highest priority first, so the k-th waiting send of every tenant goes
#: before anyone's (k+1)-th: tenants take turns, and a tenant sending one invoice is not
#: queued behind another's month-end run. The partial index of migration 0013 keeps the
#: count to the tenant's queued rows, at most the depth.
_QUEUED_BEFORE = "SELECT count(*)::int - 1 FROM (SELECT FROM deliveries WHERE tenant_id = $1 AND status = 'QUEUED' LIMIT $2) q"


async def _ensure_webhook_secret(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> None:
    from faktura.delivery.signing import new_secret

    await conn.execute(
        "INSERT INTO delivery_settings (tenant_id, data) VALUES ($1, $2) ON CONFLICT (tenant_id) DO UPDATE"
        " SET data = delivery_settings.data || $2 WHERE NOT delivery_settings.data ? 'webhook_secret'",
        tenant_id,
        {"webhook_secret": new_secret()},
    )


# -- invoice status --------------------------------------------------------------------------


async def move_invoice(
    conn: asyncpg.Connection,
    tenant_id: uuid.UUID | str,
    invoice_id: uuid.UUID,
    to: str,
    allowed_from: tuple[str, ...],
    **data: Any,
) -> bool:
    """Change the invoice status if it is in `allowed_from`; the change is an event."""
    old = await conn.fetchval(
        "SELECT status FROM invoices WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE",
        tenant_id,
        invoice_id,
    )
    if old not in allowed_from or old == to:
        return False
    await conn.execute(
        "UPDATE invoices SET status = $3, modified_at = clock_timestamp() WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        invoice_id,
        to,
    )
    await events.record(
        conn, tenant_id, invoice_id, "invoice.status_changed", {"from": old, "to": to, **data}
    )
    return True


# -- worker side ----------------------------------------------------------------------------


def access_point(ctx: JobContext) -> AccessPoint:
    """The configured access point; the sandbox only when it is switched on."""
    cfg = ctx.settings.delivery
    if cfg.peppol_ap_url and cfg.peppol_ap_kind == "e-invoice-be":
        from faktura.delivery.einvoice_be import EInvoiceBeAccessPoint

        return EInvoiceBeAccessPoint(cfg.peppol_ap_url, cfg.peppol_ap_token, cfg.send_timeout)
    if cfg.peppol_ap_url and cfg.peppol_ap_kind == "phoss-ap":
        from faktura.delivery.phoss_ap import PhossAccessPoint

        return PhossAccessPoint(cfg.peppol_ap_url, cfg.peppol_ap_token, cfg.send_timeout)
    if cfg.peppol_ap_url:
        return HttpAccessPoint(cfg.peppol_ap_url, cfg.peppol_ap_token, cfg.send_timeout)
    if not cfg.sandbox:
        return NoAccessPoint()
    from faktura.delivery.sandbox import SandboxAccessPoint

    return SandboxAccessPoint(ctx.pool, ctx.settings)


def channel_for(name: str, ctx: JobContext) -> Channel:
    cfg = ctx.settings.delivery
    if name == "email":
        return EmailChannel(cfg)
    if name == "webhook":
        return WebhookChannel(cfg)
    if name == "afnor-pa":
        from faktura.delivery import afnor_pa_jobs

        return afnor_pa_jobs.channel(ctx)  # type: ignore[no-any-return]
    from faktura.delivery.tracking import DeliveryJournal

    capability = None
    if cfg.peppol_discovery:
        from faktura.delivery.discovery import capability_check

        capability = capability_check(ctx.settings)
    return PeppolChannel(
        cfg,
        access_point(ctx),
        journal=lambda m: DeliveryJournal(ctx, m.tenant_id, m.delivery_id),
        capability=capability,
    )


async def _documents(
    conn: asyncpg.Connection, settings: Settings, tenant_id: uuid.UUID, invoice_id: uuid.UUID
) -> list[tuple[str, bytes]]:
    """(media type, bytes) of the UBL and, once rendered, the PDF — from the archive, checked
    against the archive entry's hash; the UBL falls back to the issuing row."""
    from faktura.archive import entries_for_invoice, open_store
    from faktura.archive.deferred import read_object

    entries = {e.kind: e for e in await entries_for_invoice(conn, tenant_id, invoice_id)}
    out: list[tuple[str, bytes]] = []
    store = open_store(settings) if entries else None
    xml_kind = "cii" if "cii" in entries else "ubl"  # the issued XML is in one syntax
    for kind in (xml_kind, "pdf"):
        e = entries.get(kind)
        if e is not None and store is not None:
            content = await read_object(conn, store, e)  # the UBL's object may still be pending
            if hashlib.sha256(content).hexdigest() != e.sha256:
                raise RuntimeError(f"archived {kind} of invoice {invoice_id} does not match its entry")
            out.append((e.media_type, content))
        elif kind != "pdf":
            row = await conn.fetchrow(
                "SELECT media_type, content FROM invoice_documents WHERE tenant_id = $1 AND invoice_id = $2"
                " AND kind IN ('ubl', 'cii')",
                tenant_id,
                invoice_id,
            )
            out.append((row["media_type"], bytes(row["content"])))
    return out


async def _load(conn: asyncpg.Connection, settings: Settings, tenant_id: uuid.UUID, d: Any) -> Outgoing:
    inv = await conn.fetchrow(
        "SELECT number, document_type, issued, issue_date, currency, total_amount, contact_id FROM invoices"
        " WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        d["invoice_id"],
    )
    docs = await _documents(conn, settings, tenant_id, d["invoice_id"])
    tenant_settings = (
        await conn.fetchval("SELECT data FROM delivery_settings WHERE tenant_id = $1", tenant_id) or {}
    )
    tenant = await conn.fetchval("SELECT data FROM tenants WHERE id = $1", tenant_id) or {}
    language = None
    if inv["contact_id"] is not None:
        language = await conn.fetchval(
            "SELECT data->>'language' FROM contacts WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            inv["contact_id"],
        )
    stem = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in inv["number"])
    ext = {"application/xml": "xml", "application/pdf": "pdf"}
    return Outgoing(
        delivery_id=d["id"],
        tenant_id=tenant_id,
        invoice_id=d["invoice_id"],
        number=inv["number"],
        document_type=inv["document_type"],
        profile=inv["issued"]["profile"],
        issue_date=inv["issue_date"].isoformat(),
        currency=inv["currency"],
        total=str(inv["total_amount"]),
        seller=inv["issued"]["seller"],
        buyer=inv["issued"]["buyer"],
        language=language or tenant.get("language") or "en",
        target=d["target"],
        documents=[Attachment(f"{stem}.{ext.get(mt, 'bin')}", mt, content) for mt, content in docs],
        tenant_settings=tenant_settings,
        syntax=(inv["issued"].get("xml") or {}).get("syntax", "ubl"),
        conformance_level=(inv["issued"].get("xml") or {}).get("conformance_level"),
    )


async def _event(conn: asyncpg.Connection, tenant_id: Any, d: Any, status: str, **data: Any) -> None:
    DELIVERY_TRANSITIONS.labels(d["channel"], status).inc()
    await events.record(
        conn,
        tenant_id,
        d["invoice_id"],
        STATUS_EVENTS[status],
        {"channel": d["channel"], "status": status, **data},
        delivery_id=d["id"],
    )


async def run_delivery(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The `delivery.send` job."""
    tenant_id = uuid.UUID(payload["tenant_id"])
    delivery_id = uuid.UUID(payload["delivery_id"])
    cfg = ctx.settings.delivery
    async with ctx.tenant(tenant_id) as conn:
        d = await conn.fetchrow(
            f"SELECT {COLUMNS}, lease_until > clock_timestamp() AS leased FROM deliveries"
            " WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
            tenant_id,
            delivery_id,
        )
        if d is None or d["status"] in TERMINAL:
            return  # already settled: a duplicate or re-picked job does nothing
        if d["status"] == "SENDING" and d["leased"]:
            # Another worker holds the lease (or one died holding it): look again after it.
            left = (d["lease_until"] - dt.datetime.now(dt.UTC)).total_seconds()
            await enqueue(conn, SEND_JOB, payload, delay=dt.timedelta(seconds=max(left, 0) + 0.5))
            return
        attempt = d["attempts"] + 1
        d = await conn.fetchrow(
            "UPDATE deliveries SET status = 'SENDING', attempts = $3, modified_at = clock_timestamp(),"
            f" lease_until = clock_timestamp() + make_interval(secs => $4) WHERE tenant_id = $1 AND id = $2"
            f" RETURNING {COLUMNS}",
            tenant_id,
            delivery_id,
            attempt,
            cfg.lease,
        )
        await _event(conn, tenant_id, d, "SENDING", attempt=attempt)
        message = await _load(conn, ctx.settings, tenant_id, d)
    channel = channel_for(d["channel"], ctx)
    error: str | None = None
    permanent = False
    result = None
    try:
        result = await asyncio.wait_for(channel.send(message), cfg.send_timeout)
    except PermanentError as e:
        error, permanent = str(e), True
    except Exception as e:  # transient by default: retried with backoff
        error = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    try:
        await _settle(ctx, tenant_id, delivery_id, attempt, result, error, permanent)
    except Exception:
        # The send happened (or failed) but recording it did not: come back after the lease.
        log.exception("settling delivery %s failed; retrying after the lease", delivery_id)
        async with ctx.pool.acquire() as conn:
            await enqueue(conn, SEND_JOB, payload, delay=dt.timedelta(seconds=cfg.lease + 1))


async def _settle(
    ctx: JobContext,
    tenant_id: uuid.UUID,
    delivery_id: uuid.UUID,
    attempt: int,
    result: Any,
    error: str | None,
    permanent: bool,
) -> None:
    cfg = ctx.settings.delivery
    async with ctx.tenant(tenant_id) as conn:
        d = await conn.fetchrow(
            f"SELECT {COLUMNS} FROM deliveries WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
            tenant_id,
            delivery_id,
        )
        if d["status"] != "SENDING" or d["attempts"] != attempt:
            log.warning("delivery %s attempt %s lost its lease; not recording", delivery_id, attempt)
            return
        if result is not None:
            d = await conn.fetchrow(
                "UPDATE deliveries SET status = $3, message_id = $4, evidence = $5, last_error = NULL,"
                " lease_until = NULL, modified_at = clock_timestamp() WHERE tenant_id = $1 AND id = $2"
                f" RETURNING {COLUMNS}",
                tenant_id,
                delivery_id,
                result.status,
                result.message_id,
                result.evidence,
            )
            await _event(conn, tenant_id, d, "SENT", attempt=attempt, message_id=result.message_id)
            if result.status == "DELIVERED":
                await _event(conn, tenant_id, d, "DELIVERED", attempt=attempt)
            await archive_evidence(conn, tenant_id, d, "sent", result.evidence)
            if result.evidence.get("tracking") == "poll":
                from faktura.delivery import tracking

                await tracking.start(conn, ctx.settings, tenant_id, delivery_id)
            elif result.evidence.get("tracking") == "pa":
                from faktura.delivery import afnor_pa_jobs

                await afnor_pa_jobs.start(conn, ctx.settings, tenant_id, d, result.evidence)
            await move_invoice(
                conn, tenant_id, d["invoice_id"], "SUBMITTED", ("OPEN",), delivery_id=str(delivery_id)
            )
            return
        if permanent or attempt >= d["max_attempts"]:
            d = await conn.fetchrow(
                "UPDATE deliveries SET status = 'FAILED', last_error = $3, lease_until = NULL,"
                f" modified_at = clock_timestamp() WHERE tenant_id = $1 AND id = $2 RETURNING {COLUMNS}",
                tenant_id,
                delivery_id,
                error,
            )
            await _event(conn, tenant_id, d, "FAILED", attempt=attempt, error=error, permanent=permanent)
            return
        delay = backoff(attempt, cfg)
        retry_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=delay)
        d = await conn.fetchrow(
            "UPDATE deliveries SET status = 'QUEUED', last_error = $3, lease_until = NULL,"
            f" modified_at = clock_timestamp() WHERE tenant_id = $1 AND id = $2 RETURNING {COLUMNS}",
            tenant_id,
            delivery_id,
            error,
        )
        await events.record(
            conn,
            tenant_id,
            d["invoice_id"],
            "delivery.retry_scheduled",
            {
                "channel": d["channel"],
                "status": "QUEUED",
                "attempt": attempt,
                "error": error,
                "retry_at": retry_at.isoformat(),
            },
            delivery_id=delivery_id,
        )
        await enqueue(
            conn,
            SEND_JOB,
            {"tenant_id": str(tenant_id), "delivery_id": str(delivery_id)},
            delay=dt.timedelta(seconds=delay),
        )


async def archive_evidence(
    conn: asyncpg.Connection, tenant_id: Any, d: Any, what: str, evidence: Any
) -> None:
    """Delivery evidence is stored next to the invoice's documents (write-once)."""
    import msgspec

    content = msgspec.json.encode(
        {
            "delivery_id": str(d["id"]),
            "channel": d["channel"],
            "what": what,
            "message_id": d["message_id"],
            "evidence": evidence,
        }
    )
    await conn.execute(
        "INSERT INTO invoice_documents (tenant_id, invoice_id, kind, media_type, content, sha256, size)"
        " VALUES ($1, $2, $3, 'application/json', $4, $5, $6) ON CONFLICT DO NOTHING",
        tenant_id,
        d["invoice_id"],
        f"evidence/{d['id']}/{what}",
        content,
        hashlib.sha256(content).hexdigest(),
        len(content),
    )


# -- inbound: access point callbacks ---------------------------------------------------------


async def apply_inbound(
    conn: asyncpg.Connection,
    message_id: str,
    kind: str,
    code: str | None = None,
    note: str | None = None,
    evidence: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """A delivery receipt or an Invoice Response for a sent message, in the caller's
    transaction (scoped to the message's tenant here). None: unknown message id."""
    tenant_id = await conn.fetchval("SELECT faktura_scope_to_message($1)", message_id)
    if tenant_id is None:
        return None
    d = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM deliveries WHERE tenant_id = $1 AND message_id = $2 FOR UPDATE",
        tenant_id,
        message_id,
    )
    target = (
        {
            "receipt": "DELIVERED",
            "failed": "FAILED",
            # the receiving AP's Message Level Status: RE means the buyer never got it
            "mls": "REJECTED" if code == "RE" else "DELIVERED",
        }.get(kind)
        or RESPONSE_CODES[code or ""]
        or "DELIVERED"
    )
    data: dict[str, Any] = {
        "source": kind,
        **({"code": code} if code else {}),
        **({"note": note} if note else {}),
    }
    if d["status"] != "FAILED" and RANK[target] > RANK[d["status"]]:
        d = await conn.fetchrow(
            "UPDATE deliveries SET status = $3, response_code = coalesce($4, response_code),"
            f" modified_at = clock_timestamp() WHERE tenant_id = $1 AND id = $2 RETURNING {COLUMNS}",
            tenant_id,
            d["id"],
            target,
            code if kind == "invoice_response" else None,
        )
        await _event(conn, tenant_id, d, target, **data)
        if target != "FAILED":
            await move_invoice(
                conn, tenant_id, d["invoice_id"], "SUBMITTED", ("OPEN",), delivery_id=str(d["id"])
            )
    else:
        await events.record(
            conn,
            tenant_id,
            d["invoice_id"],
            {
                "invoice_response": "peppol.invoice_response",
                "mls": "peppol.mls",
                "failed": "peppol.failed",
            }.get(kind, "peppol.receipt"),
            {"channel": d["channel"], "status": d["status"], **data},
            delivery_id=d["id"],
        )
    await archive_evidence(conn, tenant_id, d, f"{kind}-{code or 'receipt'}", {**(evidence or {}), **data})
    return view(d)
