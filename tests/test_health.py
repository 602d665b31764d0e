"""`/health` (the process) and `/ready` (database and migrations) are separate, cheap and
need no credentials; an unreachable database is told apart from every other failure."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from tests.delivery_support import free_port

from faktura.api.app import create_app, create_pool
from faktura.db.availability import database_unavailable
from faktura.db.migrate import available
from faktura.settings import Settings


async def test_health_and_ready_without_credentials(client: httpx.AsyncClient) -> None:
    r = await client.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = await client.get("/ready")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ready", "migration": available()[-1][0]}


@pytest.fixture
async def half_migrated(settings: Settings, owner: asyncpg.Connection) -> AsyncIterator[Settings]:
    """The test database as if its newest migration had not been applied."""
    latest = available()[-1][0]
    applied_at = await owner.fetchval(
        "DELETE FROM schema_migrations WHERE version = $1 RETURNING applied_at", latest
    )
    try:
        yield settings
    finally:
        await owner.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", latest, applied_at
        )


async def _get(settings: Settings, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """One request to an app of its own on `settings` (its pool opens no connection up front)."""
    app = create_app(settings)
    app.state.pool = await create_pool(dataclasses.replace(settings, pool_min_size=0))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fk") as c:
            return await c.get(path, headers=headers)
    finally:
        await app.state.pool.close()


async def test_ready_is_503_until_every_migration_is_applied(half_migrated: Settings) -> None:
    r = await _get(half_migrated, "/ready")
    assert r.status_code == 503 and r.headers["retry-after"].isdigit()
    (error,) = r.json()["errors"]
    assert error["problem_type"] == "MIGRATIONS_PENDING"
    assert available()[-1][0] in error["detail"]
    assert (await _get(half_migrated, "/health")).status_code == 200


async def test_ready_and_requests_are_503_without_a_database(settings: Settings) -> None:
    gone = dataclasses.replace(
        settings, app_database_url=f"postgresql://faktura_app@127.0.0.1:{free_port()}/nothing"
    )
    assert (await _get(gone, "/health")).status_code == 200
    tenant = {"Authorization": "Bearer some-key", "X-Account-Token": "some-token"}
    for r in (await _get(gone, "/ready"), await _get(gone, "/v1/invoices", tenant)):
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"].isdigit()
        assert [e["problem_type"] for e in r.json()["errors"]] == ["DATABASE_UNAVAILABLE"]


async def _raised(coro: Any) -> BaseException:
    try:
        await coro
    except Exception as e:
        return e
    raise AssertionError("no exception")


async def test_database_unavailable_tells_outages_from_other_errors(database_url: str) -> None:
    refused = await _raised(asyncpg.connect(f"postgresql://postgres@127.0.0.1:{free_port()}/x"))
    assert database_unavailable(refused)

    conn = await asyncpg.connect(database_url)
    killer = await asyncpg.connect(database_url)
    try:
        assert not database_unavailable(await _raised(conn.fetchval("SELECT 1 / 0")))
        assert not database_unavailable(await _raised(conn.execute("SELECT * FROM no_such_table")))
        await conn.execute("SET statement_timeout = 50")
        assert not database_unavailable(await _raised(conn.execute("SELECT pg_sleep(1)")))
        await conn.execute("RESET statement_timeout")

        # the server ends the connection (as on a restart), mid-transaction
        async def terminated_in_transaction() -> None:
            async with conn.transaction():
                await killer.execute("SELECT pg_terminate_backend($1)", conn.get_server_pid())
                await conn.fetchval("SELECT 1")

        assert database_unavailable(await _raised(terminated_in_transaction()))
        assert database_unavailable(await _raised(conn.fetchval("SELECT 1")))  # closed since
    finally:
        await killer.close()
        conn.terminate()
