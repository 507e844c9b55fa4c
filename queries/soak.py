"""Statements the soak (stack/soak.py) uses to hurt its own throwaway PostgreSQL.

Nothing here is meant for a production database: terminating every client connection is what
a node drain or a failover looks like to the clients, and the soak does it to prove they ride
through it.
"""

from __future__ import annotations

import psycopg


def terminate_client_connections(url: str) -> int:
    """pg_terminate_backend every client connection of the database at url except this one.
    Returns how many were terminated. Background workers and walsenders are left alone."""
    with psycopg.connect(url, autocommit=True, application_name="stockroom-soak") as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
        ).fetchall()
    return sum(1 for (terminated,) in rows if terminated)
