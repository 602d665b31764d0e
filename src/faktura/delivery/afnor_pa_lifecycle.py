"""Between the PA channel and the French life cycle (`faktura.france.lifecycle`).

A CDAR flow received from the PA is filed on the tenant's invoice (`receive_status`: checked
against the BR-FR-CDV rules, matched by number, date and seller SIREN, recorded once on the
timeline with its tenant webhook). The codes that say where the invoice flow itself stands
(received by the buyer's platform, approved, refused or rejected: `DELIVERY_STATUS`) also
move the PA delivery, like an access point's receipt or Invoice Response does for Peppol.

Faktura's own status 212 "Encaissée" is built from the settled invoice (`cashed_status`),
addressed to the buyer. Not yet to the tax administration's platform as well: Faktura has
no VAT-on-receipt flag (BT-8) to tell when it is due there, and the message built with the
PPF among its recipients does not pass BR-FR-CDV-CL-01 (MDT-2 `REGULATED`) yet.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

log = logging.getLogger("faktura.delivery")


@dataclass(frozen=True)
class Applied:
    """The invoice a CDAR flow was filed on and its status code; `refused` says why it
    could not be filed (nothing was then written)."""

    invoice_id: uuid.UUID | None
    code: str | None
    refused: str | None = None


async def apply_cdar(
    conn: asyncpg.Connection, tenant_id: Any, content: bytes, source: dict[str, Any]
) -> Applied:
    """File a received CDAR flow, in the caller's tenant-scoped transaction."""
    from faktura.delivery.service import apply_inbound
    from faktura.france.cdar import CdarError
    from faktura.france.lifecycle import DELIVERY_STATUS, LifecycleError, receive_status

    try:
        async with conn.transaction():  # a refused message leaves nothing behind
            recorded = await receive_status(conn, tenant_id, content)
    except (CdarError, LifecycleError) as e:
        log.warning("CDAR flow %s refused: %s", source.get("pa_flow_id"), e)
        return Applied(None, None, str(e))
    code = recorded.message.status_code
    target = DELIVERY_STATUS.get(code)
    if target is not None and not recorded.duplicate:
        message_id = await conn.fetchval(
            "SELECT message_id FROM deliveries WHERE tenant_id = $1 AND invoice_id = $2 AND channel = 'afnor-pa'"
            " AND message_id IS NOT NULL ORDER BY created_at DESC LIMIT 1",
            tenant_id,
            recorded.invoice_id,
        )
        if message_id is not None:
            kind, response = {
                "DELIVERED": ("receipt", None),
                "ACCEPTED": ("invoice_response", "AP"),
                "REJECTED": ("invoice_response", "RE"),
            }[target]
            await apply_inbound(
                conn, message_id, kind, response, f"CDAR {code}", {**source, "cdar_status": code}
            )
    return Applied(recorded.invoice_id, str(code))


async def build_cdar(conn: asyncpg.Connection, tenant_id: Any, invoice_id: uuid.UUID, code: str) -> bytes:
    """The CDAR message of a status the seller sets (212 once the invoice is settled)."""
    from faktura.france.cdar import build_cdar as write
    from faktura.france.lifecycle import cashed_status

    if code != "212":
        raise ValueError(f"Faktura sends status 212 only, not {code}")
    message = await cashed_status(
        conn, tenant_id, invoice_id, at=dt.datetime.now(dt.UTC), to_tax_administration=False
    )
    return write(message)


async def record_sent(
    conn: asyncpg.Connection, tenant_id: Any, invoice_id: uuid.UUID, content: bytes
) -> None:
    """A status Faktura sent, once the PA took it, filed on the timeline like a received one."""
    from faktura.france.lifecycle import record_sent_status

    await record_sent_status(conn, tenant_id, invoice_id, content)
