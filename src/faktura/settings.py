"""Settings: read from the environment once, then passed around explicitly.

Nothing reads `os.environ` at import time; `Settings.from_env()` is called by the CLI (or a
test) and the result handed to `create_app`, the migrator and the worker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

APP_ROLE = "faktura_app"


@dataclass(frozen=True)
class Settings:
    #: Owner connection: runs migrations. Absent → an embedded PostgreSQL in `data_dir`.
    database_url: str | None = None
    #: Connection the API uses: a non-owner role without BYPASSRLS, so row-level security
    #: applies. Default: `database_url` with the user swapped for `faktura_app`.
    app_database_url: str | None = None
    app_db_password: str | None = None
    data_dir: Path = field(default_factory=lambda: Path(".faktura"))
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    pool_min_size: int = 2
    pool_max_size: int = 10
    #: asyncpg's prepared-statement cache. Behind pgbouncer in transaction pooling mode it
    #: must be 0 (`FAKTURA_DB_STATEMENT_CACHE_SIZE=0`): a prepared statement lives on one
    #: server connection, and the next transaction may get another one.
    statement_cache_size: int = 100
    max_body_bytes: int = 2 * 1024 * 1024
    #: Default number format of new series; `{year}` and `{seq:05}` are filled at issue.
    default_invoice_series_format: str = "INV-{year}-{seq:05}"
    default_credit_note_series_format: str = "CN-{year}-{seq:05}"
    #: Mounts `POST /bench/baseline` (a bare INSERT of the body) for bench/issue.py only.
    bench_baseline: bool = False

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = dict(os.environ if env is None else env)

        def get_int(name: str, default: int) -> int:
            return int(e[name]) if e.get(name) else default

        return cls(
            database_url=e.get("DATABASE_URL") or None,
            app_database_url=e.get("FAKTURA_APP_DATABASE_URL") or None,
            app_db_password=e.get("FAKTURA_APP_DB_PASSWORD") or None,
            data_dir=Path(e.get("FAKTURA_DATA_DIR") or ".faktura"),
            host=e.get("FAKTURA_HOST") or "127.0.0.1",
            port=get_int("FAKTURA_PORT", 8000),
            workers=get_int("FAKTURA_WORKERS", 1),
            pool_min_size=get_int("FAKTURA_DB_POOL_MIN", 2),
            pool_max_size=get_int("FAKTURA_DB_POOL_MAX", 10),
            statement_cache_size=get_int("FAKTURA_DB_STATEMENT_CACHE_SIZE", 100),
            max_body_bytes=get_int("FAKTURA_MAX_BODY_BYTES", 2 * 1024 * 1024),
            bench_baseline=e.get("FAKTURA_BENCH_BASELINE") == "1",
        )

    def with_database(self, database_url: str) -> Settings:
        """A copy pointing at a concrete database (used once the embedded one is up)."""
        from dataclasses import replace

        return replace(self, database_url=database_url)

    def app_dsn(self) -> str:
        """DSN of the non-owner application role."""
        if self.app_database_url:
            return self.app_database_url
        if not self.database_url:
            raise RuntimeError("no database configured")
        parts = urlsplit(self.database_url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        auth = APP_ROLE if not self.app_db_password else f"{APP_ROLE}:{self.app_db_password}"
        netloc = f"{auth}@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
