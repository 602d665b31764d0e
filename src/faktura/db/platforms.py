"""Platforms and their API keys (owner-side operations, used by the CLI).

Keys are random, shown once, stored as SHA-256 (they carry 256 bits of entropy, so a
slow password hash would add nothing), revocable and rotatable.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid

import asyncpg

PLATFORM_KEY_PREFIX = "fkp_"
ACCOUNT_TOKEN_PREFIX = "fkt_"


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def secret_hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


async def _add_key(conn: asyncpg.Connection, platform_id: uuid.UUID) -> str:
    key = new_secret(PLATFORM_KEY_PREFIX)
    await conn.execute(
        "INSERT INTO platform_keys (id, platform_id, key_hash, prefix) VALUES ($1, $2, $3, $4)",
        uuid.uuid4(),
        platform_id,
        secret_hash(key),
        key[:10],
    )
    return key


async def create_platform(conn: asyncpg.Connection, name: str) -> tuple[str, str]:
    """A new platform and its first key: (platform_id, plaintext key)."""
    platform_id = uuid.uuid4()
    async with conn.transaction():
        await conn.execute("INSERT INTO platforms (id, name) VALUES ($1, $2)", platform_id, name)
        key = await _add_key(conn, platform_id)
    return str(platform_id), key


async def rotate_platform_key(conn: asyncpg.Connection, platform_id: str, *, revoke_old: bool = False) -> str:
    """A new key; old keys stay valid (for a zero-downtime switch) unless `revoke_old`."""
    pid = uuid.UUID(platform_id)
    async with conn.transaction():
        if not await conn.fetchval("SELECT EXISTS (SELECT FROM platforms WHERE id = $1)", pid):
            raise LookupError(f"no platform {platform_id}")
        if revoke_old:
            await conn.execute(
                "UPDATE platform_keys SET revoked_at = now() WHERE platform_id = $1 AND revoked_at IS NULL",
                pid,
            )
        return await _add_key(conn, pid)


async def revoke_platform_key(conn: asyncpg.Connection, key_id: str) -> None:
    status = await conn.execute(
        "UPDATE platform_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", uuid.UUID(key_id)
    )
    if status.endswith(" 0"):
        raise LookupError(f"no active key {key_id}")


async def list_platforms(conn: asyncpg.Connection) -> list[dict[str, object]]:
    rows = await conn.fetch(
        "SELECT p.id, p.name, p.created_at,"
        " coalesce(json_agg(json_build_object('id', k.id, 'prefix', k.prefix, 'revoked', k.revoked_at IS NOT NULL))"
        " FILTER (WHERE k.id IS NOT NULL), '[]') AS keys"
        " FROM platforms p LEFT JOIN platform_keys k ON k.platform_id = p.id GROUP BY p.id ORDER BY p.created_at"
    )
    return [dict(r) for r in rows]
