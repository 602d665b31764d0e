"""Webhook channel: HTTP POST of the UBL to a URL on the contact, signed like tenant
webhooks (`Faktura-Signature`, see docs/webhooks.md) with the tenant's channel secret.

A 2xx is a delivery; 4xx other than 408/429 is permanent; the rest is retried. The
`Faktura-Delivery-Id` header is the same on every attempt, for the receiver to dedupe.
"""

from __future__ import annotations

import httpx

from faktura.delivery.channel import Outgoing, PermanentError, SendResult, TransientError
from faktura.delivery.signing import HEADER, sign
from faktura.settings import DeliverySettings


async def post_signed(
    url: str, body: bytes, secret: str, headers: dict[str, str], timeout: float
) -> httpx.Response:
    """POST with a fresh signature; network failures and 5xx are TransientError."""
    all_headers = {**headers, HEADER: sign(secret, body)}
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            r = await client.post(url, content=body, headers=all_headers)
    except httpx.HTTPError as e:
        raise TransientError(f"{type(e).__name__}: {e}") from None
    if 200 <= r.status_code < 300:
        return r
    if 400 <= r.status_code < 500 and r.status_code not in (408, 425, 429):
        raise PermanentError(f"HTTP {r.status_code}")
    raise TransientError(f"HTTP {r.status_code}")


class WebhookChannel:
    name = "webhook"

    def __init__(self, settings: DeliverySettings):
        self.settings = settings

    async def send(self, message: Outgoing) -> SendResult:
        secret = message.tenant_settings.get("webhook_secret") or ""
        r = await post_signed(
            message.target["url"],
            message.ubl.content,
            secret,
            {
                "Content-Type": "application/xml",
                "Faktura-Delivery-Id": str(message.delivery_id),
                "Faktura-Invoice-Number": message.number,
            },
            self.settings.send_timeout,
        )
        return SendResult(
            status="DELIVERED",
            message_id=f"webhook:{message.delivery_id}",
            evidence={"http_status": r.status_code, "url": message.target["url"]},
        )
