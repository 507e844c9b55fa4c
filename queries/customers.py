"""Customers and their personal data: who may see it, and the masked form everyone else gets."""

from __future__ import annotations

import re
import uuid

from queries import permissions
from queries.actor import Actor
from queries.db import run_transaction
from queries.errors import InvalidInput
from queries.text_input import MAX_ADDRESS, MAX_EMAIL, MAX_NAME, MAX_REGION, required_text

PERSONAL_FIELDS = ("customer_name", "customer_email", "ship_address", "customer_address")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def mask_name(name: str | None) -> str:
    """'Jane Doe' -> 'J*** D***'."""
    if not name:
        return ""
    return " ".join(f"{word[0]}***" for word in name.split())


def mask_email(email: str | None) -> str:
    """'jane.doe@example.com' -> 'j***@example.com'."""
    if not email:
        return ""
    local, at, domain = email.partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_address(address: str | None) -> str:
    return "*** (address hidden)" if address else ""


MASKS = {
    "customer_name": mask_name,
    "customer_email": mask_email,
    "ship_address": mask_address,
    "customer_address": mask_address,
}


def sees_personal_data(actor: Actor) -> bool:
    return permissions.can(actor, "order.view_personal_data")


def mask_row(actor: Actor, row: dict) -> dict:
    """The row as this actor may see it: personal fields masked unless they may see them."""
    if sees_personal_data(actor):
        return row
    return {k: (MASKS[k](v) if k in MASKS else v) for k, v in row.items()}


def insert_customer(cur, name: str, email: str, address: str, region: str,
                    lat: float | None = None, lon: float | None = None) -> str:
    """Insert a customer inside the caller's transaction; returns the new id as text."""
    name = required_text(name, "customer's name", MAX_NAME)
    email = required_text(email, "customer's email", MAX_EMAIL)
    if not _EMAIL.match(email):
        raise InvalidInput(f"{email!r} is not an email address.")
    address = required_text(address, "customer's address", MAX_ADDRESS)
    region = required_text(region, "customer's region", MAX_REGION)
    if (lat is None) != (lon is None) or (lat is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180)):
        raise InvalidInput("Coordinates need both a latitude (-90..90) and a longitude (-180..180).")
    customer_id = str(uuid.uuid4())
    cur.execute(
        "INSERT INTO customers (id, name, email, address, region, lat, lon) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (customer_id, name, email, address, region, lat, lon),
    )
    return customer_id


def add_customer(actor: Actor, name: str, email: str, address: str, region: str,
                 lat: float | None = None, lon: float | None = None) -> str:
    """Create a customer homed in `region` (whoever may place orders there may do so)."""
    permissions.require(actor, "order.place", region)
    return run_transaction(
        lambda cur: insert_customer(cur, name, email, address, region, lat, lon)
    )


def customer_in_tx(cur, customer_id: str) -> dict | None:
    return cur.execute(
        "SELECT id, name, email, address, region, lat, lon FROM customers WHERE id = %s",
        (customer_id,),
    ).fetchone()
