"""CockroachDB compatibility without a server: every SQL string the app can send, checked against
the constructs CockroachDB rejects or treats differently (issue 13, "Also").

Collected: string constants and f-strings (their literal pieces, a `{}` where a value goes)
that look like SQL (docstrings skipped) in queries/ and in every other directory of app code
(SCANNED), every statement of queries/migrations/,
and the statements queries.dialect, queries.cockroach_setup and the seed's batched path
generate for CockroachDB. Each is checked against RULES below; a file or a (file, rule) pair
may be exempt only with its reason written down in PG_ONLY_FILES / ALLOWED.

Checked in the docs and *not* forbidden, so that the list does not over-forbid:
* generate_series(): a CockroachDB built-in (https://www.cockroachlabs.com/docs/stable/functions-and-operators#set-returning-functions).
* SELECT ... FOR UPDATE [SKIP LOCKED]: FOR UPDATE is supported; SKIP LOCKED only from v22.2
  (unsupported up to v22.1: https://www.cockroachlabs.com/docs/v22.1/select-for-update; added
  by cockroachdb/cockroach#85720). The app uses neither today.
* sum() of integers: DECIMAL on CockroachDB, NUMERIC for INT8 on PostgreSQL; both arrive as
  Decimal, and the app casts (::INT8) where it wants an integer.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from queries import bulk_load
from queries.cockroach_setup import parse_region_map, parse_regions, topology_statements
from queries.dialect import (
    COCKROACH,
    ENABLE_RANGEFEED_SQL,
    RANGEFEED_SETTING_SQL,
    SHOW_CHANGEFEED_JOBS_SQL,
    Dialect,
    create_changefeed_sql,
)

ROOT = Path(__file__).resolve().parent.parent
# Where the app's Python lives (queries/ holds nearly all of its SQL); bench/ and tests/ are not
# the app.
SCANNED = ("queries", "changefeed", "stack", "pages", "components", ".")
CRDB = Dialect(COCKROACH)

# What makes a string constant SQL rather than prose or a log message: it starts with an
# (upper-case) SQL keyword, or it is a fragment (a parenthesis, a `{}`, a condition on a
# column) that also holds an SQL keyword or a placeholder.
_SQL_START = re.compile(
    r"^\s*(SELECT|INSERT|UPDATE|DELETE|UPSERT|CREATE|ALTER|DROP|WITH|TRUNCATE|LISTEN|NOTIFY|"
    r"SET|SHOW|COPY|ANALYZE|CHECKPOINT|GRANT|BEGIN|COMMIT|FROM|WHERE|JOIN|LEFT|AND|OR|ORDER|"
    r"GROUP|HAVING|LIMIT|ON|VALUES|RETURNING|UNION|CASE|WHEN|CANCEL|PAUSE|RESUME|EXISTS|NOT)\b")
_SQL_FRAGMENT = re.compile(
    r"^\s*(\(|\{\}|[\w{}.]+\s*(=|<>|<=|>=|<|>)|[\w{}.]+\s+(IN|IS|LIKE|BETWEEN)\b)")
_SQL_MARKER = re.compile(r"\b(SELECT|FROM|WHERE|AND|OR|IN|IS NULL|JOIN|VALUES)\b|%s|%\(\w+\)s")


def _looks_like_sql(text: str) -> bool:
    return bool(_SQL_START.search(text)
                or (_SQL_FRAGMENT.search(text) and _SQL_MARKER.search(text)))


@dataclass(frozen=True)
class Statement:
    source: str  # "queries/orders.py:120", "queries/migrations/0001_core_schema.sql", "dialect: ..."
    text: str

    @property
    def path(self) -> str:
        return self.source.split(":")[0]


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern
    why: str

    def violated_by(self, text: str) -> bool:
        return bool(self.pattern.search(_code_only(text)))


def _code_only(text: str) -> str:
    """The SQL without its string literals and -- comments, so that a URL such as
    'kafka://…' or a note in a comment cannot look like an operator."""
    text = re.sub(r"--[^\n]*", " ", text)
    return re.sub(r"'(?:[^']|'')*'", "''", text)


class _AsOfOutsideSetTransaction(Rule):
    def violated_by(self, text: str) -> bool:
        code = _code_only(text)
        if not self.pattern.search(code):
            return False
        return not re.match(r"\s*SET\s+TRANSACTION\s+AS\s+OF\s+SYSTEM\s+TIME\b", code, re.I)


class _UntypedDivision(Rule):
    """`/` on two INTs is DECIMAL on CockroachDB (an integer on PostgreSQL): every `/` must show
    that it divides non-integers (a ::FLOAT8/::NUMERIC/::DECIMAL cast or a decimal literal
    beside it), or be rewritten (div(a, b) on both engines, or a cast of the result)."""

    _TYPED = re.compile(r"::\s*(FLOAT8?|NUMERIC|DECIMAL|REAL|DOUBLE PRECISION|INTERVAL)\b"
                        r"|\b\d+\.\d+\b|\bINTERVAL\b", re.I)

    def violated_by(self, text: str) -> bool:
        code = _code_only(text)
        for match in re.finditer(r"(?<![/*])/(?![/*])", code):
            left = code[max(0, match.start() - 60):match.start()]
            right = code[match.end():match.end() + 60]
            # Only the operands' own pieces: stop at a comma or a keyword boundary.
            left = re.split(r",|\bSELECT\b|\bTHEN\b|\bELSE\b|\bWHEN\b", left, flags=re.I)[-1]
            right = re.split(r",|\bAS\b|\bFROM\b|\bEND\b|\bTHEN\b", right, flags=re.I)[0]
            if not (self._TYPED.search(left) or self._TYPED.search(right)):
                return True
        return False


_I = re.I
RULES = (
    Rule("SERIAL", re.compile(r"\b(SMALL|BIG)?SERIAL\b", _I),
         "SERIAL is unique_rowid() on CockroachDB, not a sequence; keys are UUIDs or natural keys "
         "(https://www.cockroachlabs.com/docs/stable/serial)"),
    Rule("sequence as key", re.compile(r"\bnextval\s*\(|\bCREATE\s+SEQUENCE\b", _I),
         "sequences are a single hot range on CockroachDB "
         "(https://www.cockroachlabs.com/docs/stable/serial, 'use UUID')"),
    Rule("LISTEN/NOTIFY", re.compile(r"^\s*(UN)?LISTEN\b|^\s*NOTIFY\b|\bpg_notify\s*\(", _I | re.M),
         "not supported (https://www.cockroachlabs.com/docs/stable/postgresql-compatibility)"),
    Rule("advisory lock", re.compile(r"\bpg_(try_)?advisory_\w*lock", _I),
         "advisory locks are no-ops/unsupported on CockroachDB (postgresql-compatibility)"),
    Rule("trigger/function", re.compile(
        r"\bCREATE\s+(OR\s+REPLACE\s+)?(TRIGGER|FUNCTION|PROCEDURE)\b|\bplpgsql\b", _I),
         "triggers and PL/pgSQL are missing before v24.3 and limited after it "
         "(https://www.cockroachlabs.com/docs/stable/postgresql-compatibility)"),
    Rule("TRUNCATE", re.compile(r"\bTRUNCATE\b", _I),
         "a non-transactional schema change that breaks a running changefeed "
         "(https://www.cockroachlabs.com/docs/stable/truncate)"),
    Rule("COPY", re.compile(r"^\s*COPY\b", _I),
         "COPY is allowed only to the admin role "
         "(https://www.cockroachlabs.com/docs/stable/copy#required-privileges)"),
    Rule("CHECKPOINT", re.compile(r"^\s*CHECKPOINT\b", _I), "PostgreSQL's own statement"),
    _AsOfOutsideSetTransaction(
        "AS OF SYSTEM TIME in a query", re.compile(r"\bAS\s+OF\s+SYSTEM\s+TIME\b", _I),
        "rejected inside an explicit transaction (every app read runs in one): only as "
        "`SET TRANSACTION AS OF SYSTEM TIME`, its first statement, generated by queries.dialect "
        "(https://www.cockroachlabs.com/docs/stable/as-of-system-time)"),
    Rule("make_interval", re.compile(r"\bmake_interval\s*\(", _I),
         "not in CockroachDB's function reference we checked "
         "(https://www.cockroachlabs.com/docs/stable/functions-and-operators); "
         "`%s * INTERVAL '1 second'` or `%s::INTERVAL` work on both"),
    Rule("CREATE DATABASE ... STRATEGY", re.compile(r"\bSTRATEGY\s+\w+", _I),
         "PostgreSQL 15's clause; CockroachDB's CREATE DATABASE has no STRATEGY"),
    Rule("::regclass", re.compile(r"::\s*regclass\b|\bto_regclass\s*\(", _I),
         "OIDs are not stable across CockroachDB releases "
         "(https://www.cockroachlabs.com/docs/stable/oid)"),
    Rule("pg_catalog read", re.compile(
        r"\bpg_catalog\.|\bpg_(stat_\w+|class|namespace|attribute|index|constraint|settings|"
        r"locks|replication_slots|publication\w*|database|roles|proc|type|indexes|tables)\b"
        r"|\bpg_(terminate|cancel)_backend\s*\(|\bpg_backend_pid\s*\(", _I),
         "CockroachDB's pg_catalog is a partial, sometimes empty, imitation "
         "(https://www.cockroachlabs.com/docs/stable/pg-catalog)"),
    _UntypedDivision(
        "integer division", re.compile(r"/"),
        "INT / INT is DECIMAL on CockroachDB, an integer on PostgreSQL "
        "(https://www.cockroachlabs.com/docs/stable/postgresql-compatibility)"),
)

# Files (or directories, ending in /) that only ever talk to PostgreSQL, and why: collected
# but exempt. bench/ is not scanned at all; it is listed so that the list is complete.
PG_ONLY_FILES = {
    "queries/replication.py": "logical replication for the relay; CockroachDB has its changefeed",
    "queries/soak.py": "the soak terminates backends of its own throwaway PostgreSQL",
    "changefeed/relay.py": "the relay: PostgreSQL's stand-in for the changefeed",
    "changefeed/pgoutput.py": "decodes PostgreSQL's logical replication stream, for the relay",
    "bench/": "benchmarks against the embedded PostgreSQL",
    "stack/postgres.py": "creates databases on the embedded PostgreSQL server",
}


def _pg_only(path: str) -> bool:
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in PG_ONLY_FILES)

# (file, rule) pairs allowed with the reason.
ALLOWED = {
    ("queries/bulk_load.py", "TRUNCATE"):
        "the seed's PostgreSQL-only reset; on CockroachDB the seed uses delete_rows_batched "
        "(Dialect.batched_bulk_writes)",
    ("queries/bulk_load.py", "COPY"):
        "the seed's PostgreSQL-only load and the benchmark's export; on CockroachDB the seed "
        "uses insert_text_rows_batched",
    ("queries/bulk_load.py", "CHECKPOINT"): "bench/seed.py only, against PostgreSQL",
}


def _docstring_nodes(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                found.add(id(body[0].value))
    return found


def python_sql(path: Path) -> list[Statement]:
    tree = ast.parse(path.read_text(), filename=str(path))
    skip = _docstring_nodes(tree)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            skip.update(id(v) for v in node.values)
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            text = node.value
        else:
            continue
        if _looks_like_sql(text):
            out.append(Statement(f"{path.relative_to(ROOT)}:{node.lineno}", text))
    return out


def migration_sql(path: Path) -> list[Statement]:
    rel = path.relative_to(ROOT)
    code = re.sub(r"--[^\n]*", "", path.read_text())  # comments may hold a ';'
    return [Statement(f"{rel}", s) for s in code.split(";") if s.strip()]


def generated_sql() -> list[Statement]:
    """What the dialect module and the seed's batched path send to CockroachDB."""
    statements = [
        CRDB.follower_read_transaction(),
        CRDB.follower_read_timestamp_query(),
        CRDB.as_of_transaction(dt.datetime(2025, 12, 3, 18, 30, tzinfo=dt.UTC)),
        *topology_statements(CRDB, "stockroom",
                             parse_regions("us-east1,europe-west1,asia-southeast1")),
        *topology_statements(CRDB, "stockroom",
                             parse_region_map("EU=europe-west1,NA=us-east1,APAC=asia-southeast1")),
        create_changefeed_sql("broker-1:9092,broker-2:9092", "stockroom."),
        RANGEFEED_SETTING_SQL, ENABLE_RANGEFEED_SQL, SHOW_CHANGEFEED_JOBS_SQL,
        *(bulk_load.insert_batch_statement(t, 2) for t in bulk_load.COLUMNS),
        *(bulk_load.delete_batch_statement(t) for t in bulk_load.RESET_ORDER),
    ]
    return [Statement("generated for CockroachDB", s) for s in statements if s]


