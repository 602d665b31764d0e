"""Migrations: applied one by one (an upgrade path) they give the same schema as applied
all at once on a fresh database; re-running applies nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from tests.conftest import ADMIN_DSN, _dsn_for

from faktura.db.migrate import available, migrate_connection

CATALOG = {
    "columns": "SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns"
    " WHERE table_schema = 'public' ORDER BY 1, 2",
    "indexes": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
    "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
    " WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2",
    "policies": "SELECT tablename, policyname, qual, with_check FROM pg_policies ORDER BY 1, 2",
    "functions": "SELECT proname, pg_get_functiondef(oid) FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY 1",
    "triggers": "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1",
    "rls": "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class"
    " WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1",
    "grants": "SELECT table_name, privilege_type FROM information_schema.role_table_grants"
    " WHERE grantee = 'faktura_app' ORDER BY 1, 2",
}


async def snapshot(conn: asyncpg.Connection) -> dict[str, list[tuple[object, ...]]]:
    return {k: [tuple(r) for r in await conn.fetch(q)] for k, q in CATALOG.items()}


@pytest.fixture
async def two_databases() -> AsyncIterator[tuple[asyncpg.Connection, asyncpg.Connection]]:
    names = [f"faktura_mig_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    admin = await asyncpg.connect(ADMIN_DSN)
    for n in names:
        await admin.execute(f'CREATE DATABASE "{n}"')
    conns = [await asyncpg.connect(_dsn_for(n)) for n in names]
    yield conns[0], conns[1]
    for c in conns:
        await c.close()
    for n in names:
        await admin.execute(f'DROP DATABASE "{n}" WITH (FORCE)')
    await admin.close()


async def test_stepwise_equals_fresh(two_databases: tuple[asyncpg.Connection, asyncpg.Connection]) -> None:
    fresh, stepwise = two_databases
    versions = [v for v, _ in available()]
    assert versions == sorted(versions) and versions[0].startswith("0001_")
    assert await migrate_connection(fresh) == versions
    for v in versions:
        assert await migrate_connection(stepwise, upto=v) == [v]
    assert await snapshot(fresh) == await snapshot(stepwise)
    assert await migrate_connection(fresh) == []
    assert [r[0] for r in await fresh.fetch("SELECT version FROM schema_migrations ORDER BY 1")] == versions


def test_migration_files_are_numbered_without_gaps() -> None:
    numbers = [int(v.split("_", 1)[0]) for v, _ in available()]
    assert numbers == list(range(1, len(numbers) + 1))
