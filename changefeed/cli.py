"""`python manage.py changefeed setup|status|rescan|teardown`.

CockroachDB (DATABASE_URL reports CockroachDB): `setup` checks kv.rangefeed.enabled (and turns
it on) and creates one changefeed for the five tables into KAFKA_BOOTSTRAP_SERVERS unless a
live one exists; `status` shows the job from SHOW CHANGEFEED JOBS. The sink URI carries the
TLS/SASL settings of changefeed/security.py (or is KAFKA_SINK_URI, or an external connection
named by KAFKA_EXTERNAL_CONNECTION); whatever is printed has its secrets redacted.

PostgreSQL (the embedded default): `setup` prepares what the relay reads (REPLICA IDENTITY
FULL, the publication, the logical slot); `status` shows the slot's position and lag and
whether the relay runs; `rescan` asks the relay to re-emit every row; `teardown` drops the
slot and publication (a slot nobody reads keeps WAL forever).
"""

from __future__ import annotations

import argparse
import os
import sys

import psycopg

from changefeed import TABLES, security
from changefeed.config import topic_prefix
from queries import changefeed_jobs, dialect, replication


def add_arguments_changefeed_command(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["setup", "status", "rescan", "teardown"],
                        help="setup: create the changefeed (CockroachDB) or the relay's slot "
                             "(PostgreSQL); status: show it")
    parser.add_argument("--resolved", default="10s",
                        help="CockroachDB: interval of resolved markers (default 10s)")
    parser.add_argument("--topic-prefix", default=None,
                        help="topic prefix (default: $STOCKROOM_TOPIC_PREFIX or none)")
    parser.add_argument("--slot", default=None,
                        help="PostgreSQL: slot name (default: $STOCKROOM_CDC_SLOT or "
                             "stockroom_cdc_<database>)")


def _urls() -> tuple[str, str | None]:
    url = os.environ.get("DATABASE_URL")
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not url:
        from stack import config, services

        embedded = services.urls(config.load())
        url, bootstrap = embedded["DATABASE_URL"], bootstrap or embedded["KAFKA_BOOTSTRAP_SERVERS"]
    return url, bootstrap


def changefeed_command(args: argparse.Namespace) -> int:
    url, bootstrap = _urls()
    prefix = args.topic_prefix if args.topic_prefix is not None else topic_prefix()
    try:
        conn = psycopg.connect(url, autocommit=True)
    except psycopg.OperationalError as exc:
        print(f"error: cannot connect to {url}: {str(exc).strip()}", file=sys.stderr)
        return 1
    with conn:
        if dialect.dialect_of(conn).is_cockroach:
            return _cockroach(conn, args, bootstrap, prefix)
    return _postgres(url, args, bootstrap, prefix)


# ---- CockroachDB --------------------------------------------------------------------------------

def _cockroach(conn, args, bootstrap: str | None, prefix: str) -> int:
    if args.action in ("rescan", "teardown"):
        print(f"`{args.action}` is for the PostgreSQL relay. On CockroachDB use "
              "CANCEL JOB / CREATE CHANGEFEED ... WITH initial_scan.", file=sys.stderr)
        return 2
    try:
        sink = security.sink_uri(bootstrap, prefix)
    except ValueError as exc:  # KafkaSettingsError: a sentence naming the variable to fix
        print(f"error: {exc}", file=sys.stderr)
        return 1
    shown = dialect.redact_secrets(sink)
    jobs = changefeed_jobs.changefeed_jobs(conn)
    existing = dialect.matching_changefeed_job(jobs, TABLES, sink)
    if args.action == "status":
        if existing is None:
            print(f"No changefeed feeds {', '.join(TABLES)} into {shown}. "
                  "Run `python manage.py changefeed setup`.")
            return 3
        _print_job(existing)
        return 0
    if not changefeed_jobs.rangefeed_enabled(conn):
        print("kv.rangefeed.enabled is off; turning it on (changefeeds need it).")
        changefeed_jobs.enable_rangefeed(conn)
    if existing is not None:
        print("A changefeed already exists:")
        _print_job(existing)
        return 0
    statement = dialect.changefeed_statement(list(TABLES), sink, resolved=args.resolved)
    print(dialect.redact_secrets(statement))
    job_id = changefeed_jobs.create_changefeed(conn, statement)
    print(f"Created changefeed job {job_id}.")
    return 0


