"""The SQL dialect: recognises CockroachDB and generates its own statements.

Everything else in queries/ is plain SQL both engines accept. The statements here run only
when the server is CockroachDB; on PostgreSQL the helpers return nothing (or a no-op).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

COCKROACH = "cockroachdb"
POSTGRES = "postgresql"

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def quote_ident(name: str) -> str:
    """Double-quote an identifier (region names contain dashes)."""
    return '"' + name.replace('"', '""') + '"'


def plain_ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


def engine_from_version(version_string: str) -> str:
    return COCKROACH if version_string.startswith("CockroachDB") else POSTGRES


def detect(conn) -> str:
    """From the session's startup parameters, without a round trip.

    CockroachDB announces crdb_version when a connection opens; PostgreSQL never does. Sending
    no statement matters: SET TRANSACTION AS OF SYSTEM TIME must come first in a transaction.
    """
    return COCKROACH if conn.info.parameter_status("crdb_version") else POSTGRES


@dataclass(frozen=True)
class Dialect:
    engine: str

    @property
    def is_cockroach(self) -> bool:
        return self.engine == COCKROACH

    @property
    def batched_bulk_writes(self) -> bool:
        """How the seed writes and empties whole tables (queries/bulk_load.py). PostgreSQL:
        COPY and TRUNCATE. CockroachDB: batched multi-row INSERTs and batched DELETEs, each
        batch its own retried transaction, because COPY is allowed only to the admin role
        (https://www.cockroachlabs.com/docs/stable/copy#required-privileges) and TRUNCATE is a
        non-transactional schema change (https://www.cockroachlabs.com/docs/stable/truncate)."""
        return self.is_cockroach

    def follower_read_transaction(self) -> str | None:
        if not self.is_cockroach:
            return None
        return "SET TRANSACTION AS OF SYSTEM TIME follower_read_timestamp()"

    def follower_read_timestamp_query(self) -> str | None:
        """CockroachDB: the newest time a follower read may use (now - ~4.2 s), asked for in
        its own autocommit statement so the read that follows knows exactly what time it
        describes (https://www.cockroachlabs.com/docs/stable/follower-reads)."""
        return "SELECT follower_read_timestamp() AS as_of" if self.is_cockroach else None

    def as_of_transaction(self, as_of) -> str | None:
        """CockroachDB: make this transaction a historical read at as_of (a datetime): it takes
        no locks and never makes writers restart; it must be the transaction's first statement
        (https://www.cockroachlabs.com/docs/stable/as-of-system-time)."""
        if not self.is_cockroach:
            return None
        return f"SET TRANSACTION AS OF SYSTEM TIME {quote_literal(as_of.isoformat())}"

    def multi_region_statements(
        self, database: str, primary_region: str, other_regions: list[str],
        survive_region_failure: bool = False,
    ) -> list[str]:
        if not self.is_cockroach:
            return []
        db = plain_ident(database)
        statements = [f"ALTER DATABASE {db} PRIMARY REGION {quote_ident(primary_region)}"]
        statements += [f"ALTER DATABASE {db} ADD REGION IF NOT EXISTS {quote_ident(r)}"
                       for r in other_regions]
        if survive_region_failure:
            if len(other_regions) + 1 < 3:
                raise ValueError("SURVIVE REGION FAILURE needs at least three regions.")
            statements.append(f"ALTER DATABASE {db} SURVIVE REGION FAILURE")
        return statements

    def regional_by_row_statement(self, table: str, as_column: str | None = None) -> str | None:
        """REGIONAL BY ROW, homed by as_column (a NOT NULL crdb_internal_region column, e.g.
        computed from the row: queries/cockroach_setup.py) rather than by the hidden
        crdb_region whose default is the inserting gateway's region
        (https://www.cockroachlabs.com/docs/stable/alter-table#set-the-table-locality-to-regional-by-row)."""
        if not self.is_cockroach:
            return None
        sql = f"ALTER TABLE {plain_ident(table)} SET LOCALITY REGIONAL BY ROW"
        return sql + (f" AS {plain_ident(as_column)}" if as_column else "")

    def regional_by_table_statement(self, table: str) -> str | None:
        if not self.is_cockroach:
            return None
        return f"ALTER TABLE {plain_ident(table)} SET LOCALITY REGIONAL BY TABLE IN PRIMARY REGION"

    def global_table_statement(self, table: str) -> str | None:
        if not self.is_cockroach:
            return None
        return f"ALTER TABLE {plain_ident(table)} SET LOCALITY GLOBAL"

    def index_statement(self, name: str, table: str, columns: list[str],
                        hash_sharded: bool = False) -> str:
        """A time-ordered ledger index; hash-sharded on CockroachDB to spread the hot tail."""
        cols = ", ".join(plain_ident(c) for c in columns)
        sql = f"CREATE INDEX IF NOT EXISTS {plain_ident(name)} ON {plain_ident(table)} ({cols})"
        if hash_sharded and self.is_cockroach:
            sql += " USING HASH"
        return sql


def dialect_of(conn) -> Dialect:
    return Dialect(detect(conn))


# ---- CockroachDB changefeeds ---------------------------------------------------------------
# On CockroachDB the database itself streams changes into Kafka. `python manage.py changefeed
# setup` runs these statements (queries/changefeed_jobs.py); on PostgreSQL the relay in
# changefeed/ produces the same messages instead.

CHANGEFEED_TABLES = ("stock", "orders", "order_lines", "transfers", "order_events")


def quote_literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def kafka_sink_uri(bootstrap_servers: str, topic_prefix: str = "",
                   parameters: list[tuple[str, str]] | tuple = ()) -> str:
    """'kafka://host:port[?topic_prefix=…&…]' from KAFKA_BOOTSTRAP_SERVERS and the sink's other
    query parameters (TLS, SASL: changefeed.security builds them), every value URL-encoded as
    the sink expects (https://www.cockroachlabs.com/docs/stable/changefeed-sinks#kafka).

    Only the first broker: the page's URI is '{scheme}://{host}:{port}?{query_parameters}', one
    host, and the sink learns the rest of the cluster from it. (The sarama-based v1 sink split
    the host on commas; the franz-go v2 sink passes it whole as one seed, so a list would break
    there.)"""
    from urllib.parse import quote

    first = bootstrap_servers.split(",")[0].strip()
    if "://" in first:
        first = first.split("://", 1)[1]
    if not first or any(c in first for c in " /?#'"):
        raise ValueError(f"not a Kafka bootstrap address: {bootstrap_servers!r}")
    pairs = ([("topic_prefix", topic_prefix)] if topic_prefix else []) + list(parameters)
    query = "&".join(f"{name}={quote(value, safe='')}" for name, value in pairs)
    return f"kafka://{first}" + (f"?{query}" if query else "")


# Sink URI parameters that must not be shown: the password and the client key are secrets;
# the certificates are not, but they are kilobytes of base64 nobody needs to read.
SECRET_SINK_PARAMETERS = ("sasl_password", "client_key", "sasl_client_secret", "ca_cert",
                          "client_cert")
_SECRET_PARAMETER = re.compile(
    r"\b(" + "|".join(SECRET_SINK_PARAMETERS) + r")=[^&'\"\s]*")


def redact_secrets(text):
    """A sink URI, CREATE CHANGEFEED statement or job description fit to print or show:
    'sasl_password=…' becomes 'sasl_password=redacted', and likewise the client key and the
    certificates. Anything that is not a string comes back unchanged."""
    if not isinstance(text, str):
        return text
    return _SECRET_PARAMETER.sub(r"\1=redacted", text)


def changefeed_statement(
    tables: list[str] | tuple[str, ...], sink_uri: str, *, resolved: str = "10s",
    min_checkpoint_frequency: str | None = None, required_acks: str = "ALL",
) -> str:
    """CREATE CHANGEFEED with the envelope DESIGN.md section 4 relies on: updated (the commit
    timestamp), diff (before), resolved markers, and a Kafka sink that waits for all replicas.
    A resolved interval below 30 s only takes effect with min_checkpoint_frequency as low, so
    it defaults to the resolved interval."""
    import json

    if not tables:
        raise ValueError("a changefeed needs at least one table")
    duration = re.compile(r"^\d+(\.\d+)?(ms|s|m|h)$")
    checkpoint = min_checkpoint_frequency or resolved
    for value in (resolved, checkpoint):
        if not duration.match(value):
            raise ValueError(f"not a duration: {value!r} (e.g. '10s')")
    if required_acks not in ("ALL", "ONE", "NONE"):
        raise ValueError(f"RequiredAcks must be ALL, ONE or NONE, not {required_acks!r}")
    table_list = ", ".join(plain_ident(t) for t in tables)
    sink_config = json.dumps({"RequiredAcks": required_acks})
    options = [
        "updated",
        f"resolved={quote_literal(resolved)}",
        f"min_checkpoint_frequency={quote_literal(checkpoint)}",
        "diff",
        f"kafka_sink_config={quote_literal(sink_config)}",
    ]
    return (f"CREATE CHANGEFEED FOR TABLE {table_list} INTO {quote_literal(sink_uri)} "
            f"WITH {', '.join(options)}")


def create_changefeed_sql(
    bootstrap_servers: str, topic_prefix: str = "", *, resolved: str = "10s",
    tables: list[str] | tuple[str, ...] = CHANGEFEED_TABLES,
) -> str:
    """The one changefeed Stockroom needs, into KAFKA_BOOTSTRAP_SERVERS."""
    return changefeed_statement(list(tables), kafka_sink_uri(bootstrap_servers, topic_prefix),
                                resolved=resolved)


RANGEFEED_SETTING_SQL = "SHOW CLUSTER SETTING kv.rangefeed.enabled"
ENABLE_RANGEFEED_SQL = "SET CLUSTER SETTING kv.rangefeed.enabled = true"
SHOW_CHANGEFEED_JOBS_SQL = "SHOW CHANGEFEED JOBS"
LIVE_JOB_STATUSES = ("running", "paused", "pending", "pause-requested")


def matching_changefeed_job(jobs: list[dict], tables: list[str] | tuple[str, ...],
                            sink_uri: str) -> dict | None:
    """The live job (from SHOW CHANGEFEED JOBS) that already feeds these tables to this sink."""
    host = sink_uri.split("?")[0]
    for job in jobs:
        if str(job.get("status", "")).lower() not in LIVE_JOB_STATUSES:
            continue
        job_sink = str(job.get("sink_uri") or "")
        description = str(job.get("description") or "")
        if host not in job_sink and host not in description:
            continue
        names = job.get("full_table_names") or []
        if isinstance(names, str):
            names = names.strip("{}").split(",")
        short = {str(n).strip().strip('"').split(".")[-1] for n in names}
        if not short:
            short = {t for t in tables if re.search(rf"\b{re.escape(t)}\b", description)}
        if set(tables) <= short:
            return job
    return None
