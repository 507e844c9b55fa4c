"""A decoder for PostgreSQL's pgoutput logical replication protocol (version 1).

The relay reads these messages with pg_logical_slot_peek_binary_changes over plain SQL.
Values arrive in their text form; `encoding` turns them into JSON the way a CockroachDB
changefeed renders each type. Only what the relay needs is decoded: Begin, Relation,
Insert, Update, Delete, Commit and logical decoding messages ('M'); Type, Origin and
Truncate messages are recognised and skipped.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

# PostgreSQL timestamps count microseconds from 2000-01-01; Unix time from 1970-01-01.
POSTGRES_EPOCH_MICROS = 946_684_800 * 1_000_000

_I16 = struct.Struct("!h")
_I32 = struct.Struct("!i")
_U32 = struct.Struct("!I")
_BEGIN = struct.Struct("!QqI")      # final LSN, commit time, xid
_COMMIT = struct.Struct("!BQQq")    # flags, commit LSN, end LSN, commit time


class ProtocolError(ValueError):
    pass


@dataclass(frozen=True)
class Column:
    name: str
    type_oid: int


@dataclass(frozen=True)
class Relation:
    oid: int
    namespace: str
    name: str
    columns: tuple[Column, ...]


@dataclass
class Change:
    """One row change. Tuples are lists of text values (None for SQL NULL)."""

    kind: str  # "insert" | "update" | "delete"
    relation: Relation
    new: list[str | None] | None
    old: list[str | None] | None


@dataclass
class Transaction:
    xid: int
    commit_lsn: int
    end_lsn: int
    commit_time_micros: int  # Unix microseconds
    changes: list[Change] = field(default_factory=list)
    messages: list[tuple[str, bytes]] = field(default_factory=list)


def lsn_to_int(text: str) -> int:
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def lsn_to_text(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def _cstring(data: bytes, pos: int) -> tuple[str, int]:
    end = data.index(b"\x00", pos)
    return data[pos:end].decode(), end + 1


def _tuple(data: bytes, pos: int) -> tuple[list, int]:
    """TupleData: Int16 count, then per column 'n' (null), 'u' (unchanged TOAST) or 't' + text."""
    (count,) = _I16.unpack_from(data, pos)
    pos += 2
    values: list = []
    append = values.append
    for _ in range(count):
        kind = data[pos]
        pos += 1
        if kind == 0x74:  # 't'
            (length,) = _I32.unpack_from(data, pos)
            pos += 4
            append(data[pos:pos + length].decode())
            pos += length
        elif kind == 0x6E:  # 'n'
            append(None)
        elif kind == 0x75:  # 'u': unchanged TOASTed value, taken from the old row
            append(UNCHANGED)
        elif kind == 0x62:  # 'b' (binary, only with the binary option)
            (length,) = _I32.unpack_from(data, pos)
            pos += 4
            append(bytes(data[pos:pos + length]))
            pos += length
        else:
            raise ProtocolError(f"unknown tuple column kind {kind!r}")
    return values, pos


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED = _Unchanged()


class Decoder:
    """Feeds pgoutput messages in order; yields each complete transaction at its Commit."""

    def __init__(self) -> None:
        self.relations: dict[int, Relation] = {}
        self._current: Transaction | None = None

    def feed(self, data: bytes) -> Transaction | None:
        kind = data[0]
        if kind == 0x42:  # 'B' Begin
            final_lsn, commit_time, xid = _BEGIN.unpack_from(data, 1)
            self._current = Transaction(xid, final_lsn, 0, commit_time + POSTGRES_EPOCH_MICROS)
            return None
        if kind == 0x43:  # 'C' Commit
            _flags, commit_lsn, end_lsn, _time = _COMMIT.unpack_from(data, 1)
            txn = self._current
            if txn is None:
                raise ProtocolError("Commit without Begin")
            txn.commit_lsn, txn.end_lsn = commit_lsn, end_lsn
            self._current = None
            return txn
        if kind == 0x52:  # 'R' Relation
            self._relation(data)
            return None
        if kind in (0x49, 0x55, 0x44):  # 'I', 'U', 'D'
            self._row(kind, data)
            return None
        if kind == 0x4D:  # 'M' logical decoding message
            pos = 1 + 1 + 8  # flags, LSN
            prefix, pos = _cstring(data, pos)
            (length,) = _I32.unpack_from(data, pos)
            content = bytes(data[pos + 4:pos + 4 + length])
            if self._current is not None:
                self._current.messages.append((prefix, content))
            return None
        if kind in (0x59, 0x4F, 0x54):  # 'Y' Type, 'O' Origin, 'T' Truncate
            return None
        raise ProtocolError(f"unexpected pgoutput message {chr(kind)!r}")

    def _relation(self, data: bytes) -> None:
        (oid,) = _U32.unpack_from(data, 1)
        pos = 5
        namespace, pos = _cstring(data, pos)
        name, pos = _cstring(data, pos)
        pos += 1  # replica identity setting
        (count,) = _I16.unpack_from(data, pos)
        pos += 2
        columns = []
        for _ in range(count):
            pos += 1  # flags (part of the replica identity)
            column, pos = _cstring(data, pos)
            (type_oid,) = _U32.unpack_from(data, pos)
            pos += 8  # type oid, type modifier
            columns.append(Column(column, type_oid))
        self.relations[oid] = Relation(oid, namespace, name, tuple(columns))

    def _row(self, kind: int, data: bytes) -> None:
        txn = self._current
        if txn is None:
            raise ProtocolError("row change outside a transaction")
        (oid,) = _U32.unpack_from(data, 1)
        relation = self.relations.get(oid)
        if relation is None:
            raise ProtocolError(f"row change for unknown relation {oid}")
        pos = 5
        old = new = None
        if kind == 0x49:  # Insert: 'N' tuple
            new, pos = _tuple(data, pos + 1)
            txn.changes.append(Change("insert", relation, new, None))
            return
        marker = data[pos]
        if marker in (0x4B, 0x4F):  # 'K' key only, 'O' whole old row (REPLICA IDENTITY FULL)
            old, pos = _tuple(data, pos + 1)
        if kind == 0x44:
            txn.changes.append(Change("delete", relation, None, old))
            return
        new, pos = _tuple(data, pos + 1)  # 'N'
        if old is not None and any(v is UNCHANGED for v in new):
            new = [o if v is UNCHANGED else v for v, o in zip(new, old, strict=True)]
        txn.changes.append(Change("update", relation, new, old))
