"""An unlicensed CockroachDB cluster rejects follower reads (SQLSTATE XXC02); the Overview, the
rollup and the checker must keep working with plain reads, and Operations must say why.

No CockroachDB runs here, so the rejection is made by the real PostgreSQL server: the first
statement of the read raises the same SQLSTATE an unlicensed cluster sends."""

from __future__ import annotations

import psycopg
import pytest

from queries import follower_reads, rollups
from queries.follower_reads import historical_read
from tests import factories
from tests.apptest import messages, open_app

REJECT = ("DO $$ BEGIN RAISE EXCEPTION 'use of follower reads requires an enterprise license' "
          "USING ERRCODE = 'XXC02'; END $$")


@pytest.fixture(autouse=True)
def fresh_state():
    follower_reads.reset()
    yield
    follower_reads.reset()


def _count(cur) -> int:
    return cur.execute("SELECT count(*) AS n FROM stock").fetchone()["n"]


def test_a_license_rejection_falls_back_to_a_plain_read_and_is_remembered(world):
    assert follower_reads.unavailable_reason() is None
    assert historical_read(_count, statement=REJECT) == 9
    assert follower_reads.unavailable_reason() == (
        "use of follower reads requires an enterprise license")
    # Remembered: the follower statement is not tried again (this one would fail otherwise).
    assert historical_read(_count, statement="SELECT 1 / 0") == 9


def test_any_other_error_is_not_taken_for_a_missing_license(world):
    with pytest.raises(psycopg.errors.DivisionByZero):
        historical_read(_count, statement="SELECT 1 / 0")
    assert follower_reads.unavailable_reason() is None


def test_the_rollup_still_refreshes_and_operations_says_why(world):
    historical_read(_count, statement=REJECT)
    assert rollups.refresh()["rows"] == 3
    at = open_app(factories.ADMIN, "pages/operations.py")
    [warning] = [w for w in messages(at)["warning"] if "Follower reads" in w]
    assert "use of follower reads requires an enterprise license" in warning
    follower_reads.reset()
    at = open_app(factories.ADMIN, "pages/operations.py")
    assert not [w for w in messages(at)["warning"] if "Follower reads" in w]
