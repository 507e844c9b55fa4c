"""The embedded PostgreSQL behaves like a CockroachDB session where our SQL depends on it.

CockroachDB sessions run in UTC and compare strings by their bytes
(https://www.cockroachlabs.com/docs/stable/set-vars#supported-variables: timezone defaults to
UTC; https://www.cockroachlabs.com/docs/stable/collate: without COLLATE, strings compare
byte-wise). Day and hour buckets (date_trunc) and prefix ranges and sort orders must agree on
both engines, so the embedded server is initialised with the C locale and UTC.
"""

from __future__ import annotations

from queries.db import fetch_one


def test_sessions_run_in_utc_and_buckets_are_utc_days(db):
    row = fetch_one("""
        SELECT current_setting('TimeZone') AS tz,
               date_trunc('day', TIMESTAMPTZ '2026-03-01 23:30:00-05') AS day
    """)
    assert row["tz"] == "UTC"
    assert row["day"].isoformat() == "2026-03-02T00:00:00+00:00"


def test_strings_compare_by_bytes(db):
    row = fetch_one("""
        SELECT datcollate, datctype,
               'B' < 'a' AS upper_first,
               'Z' < 'ä' AS ascii_before_accents,
               (SELECT array_agg(w ORDER BY w) FROM unnest(ARRAY['b', 'A', 'a', 'B']) AS w) AS sorted
          FROM pg_database
         WHERE datname = current_database()
    """)
    assert (row["datcollate"], row["datctype"]) == ("C", "C")
    assert row["upper_first"] and row["ascii_before_accents"]
    assert row["sorted"] == ["A", "B", "a", "b"]
