"""Webhook channel: HTTP POST of the UBL to a URL on the contact, signed like tenant
webhooks (`Faktura-Signature`, see docs/webhooks.md) with the tenant's channel secret.

A 2xx is a delivery; 4xx other than 408/429 is permanent; the rest is retried. The
`Faktura-Delivery-Id` header is the same on every attempt, for the receiver to dedupe.

The URL is the tenant's, so every attempt checks it against the outbound policy first
(`faktura.delivery.outbound`; a refusal fails the delivery for good, with the reason) and
then connects to an address that was checked, presenting the host name in the Host header
and as TLS SNI (certificates are verified against the name), never following redirects.
"""

from __future__ import annotations

import ssl

import httpx

from faktura.delivery.channel import Outgoing, PermanentError, SendResult, TransientError
from faktura.delivery.outbound import Target, policy_for, resolve
from faktura.delivery.signing import HEADER, sign
from faktura.settings import DeliverySettings

#: Addresses of one host tried in turn when a connection is refused.
MAX_ADDRESSES = 4


async def post_pinned(
    target: Target,
    content: bytes,
    headers: dict[str, str],
    timeout: float,
    verify: ssl.SSLContext | bool = True,
) -> httpx.Response:
    """POST to the checked addresses of `target` (the first that accepts a connection)."""
    headers = {**headers, "Host": target.url.netloc.decode("ascii")}
    extensions = {} if target.literal or target.url.scheme != "https" else {"sni_hostname": target.host}
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, verify=verify) as client:
        for i, address in enumerate(target.addresses[:MAX_ADDRESSES]):
            try:
                return await client.post(
                    target.url.copy_with(host=str(address)),
                    content=content,
                    headers=headers,
                    extensions=extensions,
                )
            except httpx.ConnectError:
                if i + 1 >= min(len(target.addresses), MAX_ADDRESSES):
                    raise
    raise AssertionError("unreachable: a target has at least one address")


async def post_signed(
    url: str, body: bytes, secret: str, headers: dict[str, str], settings: DeliverySettings
) -> httpx.Response:
    """POST with a fresh signature to a URL the outbound policy admits (else
    `OutboundRefused`, permanent); network failures and 5xx are TransientError."""
    target = await resolve(url, policy_for(settings.outbound_allow))
    all_headers = {**headers, HEADER: sign(secret, body)}
    try:
        r = await post_pinned(target, body, all_headers, settings.send_timeout)
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
            self.settings,
        )
        return SendResult(
            status="DELIVERED",
            message_id=f"webhook:{message.delivery_id}",
            evidence={"http_status": r.status_code, "url": message.target["url"]},
        )
