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


def _bytea(value: bytes) -> str:
    """A bytea literal; hex digits only, so it is safe to put in the SQL text."""
    return f"'\\x{value.hex()}'::bytea"


#: The tenant and platform the transaction's credentials check set (NULL: refused).
_READ_SCOPE = (
    "(SELECT nullif(current_setting('app.tenant_id', true), '')::uuid AS tenant_id,"
    " nullif(current_setting('app.platform_id', true), '')::uuid AS platform_id) scope"
)


async def begin_tenant_read(conn: asyncpg.Connection, key_hash: bytes, token_hash: bytes) -> None:
    """BEGIN READ ONLY and the credentials check in one round trip: an argument-less string
    goes out in the simple protocol, both statements in one message. `faktura_auth_tenant`
    sets `app.tenant_id` for the transaction, as in `tenant_scope`, or nothing if refused."""
    await conn.execute(
        f"BEGIN READ ONLY; SELECT faktura_auth_tenant({_bytea(key_hash)}, {_bytea(token_hash)})"
    )


@asynccontextmanager
async def tenant_read(
    request: Request[Any, Any, Any], query: str, *args: Any
) -> AsyncIterator[tuple[Scope, asyncpg.Record]]:
    """A read-only tenant transaction in three round trips where `tenant_scope` takes four
    (BEGIN, the credentials check, the read, COMMIT; the pool's reset comes on top of both).

    `begin_tenant_read` sends BEGIN and the check at once; row-level security applies as in
    `tenant_scope`. `query` is the handler's read, written against `scope.tenant_id`: it is
    joined to the transaction's scope, so the one row that comes back also names the tenant
    and platform for the rate limiter. With no match, the row's own columns are NULL.
    """
    key_hash, token_hash = _tenant_credentials(request)
    async with pool(request).acquire() as conn:
        await begin_tenant_read(conn, key_hash, token_hash)
        try:
            row = await conn.fetchrow(
                "SELECT scope.tenant_id AS scope_tenant_id, scope.platform_id AS scope_platform_id, found.*"
                f" FROM {_READ_SCOPE} LEFT JOIN LATERAL ({query}) found ON true",
                *args,
            )
            tenant_id = row["scope_tenant_id"]
            if tenant_id is None:
                raise await _tenant_refused(conn, key_hash)
            note(tenant_id=tenant_id)
            request.app.state.rate_limiter.take(request.scope, row["scope_platform_id"], tenant_id)
            yield Scope(conn, None, tenant_id, request.app.state.settings), row
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")
