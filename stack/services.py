"""`manage.py up | down | status | env | migrate`: the embedded local stack."""

from __future__ import annotations

import argparse
import sys

from stack import config
from stack.broker import BrokerFailed, EmbeddedBroker
from stack.ports import PortTaken
from stack.postgres import EmbeddedPostgres, PostgresFailed
from stack.processes import BACKGROUND


def postgres(cfg: config.StackConfig) -> EmbeddedPostgres:
    return EmbeddedPostgres(cfg.data_dir, cfg.pg_port)


def broker(cfg: config.StackConfig) -> EmbeddedBroker:
    return EmbeddedBroker(cfg.data_dir, cfg.kafka_port)


def urls(cfg: config.StackConfig) -> dict[str, str]:
    return {
        "DATABASE_URL": config.external_database() or postgres(cfg).url,
        "KAFKA_BOOTSTRAP_SERVERS": config.external_kafka() or broker(cfg).bootstrap,
    }


def up(args: argparse.Namespace) -> int:
    cfg = config.load()
    cfg.save()
    try:
        if not config.external_database():
            postgres(cfg).start()
            print(f"PostgreSQL   {postgres(cfg).url}   (log {postgres(cfg).log_file})")
        if not config.external_kafka():
            broker(cfg).start()
            print(f"Kafka/Tansu  {broker(cfg).bootstrap}   (log {broker(cfg).log_file})")
    except (PortTaken, PostgresFailed, BrokerFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    env = urls(cfg)
    apply_schema(env["DATABASE_URL"])
    if not getattr(args, "no_background", False):
        for process in BACKGROUND:
            try:
                pid = process.start(cfg.data_dir, env)
            except RuntimeError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            print(f"{process.description:<12} pid {pid}   (log {process.log_file(cfg.data_dir)})")
    return 0


def down(args: argparse.Namespace) -> int:
    cfg = config.load()
    for process in reversed(BACKGROUND):
        process.stop(cfg.data_dir)
    broker(cfg).stop()
    postgres(cfg).stop()
    print("Stopped the embedded stack.")
    return 0


def status(args: argparse.Namespace) -> int:
    cfg = config.load()
    rows = []
    if config.external_database():
        rows.append(("database", "external", config.external_database()))
    else:
        pg = postgres(cfg)
        rows.append(("PostgreSQL", "running" if pg.pgdata.exists() and pg.is_running()
                     else "stopped", pg.url))
    if config.external_kafka():
        rows.append(("kafka", "external", config.external_kafka()))
    else:
        b = broker(cfg)
        rows.append(("Kafka/Tansu", "running" if b.is_running() else "stopped", b.bootstrap))
    for process in BACKGROUND:
        pid = process.pid(cfg.data_dir)
        rows.append((process.description, f"running (pid {pid})" if pid else "stopped",
                     str(process.log_file(cfg.data_dir))))
    for name, state, where in rows:
        print(f"{name:<14} {state:<20} {where}")
    return 0 if all(not r[1].startswith("stopped") for r in rows) else 3


def env(args: argparse.Namespace) -> int:
    for name, value in urls(config.load()).items():
        print(f"export {name}='{value}'")
    return 0


def apply_schema(url: str) -> None:
    """Migrations, then (on CockroachDB only) regions, localities and sharded indexes."""
    import os

    import psycopg

    from queries.cockroach_setup import parse_region_map, topology_statements
    from queries.dialect import dialect_of
    from queries.migrate import migrate

    applied = migrate(url)
    print(f"Migrations   {'applied ' + ', '.join(applied) if applied else 'up to date'}")
    with psycopg.connect(url, autocommit=True) as conn:
        regions = parse_region_map(os.environ.get("STOCKROOM_REGIONS"))
        for statement in topology_statements(dialect_of(conn), conn.info.dbname, regions):
            print(f"CockroachDB  {statement}")
            conn.execute(statement)


def migrate_command(args: argparse.Namespace) -> int:
    apply_schema(urls(config.load())["DATABASE_URL"])
    return 0
