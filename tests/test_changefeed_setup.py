"""`manage.py changefeed`: the CockroachDB DDL (generated SQL, no server here) and the
PostgreSQL setup/status/teardown against the real server; plus the message encoding."""

from __future__ import annotations

import argparse
import json

import psycopg
import pytest

from changefeed import TABLES
from changefeed.cli import add_arguments_changefeed_command, changefeed_command
from changefeed.encoding import RowFormat, hlc, parse_hlc, partition_for
from queries import dialect, replication
from tests.cdc_helpers import unique_slot

# ---- CockroachDB statements ------------------------------------------------------------------------


def test_the_changefeed_statement_carries_the_options_of_the_message_contract():
    sql = dialect.create_changefeed_sql("kafka-1:9092,kafka-2:9092", "prod_", resolved="10s")
    assert sql == (
        "CREATE CHANGEFEED FOR TABLE stock, orders, order_lines, transfers, order_events "
        "INTO 'kafka://kafka-1:9092?topic_prefix=prod_' "
        "WITH updated, resolved='10s', min_checkpoint_frequency='10s', diff, "
        "kafka_sink_config='{\"RequiredAcks\": \"ALL\"}'"
    )
    assert dialect.CHANGEFEED_TABLES == TABLES


def test_the_sink_uri_takes_the_first_broker_and_quotes_the_prefix():
    assert dialect.kafka_sink_uri("127.0.0.1:19092") == "kafka://127.0.0.1:19092"
    assert dialect.kafka_sink_uri("PLAINTEXT://b:9092", "a b") == "kafka://b:9092?topic_prefix=a%20b"
    with pytest.raises(ValueError):
        dialect.kafka_sink_uri("")


def test_a_short_resolved_interval_sets_min_checkpoint_frequency_as_low():
    sql = dialect.changefeed_statement(["stock"], "kafka://k:9092", resolved="2s")
    assert "resolved='2s'" in sql and "min_checkpoint_frequency='2s'" in sql


@pytest.mark.parametrize("kwargs", [
    {"resolved": "10 seconds"}, {"resolved": "1s'; DROP TABLE stock; --"}, {"required_acks": "SOME"},
])
def test_bad_options_are_refused_before_any_sql_is_built(kwargs):
    with pytest.raises(ValueError):
        dialect.changefeed_statement(["stock"], "kafka://k:9092", **kwargs)


def test_table_names_and_sink_literals_cannot_inject_sql():
    with pytest.raises(ValueError):
        dialect.changefeed_statement(["stock; DROP TABLE users"], "kafka://k:9092")
    sql = dialect.changefeed_statement(["stock"], "kafka://k:9092?topic_prefix=o'brien")
    assert "INTO 'kafka://k:9092?topic_prefix=o''brien'" in sql


def test_an_existing_live_changefeed_for_the_same_sink_is_found():
    sink = "kafka://k:9092?topic_prefix=p_"
    live = {"job_id": 1, "status": "running", "sink_uri": sink,
            "full_table_names": ["db.public.stock", "db.public.orders", "db.public.order_lines",
                                 "db.public.transfers", "db.public.order_events"]}
    failed = {**live, "job_id": 2, "status": "failed"}
    elsewhere = {**live, "job_id": 3, "sink_uri": "kafka://other:9092"}
    partial = {**live, "job_id": 4, "full_table_names": ["db.public.stock"]}
    assert dialect.matching_changefeed_job([failed, elsewhere, partial, live], TABLES, sink)["job_id"] == 1
    assert dialect.matching_changefeed_job([failed, elsewhere, partial], TABLES, sink) is None


# ---- PostgreSQL: the relay's slot -----------------------------------------------------------------

