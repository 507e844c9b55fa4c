"""Change data capture: changefeed DDL (CockroachDB), the PostgreSQL relay, and consumers.

Every message follows DESIGN.md section 4, the envelope of a CockroachDB changefeed created
WITH updated, resolved, diff:

    key   = JSON array of the primary key values, e.g. ["WH-BER-1", "SKU-00042"]
    value = {"after": {...} | null, "before": {...} | null, "updated": "<wall ns>.<10-digit logical>"}
    resolved marker (null key, sent to every partition): {"resolved": "<wall ns>.<logical>"}
"""

# The tables whose changes are published, one topic each (optionally prefixed).
TABLES: tuple[str, ...] = ("stock", "orders", "order_lines", "transfers", "order_events")
