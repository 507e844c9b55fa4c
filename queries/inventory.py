"""Inventory commands: adjustments with reason codes, cycle counts and bulk counts from a CSV.

Each command is one SERIALIZABLE transaction through run_command (idempotency key, retries),
checks the actor's permission for the location's region, and changes stock only through
apply_movement, which writes the ledger row.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from queries import locations, permissions
from queries.actor import Actor
from queries.catalog import (
    add_stock_row,
    products_by_sku,
    stock_rows_for,
    stock_target,
)
from queries.db import read
from queries.errors import InsufficientStock, InvalidInput, InvalidQuantity
from queries.idempotency import run_command
from queries.lock_order import in_lock_order
from queries.quantities import non_negative, non_zero, number_in_text
from queries.stock_ledger import apply_movement
from queries.text_input import MAX_IDENTIFIER, clean_note, optional_text
from queries.vocabulary import AdjustmentReason, CountReason, MovementKind

# reason code -> (label, direction): +1 only adds stock, -1 only removes it, 0 either way.
# Declared in queries.vocabulary (AdjustmentReason); this mapping stays for the callers.
ADJUSTMENT_REASONS: dict[str, tuple[str, int]] = {
    reason: (reason.label, reason.direction) for reason in AdjustmentReason
}
MAX_BULK_ROWS = 5000
COUNT_COLUMNS = ("location", "sku", "counted")
COUNTED = "The count"


def _check_reason(reason: str, qty: int, note: str | None) -> None:
    if reason not in ADJUSTMENT_REASONS:
        raise InvalidInput(
            f"Reason {reason!r} is not one of: {', '.join(ADJUSTMENT_REASONS)}."
        )
    _label, direction = ADJUSTMENT_REASONS[reason]
    if direction > 0 and qty < 0:
        raise InvalidInput(f"A '{reason}' adjustment adds stock; enter a positive quantity.")
    if direction < 0 and qty > 0:
        raise InvalidInput(f"A '{reason}' adjustment removes stock; enter a negative quantity.")
    if reason == AdjustmentReason.OTHER and not note:
        raise InvalidInput("Please explain an 'other' adjustment in the note.")


def adjust_stock(actor: Actor, *, location_id: str, sku: str, qty: int, reason: str,
                 idempotency_key: str | None, note: str | None = None,
                 reference: str | None = None) -> dict:
    """Change on_hand by a signed quantity, with a reason code (and a note for 'other')."""
    permissions.require(actor, "stock.adjust")
    qty = non_zero(qty, "The adjustment")
    note = clean_note(note)
    reference = optional_text(reference, "reference", MAX_IDENTIFIER)
    _check_reason(reason, qty, note)

    def body(cur) -> dict:
        target = stock_target(cur, location_id, sku)
        permissions.require(actor, "stock.adjust", target.region)
        if not target.stocked:
            if qty < 0:
                raise InsufficientStock(
                    f"{target.sku} is not stocked at {target.location_id}; nothing to remove.")
            add_stock_row(cur, target.location_id, target.sku)
        row = apply_movement(
            cur, location_id=target.location_id, sku=target.sku, kind=MovementKind.ADJUSTMENT,
            actor=actor.username, delta_on_hand=qty, reason=reason, note=note,
            ref_type="reference" if reference else None, ref_id=reference,
        )
        return _stock_result(row) | {"delta": qty, "reason": reason}

    return run_command("stock.adjust", actor, idempotency_key, body)


def _stock_result(row: dict) -> dict:
    return {
        "location_id": row["location_id"], "sku": row["sku"], "on_hand": row["on_hand"],
        "reserved": row["reserved"], "incoming": row["incoming"],
        "available": row["on_hand"] - row["reserved"],
    }


def _locked_stock(cur, location_id: str, sku: str) -> dict:
    return cur.execute(
        "SELECT on_hand, reserved FROM stock WHERE location_id = %s AND sku = %s FOR UPDATE",
        (location_id, sku),
    ).fetchone()


def _below_reserved(location_id: str, sku: str, counted: int, reserved: int) -> str:
    return (f"Counted {counted} of {sku} at {location_id}, but {reserved} are reserved for "
            f"orders; re-allocate or release those orders before recording this count.")


def record_count(actor: Actor, *, location_id: str, sku: str, counted: int,
                 idempotency_key: str | None, note: str | None = None) -> dict:
    """A cycle count: on_hand becomes the counted quantity; the difference is a `count` row.

    The ledger row is written even when nothing changed, so the history shows the count.
    """
    permissions.require(actor, "stock.count")
    counted = non_negative(counted, "The counted quantity")
    note = clean_note(note)

    def body(cur) -> dict:
        target = stock_target(cur, location_id, sku)
        permissions.require(actor, "stock.count", target.region)
        if not target.stocked:
            add_stock_row(cur, target.location_id, target.sku)
        current = _locked_stock(cur, target.location_id, target.sku)
        if counted < current["reserved"]:
            raise InsufficientStock(
                _below_reserved(target.location_id, target.sku, counted, current["reserved"]))
        difference = counted - current["on_hand"]
        row = apply_movement(
            cur, location_id=target.location_id, sku=target.sku, kind=MovementKind.COUNT,
            actor=actor.username, delta_on_hand=difference, reason=CountReason.CYCLE_COUNT, note=note,
        )
        return _stock_result(row) | {"counted": counted, "difference": difference}

    return run_command("stock.count", actor, idempotency_key, body)


# --- bulk count from a CSV -------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """A problem with one row (and column) of an uploaded sheet. Rows count from 1 = header."""

    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"Row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class CountLine:
    row: int
    location_id: str
    sku: str
    counted: int


@dataclass
class CountSheet:
    lines: list[CountLine] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _decode(content: str | bytes) -> str:
    if isinstance(content, bytes):
        try:
            return content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput("The file is not UTF-8 text; export it as CSV (UTF-8).") from exc
    return content.lstrip("\ufeff")


def _parse_counted(text: str) -> int:
    """The counted cell, by the one quantity rule (queries.quantities): "12.0" is 12."""
    return non_negative(number_in_text(text, COUNTED), COUNTED)


def parse_count_csv(content: str | bytes, max_rows: int = MAX_BULK_ROWS) -> CountSheet:
    """Read a `location,sku,counted` sheet. Every problem is collected, none stops the parse."""
    sheet = CountSheet()
    rows = list(csv.reader(io.StringIO(_decode(content))))
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    if not rows:
        sheet.errors.append(RowError(1, None, "The sheet is empty; it needs a header row "
                                              "location,sku,counted and one row per bin."))
        return sheet
    header = [cell.strip().lower() for cell in rows[0]]
    missing = [name for name in COUNT_COLUMNS if name not in header]
    if missing:
        sheet.errors.append(RowError(1, missing[0], f"The header has no {missing[0]!r} column; "
                                                    "it must be location,sku,counted."))
        return sheet
    index = {name: header.index(name) for name in COUNT_COLUMNS}
    if len(rows) - 1 > max_rows:
        sheet.errors.append(RowError(len(rows), None, f"The sheet has {len(rows) - 1} rows; "
                                                      f"upload at most {max_rows} at a time."))
        return sheet
    seen: dict[tuple[str, str], int] = {}
    for number, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        values = {name: (cells[i].strip() if i < len(cells) else "") for name, i in index.items()}
        row_errors = [RowError(number, name, "is empty.") for name, v in values.items() if not v]
        if values["counted"]:
            try:
                counted = _parse_counted(values["counted"])
            except InvalidQuantity as exc:
                row_errors.append(RowError(number, "counted", str(exc)))
        if not row_errors:
            pair = (values["location"], values["sku"])
            if pair in seen:
                row_errors.append(RowError(number, "sku", f"{pair[1]} at {pair[0]} is already "
                                                          f"counted in row {seen[pair]}."))
            seen.setdefault(pair, number)
        if row_errors:
            sheet.errors.extend(row_errors)
        else:
            sheet.lines.append(CountLine(number, values["location"], values["sku"], counted))
    if not sheet.lines and not sheet.errors:
        sheet.errors.append(RowError(2, None, "The sheet has a header but no rows."))
    return sheet


def _check_lines(cur, actor: Actor, lines: list[CountLine]) -> tuple[list[RowError], dict]:
    """Errors the database finds in the sheet (unknown, inactive, not yours, below reserved)."""
    found = locations.by_id(cur, sorted({line.location_id for line in lines}))
    products = products_by_sku(cur, sorted({line.sku for line in lines}))
    stock = stock_rows_for(cur, [(line.location_id, line.sku) for line in lines])
    errors = []
    for line in lines:
        location = found.get(line.location_id)
        product = products.get(line.sku)
        if location is None:
            errors.append(RowError(line.row, "location", f"there is no location {line.location_id!r}."))
        elif not location["active"]:
            errors.append(RowError(line.row, "location", f"{line.location_id} is inactive."))
        elif not permissions.can(actor, "stock.count", location["region"]):
            errors.append(RowError(line.row, "location", "you may only count stock in "
                                                         f"{', '.join(actor.regions)}, not in "
                                                         f"{location['region']}."))
        if product is None:
            errors.append(RowError(line.row, "sku", f"there is no product {line.sku!r}."))
        elif not product["active"]:
            errors.append(RowError(line.row, "sku", f"{line.sku} is an inactive product."))
        current = stock.get((line.location_id, line.sku))
        if current is not None and line.counted < current["reserved"]:
            errors.append(RowError(line.row, "counted", f"{line.counted} is below the "
                                                        f"{current['reserved']} units reserved "
                                                        "for orders."))
    return errors, stock


def preview_bulk_count(actor: Actor, sheet: CountSheet) -> dict:
    """What applying the sheet would change now: one row per line, plus every error found."""
    permissions.require(actor, "stock.count")

    def body(cur) -> dict:
        db_errors, stock = _check_lines(cur, actor, sheet.lines) if sheet.lines else ([], {})
        rows = []
        for line in sheet.lines:
            on_hand = stock.get((line.location_id, line.sku), {}).get("on_hand", 0)
            rows.append({"row": line.row, "location_id": line.location_id, "sku": line.sku,
                         "on_hand": on_hand, "counted": line.counted,
                         "difference": line.counted - on_hand})
        errors = sorted(sheet.errors + db_errors, key=lambda e: (e.row, e.column or ""))
        return {"rows": rows, "errors": errors,
                "changed": sum(1 for r in rows if r["difference"]),
                "net_difference": sum(r["difference"] for r in rows)}

    return read(body)


def _errors_sentence(errors: list[RowError], shown: int = 5) -> str:
    listed = "; ".join(str(e) for e in errors[:shown])
    more = f"; and {len(errors) - shown} more" if len(errors) > shown else ""
    noun = "problem" if len(errors) == 1 else "problems"
    return f"Nothing was applied: the sheet has {len(errors)} {noun}. {listed}{more}."


def apply_bulk_count(actor: Actor, sheet: CountSheet, *, idempotency_key: str | None,
                     note: str | None = None) -> dict:
    """Apply every line of the sheet in one transaction, or none of them."""
    permissions.require(actor, "stock.count")
    note = clean_note(note) or "bulk count"
    if sheet.errors or not sheet.lines:
        raise InvalidInput(_errors_sentence(sheet.errors or [RowError(2, None, "no rows.")]))
    lines = in_lock_order(sheet.lines)

    def body(cur) -> dict:
        errors, stock = _check_lines(cur, actor, lines)
        if errors:
            raise InvalidInput(_errors_sentence(sorted(errors, key=lambda e: e.row)))
        for line in lines:
            if (line.location_id, line.sku) not in stock:
                add_stock_row(cur, line.location_id, line.sku)
        changed, net = 0, 0
        for line in lines:
            current = _locked_stock(cur, line.location_id, line.sku)
            if line.counted < current["reserved"]:
                raise InsufficientStock(f"Row {line.row}: " + _below_reserved(
                    line.location_id, line.sku, line.counted, current["reserved"]))
            difference = line.counted - current["on_hand"]
            apply_movement(cur, location_id=line.location_id, sku=line.sku, kind=MovementKind.COUNT,
                           actor=actor.username, delta_on_hand=difference,
                           reason=CountReason.CYCLE_COUNT, note=note)
            changed += bool(difference)
            net += difference
        return {"counted": len(lines), "changed": changed, "net_difference": net}

    return run_command("stock.bulk_count", actor, idempotency_key, body)
