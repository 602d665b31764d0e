"""Per-tenant and per-platform rate limits: token buckets, 429 + `Retry-After` when empty.

Every authenticated request takes one token from its platform's bucket and, on tenant
routes, one from its tenant's: a tenant that floods gets 429s while the other tenants of its
platform carry on, and the platform's bucket caps what all its tenants take together.
Buckets refill continuously at `rate` per second up to `burst`.

The buckets live in the memory of each server process. That keeps the hot path free of any
database round trip or shared counter (a row per tenant updated by every request would
serialise that tenant's requests on one lock), and it matches what the limits protect: a
process's event loop and connection pool, which are per process too. The price: with
`FAKTURA_WORKERS=N`, a client whose requests are spread over the N processes can reach up
to N times the configured rate. An operator who needs one exact quota across processes and
machines sets it in the reverse proxy in front of Faktura.

Every limited response carries the state of the tighter bucket: `RateLimit-Limit`,
`RateLimit-Remaining`, `RateLimit-Reset` (seconds until the bucket is full) and
`RateLimit-Policy` (the IETF httpapi draft), the same as `X-RateLimit-*` (there `Reset` is a
Unix time, as GitHub's), and a 429 has `Retry-After` in seconds.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from faktura.api.errors import ApiError, problem
from faktura.settings import RateLimitSettings

_STATE_KEY = "faktura.rate_limit"
#: Buckets kept per scope before idle (full) ones are dropped; a full bucket is the same as none.
_MAX_BUCKETS = 10_000


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass(frozen=True)
class Verdict:
    """One bucket's state after a request, as the response headers tell it."""

    scope: str
    rate: float
    burst: int
    remaining: float
    #: Seconds until the next token: 0 when the request was allowed.
    retry_after: float

    def headers(self, now: float) -> list[tuple[bytes, bytes]]:
        reset = math.ceil((self.burst - self.remaining) / self.rate)
        policy = f"{self.burst};w={max(1, round(self.burst / self.rate))}"
        pairs = [
            ("ratelimit-limit", str(self.burst)),
            ("ratelimit-remaining", str(math.floor(self.remaining))),
            ("ratelimit-reset", str(reset)),
            ("ratelimit-policy", policy),
            ("x-ratelimit-limit", str(self.burst)),
            ("x-ratelimit-remaining", str(math.floor(self.remaining))),
            ("x-ratelimit-reset", str(math.ceil(now + reset))),
        ]
        if self.retry_after:
            pairs.append(("retry-after", str(max(1, math.ceil(self.retry_after)))))
        return [(k.encode(), v.encode()) for k, v in pairs]


class _Buckets:
    def __init__(self, scope: str, rate: float, burst: int) -> None:
        self.scope, self.rate, self.burst = scope, rate, max(1, burst)
        self._buckets: dict[uuid.UUID, _Bucket] = {}

    def peek(self, key: uuid.UUID, now: float) -> _Bucket:
        b = self._buckets.get(key)
        if b is None:
            if len(self._buckets) >= _MAX_BUCKETS:
                self._drop_full(now)
            b = self._buckets[key] = _Bucket(float(self.burst), now)
        else:
            b.tokens = min(float(self.burst), b.tokens + (now - b.stamp) * self.rate)
            b.stamp = now
        return b

    def verdict(self, b: _Bucket) -> Verdict:
        wait = 0.0 if b.tokens >= 1 else (1 - b.tokens) / self.rate
        return Verdict(self.scope, self.rate, self.burst, b.tokens, wait)

    def _drop_full(self, now: float) -> None:
        for key in [
            k for k, b in self._buckets.items() if b.tokens + (now - b.stamp) * self.rate >= self.burst
        ]:
            del self._buckets[key]


class RateLimiter:
    """The buckets of one server process. A rate of 0 turns that scope's limit off."""

    def __init__(self, cfg: RateLimitSettings) -> None:
        self.platforms = (
            _Buckets("platform", cfg.platform_rate, cfg.platform_burst) if cfg.platform_rate else None
        )
        self.tenants = _Buckets("tenant", cfg.tenant_rate, cfg.tenant_burst) if cfg.tenant_rate else None

    def take(self, scope: Scope, platform_id: uuid.UUID | None, tenant_id: uuid.UUID | None) -> None:
        """Take a token from each bucket that applies, or none and raise a 429."""
        now = time.monotonic()
        held: list[tuple[_Buckets, _Bucket]] = []
        if self.tenants is not None and tenant_id is not None:
            held.append((self.tenants, self.tenants.peek(tenant_id, now)))
        if self.platforms is not None and platform_id is not None:
            held.append((self.platforms, self.platforms.peek(platform_id, now)))
        if not held:
            return
        empty = [(buckets, b) for buckets, b in held if b.tokens < 1]
        if not empty:
            for _, b in held:
                b.tokens -= 1
        buckets, bucket = min(empty or held, key=lambda pair: pair[1].tokens)
        verdict = buckets.verdict(bucket)
        scope.setdefault("state", {})[_STATE_KEY] = verdict
        if empty:
            raise ApiError(
                429,
                [
                    problem(
                        "Too Many Requests",
                        f"The {verdict.scope} rate limit ({verdict.rate:g} requests per second, bursts of"
                        f" {verdict.burst}) is used up; retry after {math.ceil(verdict.retry_after)} s.",
                        "TENANT_RATE_LIMITED" if verdict.scope == "tenant" else "PLATFORM_RATE_LIMITED",
                    )
                ],
            )


def rate_limit_headers(app: ASGIApp) -> ASGIApp:
    """Middleware: the rate-limit headers of the request (if it took a token) on its response."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            verdict: Verdict | None = scope.get("state", {}).get(_STATE_KEY)
            if message["type"] == "http.response.start" and verdict is not None:
                message["headers"] = [*message.get("headers", ()), *verdict.headers(time.time())]
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware
