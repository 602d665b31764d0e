"""A transaction as one tenant, for work whose credentials were already checked.

Row-level security reads the tenant from `app.tenant_id`, set with `set_config(..., true)`:
local to the transaction, so nothing is left on a pooled connection (also behind pgbouncer
in transaction mode). `as_tenant` sends BEGIN and the setting as one simple query: one round
trip where asyncpg's `transaction()` and a `set_config` statement take two.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg


@asynccontextmanager
async def as_tenant(pool: asyncpg.Pool, tenant_id: uuid.UUID) -> AsyncIterator[asyncpg.Connection]:
    """A transaction on a pooled connection, scoped to `tenant_id`; committed when the block
    ends, rolled back when it raises (or is cancelled)."""
    tenant = uuid.UUID(str(tenant_id))  # only a UUID's own text goes into the statement
    async with pool.acquire() as conn:
        await conn.execute(f"BEGIN; SELECT set_config('app.tenant_id', '{tenant}', true)")
        try:
            yield conn
        except BaseException:
            # the block's own exception is what the caller needs to see; a connection that
            # cannot even roll back is reset or closed by the pool on release
            with contextlib.suppress(Exception):
                await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")
