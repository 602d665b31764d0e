"""The `faktura` command.

Scripts depend on this contract:
  faktura serve [--host H] [--port P] [--workers N]
  faktura migrate                      prints each applied version, one a line
  faktura platform create NAME         the new API key is the LAST line of stdout
  faktura platform list                one JSON object a line
  faktura platform rotate-key PLATFORM_ID   the new API key is the LAST line of stdout
  faktura platform revoke-key KEY_ID
  faktura worker
  faktura archive verify [--tenant ID]   one `MISMATCH ...` line per problem; exit 1 if any
  faktura archive init [--lock-mode M --lock-days N]   create the S3 bucket (Object Lock where supported)

Without `DATABASE_URL` every command uses the embedded PostgreSQL in `FAKTURA_DATA_DIR`
(see `faktura.db.resolve`); only `serve` stops it on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from faktura import __version__
from faktura.settings import Settings


def _log(msg: str) -> None:
    """Progress goes to stderr so stdout stays parseable (keys, versions); as a JSON line
    in the long-running commands (serve, worker), which log structured."""
    from faktura.logs import structured

    if structured():
        logging.getLogger("faktura.cli").info(msg)
    else:
        print(f"faktura: {msg}", file=sys.stderr, flush=True)


def _print_applied(applied: list[str], *, to_stderr: bool) -> None:
    if to_stderr:
        if applied:
            _log("applied migrations: " + ", ".join(applied))
        return
    if not applied:
        _log("no pending migrations")
    for version in applied:
        print(version, flush=True)


async def _resolve_and_migrate(settings: Settings, *, to_stderr: bool) -> tuple[Settings, Any]:
    from faktura.db.migrate import migrate
    from faktura.db.resolve import resolve_database

    settings, server = await resolve_database(settings)
    if server is not None:
        _log(f"embedded PostgreSQL on 127.0.0.1:{server.port} (data in {server.data_dir})")
    assert settings.database_url is not None
    applied = await migrate(settings.database_url, settings)
    _print_applied(list(applied), to_stderr=to_stderr)
    for warning in await _server_warnings(settings.database_url):
        _log(f"warning: {warning}")
    return settings, server


async def _server_warnings(dsn: str) -> list[str]:
    import asyncpg

    from faktura.db.server_check import server_warnings

    conn = await asyncpg.connect(dsn)
    try:
        return await server_warnings(conn)
    finally:
        await conn.close()


def _refuse_bad_config(settings: Settings) -> bool:
    """Print every configuration problem that must stop a start; True if there is one."""
    problems = settings.delivery.problems()
    for problem in problems:
        _log(f"configuration error: {problem}")
    return bool(problems)


# --- serve -----------------------------------------------------------------------------------


def _exit_on_sigterm() -> None:
    """Until uvicorn installs its handlers, turn SIGTERM into SystemExit so `finally` runs."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def _start_job_worker(settings: Settings) -> Callable[[], None] | None:
    """The one place where `serve` starts the job worker next to the API: a child process
    running `faktura worker` on the same database, restarted whenever it dies. Returns a
    function that stops it."""
    from faktura.supervisor import Supervisor

    assert settings.database_url is not None
    env = {**os.environ, "DATABASE_URL": settings.database_url}
    return Supervisor("job worker", [sys.executable, "-m", "faktura.cli", "worker"], env).start().stop


