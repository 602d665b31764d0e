"""The gate: credentials are checked before a byte of the body is read.

Every route of the API (the controllers of `app.CONTROLLERS`) passes `authenticate`, a
Litestar guard, before its handler runs, and so before the body is read, parsed or
validated. An anonymous or wrongly authenticated request costs a header check and at most
one indexed lookup, whatever it carries; it learns nothing about the body's schema; and
the connection is closed instead of draining a body nobody will read.

A controller names its authenticator with `opt={"authenticate": ...}`; the default is
`tenant_credentials` (platform key and account token), so a new route is closed until it
says otherwise. The handler's own transaction checks the credentials again
(`context.tenant_scope`, `context.platform_scope`): that check is the authority and sets
the row-level-security context; this one only keeps a hostile body from costing anything.
Credentials that passed are remembered for `REMEMBER_SECONDS` in the process, so a client's
requests do not pay for the lookup twice; a revoked key is still refused by the handler's
check at once.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

from faktura.api.context import UNKNOWN_PLATFORM_KEY, _bearer, _unauthorized, pool
from faktura.api.errors import ApiError
from faktura.db.platforms import secret_hash

Connection = ASGIConnection[Any, Any, Any, Any]
Authenticator = Callable[[Connection], Awaitable[None]]

REMEMBER_SECONDS = 10.0
#: Beyond this many remembered credentials the memory is simply cleared.
REMEMBER_MAX = 10_000
_passed: dict[tuple[bytes, ...], float] = {}


async def _admit(connection: Connection, query: str, *hashes: bytes) -> None:
    now = time.monotonic()
    if _passed.get(hashes, 0.0) > now:
        return
    async with pool(connection).acquire() as conn:  # type: ignore[arg-type]
        ok = await conn.fetchval(query, *hashes)
        # the failure path only: say which of the credentials is wrong
        if ok is None and (
            len(hashes) == 1 or await conn.fetchval("SELECT faktura_auth_platform($1)", hashes[0]) is None
        ):
            raise _unauthorized(UNKNOWN_PLATFORM_KEY)
    if ok is None:
        raise _unauthorized("Unknown or revoked account token (`X-Account-Token`) for this platform.")
    if len(_passed) >= REMEMBER_MAX:
        _passed.clear()
    _passed[hashes] = now + REMEMBER_SECONDS


async def tenant_credentials(connection: Connection) -> None:
    """The platform key and the tenant's `X-Account-Token`."""
    key_hash = _bearer(connection)  # type: ignore[arg-type]
    token = connection.headers.get("x-account-token", "").strip()
    if not token:
        raise _unauthorized("Select the tenant with the `X-Account-Token` header.")
    await _admit(connection, "SELECT faktura_auth_tenant($1, $2)", key_hash, secret_hash(token))


async def platform_key(connection: Connection) -> None:
    """The platform key alone (platform-level routes: tenants)."""
    await _admit(connection, "SELECT faktura_auth_platform($1)", _bearer(connection))  # type: ignore[arg-type]


async def public(connection: Connection) -> None:
    """No credentials (the public rule catalogue): nothing to check."""


def _has_body(connection: Connection) -> bool:
    headers = connection.headers
    return headers.get("content-length", "0").strip() != "0" or "transfer-encoding" in headers


async def authenticate(connection: Connection, handler: BaseRouteHandler) -> None:
    """The guard of every API route: a 401 in Faktura's error envelope, before the body."""
    check: Authenticator = handler.opt.get("authenticate", tenant_credentials)
    try:
        await check(connection)
    except ApiError as exc:
        if exc.status != 401:
            raise
        # Close the connection rather than drain a body that will not be read.
        headers = {"Connection": "close"} if _has_body(connection) else None
        raise NotAuthorizedException(detail=exc.errors[0]["detail"], headers=headers) from None
