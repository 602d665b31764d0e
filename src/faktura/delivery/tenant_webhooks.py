"""Delivering tenant webhook events (`webhook_deliveries` rows queued by `events.record`).

Each attempt POSTs the JSON event signed with the endpoint's secret (`Faktura-Signature`,
docs/webhooks.md). Failures are retried with the same backoff as deliveries, up to
`max_attempts`; every failed attempt counts against the endpoint, and after
`webhook_disable_after` failures in a row the endpoint is disabled (a success resets the
count). A URL the outbound policy refuses (its host now resolves to an internal address,
or the allow-list changed) fails the delivery at once, with the reason. Every row is the
endpoint's delivery log.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from faktura.delivery.events import WEBHOOK_JOB
from faktura.delivery.outbound import OutboundRefused
from faktura.delivery.service import backoff
from faktura.delivery.webhook import post_signed
from faktura.jobs import JobContext, enqueue


async def deliver(ctx: JobContext, payload: dict[str, Any]) -> None:
    tenant_id = uuid.UUID(payload["tenant_id"])
    wid = uuid.UUID(payload["id"])
    cfg = ctx.settings.delivery
    async with ctx.tenant(tenant_id) as conn:
        w = await conn.fetchrow(
            "SELECT w.status, w.attempts, w.payload, w.endpoint_id, w.lease_until > clock_timestamp() AS leased,"
            " e.url, e.secret, e.enabled FROM webhook_deliveries w JOIN webhook_endpoints e"
            " ON e.tenant_id = w.tenant_id AND e.id = w.endpoint_id WHERE w.tenant_id = $1 AND w.id = $2"
            " FOR UPDATE OF w",
            tenant_id,
            wid,
        )
        if w is None or w["status"] in ("DELIVERED", "FAILED"):
            return
        if not w["enabled"]:
            await conn.execute(
                "UPDATE webhook_deliveries SET status = 'FAILED', last_error = 'endpoint disabled',"
                " modified_at = clock_timestamp() WHERE tenant_id = $1 AND id = $2",
                tenant_id,
                wid,
            )
            return
        if w["status"] == "SENDING" and w["leased"]:
            await enqueue(conn, WEBHOOK_JOB, payload, delay=dt.timedelta(seconds=cfg.lease))
            return
        attempt = w["attempts"] + 1
        await conn.execute(
            "UPDATE webhook_deliveries SET status = 'SENDING', attempts = $3, modified_at = clock_timestamp(),"
            " lease_until = clock_timestamp() + make_interval(secs => $4) WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            wid,
            attempt,
            cfg.lease,
        )
    body = msgspec.json.encode(w["payload"])
    error: str | None = None
    refused = False  # the outbound policy refused the URL: no retry
    status_code: int | None = None
    try:
        r = await post_signed(
            w["url"],
            body,
            w["secret"],
            {
                "Content-Type": "application/json",
                "Faktura-Event-Id": w["payload"]["id"],
                "Faktura-Webhook-Delivery-Id": str(wid),
            },
            cfg,
        )
        status_code = r.status_code
    except OutboundRefused as e:
        error, refused = str(e), True
    except Exception as e:
        error = str(e) or type(e).__name__
    async with ctx.tenant(tenant_id) as conn:
        if error is None:
            await conn.execute(
                "UPDATE webhook_deliveries SET status = 'DELIVERED', response_status = $3, last_error = NULL,"
                " lease_until = NULL, modified_at = clock_timestamp() WHERE tenant_id = $1 AND id = $2",
                tenant_id,
                wid,
                status_code,
            )
            await conn.execute(
                "UPDATE webhook_endpoints SET consecutive_failures = 0 WHERE tenant_id = $1 AND id = $2",
                tenant_id,
                w["endpoint_id"],
            )
            return
        failures = await conn.fetchval(
            "UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1,"
            " modified_at = clock_timestamp() WHERE tenant_id = $1 AND id = $2 RETURNING consecutive_failures",
            tenant_id,
            w["endpoint_id"],
        )
        if failures >= cfg.webhook_disable_after:
            await conn.execute(
                "UPDATE webhook_endpoints SET enabled = false, disabled_reason = $3 WHERE tenant_id = $1 AND id = $2",
                tenant_id,
                w["endpoint_id"],
                f"disabled after {failures} failed deliveries in a row; last error: {error}",
            )
        final = refused or attempt >= cfg.max_attempts or failures >= cfg.webhook_disable_after
        await conn.execute(
            "UPDATE webhook_deliveries SET status = $3, last_error = $4, lease_until = NULL,"
            " modified_at = clock_timestamp() WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            wid,
            "FAILED" if final else "QUEUED",
            error,
        )
        if not final:
            await enqueue(conn, WEBHOOK_JOB, payload, delay=dt.timedelta(seconds=backoff(attempt, cfg)))
