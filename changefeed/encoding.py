"""The JSON of a change message, rendered the way a CockroachDB changefeed renders it.

Values come from PostgreSQL in their text form (pgoutput, or `column::text` for the scan
after a broker reset) with the session in UTC and ISO date style, so both paths give the
same bytes for the same row. Type mapping (CockroachDB's tree.AsJSON):

    INT2/INT4/INT8            JSON number
    FLOAT4/FLOAT8             JSON number (NaN and ±Infinity as strings)
    NUMERIC / DECIMAL         JSON number, exactly as stored (12.50 stays 12.50; NaN as string)
    BOOL                      true / false
    TEXT, VARCHAR, UUID, DATE JSON string
    TIMESTAMPTZ               string, RFC 3339 in UTC: "2024-05-01T10:00:00.123456Z"
    TIMESTAMP                 string without zone: "2024-05-01T10:00:00.123456"
    JSON / JSONB              the JSON value itself
    anything else             its PostgreSQL text form as a string

Separators follow CockroachDB's JSON output (", " and ": "), so a key is
`["WH-BER-1", "SKU-00042"]` byte for byte. `updated` and `resolved` are
"<wall nanoseconds>.<10-digit logical>"; compare them with `parse_hlc` as (int, int) pairs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

_string = json.JSONEncoder(ensure_ascii=False).encode

INT_TYPES = {20, 21, 23, 26}          # int8, int2, int4, oid
FLOAT_TYPES = {700, 701}
NUMERIC = 1700
BOOL = 16
JSON_TYPES = {114, 3802}
TIMESTAMPTZ = 1184
TIMESTAMP = 1114


def _number(text: str) -> str:
    return text


def _float(text: str) -> str:
    if text in ("NaN", "Infinity", "-Infinity"):
        return _string(text)
    return text


def _numeric(text: str) -> str:
    if text in ("NaN", "Infinity", "-Infinity"):
        return _string(text)
    return text


def _bool(text: str) -> str:
    return "true" if text == "t" else "false"


def _json(text: str) -> str:
    return text


def _timestamptz(text: str) -> str:
    # "2024-05-01 10:00:00.123456+00" (TimeZone=UTC, DateStyle=ISO) -> RFC 3339 with Z.
    if text.endswith("+00"):
        return _string(text[:-3].replace(" ", "T", 1) + "Z")
    return _string(text.replace(" ", "T", 1))


def _timestamp(text: str) -> str:
    return _string(text.replace(" ", "T", 1))


def renderer(type_oid: int) -> Callable[[str], str]:
    """The function turning one value's PostgreSQL text into its JSON text."""
    if type_oid in INT_TYPES:
        return _number
    if type_oid in FLOAT_TYPES:
        return _float
    if type_oid == NUMERIC:
        return _numeric
    if type_oid == BOOL:
        return _bool
    if type_oid in JSON_TYPES:
        return _json
    if type_oid == TIMESTAMPTZ:
        return _timestamptz
    if type_oid == TIMESTAMP:
        return _timestamp
    return _string


class RowFormat:
    """Renders the rows of one table: the whole row as a JSON object and its key as an array.

    The object's fields come in sorted order of their names, as a CockroachDB changefeed
    writes them (its JSON objects keep their keys sorted), not in column order; the key array
    keeps primary-key order.

    `home` = (column, source column, function) adds a column PostgreSQL does not have: a
    REGIONAL BY ROW table's home region, derived from the row as CockroachDB computes it
    (queries/cockroach_setup.py). It appears in the object like any column and leads the key,
    as the region column leads a REGIONAL BY ROW table's primary key on CockroachDB."""

    def __init__(self, columns: Sequence[tuple[str, int]], primary_key: Sequence[str],
                 home: tuple[str, str, Callable[[str | None], str | None]] | None = None):
        names = [name for name, _ in columns]
        missing = [c for c in primary_key if c not in names]
        if home is not None and home[1] not in names:
            missing.append(home[1])
        if missing:
            raise ValueError(f"key columns {missing} are not among {names}")
        self.columns = tuple(names)
        self._prefixes = [_string(name) + ": " for name in names]
        self._renderers = [renderer(type_oid) for _, type_oid in columns]
        self._key_positions = [names.index(c) for c in primary_key]
        self._home = None
        all_names = list(names)
        if home is not None:
            self._home = (_string(home[0]) + ": ", names.index(home[1]), home[2])
            all_names.append(home[0])   # position len(names): the derived column
        self._sorted_positions = sorted(range(len(all_names)), key=lambda i: all_names[i])

    def _home_value(self, values: Sequence[str | None]) -> str:
        _, source, derive = self._home
        value = derive(values[source])
        return "null" if value is None else _string(value)

    def row(self, values: Sequence[str | None]) -> str:
        if len(values) != len(self.columns):
            raise ValueError(f"{len(values)} values for {len(self.columns)} columns")
        parts = []
        count = len(self.columns)
        for position in self._sorted_positions:
            if position == count:
                parts.append(self._home[0] + self._home_value(values))
                continue
            value = values[position]
            parts.append(self._prefixes[position]
                         + ("null" if value is None else self._renderers[position](value)))
        return "{" + ", ".join(parts) + "}"

    def key(self, values: Sequence[str | None]) -> str:
        parts = [self._home_value(values)] if self._home is not None else []
        for position in self._key_positions:
            value = values[position]
            parts.append("null" if value is None else self._renderers[position](value))
        return "[" + ", ".join(parts) + "]"