def all_statements() -> list[Statement]:
    found = []
    for directory in SCANNED:
        for path in sorted((ROOT / directory).glob("*.py")):
            found += python_sql(path)
    for path in sorted((ROOT / "queries" / "migrations").glob("*.sql")):
        found += migration_sql(path)
    return found + generated_sql()


def violations(statements: list[Statement]) -> list[str]:
    found = []
    for statement in statements:
        if _pg_only(statement.path):
            continue
        for rule in RULES:
            if (statement.path, rule.name) in ALLOWED:
                continue
            if rule.violated_by(statement.text):
                snippet = " ".join(statement.text.split())[:120]
                found.append(f"{statement.source}: {rule.name} ({rule.why}): {snippet}")
    return found


def test_the_app_sends_nothing_cockroachdb_rejects():
    statements = all_statements()
    assert len(statements) > 150  # the collector still finds the app's SQL
    assert violations(statements) == []


def test_the_collector_sees_every_kind_of_source():
    sources = {s.source.split(":")[0] for s in all_statements()}
    assert "queries/orders.py" in sources
    assert "queries/migrations/0001_core_schema.sql" in sources
    assert "generated for CockroachDB" in sources


def test_exemptions_name_real_files_and_rules():
    names = {r.name for r in RULES}
    for path in PG_ONLY_FILES:
        assert (ROOT / path).exists(), path
    for path, rule in ALLOWED:
        assert (ROOT / path).exists() and rule in names, (path, rule)


