"""`faktura archive verify`: every tenant's chain and objects, as the owner role.

Row-level security is forced on the owner too, so tenants are found the way the API finds
them: per platform (`app.platform_id`), then each tenant is verified in a transaction
scoped to it (`app.tenant_id`)."""

from __future__ import annotations

import sys
import uuid

import asyncpg

from faktura.archive.ledger import verify
from faktura.archive.storage import open_store
from faktura.settings import Settings


async def tenant_ids(conn: asyncpg.Connection) -> list[uuid.UUID]:
    out: list[uuid.UUID] = []
    for platform in await conn.fetch("SELECT id FROM platforms ORDER BY created_at, id"):
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.platform_id', $1, true)", str(platform["id"]))
            out += [r["id"] for r in await conn.fetch("SELECT id FROM tenants ORDER BY created_at, id")]
    return out


async def verify_all(settings: Settings, tenant: str | None = None) -> int:
    """Print one line per problem (stdout) and a summary (stderr); 0 when all is intact.
    An object still to be written after its commit (`archive_pending`) is counted as
    pending, not as a problem."""
    store = open_store(settings)
    conn = await asyncpg.connect(settings.database_url)
    try:
        tenants = [uuid.UUID(tenant)] if tenant else await tenant_ids(conn)
        checked = 0
        bad = 0
        pending = 0
        for tid in tenants:
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tid))
                count, problems = await verify(conn, store, tid)
                pending += await conn.fetchval(
                    "SELECT count(*) FROM archive_pending WHERE tenant_id = $1", tid
                )
            checked += count
            for p in problems:
                bad += 1
                print(f"MISMATCH {p}", flush=True)
        print(
            f"faktura: archive verify: {len(tenants)} tenant(s), {checked} entries, {bad} problem(s),"
            f" {pending} object(s) pending (issued, written by the worker shortly)",
            file=sys.stderr,
            flush=True,
        )
        return 1 if bad else 0
    finally:
        await conn.close()
