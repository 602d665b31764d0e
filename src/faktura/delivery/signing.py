"""HMAC-SHA256 signatures with a timestamp, for tenant webhooks and the webhook channel.

Header: `Faktura-Signature: t=<unix seconds>,v1=<hex>` where
`hex = HMAC_SHA256(secret, f"{t}.".encode() + raw_body)`. The timestamp is inside the
signed bytes, so an old request cannot be replayed with a fresh timestamp, and a receiver
rejects timestamps older than its tolerance (default 5 minutes). See docs/webhooks.md.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

HEADER = "Faktura-Signature"
TOLERANCE = 300


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(
    secret: str, body: bytes, header: str, *, tolerance: int = TOLERANCE, now: float | None = None
) -> bool:
    """The documented recipe: parse, check the age, recompute, compare in constant time."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - t) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, v) for k, v in parts.items() if k == "v1")
