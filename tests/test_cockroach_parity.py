"""The embedded PostgreSQL behaves like a CockroachDB session where our SQL depends on it.

CockroachDB sessions run in UTC and compare strings by their bytes
(https://www.cockroachlabs.com/docs/stable/set-vars#supported-variables: timezone defaults to
UTC; https://www.cockroachlabs.com/docs/stable/collate: without COLLATE, strings compare
byte-wise). Day and hour buckets (date_trunc) and prefix ranges and sort orders must agree on
both engines, so the embedded server is initialised with the C locale and UTC.
"""

from __future__ import annotations

import pytest

from queries.db import fetch_one


def test_sessions_run_in_utc_and_buckets_are_utc_days(db):
    row = fetch_one("""
        SELECT current_setting('TimeZone') AS tz,
               date_trunc('day', TIMESTAMPTZ '2026-03-01 23:30:00-05') AS day
    """)
    assert row["tz"] == "UTC"
    assert row["day"].isoformat() == "2026-03-02T00:00:00+00:00"


def test_strings_compare_by_bytes_and_every_letter_has_a_lower_case(db):
    row = fetch_one("""
        SELECT datcollate, datctype,
               'B' < 'a' AS upper_first, lower('ZOË ÆRØ') AS lowered,
               'Z' < 'ä' AS ascii_before_accents,
               (SELECT array_agg(w ORDER BY w) FROM unnest(ARRAY['b', 'A', 'a', 'B']) AS w) AS sorted
          FROM pg_database
         WHERE datname = current_database()
    """)
    assert (row["datcollate"], row["datctype"]) == ("C", "C.UTF-8")
    assert row["lowered"] == "zoë ærø"  # CockroachDB lowers every letter too
    assert row["upper_first"] and row["ascii_before_accents"]
    assert row["sorted"] == ["A", "B", "a", "b"]


def test_on_cockroachdb_strings_are_sent_as_text_not_unknown(db):
    """What queries/db configures on a CockroachDB connection, applied to a real connection:
    the parameter arrives typed text instead of unknown."""
    import psycopg

    from queries.db import use_cockroach_adapters

    with psycopg.connect(db) as conn:
        with pytest.raises(psycopg.errors.IndeterminateDatatype):
            conn.execute("SELECT pg_typeof(%s)::TEXT", ["x"])  # unknown: PostgreSQL cannot tell
        conn.rollback()
        use_cockroach_adapters(conn)
        assert conn.execute("SELECT pg_typeof(%s)::TEXT", ["x"]).fetchone()[0] == "text"