@pytest.mark.parametrize("text, rule", [
    ("CREATE TABLE t (id SERIAL PRIMARY KEY)", "SERIAL"),
    ("CREATE TABLE t (id BIGSERIAL PRIMARY KEY)", "SERIAL"),
    ("INSERT INTO t (id) VALUES (nextval('t_seq'))", "sequence as key"),
    ("LISTEN stock_changed", "LISTEN/NOTIFY"),
    ("SELECT pg_notify('stock', %s)", "LISTEN/NOTIFY"),
    ("SELECT pg_advisory_xact_lock(42)", "advisory lock"),
    ("CREATE OR REPLACE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ $$", "trigger/function"),
    ("CREATE TRIGGER t AFTER INSERT ON stock FOR EACH ROW EXECUTE FUNCTION f()", "trigger/function"),
    ("TRUNCATE stock", "TRUNCATE"),
    ("COPY stock FROM STDIN", "COPY"),
    ("SELECT on_hand FROM stock AS OF SYSTEM TIME follower_read_timestamp() WHERE sku = %s",
     "AS OF SYSTEM TIME in a query"),
    ("SELECT now() - make_interval(days => %s)", "make_interval"),
    ("CREATE DATABASE x TEMPLATE y STRATEGY FILE_COPY", "CREATE DATABASE ... STRATEGY"),
    ("SELECT 'stock'::regclass", "::regclass"),
    ("SELECT relname FROM pg_catalog.pg_class", "pg_catalog read"),
    ("SELECT count(*) / %(days)s AS per_day FROM orders", "integer division"),
    ("SELECT sum(qty) / count(*) FROM order_lines", "integer division"),
])
def test_each_rule_catches_what_it_is_for(text, rule):
    found = [r.name for r in RULES if r.violated_by(text)]
    assert rule in found
    assert violations([Statement("queries/new_module.py:1", text)])


@pytest.mark.parametrize("text", [
    "SET TRANSACTION AS OF SYSTEM TIME follower_read_timestamp()",
    "SELECT sum(qty)::FLOAT8 / %(days)s AS per_day FROM order_lines",
    "SELECT count(*) FILTER (WHERE on_hand = 0)::NUMERIC / count(*) FROM stock",
    "SELECT div(sum(qty), 7) FROM order_lines",
    "SELECT n FROM generate_series(1, %s) AS n",
    "SELECT id FROM orders WHERE status = 'a/b' -- 10 / 3 in a comment",
    "CREATE CHANGEFEED FOR TABLE stock INTO 'kafka://broker:9092' WITH updated",
])
def test_what_cockroachdb_accepts_is_not_flagged(text):
    assert violations([Statement("queries/new_module.py:1", text)]) == []