def table_row_format(table: str, columns: Sequence[tuple[str, int]], primary_key: Sequence[str],
                     region_map) -> RowFormat:
    """The RowFormat of one of our tables: a REGIONAL BY ROW table (queries/cockroach_setup)
    gets its home_region column, derived from the row through region_map (a RegionMap), and
    a key led by it, as a CockroachDB changefeed writes them."""
    from queries.cockroach_setup import HOME_REGION_COLUMN, REGIONAL_BY_ROW

    source = REGIONAL_BY_ROW.get(table)
    home = (HOME_REGION_COLUMN, source, region_map.home_of) if source else None
    return RowFormat(columns, primary_key, home)


def hlc(wall_nanos: int, logical: int = 0) -> str:
    """A CockroachDB HLC timestamp as changefeeds print it."""
    return f"{wall_nanos}.{logical:010d}"


def parse_hlc(text: str) -> tuple[int, int]:
    """"1701102296662969433.0000000000" -> (1701102296662969433, 0); never via float."""
    wall, _, logical = text.partition(".")
    return int(wall), int(logical or 0)


def hlc_seconds(text: str) -> float:
    """Wall time of an HLC timestamp in Unix seconds (for display and lag only)."""
    return parse_hlc(text)[0] / 1e9


def envelope(after: str | None, before: str | None, updated: str) -> str:
    return (
        '{"after": ' + (after or "null") + ', "before": ' + (before or "null")
        + ', "updated": "' + updated + '"}'
    )


def resolved_envelope(resolved: str) -> str:
    return '{"resolved": "' + resolved + '"}'


_FNV32_OFFSET, _FNV32_PRIME = 0x811C9DC5, 0x01000193


def fnv1a_32(data: bytes) -> int:
    """32-bit FNV-1a (Go's hash/fnv New32a)."""
    h = _FNV32_OFFSET
    for byte in data:
        h = ((h ^ byte) * _FNV32_PRIME) & 0xFFFFFFFF
    return h


def partition_for(key: bytes, partitions: int) -> int:
    """The partition CockroachDB's Kafka sink gives a keyed message, so a key lands on the same
    partition whether the relay or a CockroachDB changefeed wrote it: sarama's hash partitioner,
    FNV-1a of the key as a signed 32-bit int, modulo the partition count, made positive
    (cockroachdb/cockroach pkg/ccl/changefeedccl, newChangefeedPartitioner, whose test pins
    reference partitions that tests/test_changefeed_relay.py repeats)."""
    signed = fnv1a_32(key)
    if signed >= 0x80000000:
        signed -= 0x100000000
    return abs(signed) % partitions


class Partitioner:
    """partition_for with a bounded cache: the hash is pure Python and keys repeat a lot."""

    def __init__(self, max_entries: int = 200_000):
        self._cache: dict[tuple[bytes, int], int] = {}
        self._max = max_entries

    def __call__(self, key: bytes, partitions: int) -> int:
        found = self._cache.get((key, partitions))
        if found is None:
            if len(self._cache) >= self._max:
                self._cache.clear()
            found = self._cache[(key, partitions)] = partition_for(key, partitions)
        return found