def cli(action: str, slot: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments_changefeed_command(parser)
    return parser.parse_args([action, "--slot", slot])


def test_setup_status_and_teardown_of_the_relay_slot(db, capsys):
    slot = unique_slot()
    try:
        assert changefeed_command(cli("setup", slot)) == 0
        out = capsys.readouterr().out
        assert f"Slot {slot}: created" in out
        with psycopg.connect(db, autocommit=True) as conn:
            assert replication.slot_exists(conn, slot)
            assert replication.publication_tables(conn, "stockroom_cdc") == sorted(TABLES)
            identities = dict(conn.execute(
                "SELECT relname, relreplident FROM pg_class WHERE relname = ANY(%s)",
                (list(TABLES),)).fetchall())
            assert identities == {t: "f" for t in TABLES}  # FULL: updates carry the old row
        assert changefeed_command(cli("setup", slot)) == 0
        assert "already there" in capsys.readouterr().out

        assert changefeed_command(cli("status", slot)) == 3  # no relay process running here
        status = capsys.readouterr().out
        assert slot in status and "not yet confirmed" in status and "Relay        not running" in status
    finally:
        assert changefeed_command(cli("teardown", slot)) == 0
    assert "dropped" in capsys.readouterr().out
    with psycopg.connect(db, autocommit=True) as conn:
        assert not replication.slot_exists(conn, slot)


# ---- encoding ---------------------------------------------------------------------------------------

def test_values_are_rendered_as_a_cockroachdb_changefeed_renders_them():
    fmt = RowFormat([("id", 2950), ("n", 20), ("price", 1700), ("ratio", 701), ("ok", 16),
                     ("at", 1184), ("details", 3802), ("note", 25)], ["id"])
    values = ["8f0c4d6e-0000-4000-8000-000000000001", "-3", "12.50", "NaN", "f",
              "2026-01-02 03:04:05.5+00", '{"a": [1, 2]}', 'say "hi"\n']
    row = fmt.row(values)
    # Fields in sorted order of their names, as a CockroachDB changefeed writes them.
    assert row.startswith('{"at": "2026-01-02T03:04:05.5Z", "details": {"a": [1, 2]}, '
                          '"id": "8f0c4d6e-0000-4000-8000-000000000001", "n": -3, ')
    assert row.endswith('"ok": false, "price": 12.50, "ratio": "NaN"}')
    assert json.loads(row) == {"id": "8f0c4d6e-0000-4000-8000-000000000001", "n": -3, "price": 12.5,
                               "ratio": "NaN", "ok": False, "at": "2026-01-02T03:04:05.5Z",
                               "details": {"a": [1, 2]}, "note": 'say "hi"\n'}
    assert fmt.key(values) == '["8f0c4d6e-0000-4000-8000-000000000001"]'
    assert fmt.row([None] * 8).count("null") == 8


def test_hlc_timestamps_compare_as_integer_pairs_not_floats():
    a, b = hlc(1701102296662969433, 0), hlc(1701102296662969433, 1)
    assert parse_hlc(a) < parse_hlc(b)
    assert parse_hlc(b) == (1701102296662969433, 1)  # every nanosecond kept: no float on the way
    assert a == "1701102296662969433.0000000000"


def test_a_key_always_lands_on_the_same_partition():
    key = b'["WH-BER-1", "SKU-00042"]'
    assert len({partition_for(key, 4) for _ in range(10)}) == 1
    assert {partition_for(f'["L", "SKU-{i}"]'.encode(), 4) for i in range(100)} == {0, 1, 2, 3}


def test_snapshot_visibility_follows_postgres_xid_rules():
    mark = replication.SnapshotMark(0, xmin=100, xmax=110, xip=frozenset({103, 107}), insert_lsn="0/0")
    assert mark.visible(99) and mark.visible(104)
    assert not mark.visible(103) and not mark.visible(110) and not mark.visible(200)
    wrapped = replication.SnapshotMark(0, xmin=(1 << 32) + 5, xmax=(1 << 32) + 9, xip=frozenset(),
                                       insert_lsn="0/0")
    assert wrapped.visible(6) and not wrapped.visible(9) and wrapped.visible(0xFFFFFFF0)
