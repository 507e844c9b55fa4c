-- Headquarters' consolidated stock, kept per location x product category and refreshed in bulk
-- (queries/rollups.py), so the Overview reads a few thousand rows instead of every stock row,
-- and its cost grows with neither the stock table nor the number of people looking at it.
-- The rows describe stock as it was at stock_rollup_state.as_of, which the page shows.
-- `python manage.py check` verifies them against stock (queries/invariants.py).
-- Not part of the change stream: the publication names its five domain tables only.
CREATE TABLE IF NOT EXISTS stock_rollup (
    location_id TEXT NOT NULL REFERENCES locations (id),
    category TEXT NOT NULL,
    bins INT8 NOT NULL,            -- stock rows (location x SKU)
    on_hand INT8 NOT NULL,
    reserved INT8 NOT NULL,
    incoming INT8 NOT NULL,
    stock_value NUMERIC(18, 2) NOT NULL,   -- on_hand x unit_cost
    out_bins INT8 NOT NULL,        -- nothing available (on_hand - reserved <= 0)
    low_bins INT8 NOT NULL,        -- available at or below the bin's reorder point
    sold_28d INT8 NOT NULL,        -- units on order lines fulfilled here, orders of the last 28 days
    PRIMARY KEY (location_id, category)
);

-- One row per rollup: the snapshot its rows describe, and who is refreshing it right now (a
-- refresher claims it first, so several app servers refresh it once, not once each).
CREATE TABLE IF NOT EXISTS stock_rollup_state (
    name TEXT PRIMARY KEY,
    as_of TIMESTAMPTZ,
    refreshed_at TIMESTAMPTZ,
    refresh_seconds FLOAT8,
    claimed_until TIMESTAMPTZ
);

-- Headquarters counts the SKUs that are out of stock somewhere: a partial index keeps that to
-- the empty bins, a small share of two million stock rows. CockroachDB supports partial
-- indexes (https://www.cockroachlabs.com/docs/stable/partial-indexes).
CREATE INDEX IF NOT EXISTS stock_out_idx ON stock (sku, location_id) WHERE on_hand - reserved <= 0;
