"""Start-up warns about server settings Faktura's performance depends on (autovacuum)."""

from __future__ import annotations

import asyncio
import os

import asyncpg
from tests.test_cli import _faktura

from faktura.db.server_check import server_warnings


async def test_autovacuum_off_is_named(owner: asyncpg.Connection) -> None:
    autovacuum = await owner.fetchval("SHOW autovacuum")
    warnings = await server_warnings(owner)
    assert any("autovacuum is off" in w for w in warnings) == (autovacuum != "on")


async def test_start_up_prints_the_warnings(database_url: str, owner: asyncpg.Connection) -> None:
    expected = await server_warnings(owner)
    result = await asyncio.to_thread(_faktura, "migrate", env={**os.environ, "DATABASE_URL": database_url})
    assert result.returncode == 0, result.stderr
    assert [line for line in result.stderr.splitlines() if "warning:" in line] == [
        f"faktura: warning: {w}" for w in expected
    ]
