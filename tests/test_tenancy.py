"""`faktura.db.tenancy.as_tenant`: one round trip opens a transaction scoped to one tenant;
it commits, rolls back on an exception, and leaves nothing on the pooled connection."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from tests.conftest import Tenant, invoice_body, make_contact, two_tenants_with_contacts

from faktura.api.app import create_pool
from faktura.db.tenancy import as_tenant
from faktura.settings import Settings


async def _issue(client: httpx.AsyncClient, t: Tenant, contact: str) -> dict[str, Any]:
    r = await client.post("/v1/invoices?issue=true", json=invoice_body(contact), headers=t.headers)
    assert r.status_code == 201, r.text
    return r.json()["model"]  # type: ignore[no-any-return]


@pytest.fixture
async def one_connection(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """The application's pool with a single connection: each block runs on the one before's."""
    pool = await create_pool(dataclasses.replace(settings, pool_min_size=1, pool_max_size=1))
    yield pool
    await pool.close()


async def test_the_block_sees_only_its_tenant_and_the_setting_ends_with_it(
    one_connection: asyncpg.Pool, client: httpx.AsyncClient, owner: asyncpg.Connection
) -> None:
    a, a_contact, b, b_contact = await two_tenants_with_contacts(client, owner)
    mine, theirs = await _issue(client, a, a_contact), await _issue(client, b, b_contact)
    async with as_tenant(one_connection, uuid.UUID(a.id)) as conn:
        assert conn.is_in_transaction()
        backend = conn.get_server_pid()
        seen = {str(r["id"]) for r in await conn.fetch("SELECT id FROM invoices")}
        assert mine["id"] in seen and theirs["id"] not in seen
        assert await conn.fetchval("SELECT current_setting('app.tenant_id', true)") == a.id
    async with one_connection.acquire() as same:
        assert same.get_server_pid() == backend and not same.is_in_transaction()
        assert await same.fetchval("SELECT coalesce(current_setting('app.tenant_id', true), '')") == ""
        assert await same.fetch("SELECT id FROM invoices") == []  # row-level security: no tenant, no rows


async def test_it_commits_when_the_block_ends_and_rolls_back_when_it_raises(
    one_connection: asyncpg.Pool, client: httpx.AsyncClient, tenant: Tenant, owner: asyncpg.Connection
) -> None:
    pool = one_connection
    tid = uuid.UUID(tenant.id)
    insert = (
        "INSERT INTO number_series (tenant_id, code, format, yearly_reset) VALUES ($1, $2, 'S-{seq}', false)"
    )
    async with as_tenant(pool, tid) as conn:
        await conn.execute(insert, tid, "KEPT")
    with pytest.raises(RuntimeError, match="the block failed"):
        async with as_tenant(pool, tid) as conn:
            await conn.execute(insert, tid, "UNDONE")
            raise RuntimeError("the block failed")
    with pytest.raises(asyncpg.UniqueViolationError):  # a failed statement: rolled back too
        async with as_tenant(pool, tid) as conn:
            await conn.execute(insert, tid, "ALSO-UNDONE")
            await conn.execute(insert, tid, "KEPT")
    codes = await owner.fetch("SELECT code FROM number_series WHERE tenant_id = $1 ORDER BY code", tid)
    assert [r["code"] for r in codes] == ["KEPT"]
    async with pool.acquire() as conn:
        assert not conn.is_in_transaction()
    # and the tenant issues as before on the same pool
    await _issue(client, tenant, await make_contact(client, tenant))


async def test_a_tenant_id_is_only_ever_a_uuid_in_the_statement(one_connection: asyncpg.Pool) -> None:
    with pytest.raises(ValueError):
        async with as_tenant(one_connection, "x'); DROP TABLE invoices; --"):  # type: ignore[arg-type]
            pass
