"""Probes for load balancers and orchestrators, unauthenticated and cheap.

`/health` says only that this process serves HTTP (a liveness probe: restarting the API
does not help when the database is down, so it does not look at the database). `/ready`
says that requests can be served: the database answers within a second and every
migration this version ships has been applied (a readiness probe).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import asyncpg
import msgspec
from litestar import MediaType, Request, Response, get

from faktura.api.errors import service_unavailable
from faktura.db.availability import database_unavailable
from faktura.db.migrate import available

#: How long `/ready` waits for a connection and its query.
READY_TIMEOUT_S = 1.0


@lru_cache(maxsize=1)
def _shipped_versions() -> tuple[str, ...]:
    return tuple(version for version, _ in available())


@get("/health", operation_id="health", include_in_schema=False)
async def health() -> Response[bytes]:
    return Response(b'{"status":"ok"}', media_type=MediaType.JSON)


@get("/ready", operation_id="ready", include_in_schema=False)
async def ready(request: Request[Any, Any, Any]) -> Response[bytes]:
    try:
        async with request.app.state.pool.acquire(timeout=READY_TIMEOUT_S) as conn:
            applied = await conn.fetchval(
                "SELECT coalesce(array_agg(version), '{}') FROM schema_migrations", timeout=READY_TIMEOUT_S
            )
    except asyncpg.UndefinedTableError:
        applied = []
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        return service_unavailable()
    pending = [v for v in _shipped_versions() if v not in set(applied)]
    if pending:
        detail = "Migrations not applied yet: " + ", ".join(pending) + ". Run `faktura migrate`."
        return service_unavailable(detail, "MIGRATIONS_PENDING")
    return Response(
        msgspec.json.encode({"status": "ready", "migration": _shipped_versions()[-1]}),
        media_type=MediaType.JSON,
    )
