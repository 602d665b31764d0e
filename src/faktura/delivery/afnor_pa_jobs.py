"""The PA channel's database side: the tenant's PA settings (secrets sealed), the flows
exchanged (`pa_flows`), and the jobs that follow them.

`afnor_pa.track` follows one delivery: it reads the invoice flow's acknowledgement
(`GET /v1/flows/{flowId}`: Ok → acknowledged; Error → the PA rejected it, REJECTED with its
reasons) and pulls the CDAR life-cycle flows the PA received for the tenant
(`POST /v1/flows/search`, `flowType CustomerInvoiceLC`, `flowDirection In`, `updatedAfter`
the newest seen), downloads each (`docType=Original`) and hands it to the life-cycle
mapping. It polls with backoff until the invoice's story is over (rejected, or cashed) or
`peppol_ap_poll_for` has passed. A PA webhook (`POST /v1/france/pa/webhook/{tenant}`,
signed) runs `afnor_pa.pull` for the flow it names at once. A flow is applied once: its id
is the key of `pa_flows`.

`afnor_pa.status` submits Faktura's own CDAR (e.g. 212 "encaissée" when a payment settles
the invoice) as a flow, with a tracking id derived from the invoice and the code, so a
retry finds it instead of submitting twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

import asyncpg

from faktura.delivery import events
from faktura.delivery.afnor_pa import LIFECYCLE_IN, PaClient, PaConfig
from faktura.delivery.channel import PermanentError, TransientError
from faktura.delivery.tenant_ap import seal, unseal
from faktura.jobs import JobContext, enqueue
from faktura.settings import Settings

log = logging.getLogger("faktura.delivery")

TRACK_JOB = "afnor_pa.track"
PULL_JOB = "afnor_pa.pull"
STATUS_JOB = "afnor_pa.status"
#: Delivery statuses after which the PA has nothing more to say about the invoice flow.
OVER = {"REJECTED", "FAILED"}
#: The CDAR status that ends the life cycle of a paid invoice (212 "Encaissée").
CASHED = "212"
CONFIG_COLUMNS = "flow_url, directory_url, auth, token_url, client_id, secret, organization, webhook_id, webhook_key, seen_until"


async def settings_row(conn: asyncpg.Connection, tenant_id: Any) -> Any:
    return await conn.fetchrow(f"SELECT {CONFIG_COLUMNS} FROM pa_settings WHERE tenant_id = $1", tenant_id)


def config_of(settings: Settings, tenant_id: Any, row: Any) -> PaConfig:
    return PaConfig(
        flow_url=row["flow_url"],
        directory_url=row["directory_url"],
        auth=row["auth"],
        secret=unseal(settings.delivery, tenant_id, row["secret"]),
        token_url=row["token_url"],
        client_id=row["client_id"],
        organization=row["organization"],
    )


async def load_config(conn: asyncpg.Connection, settings: Settings, tenant_id: Any) -> PaConfig | None:
    row = await settings_row(conn, tenant_id)
    return config_of(settings, tenant_id, row) if row else None


def client_for(settings: Settings, config: PaConfig) -> PaClient:
    """The PA's URLs are tenant input: every request is checked against the outbound policy."""
    from faktura.delivery.outbound import policy_for

    client = PaClient(config, settings.delivery.send_timeout)
    client.policy = policy_for(settings.delivery.outbound_allow)
    return client


def sealed(settings: Settings, tenant_id: Any, secret: str) -> str:
    return seal(settings.delivery, tenant_id, secret)


class PaChannelConfig:
    """What `AfnorPaChannel` calls to read a tenant's PA (in its own short transaction)."""

    def __init__(self, ctx: JobContext):
        self.ctx = ctx

    async def __call__(self, tenant_id: uuid.UUID) -> PaConfig | None:
        async with self.ctx.tenant(tenant_id) as conn:
            return await load_config(conn, self.ctx.settings, tenant_id)


def channel(ctx: JobContext) -> Any:
    from faktura.delivery.afnor_pa import AfnorPaChannel

    return AfnorPaChannel(PaChannelConfig(ctx), lambda config: client_for(ctx.settings, config))


# -- following an invoice flow ------------------------------------------------------------


