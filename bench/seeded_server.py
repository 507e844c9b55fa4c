"""An embedded PostgreSQL holding seeded demo data, for benchmarks that read it.

    with seeded_server("large", data_dir=default_data_dir("large")) as server:
        ...   # DATABASE_URL points at server.url meanwhile

With a data directory, the server's files stay there between runs: the first run migrates and
seeds it (`stack.seed`, with a progress bar and how long it took), later runs start the same
server and only migrate it (new migrations apply; the rows are kept). A marker file
`seeded.json` written after a successful seed says which scale and seed the rows are; any other
scale, seed or an interrupted seed (the seed is one transaction: it leaves nothing) reseeds.
Without a data directory the server lives in a temporary directory removed at the end.

The benchmark's reads must not change the rows; none of the benchmarks using this write.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from queries import bulk_load
from queries import db as dbmod
from queries.migrate import migrate
from stack.ports import free_port
from stack.postgres import EmbeddedPostgres
from stack.seed import SCALES, ProgressBar, seed

MARKER = "seeded.json"
BENCH_CONF = "bench.conf"


def default_data_dir(scale: str) -> Path:
    """Where a benchmark keeps its seeded server between runs.

    ~/.cache/stockroom/bench-<scale>; as root, /var/tmp/stockroom-bench/<scale>, since the
    server then runs as an unprivileged user that must be able to reach the directory (and
    opening up /root for it is not ours to do)."""
    if os.geteuid() == 0:
        return Path("/var/tmp/stockroom-bench") / scale
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "stockroom" / f"bench-{scale}"


def _write_settings(server: EmbeddedPostgres, settings: dict[str, str]) -> None:
    """The benchmark's server settings, in their own included file (rewritten every start)."""
    conf = server.pgdata / "postgresql.conf"
    include = f"include_if_exists = '{BENCH_CONF}'"
    if include not in conf.read_text():
        with open(conf, "a") as out:
            out.write(f"\n# benchmark settings\n{include}\n")
    (server.pgdata / BENCH_CONF).write_text(
        "".join(f"{key} = {value}\n" for key, value in settings.items()))


def _running_port(server: EmbeddedPostgres) -> int | None:
    """The port of a server already running on this data directory (postmaster.pid, line 4)."""
    try:
        return int((server.pgdata / "postmaster.pid").read_text().splitlines()[3])
    except (OSError, IndexError, ValueError):
        return None


def _marker(directory: Path) -> dict | None:
    try:
        return json.loads((directory / MARKER).read_text())
    except (OSError, ValueError):
        return None


def _has_rows(url: str) -> bool:
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        return bulk_load.domain_data_exists(cur)


def ensure_seeded(server: EmbeddedPostgres, directory: Path, scale: str, seed_value: int,
                  out=sys.stderr, kept: bool = True) -> dict:
    """Seed unless the marker says these rows are already there; returns the marker."""
    marker = _marker(directory)
    if (marker and marker.get("scale") == scale and marker.get("seed") == seed_value
            and _has_rows(server.url)):
        print(f"Reusing --scale {scale} data seeded {marker['seeded_at']} in {directory} "
              f"({sum(marker['counts'].values()):,} rows; seeding took "
              f"{marker['seconds']:.0f} s)", file=out)
        return marker
    (directory / MARKER).unlink(missing_ok=True)
    print(f"Seeding --scale {scale} into {directory}"
          f"{' (kept for the next run)' if kept else ''} ...", file=out)
    started = time.perf_counter()
    counts = seed(server.url, scale, seed=seed_value, progress=ProgressBar(out), reset=True,
                  demo_accounts=True)
    seeded = time.perf_counter() - started
    # What the tables look like once autovacuum has been round: visibility map set (index-only
    # scans), statistics fresh. Without it the first minutes of a benchmark measure autovacuum.
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    seconds = time.perf_counter() - started
    marker = {"scale": scale, "seed": seed_value, "counts": counts, "seconds": seconds,
              "seeded_at": datetime.now(UTC).isoformat(timespec="seconds")}
    (directory / MARKER).write_text(json.dumps(marker, indent=1))
    print(f"Seeded {sum(counts.values()):,} rows in {seeded:.0f} s, then VACUUM ANALYZE: "
          f"{seconds:.0f} s in all", file=out)
    return marker


@contextmanager
def seeded_server(scale: str, *, data_dir: Path | None = None, seed_value: int = 42,
                  settings: dict[str, str] | None = None, reseed: bool = False,
                  out=sys.stderr) -> Iterator[EmbeddedPostgres]:
    """A started, migrated, seeded server; DATABASE_URL points at it inside the block.

    settings: postgresql.conf settings for this run (e.g. shared_preload_libraries).
    reseed: seed again even when the data directory holds these rows already.
    A server left running on data_dir (an earlier run that was killed) is reused and left
    running; one this call started is stopped at the end."""
    if scale not in SCALES:
        raise ValueError(f"--scale must be one of {', '.join(SCALES)}")
    temporary = data_dir is None
    directory = Path(tempfile.mkdtemp(prefix="stockroom-bench-")) if temporary else data_dir
    directory.mkdir(parents=True, exist_ok=True)
    lock = open(directory / ".lock", "w")  # noqa: SIM115 - held for the whole block
    previous_url = os.environ.get("DATABASE_URL")
    server = EmbeddedPostgres(directory / "pg", free_port())
    started_here = False
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"another benchmark is using {directory}") from None
        server.init()
        if server.is_running() and (port := _running_port(server)):
            server.port = port
            print(f"PostgreSQL already running on {directory} (port {port}); using it "
                  "(settings as it was started with)", file=out)
        else:
            _write_settings(server, settings or {})
            server.start()
            started_here = True
        migrate(server.url)
        if temporary or reseed:
            (directory / MARKER).unlink(missing_ok=True)
        ensure_seeded(server, directory, scale, seed_value, out=out, kept=not temporary)
        os.environ["DATABASE_URL"] = server.url
        yield server
    finally:
        dbmod.close_pools()
        if previous_url is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = previous_url
        if started_here:
            server.stop()
        lock.close()
        if temporary:
            shutil.rmtree(directory, ignore_errors=True)
