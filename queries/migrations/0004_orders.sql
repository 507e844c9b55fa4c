-- Orders: customer coordinates for nearest-location allocation, and indexes for support's
-- searches. Plain SQL both PostgreSQL and CockroachDB accept (expression indexes exist in
-- CockroachDB since 21.2; no text_pattern_ops: prefix searches use ranges on lower(...)).

ALTER TABLE customers ADD COLUMN IF NOT EXISTS lat FLOAT8;
ALTER TABLE customers ADD COLUMN IF NOT EXISTS lon FLOAT8;

-- Case-insensitive prefix search on name and email: lower(x) >= p AND lower(x) < p || U+10FFFF.
CREATE INDEX IF NOT EXISTS customers_lower_name_idx ON customers (lower(name));
CREATE INDEX IF NOT EXISTS customers_lower_email_idx ON customers (lower(email));

-- Keyset pagination, newest first: (created_at, id) < (cursor) ORDER BY created_at DESC, id DESC.
CREATE INDEX IF NOT EXISTS orders_created_id_idx ON orders (created_at, id);
CREATE INDEX IF NOT EXISTS orders_status_created_id_idx ON orders (status, created_at, id);
-- Late orders, most overdue first: open orders by promised_by. The predicate matches
-- queries.order_search.LATE_CONDITION word for word.
CREATE INDEX IF NOT EXISTS orders_open_promised_idx ON orders (promised_by, id)
    WHERE status IN ('pending', 'allocated', 'picking', 'on_hold');
-- Search by SKU: the orders holding a SKU, without visiting the line rows' table.
CREATE INDEX IF NOT EXISTS order_lines_sku_order_idx ON order_lines (sku, order_id);