def _shared_metrics_dir() -> Callable[[], None]:
    """Several processes (server workers, the job worker) add up their metrics through
    prometheus-client's multiprocess mode; it needs a fresh directory per run, set before
    prometheus-client is imported. Returns a function that removes it (when made here)."""
    import shutil
    import tempfile

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return lambda: None
    path = tempfile.mkdtemp(prefix="faktura-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return lambda: shutil.rmtree(path, ignore_errors=True)


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from faktura.logs import configure_logging

    settings = Settings.from_env()
    if _refuse_bad_config(settings):
        return 2
    # Children (the job worker, server worker processes) see the resolved database in
    # DATABASE_URL; they keep this process's sandbox decision rather than re-deriving it.
    os.environ["FAKTURA_PEPPOL_SANDBOX"] = "1" if settings.delivery.sandbox else "0"
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    workers = args.workers if args.workers is not None else settings.workers
    with_worker = not args.no_worker and os.environ.get("FAKTURA_SERVE_WORKER", "1") != "0"
    remove_metrics_dir = _shared_metrics_dir() if workers > 1 or with_worker else lambda: None
    configure_logging()
    _exit_on_sigterm()

    settings, server = asyncio.run(_resolve_and_migrate(settings, to_stderr=True))
    stop_worker: Callable[[], None] | None = None
    try:
        if with_worker:
            stop_worker = _start_job_worker(settings)
        if workers > 1:
            # Worker processes build the app themselves from the environment.
            assert settings.database_url is not None
            os.environ["DATABASE_URL"] = settings.database_url
            uvicorn.run(
                "faktura.api.app:app_from_env",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_config=None,  # faktura.logs: JSON lines, and our own access line per request
                access_log=False,
            )
        else:
            from faktura.api.app import create_app

            uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)
    finally:
        if stop_worker is not None:
            stop_worker()
        remove_metrics_dir()
        if server is not None:
            _log("stopping embedded PostgreSQL")
            server.stop()
    return 0


# --- migrate ---------------------------------------------------------------------------------


def _cmd_migrate(args: argparse.Namespace) -> int:
    asyncio.run(_resolve_and_migrate(Settings.from_env(), to_stderr=False))
    return 0


# --- platform --------------------------------------------------------------------------------


async def _platform(args: argparse.Namespace) -> int:
    import asyncpg

    from faktura.db import platforms

    # Migrations first, so `platform create` works on a fresh database (idempotent).
    settings, _server = await _resolve_and_migrate(Settings.from_env(), to_stderr=True)
    func_name = {
        "create": "create_platform",
        "list": "list_platforms",
        "rotate-key": "rotate_platform_key",
        "revoke-key": "revoke_platform_key",
    }[args.platform_command]
    func = getattr(platforms, func_name, None)
    if func is None:
        _log(f"`platform {args.platform_command}` is not available in this version")
        return 2

    conn = await asyncpg.connect(settings.database_url)
    try:
        return await _run_platform_command(args, func, conn)
    except (LookupError, ValueError) as e:  # unknown or malformed id
        _log(f"platform {args.platform_command}: {e}")
        return 1
    finally:
        await conn.close()


def _json_row(row: dict[str, Any]) -> str:
    # asyncpg returns json columns as text unless a codec is set; print them as JSON.
    out = {k: json.loads(v) if k == "keys" and isinstance(v, str) else v for k, v in row.items()}
    return json.dumps(out, default=str)


async def _run_platform_command(args: argparse.Namespace, func: Callable[..., Any], conn: Any) -> int:
    if args.platform_command == "create":
        platform_id, key = await func(conn, args.name)
        print(f"platform_id: {platform_id}")
        print("api key (shown once; store it now):")
        print(key, flush=True)
    elif args.platform_command == "list":
        for row in await func(conn):
            print(_json_row(dict(row)), flush=True)
    elif args.platform_command == "rotate-key":
        key = await func(conn, args.platform_id)
        print("new api key (shown once; store it now; older keys stay valid until revoked):")
        print(key, flush=True)
    else:
        await func(conn, args.key_id)
        print(f"revoked key {args.key_id}", flush=True)
    return 0


def _cmd_platform(args: argparse.Namespace) -> int:
    return asyncio.run(_platform(args))


# --- worker ----------------------------------------------------------------------------------


def _cmd_worker(args: argparse.Namespace) -> int:
    """Run queued jobs. Needs DATABASE_URL (or the embedded database `serve` started).
    Waits for an unreachable database instead of failing (see `faktura.worker`)."""
    from faktura.logs import configure_logging
    from faktura.metrics import run_with_probe
    from faktura.supervisor import PARENT_ENV, die_with_parent
    from faktura.worker import run_worker, wait_for_database

    if parent := os.environ.get(PARENT_ENV):  # started by `faktura serve`: end with it
        die_with_parent(int(parent), signal.SIGTERM)
    configure_logging()
    settings = Settings.from_env()
    if _refuse_bad_config(settings):
        return 2
    _exit_on_sigterm()
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        settings = asyncio.run(wait_for_database(lambda: _resolve_and_migrate(settings, to_stderr=True)))[0]
        probe_addr, token = settings.worker_metrics_addr, settings.metrics_token
        asyncio.run(run_with_probe(run_worker(settings), probe_addr, token))
    return 0