def _print_job(job: dict) -> None:
    for name in ("job_id", "status", "running_status", "high_water_timestamp", "sink_uri",
                 "full_table_names", "topics", "error", "description"):
        if job.get(name) not in (None, ""):
            print(f"  {name:<22} {dialect.redact_secrets(job[name])}")


# ---- PostgreSQL ---------------------------------------------------------------------------------

def _postgres(url: str, args, bootstrap: str | None, prefix: str) -> int:
    relay_conn = replication.connect(url, application_name="stockroom-cli")
    with relay_conn:
        slot = args.slot or os.environ.get("STOCKROOM_CDC_SLOT") or \
            replication.default_slot_name(replication.database_name(relay_conn))
        publication = os.environ.get("STOCKROOM_CDC_PUBLICATION", replication.DEFAULT_PUBLICATION)
        if args.action == "setup":
            replication.set_replica_identity_full(relay_conn, TABLES)
            replication.ensure_publication(relay_conn, publication, TABLES)
            created = replication.ensure_slot(relay_conn, slot)
            if created:
                replication.request_scan(relay_conn)
            print(f"Publication {publication}: {', '.join(TABLES)} (REPLICA IDENTITY FULL)")
            print(f"Slot {slot}: {'created' if created else 'already there'}")
            print("The relay (`python -m changefeed.relay`, started by `manage.py up`) "
                  "publishes from it.")
            return 0
        if args.action == "rescan":
            replication.request_scan(relay_conn)
            print("Asked the relay to re-emit every row.")
            return 0
        if args.action == "teardown":
            dropped = replication.drop_slot(relay_conn, slot)
            replication.drop_publication(relay_conn, publication)
            print(f"Slot {slot}: {'dropped' if dropped else 'was not there'}; "
                  f"publication {publication} dropped.")
            return 0
        return _postgres_status(relay_conn, slot, publication, bootstrap, prefix)


def _postgres_status(conn, slot: str, publication: str, bootstrap: str | None,
                     prefix: str) -> int:
    status = replication.slot_status(conn, slot)
    tables = replication.publication_tables(conn, publication)
    print(f"Publication  {publication}: {', '.join(tables) if tables else '(missing)'}")
    if status is None:
        print(f"Slot         {slot}: missing — run `python manage.py changefeed setup` "
              "(or start the relay, which creates it).")
    else:
        print(f"Slot         {slot} ({status['plugin']}), confirmed {status['confirmed_flush_lsn']}"
              f", server at {status['current_lsn']}")
        print(f"Lag          {_bytes(status['lag_bytes'])} not yet confirmed; "
              f"{_bytes(status['retained_bytes'])} of WAL retained ({status['wal_status']})")
    pid = _relay_pid()
    print("Relay        " + (f"running (pid {pid})" if pid else "not running"))
    if bootstrap:
        _print_topics(bootstrap, prefix)
    return 0 if status is not None and pid else 3


def _relay_pid() -> int | None:
    from stack.processes import running_pid

    return running_pid("changefeed.relay")


def _print_topics(bootstrap: str, prefix: str) -> None:
    from changefeed import topics

    try:
        admin = topics.admin_client(bootstrap, "stockroom-cli")
    except Exception as exc:  # noqa: BLE001 - any reason the broker cannot be reached
        print(f"Topics       broker at {bootstrap} unreachable: {exc}")
        return
    try:
        found = topics.describe(admin, [prefix + t for t in TABLES])
    finally:
        admin.close()
    for table in TABLES:
        name = prefix + table
        print(f"Topic        {name}: "
              + (f"{found[name][1]} partitions" if name in found else "missing"))


def _bytes(value: int | None) -> str:
    value = int(value or 0)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value} B"
