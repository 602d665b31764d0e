"""Per-tenant and per-platform rate limits: 429 + Retry-After for the tenant that floods,
the other tenants of its platform unaffected, the platform's limit capping their sum."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from tests.conftest import Tenant, make_platform, make_tenant, unique_vat_id

from faktura.api.app import create_app, create_pool
from faktura.settings import RateLimitSettings, Settings

# Slow refill, so that the few milliseconds the test takes add no token.
LIMITS = RateLimitSettings(tenant_rate=0.05, tenant_burst=5, platform_rate=0.05, platform_burst=8)


@pytest.fixture
async def limited(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(dataclasses.replace(settings, rate_limits=LIMITS))
    app.state.pool = await create_pool(settings)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://faktura.test"
        ) as c:
            yield c
    finally:
        await app.state.pool.close()


async def _tenants(client: httpx.AsyncClient, owner: asyncpg.Connection, n: int) -> list[Tenant]:
    """Tenants of one new platform, created through the unlimited app."""
    key = await make_platform(owner)
    return [await make_tenant(client, key, vat_id=unique_vat_id()) for _ in range(n)]


def _limited(r: httpx.Response, problem_type: str) -> dict[str, Any]:
    assert r.status_code == 429, r.text
    assert int(r.headers["retry-after"]) >= 1
    assert r.headers["ratelimit-remaining"] == r.headers["x-ratelimit-remaining"] == "0"
    body = r.json()
    assert body["model"] is None and body["errors"][0]["problem_type"] == problem_type
    return body  # type: ignore[no-any-return]


async def test_a_flooding_tenant_is_limited_and_its_neighbour_is_not(
    client: httpx.AsyncClient, limited: httpx.AsyncClient, owner: asyncpg.Connection
) -> None:
    a, b = await _tenants(client, owner, 2)
    seen = []
    for _ in range(LIMITS.tenant_burst):
        r = await limited.get("/v1/contacts", headers=a.headers)
        assert r.status_code == 200, r.text
        seen.append(int(r.headers["ratelimit-remaining"]))
    assert seen == [4, 3, 2, 1, 0]
    assert r.headers["ratelimit-limit"] == r.headers["x-ratelimit-limit"] == "5"
    assert r.headers["ratelimit-policy"] == "5;w=100"
    assert int(r.headers["x-ratelimit-reset"]) > time.time()
    body = _limited(await limited.get("/v1/contacts", headers=a.headers), "TENANT_RATE_LIMITED")
    assert "tenant rate limit" in body["errors"][0]["detail"]
    assert int((await limited.get("/v1/contacts", headers=a.headers)).headers["retry-after"]) in range(19, 21)
    # b, on the same platform, still has its own tokens
    r = await limited.get("/v1/contacts", headers=b.headers)
    assert r.status_code == 200, r.text


async def test_the_platform_limit_caps_the_sum_of_its_tenants(
    client: httpx.AsyncClient, limited: httpx.AsyncClient, owner: asyncpg.Connection
) -> None:
    tenants = await _tenants(client, owner, 3)
    ok = 0
    for t in tenants:
        for _ in range(3):  # below each tenant's own burst of 5
            r = await limited.get("/v1/contacts", headers=t.headers)
            ok += r.status_code == 200
    assert ok == LIMITS.platform_burst  # 9 asked, 8 served
    _limited(r, "PLATFORM_RATE_LIMITED")
    # platform routes draw on the same bucket
    _limited(await limited.get("/v1/tenants", headers=tenants[0].platform_headers), "PLATFORM_RATE_LIMITED")
    # another platform is not affected
    (other,) = await _tenants(client, owner, 1)
    assert (await limited.get("/v1/contacts", headers=other.headers)).status_code == 200


async def test_a_refused_request_takes_no_token_and_tokens_come_back(
    client: httpx.AsyncClient, owner: asyncpg.Connection, settings: Settings
) -> None:
    # one token a second: wide enough that a slow machine's requests do not earn one back
    fast = RateLimitSettings(tenant_rate=1, tenant_burst=2, platform_rate=0, platform_burst=0)
    app = create_app(dataclasses.replace(settings, rate_limits=fast))
    app.state.pool = await create_pool(settings)
    (t,) = await _tenants(client, owner, 1)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as c:
            codes = [(await c.get("/v1/contacts", headers=t.headers)).status_code for _ in range(6)]
            assert codes[:2] == [200, 200] and 429 in codes[2:]
            time.sleep(2.5)  # one per second: two and a half tokens, up to the burst of two
            codes = [(await c.get("/v1/contacts", headers=t.headers)).status_code for _ in range(3)]
            assert codes == [200, 200, 429]
            # platform limit off: no platform headers on a platform route, no 429
            r = await c.get("/v1/tenants", headers=t.platform_headers)
            assert r.status_code == 200 and "ratelimit-limit" not in r.headers
    finally:
        await app.state.pool.close()


async def test_unauthenticated_requests_take_no_token(limited: httpx.AsyncClient) -> None:
    r = await limited.get("/v1/contacts", headers={"Authorization": "Bearer nope", "X-Account-Token": "x"})
    assert r.status_code == 401 and "ratelimit-limit" not in r.headers


def test_limits_are_read_from_the_environment() -> None:
    env = {
        "FAKTURA_RATE_LIMIT_TENANT": "7.5",
        "FAKTURA_RATE_LIMIT_TENANT_BURST": "15",
        "FAKTURA_RATE_LIMIT_PLATFORM": "0",
    }
    got = Settings.from_env(env).rate_limits
    assert got == RateLimitSettings(tenant_rate=7.5, tenant_burst=15, platform_rate=0, platform_burst=500)
