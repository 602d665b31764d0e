"""Forward-only, plain-SQL migrations: `migrations/NNNN_name.sql`, applied in order.

Each file runs in its own transaction together with its row in `schema_migrations`, under
an advisory lock so that several processes starting at once migrate exactly once.
"""

from __future__ import annotations

from importlib import resources

import asyncpg

from faktura.settings import APP_ROLE, Settings

_LOCK_KEY = 0x46414B54  # "FAKT"


def available() -> list[tuple[str, str]]:
    """(version, sql) of every migration shipped with the package, in order."""
    files = sorted(
        (f for f in resources.files("faktura.db.migrations").iterdir() if f.name.endswith(".sql")),
        key=lambda f: f.name,
    )
    return [(f.name.removesuffix(".sql"), f.read_text(encoding="utf-8")) for f in files]


async def applied(conn: asyncpg.Connection) -> list[str]:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return []
    return [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")]


async def migrate_connection(
    conn: asyncpg.Connection, app_password: str | None = None, *, upto: str | None = None
) -> list[str]:
    """Apply pending migrations (up to and including `upto`, when given)."""
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = set(await applied(conn))
        new = []
        for version, sql in available():
            if version in done:
                continue
            if upto is not None and version > upto:
                break
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
            new.append(version)
        db = await conn.fetchval("SELECT current_database()")
        await conn.execute(f'GRANT CONNECT ON DATABASE "{db}" TO {APP_ROLE}')
        await conn.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
        # `/ready` compares the applied versions with the shipped ones.
        await conn.execute(f"GRANT SELECT ON schema_migrations TO {APP_ROLE}")
        if app_password:
            await conn.execute(f"ALTER ROLE {APP_ROLE} PASSWORD {quote_literal(app_password)}")
        return new
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


async def migrate(dsn: str, settings: Settings | None = None) -> list[str]:
    """Apply pending migrations as the owner role; returns the versions applied now."""
    conn = await asyncpg.connect(dsn)
    try:
        return await migrate_connection(conn, settings.app_db_password if settings else None)
    finally:
        await conn.close()
