-- The replenishment worker (changefeed/worker.py) reads the stock topic and raises one
-- suggestion per low-stock episode of a (location, sku). Its memory of each stock row lives
-- here: whether the row is at or below its reorder point, which episode it is in, and the
-- changefeed timestamp (wall, logical) of the last message applied, so a repeated or older
-- message changes nothing.
CREATE TABLE IF NOT EXISTS replenishment_watch (
    location_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    is_low BOOL NOT NULL,
    episode INT8 NOT NULL DEFAULT 0,
    last_updated_wall INT8 NOT NULL,
    last_updated_logical INT8 NOT NULL,
    PRIMARY KEY (location_id, sku)
);

-- Who raised a suggestion and what the stock looked like when it did.
ALTER TABLE replenishment_suggestions ADD COLUMN IF NOT EXISTS created_by TEXT NOT NULL DEFAULT 'system';
ALTER TABLE replenishment_suggestions ADD COLUMN IF NOT EXISTS observed_available INT8;
ALTER TABLE replenishment_suggestions ADD COLUMN IF NOT EXISTS observed_reorder_point INT8;
