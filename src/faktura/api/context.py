"""Authentication and the per-request transaction.

Every request runs in one transaction on the app role's pool. Its first statement checks
the platform key (and the account token) through a SECURITY DEFINER function that also
sets `app.platform_id` / `app.tenant_id` with `set_config(..., true)` — local to the
transaction, so nothing leaks to the next user of a pooled connection (also behind
pgbouncer in transaction mode). Row-level security does the rest.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from litestar import Request

from faktura.api.errors import ApiError, problem
from faktura.db.platforms import secret_hash
from faktura.logs import note
from faktura.settings import Settings


@dataclass(frozen=True)
class Scope:
    conn: asyncpg.Connection
    platform_id: uuid.UUID | None
    tenant_id: uuid.UUID | None
    settings: Settings


UNKNOWN_PLATFORM_KEY = "Unknown or revoked platform key (`Authorization: Bearer <key>`)."


def _unauthorized(detail: str) -> ApiError:
    return ApiError(401, [problem("Unauthorized", detail, "UNAUTHORIZED", "")])


def _bearer(request: Request[Any, Any, Any]) -> bytes:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise _unauthorized("Send the platform key as `Authorization: Bearer <key>`.")
    return secret_hash(key.strip())


def pool(request: Request[Any, Any, Any]) -> asyncpg.Pool:
    return request.app.state.pool  # type: ignore[no-any-return]


@asynccontextmanager
async def platform_scope(request: Request[Any, Any, Any]) -> AsyncIterator[Scope]:
    """A transaction for platform-level routes (tenants): platform key only."""
    key_hash = _bearer(request)
    async with pool(request).acquire() as conn, conn.transaction():
        platform_id = await conn.fetchval("SELECT faktura_auth_platform($1)", key_hash)
        if platform_id is None:
            raise _unauthorized(UNKNOWN_PLATFORM_KEY)
        note(platform_id=platform_id)
        request.app.state.rate_limiter.take(request.scope, platform_id, None)
        yield Scope(conn, platform_id, None, request.app.state.settings)


def _tenant_credentials(request: Request[Any, Any, Any]) -> tuple[bytes, bytes]:
    """The hashes of the platform key and the account token."""
    key_hash = _bearer(request)
    token = request.headers.get("x-account-token", "").strip()
    if not token:
        raise _unauthorized("Select the tenant with the `X-Account-Token` header.")
    return key_hash, secret_hash(token)


async def _tenant_refused(conn: asyncpg.Connection, key_hash: bytes) -> ApiError:
    """The failure path only: say which of the two credentials is wrong."""
    if await conn.fetchval("SELECT faktura_auth_platform($1)", key_hash) is None:
        return _unauthorized(UNKNOWN_PLATFORM_KEY)
    return _unauthorized("Unknown or revoked account token (`X-Account-Token`) for this platform.")


@asynccontextmanager
async def tenant_scope(request: Request[Any, Any, Any]) -> AsyncIterator[Scope]:
    """A transaction for tenant routes: platform key + `X-Account-Token`."""
    key_hash, token_hash = _tenant_credentials(request)
    async with pool(request).acquire() as conn, conn.transaction():
        # The function sets app.platform_id before the select list reads it (FROM runs first).
        tenant_id, platform_id = await conn.fetchrow(
            "SELECT t, nullif(current_setting('app.platform_id', true), '')::uuid FROM faktura_auth_tenant($1, $2) t",
            key_hash,
            token_hash,
        )
        if tenant_id is None:
            raise await _tenant_refused(conn, key_hash)
        note(tenant_id=tenant_id)
        request.app.state.rate_limiter.take(request.scope, platform_id, tenant_id)
        yield Scope(conn, None, tenant_id, request.app.state.settings)


async def fetch_as_tenant(
    conn: asyncpg.Connection, key_hash: bytes, token_hash: bytes, query: str, *args: Any
) -> list[asyncpg.Record]:
    """The credentials check and a read in one statement, outside any explicit transaction.

    `faktura_auth_scope` (migration 0012) sets the tenant for the statement's own implicit
    transaction and is its outer row source; `query`, written against `scope.tenant_id`, is
    the lateral inner side, run after it, under row-level security as in `tenant_scope`.
    Every row also names the tenant and platform (`scope_tenant_id`, `scope_platform_id`;
    NULL: refused). With no match there is one row whose own columns are NULL.
    """
    n = len(args)
    return list(
        await conn.fetch(
            "SELECT scope.tenant_id AS scope_tenant_id, scope.platform_id AS scope_platform_id, found.*"
            f" FROM faktura_auth_scope(${n + 1}, ${n + 2}) scope"
            f" LEFT JOIN LATERAL (SELECT * FROM ({query}) q OFFSET 0) found ON true",
            *args,
            key_hash,
            token_hash,
        )
    )


async def tenant_fetch(request: Request[Any, Any, Any], query: str, *args: Any) -> list[asyncpg.Record]:
    """A tenant read in one round trip where a `tenant_scope` read takes four (BEGIN, the
    credentials check, the read, COMMIT): see `fetch_as_tenant`. For reads that need no
    second statement; the rows are as `fetch_as_tenant` returns them."""
    key_hash, token_hash = _tenant_credentials(request)
    async with pool(request).acquire() as conn:
        rows = await fetch_as_tenant(conn, key_hash, token_hash, query, *args)
        tenant_id = rows[0]["scope_tenant_id"]
        if tenant_id is None:
            raise await _tenant_refused(conn, key_hash)
    note(tenant_id=tenant_id)
    request.app.state.rate_limiter.take(request.scope, rows[0]["scope_platform_id"], tenant_id)
    return rows
