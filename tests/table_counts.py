"""What a refused command must leave alone: every table of the database, not just the one a
test happens to think of.

`table_state()` reads, for every table in the public schema, its row count and an md5 of its
rows, in one statement. Two states are equal only if no row was added, removed or changed
anywhere (an update that keeps the count, such as a stock row's reserved, shows in the digest):

    before = table_state()
    with pytest.raises(InsufficientStock):
        ...
    assert_nothing_written(before)

or, the same in one line, `with nothing_written(), pytest.raises(...):`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from psycopg import sql

from queries.db import fetch_all, run_transaction

# Written by the migration runner, not by commands.
NEVER_COMPARED = frozenset({"schema_migrations"})


def public_tables() -> list[str]:
    return [r["tablename"] for r in fetch_all(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]


def table_state(ignore: Iterable[str] = ()) -> dict[str, tuple[int, str]]:
    """{table: (rows, md5 of the rows in a fixed order)} for every table in the public schema."""
    skip = NEVER_COMPARED | set(ignore)
    tables = [t for t in public_tables() if t not in skip]
    query = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {name} AS name, count(*) AS n, "
                "md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS digest "
                "FROM {table} t").format(name=sql.Literal(table), table=sql.Identifier(table))
        for table in tables)
    rows = run_transaction(lambda cur: cur.execute(query).fetchall())
    return {r["name"]: (r["n"], r["digest"]) for r in rows}


def changed_tables(before: dict[str, tuple[int, str]],
                   after: dict[str, tuple[int, str]]) -> dict[str, str]:
    """{table: 'rows 3 -> 4' or 'rows changed (3 rows)'} for every table that differs."""
    changes = {}
    for table in sorted(set(before) | set(after)):
        was, now = before.get(table), after.get(table)
        if was == now:
            continue
        if was is None or now is None:
            changes[table] = "table appeared" if was is None else "table vanished"
        elif was[0] != now[0]:
            changes[table] = f"rows {was[0]} -> {now[0]}"
        else:
            changes[table] = f"rows changed ({now[0]} rows)"
    return changes


def assert_nothing_written(before: dict[str, tuple[int, str]], ignore: Iterable[str] = ()) -> None:
    ignore = set(ignore)
    after = table_state(ignore)
    changes = changed_tables({t: v for t, v in before.items() if t not in ignore}, after)
    assert not changes, f"written although nothing should have been: {changes}"


@contextmanager
def nothing_written(ignore: Iterable[str] = ()) -> Iterator[None]:
    """The block (typically a refused command) leaves every table exactly as it was."""
    ignore = tuple(ignore)
    before = table_state(ignore)
    yield
    assert_nothing_written(before, ignore)
