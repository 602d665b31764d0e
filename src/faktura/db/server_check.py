"""What Faktura needs of its PostgreSQL server beyond the schema, checked at start.

PostgreSQL plans a statement it keeps (the foreign-key checks every issue runs, each
connection's prepared statements) once, from the statistics of that moment, and plans it
again only when the table is analyzed. Autovacuum analyzes a table as it grows; without it
a connection that first checked a foreign key while the table was nearly empty goes on using
that plan, and one measured here walked a tenant's whole `(tenant_id, modified_at)` index to
find one invoice by its id: PostgreSQL's CPU per issue rose from ~1.3 to 4-7 ms once the
tenant held ~10,000 invoices (docs/performance.md, "Plans kept from an empty table").
"""

from __future__ import annotations

import asyncpg


async def server_warnings(conn: asyncpg.Connection) -> list[str]:
    """What an operator should change on the server, one sentence each."""
    warnings = []
    if await conn.fetchval("SHOW autovacuum") != "on":
        warnings.append(
            "PostgreSQL's autovacuum is off: tables are never analyzed, so query plans made while"
            " they were small are kept as they grow (turn it on, or run VACUUM ANALYZE regularly)"
        )
    return warnings
