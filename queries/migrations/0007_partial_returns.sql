-- A customer may send back part of a delivered order: each line counts the units that came
-- back. The order becomes `returned` once every unit has; until then it stays `delivered`.
ALTER TABLE order_lines ADD COLUMN IF NOT EXISTS returned_qty INT8 NOT NULL DEFAULT 0;

-- Dropped first so that a re-run after a failure part-way is harmless.
ALTER TABLE order_lines DROP CONSTRAINT IF EXISTS order_lines_returned_bounds;
ALTER TABLE order_lines ADD CONSTRAINT order_lines_returned_bounds
    CHECK (returned_qty >= 0 AND returned_qty <= qty);

-- Orders returned before this column existed came back whole.
UPDATE order_lines SET returned_qty = qty
WHERE returned_qty = 0 AND order_id IN (SELECT id FROM orders WHERE status = 'returned');