# --- archive -------------------------------------------------------------------------------


async def _archive(args: argparse.Namespace) -> int:
    from faktura.archive.audit import verify_all

    settings, _server = await _resolve_and_migrate(Settings.from_env(), to_stderr=True)
    return await verify_all(settings, tenant=args.tenant)


def _archive_init(args: argparse.Namespace) -> int:
    """Prepare the configured archive storage (run once at deployment, before the API)."""
    from faktura.archive.storage import S3Store, open_store

    settings = Settings.from_env()
    store = open_store(settings)
    if isinstance(store, S3Store):
        print(store.ensure_bucket(lock_mode=args.lock_mode, lock_days=args.lock_days), flush=True)
    else:
        (settings.data_dir / "archive").mkdir(parents=True, exist_ok=True)
        print(f"archive in {settings.data_dir / 'archive'}", flush=True)
    return 0


def _cmd_archive(args: argparse.Namespace) -> int:
    if args.archive_command == "init":
        return _archive_init(args)
    return asyncio.run(_archive(args))


# --- main ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faktura",
        description="Faktura e-invoicing service. Without DATABASE_URL, an embedded PostgreSQL "
        "in FAKTURA_DATA_DIR (default .faktura) is used.",
    )
    parser.add_argument("--version", action="version", version=f"faktura {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="apply migrations and serve the HTTP API")
    serve.add_argument("--host", help="bind address (default: FAKTURA_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: FAKTURA_PORT or 8000)")
    serve.add_argument("--workers", type=int, help="worker processes (default: FAKTURA_WORKERS or 1)")
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="do not start a job worker beside the API (run `faktura worker` separately; also FAKTURA_SERVE_WORKER=0)",
    )
    serve.set_defaults(func=_cmd_serve)

    migrate = sub.add_parser("migrate", help="apply pending migrations; print the versions applied")
    migrate.set_defaults(func=_cmd_migrate)

    platform = sub.add_parser(
        "platform", help="manage platforms (the SaaS products that call Faktura) and their API keys"
    )
    psub = platform.add_subparsers(dest="platform_command", required=True, metavar="ACTION")
    create = psub.add_parser("create", help="create a platform; its API key is the last line printed")
    create.add_argument("name")
    psub.add_parser("list", help="list platforms, one JSON object a line")
    rotate = psub.add_parser("rotate-key", help="issue a new API key; printed as the last line")
    rotate.add_argument("platform_id")
    revoke = psub.add_parser("revoke-key", help="revoke an API key")
    revoke.add_argument("key_id")
    platform.set_defaults(func=_cmd_platform)

    worker = sub.add_parser("worker", help="run the background job worker")
    worker.set_defaults(func=_cmd_worker)

    archive = sub.add_parser("archive", help="check the document archive")
    asub = archive.add_subparsers(dest="archive_command", required=True, metavar="ACTION")
    verify = asub.add_parser(
        "verify", help="re-read and re-hash every archived object, check the hash chains"
    )
    verify.add_argument("--tenant", help="only this tenant (id)")
    init = asub.add_parser(
        "init", help="create the S3 bucket if missing, with Object Lock where the server supports it"
    )
    init.add_argument("--lock-mode", choices=["GOVERNANCE", "COMPLIANCE"], help="default retention mode")
    init.add_argument("--lock-days", type=int, help="default retention of every new object, in days")
    archive.set_defaults(func=_cmd_archive)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from faktura.db.embedded import EmbeddedPostgresError

    try:
        return int(args.func(args))
    except EmbeddedPostgresError as e:
        _log(f"embedded PostgreSQL: {e}")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
