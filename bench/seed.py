"""`manage.py bench seed [--scale large|small|tiny]`: the seed's rows/s next to a raw COPY.

Self-contained: starts its own embedded PostgreSQL in a temporary directory on a free port,
migrates it, and removes it at the end. In the same run, on the same server and schema:

1. seed  - `stack.seed.seed()` generates the rows in Python and loads them with COPY;
2. raw   - the seeded tables are exported (COPY TO), emptied, and the identical rows are
           loaded again with plain COPY FROM, with no Python row generation at all.

Both load the tables in the same order with the same constraints and indexes, so the ratio
seed rows/s / raw rows/s says how close the seed comes to the server's own COPY speed.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from queries import bulk_load
from queries.migrate import migrate
from stack.ports import free_port
from stack.postgres import EmbeddedPostgres
from stack.seed import PHASE_TABLES, PHASES, SCALES, ProgressBar, seed

# Settings for the benchmark's own server, the same for both halves: room for a multi-GB
# load without a checkpoint every gigabyte of WAL (which would mostly measure full-page writes).
SERVER_SETTINGS = {"shared_buffers": "1GB", "max_wal_size": "16GB", "checkpoint_timeout": "1h"}


def start_server(directory: Path) -> EmbeddedPostgres:
    server = EmbeddedPostgres(directory, free_port())
    server.init()
    with open(server.pgdata / "postgresql.conf", "a") as conf:
        conf.write("\n# bench seed\n" + "".join(f"{k} = {v}\n" for k, v in SERVER_SETTINGS.items()))
    server.start()
    migrate(server.url)
    return server


def clean_slate(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        bulk_load.checkpoint(cur)


def export_tables(url: str, directory: Path) -> dict[str, Path]:
    files = {}
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        for phase in PHASES:
            for table in PHASE_TABLES[phase]:
                path = files[table] = directory / f"{table}.copy"
                with open(path, "wb") as out:
                    for block in bulk_load.export_table_text(cur, table):
                        out.write(block)
    return files


def _file_chunks(path: Path, size: int = 1 << 20):
    with open(path, "rb") as source:
        while block := source.read(size):
            yield block


def raw_copy(url: str, files: dict[str, Path], progress) -> dict[str, float]:
    """Load the exported files back with plain COPY, phase by phase; seconds per phase.

    Like the seed on PostgreSQL, everything loads in one transaction.
    """
    seconds = {}
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        bulk_load.truncate_domain_tables(cur)
        conn.commit()
        bulk_load.checkpoint(cur)
        conn.commit()
        for phase in PHASES:
            started = time.perf_counter()
            for table in PHASE_TABLES[phase]:
                bulk_load.copy_text_rows(cur, table, _file_chunks(files[table]))
            seconds[phase] = time.perf_counter() - started
            progress(f"raw COPY {phase}", 1, 1)
        conn.commit()
    return seconds


def report(scale: str, counts: dict[str, int], seed_s: dict[str, float], raw_s: dict[str, float],
           export_s: float, out=sys.stdout) -> None:
    head = (f"{'phase':<16}{'tables':<36}{'rows':>12}{'seed s':>9}{'seed rows/s':>13}"
            f"{'COPY s':>9}{'COPY rows/s':>13}{'ratio':>7}")
    print(f"\nSeed benchmark, scale {scale}: seed (Python generation + COPY) vs raw COPY of the "
          "identical rows, same server, same run", file=out)
    print(head, file=out)
    print("-" * len(head), file=out)
    total_rows = total_seed = total_raw = 0
    for phase in PHASES:
        rows = sum(counts[t] for t in PHASE_TABLES[phase])
        total_rows += rows
        total_seed += seed_s[phase]
        total_raw += raw_s[phase]
        print(_line(phase, ", ".join(PHASE_TABLES[phase]), rows, seed_s[phase], raw_s[phase]),
              file=out)
    print("-" * len(head), file=out)
    print(_line("total", "", total_rows, total_seed, total_raw), file=out)
    print(f"\nratio = seed rows/s / raw COPY rows/s (1.00 = the seed loads as fast as the server "
          f"ingests plain COPY).\nThe stock phase also generates the opening-stock ledger rows, "
          f"which the stock_movements phase\nloads from a spool file; compare the totals. "
          f"Export with COPY TO took {export_s:.1f} s (not counted).", file=out)


def _line(phase: str, tables: str, rows: int, seed_seconds: float, raw_seconds: float) -> str:
    seed_rate = rows / seed_seconds if seed_seconds else float("inf")
    raw_rate = rows / raw_seconds if raw_seconds else float("inf")
    ratio = seed_rate / raw_rate if raw_rate and raw_rate != float("inf") else float("nan")
    return (f"{phase:<16}{tables:<36}{rows:>12,}{seed_seconds:>9.1f}{seed_rate:>13,.0f}"
            f"{raw_seconds:>9.1f}{raw_rate:>13,.0f}{ratio:>7.2f}")


def run(args: argparse.Namespace) -> int:
    scale = args.scale or "large"
    if scale not in SCALES:
        print(f"error: --scale must be one of {', '.join(SCALES)}", file=sys.stderr)
        return 2
    directory = Path(tempfile.mkdtemp(prefix="stockroom-bench-seed-"))
    server = None
    try:
        server = start_server(directory / "pg")
        print(f"Temporary PostgreSQL on port {server.port} in {directory} "
              f"({', '.join(f'{k}={v}' for k, v in SERVER_SETTINGS.items())})", file=sys.stderr)
        clean_slate(server.url)
        seed_seconds: dict[str, float] = {}
        bar = ProgressBar()
        counts = seed(server.url, scale, seed=int(args.options.get("seed", 42)), progress=bar,
                      demo_accounts=False, phase_seconds=seed_seconds)
        started = time.perf_counter()
        files = export_tables(server.url, directory)
        export_seconds = time.perf_counter() - started
        raw_seconds = raw_copy(server.url, files, bar)
        with psycopg.connect(server.url) as conn, conn.cursor() as cur:
            reloaded = bulk_load.count_rows_by_table(cur, list(files))
        if any(reloaded[t] != counts[t] for t in files):
            print(f"error: raw COPY loaded {reloaded}, the seed {counts}", file=sys.stderr)
            return 1
        report(scale, counts, seed_seconds, raw_seconds, export_seconds)
        return 0
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(directory, ignore_errors=True)
