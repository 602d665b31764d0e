"""One place that decides which PostgreSQL a command talks to.

`serve`, `migrate` and the `platform` commands all call `resolve_database`, so they agree:
`DATABASE_URL` when set, else the embedded server in `settings.data_dir`.

Lifetime: `resolve_database` never stops the embedded server. `serve` stops it when it
exits; `migrate` and `platform` leave it running, because the next command (usually
`serve`) reuses a running server anyway and stopping/starting costs seconds for nothing.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from faktura.db.embedded import EmbeddedPostgres
    from faktura.settings import Settings


async def resolve_database(settings: Settings) -> tuple[Settings, EmbeddedPostgres | None]:
    """Settings with a concrete `database_url`, plus the embedded server if one is used."""
    if settings.database_url:
        return settings, None
    from faktura.db.embedded import start_embedded

    server = await asyncio.to_thread(start_embedded, settings.data_dir)
    return settings.with_database(server.dsn), server
