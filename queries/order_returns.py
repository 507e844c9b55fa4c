"""What a return sends back: the units per line, checked against what is still out.

A delivered order may come back in parts. Each line counts its returned units; the order is
`returned` once every unit of every line is back, and stays `delivered` until then.
"""

from __future__ import annotations

from dataclasses import dataclass

from queries.errors import InvalidInput, InvalidQuantity
from queries.quantities import non_negative, whole_number


@dataclass(frozen=True)
class ReturnedLine:
    line_no: int
    sku: str
    qty: int  # units coming back now


def clean_return_quantities(quantities) -> dict[int, int] | None:
    """{line_no: units} with zero entries dropped; None means every unit still out."""
    if quantities is None:
        return None
    cleaned: dict[int, int] = {}
    for line_no, qty in dict(quantities).items():
        units = non_negative(qty, f"Units returned on line {line_no}")
        if units:
            cleaned[whole_number(line_no, "A line number")] = units
    if not cleaned:
        raise InvalidInput("Choose at least one unit to return.")
    return cleaned


def plan_return(lines: list[dict], wanted: dict[int, int] | None) -> list[ReturnedLine]:
    """The lines and units of this return; an error names the first line asked too much of."""
    by_number = {line["line_no"]: line for line in lines}
    if wanted is None:
        wanted = {n: line["qty"] - line["returned_qty"] for n, line in by_number.items()
                  if line["qty"] > line["returned_qty"]}
        if not wanted:
            raise InvalidInput("Every unit of this order has already been returned.")
    plan = []
    for line_no in sorted(wanted):
        line = by_number.get(line_no)
        if line is None:
            raise InvalidInput(f"This order has no line {line_no}.")
        out = line["qty"] - line["returned_qty"]
        if wanted[line_no] > out:
            raise InvalidQuantity(
                f"Line {line_no} ({line['sku']}) has {out} unit{'s' if out != 1 else ''} "
                f"left to return, not {wanted[line_no]}.")
        plan.append(ReturnedLine(line_no, line["sku"], wanted[line_no]))
    return plan

