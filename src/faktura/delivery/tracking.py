"""Following a message after an access point took it: the delivery's journal (the AP's id,
written before the send step) and the `peppol_ap.track` job that asks the AP for news with
backoff and applies each report once through the same path as a callback (`apply_inbound`).

The job starts in the transaction that records SENT, so it never races the send. It stops
when the delivery is final (ACCEPTED, REJECTED, FAILED) or after `peppol_ap_poll_for`
seconds; a signed webhook from the AP (e-invoice.be) runs it at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

import asyncpg

from faktura.delivery.channel import PermanentError
from faktura.delivery.peppol import Report
from faktura.jobs import JobContext, enqueue

log = logging.getLogger("faktura.delivery")

TRACK_JOB = "peppol_ap.track"
FINAL = {"ACCEPTED", "REJECTED", "FAILED"}


class DeliveryJournal:
    """The delivery row's `message_id`, set while the delivery is SENDING."""

    def __init__(self, ctx: JobContext, tenant_id: uuid.UUID, delivery_id: uuid.UUID):
        self.ctx, self.tenant_id, self.delivery_id = ctx, tenant_id, delivery_id

    async def recall(self) -> str | None:
        async with self.ctx.tenant(self.tenant_id) as conn:
            value = await conn.fetchval(
                "SELECT message_id FROM deliveries WHERE tenant_id = $1 AND id = $2",
                self.tenant_id,
                self.delivery_id,
            )
        return str(value) if value is not None else None

    async def record(self, message_id: str) -> None:
        async with self.ctx.tenant(self.tenant_id) as conn:
            await conn.execute(
                "UPDATE deliveries SET message_id = $3, modified_at = clock_timestamp()"
                " WHERE tenant_id = $1 AND id = $2",
                self.tenant_id,
                self.delivery_id,
                message_id,
            )


async def start(conn: asyncpg.Connection, ctx_settings: Any, tenant_id: Any, delivery_id: Any) -> None:
    cfg = ctx_settings.delivery
    await enqueue(
        conn,
        TRACK_JOB,
        {
            "tenant_id": str(tenant_id),
            "delivery_id": str(delivery_id),
            "tries": 0,
            "since": dt.datetime.now(dt.UTC).isoformat(),
        },
        delay=dt.timedelta(seconds=cfg.peppol_ap_poll_interval),
    )


async def poke(conn: asyncpg.Connection, message_id: str) -> bool:
    """Run the tracking of `message_id` now (an AP's webhook said something changed)."""
    tenant_id = await conn.fetchval("SELECT faktura_scope_to_message($1)", message_id)
    if tenant_id is None:
        return False
    delivery_id = await conn.fetchval(
        "SELECT id FROM deliveries WHERE tenant_id = $1 AND message_id = $2", tenant_id, message_id
    )
    await enqueue(
        conn,
        TRACK_JOB,
        {"tenant_id": str(tenant_id), "delivery_id": str(delivery_id), "tries": 0, "poke": True},
    )
    return True


def next_delay(tries: int, interval: float, cap: float) -> float:
    """Doubling from the poll interval, capped."""
    return float(min(cap, interval * 2 ** min(tries, 30)))


async def track(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The `peppol_ap.track` job."""
    from faktura.delivery.service import access_point, apply_inbound

    cfg = ctx.settings.delivery
    tenant_id = uuid.UUID(payload["tenant_id"])
    async with ctx.tenant(tenant_id) as conn:
        d = await conn.fetchrow(
            "SELECT status, message_id FROM deliveries WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            uuid.UUID(payload["delivery_id"]),
        )
        tenant_conf = await conn.fetchval(
            "SELECT data FROM delivery_settings WHERE tenant_id = $1", tenant_id
        )
    if d is None or d["status"] in FINAL or d["message_id"] is None:
        return
    ap: Any = access_point(ctx)
    if tenant_conf:
        from faktura.delivery.tenant_ap import access_point_of

        ap = access_point_of(cfg, tenant_id, tenant_conf) or ap
    reports: list[Report] = []
    if d["status"] != "SENDING" and hasattr(ap, "reports"):
        try:
            reports = await ap.reports(d["message_id"])
        except PermanentError as e:
            log.warning("tracking %s stopped: %s", d["message_id"], e)
            return
        except Exception as e:  # transient: ask again later
            log.info("tracking %s: %s", d["message_id"], e)
    status = d["status"]
    async with ctx.tenant(tenant_id) as conn:
        for rep in reports:
            what = f"evidence/{payload['delivery_id']}/{rep.kind}-{rep.code or 'receipt'}"
            if await conn.fetchval(
                "SELECT true FROM invoice_documents WHERE tenant_id = $1 AND kind = $2", tenant_id, what
            ):
                continue  # applied before (by an earlier poll or a webhook's poke)
            applied = await apply_inbound(
                conn, d["message_id"], rep.kind, rep.code, rep.note, rep.evidence or {}
            )
            if applied is not None:
                status = applied["status"]
        if payload.get("poke"):
            return  # the regular tracking job keeps going; a poke only looks once
        since = dt.datetime.fromisoformat(payload.get("since") or dt.datetime.now(dt.UTC).isoformat())
        if status in FINAL or (dt.datetime.now(dt.UTC) - since).total_seconds() > cfg.peppol_ap_poll_for:
            return
        await poll_again(conn, TRACK_JOB, payload, cfg)


async def poll_again(conn: asyncpg.Connection, job: str, payload: dict[str, Any], cfg: Any) -> None:
    """Schedule the next look of a polling job, one try later (`next_delay`)."""
    tries = int(payload.get("tries") or 0) + 1
    await enqueue(
        conn,
        job,
        {**payload, "tries": tries},
        delay=dt.timedelta(seconds=next_delay(tries, cfg.peppol_ap_poll_interval, cfg.retry_cap)),
    )
