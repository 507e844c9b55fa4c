"""The statement capture behind `manage.py bench pages`: it records what a query function sends
(from any thread but the application's background workers), and the replay runs the same
statements directly without leaving a write behind."""

from __future__ import annotations

import threading

import psycopg

from bench.statement_capture import StatementCapture, replay_statements
from queries import locations
from queries.actor import Actor
from queries.db import fetch_one, run_transaction

ADMIN = Actor("admin", "admin", (), "Ada Admin")
EU_MANAGER = Actor("manager", "inventory_manager", ("EU",), "Eva Manager")


def test_captures_what_a_query_function_sends_and_replays_it(world):
    original = psycopg.Cursor.execute
    with StatementCapture() as captured:
        rows = locations.visible(EU_MANAGER)
    assert psycopg.Cursor.execute is original  # the hook is gone once the capture closes
    assert rows and captured.statements
    assert any("locations" in s.text for s in captured.statements)
    assert any("EU" in repr(s.params) for s in captured.statements)  # parameters kept
    assert all(s.read_only for s in captured.statements)  # queries.db.read's transactions
    assert captured.seconds > 0

    replay = replay_statements(world, captured.statements, rounds=3)
    assert not replay.failed
    assert len(replay.rounds) == 3
    assert [len(times) for times in replay.per_statement] == [3] * len(captured.statements)


def test_other_threads_count_background_workers_apart(world):
    def page_thread():
        locations.visible(ADMIN)

    def background():
        fetch_one("SELECT 1 AS one")

    with StatementCapture() as captured:
        for target, name in ((page_thread, "ScriptRunner.scriptThread"),
                             (background, "stockroom-rollups")):
            thread = threading.Thread(target=target, name=name)
            thread.start()
            thread.join()
    assert captured.statements and {s.thread for s in captured.statements} == {
        "ScriptRunner.scriptThread"}
    # (The pool's own workers, "stockroom-worker-N", set up new connections: background too.)
    assert "SELECT 1 AS one" in [s.text for s in captured.background]


def test_replay_leaves_no_write_and_reports_failures(world):
    def write(cur):
        cur.execute("UPDATE locations SET name = name || %s WHERE region = %s", ("!", "EU"))
        cur.execute("SELECT no_such_column FROM locations")

    with StatementCapture() as captured:
        try:
            run_transaction(write)
        except psycopg.errors.UndefinedColumn:
            pass
    before = fetch_one("SELECT count(*) AS n FROM locations WHERE name LIKE %s", ("%!",))
    replay = replay_statements(world, captured.statements, rounds=2)
    after = fetch_one("SELECT count(*) AS n FROM locations WHERE name LIKE %s", ("%!",))
    assert before == after == {"n": 0}
    assert not any(s.read_only for s in captured.statements)
    assert [s.text.split()[0] for s in replay.statements] == ["UPDATE"]
    assert [type(s.query) for s, _ in replay.failed] == [str]
    assert "UndefinedColumn" in replay.failed[0][1]