async def start(
    conn: asyncpg.Connection, settings: Settings, tenant_id: Any, d: Any, evidence: dict[str, Any]
) -> None:
    """In the transaction that records SENT: remember the flow, start following it."""
    await conn.execute(
        "INSERT INTO pa_flows (tenant_id, flow_id, direction, flow_syntax, tracking_id, invoice_id, delivery_id)"
        " VALUES ($1, $2, 'Out', $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        tenant_id,
        d["message_id"],
        evidence.get("flow_syntax") or "UBL",
        evidence.get("tracking_id"),
        d["invoice_id"],
        d["id"],
    )
    await enqueue(
        conn,
        TRACK_JOB,
        {"tenant_id": str(tenant_id), "delivery_id": str(d["id"]), "tries": 0, "since": _now().isoformat()},
        delay=dt.timedelta(seconds=settings.delivery.peppol_ap_poll_interval),
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def apply_ack(ctx: JobContext, tenant_id: uuid.UUID, flow: dict[str, Any]) -> None:
    """The PA's acknowledgement of a flow Faktura submitted, applied once."""
    from faktura.delivery.service import apply_inbound, archive_evidence

    ack = flow.get("acknowledgement") or {}
    status = ack.get("status")
    if status not in ("Ok", "Error"):
        return
    async with ctx.tenant(tenant_id) as conn:
        row = await conn.fetchrow(
            "SELECT invoice_id, delivery_id, ack_status, status_code FROM pa_flows"
            " WHERE tenant_id = $1 AND flow_id = $2 FOR UPDATE",
            tenant_id,
            flow["flowId"],
        )
        if row is None or row["ack_status"] == status:
            return
        await conn.execute(
            "UPDATE pa_flows SET ack_status = $3 WHERE tenant_id = $1 AND flow_id = $2",
            tenant_id,
            flow["flowId"],
            status,
        )
        reasons = "; ".join(
            f"{d.get('reasonCode')}: {d.get('reasonMessage')}" for d in ack.get("details") or []
        )
        data = {
            "pa_flow_id": flow["flowId"],
            "ack_status": status,
            **({"reasons": reasons} if reasons else {}),
        }
        if row["status_code"] is not None:  # one of Faktura's own CDAR flows
            await events.record(
                conn,
                tenant_id,
                row["invoice_id"],
                "pa.status_acknowledged",
                {**data, "code": row["status_code"]},
            )
            return
        if status == "Error":
            await apply_inbound(
                conn, flow["flowId"], "mls", "RE", reasons or "refused by the PA", {"flow": flow}
            )
            return
        await events.record(
            conn, tenant_id, row["invoice_id"], "pa.acknowledged", data, delivery_id=row["delivery_id"]
        )
        d = await conn.fetchrow(
            "SELECT id, invoice_id, channel, message_id FROM deliveries WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            row["delivery_id"],
        )
        await archive_evidence(conn, tenant_id, d, "pa-ack-Ok", {"flow": flow})


async def apply_incoming(
    ctx: JobContext, client: PaClient, tenant_id: uuid.UUID, flow: dict[str, Any]
) -> bool:
    """A life-cycle flow the PA received for the tenant: downloaded and applied once.
    False when it was seen before."""
    async with ctx.tenant(tenant_id) as conn:
        if await conn.fetchval(
            "SELECT true FROM pa_flows WHERE tenant_id = $1 AND flow_id = $2", tenant_id, flow["flowId"]
        ):
            return False
    content = await client.download(flow["flowId"])
    from faktura.delivery.afnor_pa_lifecycle import apply_cdar

    async with ctx.tenant(tenant_id) as conn:
        inserted = await conn.fetchval(
            "INSERT INTO pa_flows (tenant_id, flow_id, direction, flow_syntax, ack_status)"
            " VALUES ($1, $2, 'In', $3, $4) ON CONFLICT DO NOTHING RETURNING true",
            tenant_id,
            flow["flowId"],
            flow.get("flowSyntax") or "CDAR",
            (flow.get("acknowledgement") or {}).get("status"),
        )
        if not inserted:
            return False  # a webhook's pull and a poll raced: the other one applies it
        applied = await apply_cdar(
            conn, tenant_id, content, {"channel": "afnor-pa", "pa_flow_id": flow["flowId"]}
        )
        await conn.execute(
            "UPDATE pa_flows SET invoice_id = $3, status_code = $4 WHERE tenant_id = $1 AND flow_id = $2",
            tenant_id,
            flow["flowId"],
            applied.invoice_id,
            applied.code,
        )
    return True


async def pull_lifecycle(ctx: JobContext, client: PaClient, tenant_id: uuid.UUID) -> int:
    """Every life-cycle flow received since the last one seen; returns how many were new."""
    async with ctx.tenant(tenant_id) as conn:
        seen = await conn.fetchval("SELECT seen_until FROM pa_settings WHERE tenant_id = $1", tenant_id)
    where: dict[str, Any] = {"flowType": LIFECYCLE_IN, "flowDirection": ["In"]}
    if seen is not None:
        # strictly after, minus a margin: a flow stamped in the same instant is not lost,
        # and one seen twice is skipped by its id
        where["updatedAfter"] = (seen - dt.timedelta(seconds=5)).isoformat().replace("+00:00", "Z")
    else:
        where["updatedAfter"] = "1970-01-01T00:00:00Z"
    flows = await client.search_flows(where)
    new = 0
    newest = seen
    for flow in flows:
        if await apply_incoming(ctx, client, tenant_id, flow):
            new += 1
        stamp = dt.datetime.fromisoformat(flow["updatedAt"].replace("Z", "+00:00"))
        newest = stamp if newest is None or stamp > newest else newest
    if newest is not None and newest != seen:
        async with ctx.tenant(tenant_id) as conn:
            await conn.execute(
                "UPDATE pa_settings SET seen_until = greatest(seen_until, $2) WHERE tenant_id = $1",
                tenant_id,
                newest,
            )
    return new


async def _client(ctx: JobContext, tenant_id: uuid.UUID) -> PaClient | None:
    async with ctx.tenant(tenant_id) as conn:
        config = await load_config(conn, ctx.settings, tenant_id)
    return client_for(ctx.settings, config) if config else None


async def track(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The `afnor_pa.track` job."""
    from faktura.delivery.tracking import poll_again

    cfg = ctx.settings.delivery
    tenant_id = uuid.UUID(payload["tenant_id"])
    client = await _client(ctx, tenant_id)
    if client is None:
        return
    async with ctx.tenant(tenant_id) as conn:
        d = await conn.fetchrow(
            "SELECT d.status, d.message_id, d.invoice_id, i.status AS invoice_status FROM deliveries d"
            " JOIN invoices i ON i.tenant_id = d.tenant_id AND i.id = d.invoice_id"
            " WHERE d.tenant_id = $1 AND d.id = $2",
            tenant_id,
            uuid.UUID(payload["delivery_id"]),
        )
    if d is None or d["message_id"] is None:
        return
    try:
        if d["status"] not in OVER:
            flow = await client.flow(d["message_id"])
            if flow is not None:
                await apply_ack(ctx, tenant_id, flow)
        await pull_lifecycle(ctx, client, tenant_id)
    except PermanentError as e:
        log.warning("following PA flow %s stopped: %s", d["message_id"], e)
        return
    except Exception as e:  # transient: ask again later
        log.info("following PA flow %s: %s", d["message_id"], e)
    async with ctx.tenant(tenant_id) as conn:
        state = await conn.fetchrow(
            "SELECT d.status, EXISTS (SELECT FROM pa_flows f WHERE f.tenant_id = d.tenant_id"
            " AND f.invoice_id = d.invoice_id AND f.direction = 'In' AND f.status_code = $3) AS cashed"
            " FROM deliveries d WHERE d.tenant_id = $1 AND d.id = $2",
            tenant_id,
            uuid.UUID(payload["delivery_id"]),
            CASHED,
        )
        since = dt.datetime.fromisoformat(payload.get("since") or _now().isoformat())
        if (
            state["status"] in OVER
            or state["cashed"]
            or (_now() - since).total_seconds() > cfg.peppol_ap_poll_for
        ):
            return
        await poll_again(conn, TRACK_JOB, payload, cfg)


async def pull(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The `afnor_pa.pull` job: the flow a PA webhook named, looked up and applied."""
    tenant_id = uuid.UUID(payload["tenant_id"])
    client = await _client(ctx, tenant_id)
    if client is None:
        return
    try:
        flow = await client.flow(payload["flow_id"])
        if flow is None:
            return
        if flow.get("flowDirection") == "In" and flow.get("flowType") in LIFECYCLE_IN:
            await apply_incoming(ctx, client, tenant_id, flow)
        elif flow.get("flowDirection") == "Out":
            await apply_ack(ctx, tenant_id, flow)
    except (PermanentError, TransientError) as e:  # the poll finds the flow later
        log.info("PA webhook flow %s not read now: %s", payload["flow_id"], e)


# -- Faktura's own statuses ---------------------------------------------------------------


async def on_paid(conn: asyncpg.Connection, tenant_id: Any, invoice_id: uuid.UUID) -> None:
    """A payment settled the invoice: when it went through a PA, tell the PA (CDAR 212), in
    the payment's transaction."""
    went = await conn.fetchval(
        "SELECT true FROM deliveries WHERE tenant_id = $1 AND invoice_id = $2 AND channel = 'afnor-pa'"
        " AND status NOT IN ('FAILED', 'REJECTED') LIMIT 1",
        tenant_id,
        invoice_id,
    )
    if went:
        await enqueue(
            conn, STATUS_JOB, {"tenant_id": str(tenant_id), "invoice_id": str(invoice_id), "code": CASHED}
        )


async def submit_status(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The `afnor_pa.status` job: one of Faktura's CDAR statuses submitted as a flow. A PA
    that cannot be reached is asked again with the delivery backoff, up to the delivery's
    attempts; the tracking id keeps the status single however often it is tried."""
    try:
        await _submit_status(ctx, payload)
    except TransientError as e:
        from faktura.delivery.service import backoff

        cfg = ctx.settings.delivery
        attempt = int(payload.get("attempt") or 1)
        if attempt >= cfg.max_attempts:
            log.error(
                "CDAR status %s of invoice %s not submitted: %s", payload["code"], payload["invoice_id"], e
            )
            return
        async with ctx.tenant(payload["tenant_id"]) as conn:
            await enqueue(
                conn,
                STATUS_JOB,
                {**payload, "attempt": attempt + 1},
                delay=dt.timedelta(seconds=backoff(attempt, cfg)),
            )


async def _submit_status(ctx: JobContext, payload: dict[str, Any]) -> None:
    from faktura.delivery.afnor_pa_lifecycle import build_cdar, record_sent

    tenant_id = uuid.UUID(payload["tenant_id"])
    invoice_id = uuid.UUID(payload["invoice_id"])
    code = str(payload["code"])
    tracking_id = f"{invoice_id}-{code}"
    client = await _client(ctx, tenant_id)
    if client is None:
        return
    async with ctx.tenant(tenant_id) as conn:
        if await conn.fetchval(
            "SELECT true FROM pa_flows WHERE tenant_id = $1 AND tracking_id = $2", tenant_id, tracking_id
        ):
            return
        cdar = await build_cdar(conn, tenant_id, invoice_id, code)
    found = await client.search_flows({"trackingId": tracking_id})
    if found:
        flow = found[0]
    else:
        import hashlib

        flow = await client.create_flow(
            cdar,
            {
                "trackingId": tracking_id,
                "name": f"CDAR-{code}-{invoice_id}.xml",
                "flowSyntax": "CDAR",
                "sha256": hashlib.sha256(cdar).hexdigest(),
            },
        )
    async with ctx.tenant(tenant_id) as conn:
        await conn.execute(
            "INSERT INTO pa_flows (tenant_id, flow_id, direction, flow_syntax, tracking_id, invoice_id, status_code)"
            " VALUES ($1, $2, 'Out', 'CDAR', $3, $4, $5) ON CONFLICT DO NOTHING",
            tenant_id,
            str(flow["flowId"]),
            tracking_id,
            invoice_id,
            code,
        )
        await events.record(
            conn,
            tenant_id,
            invoice_id,
            "pa.status_sent",
            {"channel": "afnor-pa", "code": code, "pa_flow_id": str(flow["flowId"]), "resumed": bool(found)},
        )
        await record_sent(conn, tenant_id, invoice_id, cdar)
