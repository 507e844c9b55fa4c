-- Core schema. Runs on PostgreSQL and CockroachDB alike: explicit INT8, UUID keys from
-- gen_random_uuid() or natural keys, no sequences, no triggers.

CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('hq_viewer', 'inventory_manager', 'support', 'admin')),
    regions TEXT[] NOT NULL DEFAULT '{}',
    active BOOL NOT NULL DEFAULT true,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS locations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('warehouse', 'store', 'factory', 'dc')),
    region TEXT NOT NULL,
    city TEXT NOT NULL,
    country TEXT NOT NULL,
    lat FLOAT8 NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon FLOAT8 NOT NULL CHECK (lon BETWEEN -180 AND 180),
    active BOOL NOT NULL DEFAULT true
);
CREATE INDEX IF NOT EXISTS locations_region_idx ON locations (region);

CREATE TABLE IF NOT EXISTS products (
    sku TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    unit_cost NUMERIC(12, 2) NOT NULL CHECK (unit_cost >= 0),
    unit_price NUMERIC(12, 2) NOT NULL CHECK (unit_price >= 0),
    reorder_point INT8 NOT NULL DEFAULT 0 CHECK (reorder_point >= 0),
    active BOOL NOT NULL DEFAULT true
);
CREATE INDEX IF NOT EXISTS products_category_idx ON products (category);

CREATE TABLE IF NOT EXISTS stock (
    location_id TEXT NOT NULL REFERENCES locations (id),
    sku TEXT NOT NULL REFERENCES products (sku),
    on_hand INT8 NOT NULL DEFAULT 0,
    reserved INT8 NOT NULL DEFAULT 0,
    incoming INT8 NOT NULL DEFAULT 0,
    reorder_point INT8 NOT NULL DEFAULT 0,
    version INT8 NOT NULL DEFAULT 1,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (location_id, sku),
    CONSTRAINT stock_on_hand_non_negative CHECK (on_hand >= 0),
    CONSTRAINT stock_reserved_within_on_hand CHECK (reserved >= 0 AND reserved <= on_hand),
    CONSTRAINT stock_incoming_non_negative CHECK (incoming >= 0),
    CONSTRAINT stock_reorder_point_non_negative CHECK (reorder_point >= 0)
);
CREATE INDEX IF NOT EXISTS stock_sku_idx ON stock (sku);

-- Append-only: rows are inserted, never updated or deleted.
CREATE TABLE IF NOT EXISTS stock_movements (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    location_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT,
    delta_on_hand INT8 NOT NULL DEFAULT 0,
    delta_reserved INT8 NOT NULL DEFAULT 0,
    delta_incoming INT8 NOT NULL DEFAULT 0,
    ref_type TEXT,
    ref_id TEXT,
    actor TEXT NOT NULL,
    note TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (location_id, sku) REFERENCES stock (location_id, sku)
);
CREATE INDEX IF NOT EXISTS stock_movements_location_sku_time_idx
    ON stock_movements (location_id, sku, created_at);
CREATE INDEX IF NOT EXISTS stock_movements_ref_idx ON stock_movements (ref_type, ref_id);

CREATE TABLE IF NOT EXISTS transfers (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    from_location_id TEXT NOT NULL REFERENCES locations (id),
    to_location_id TEXT NOT NULL REFERENCES locations (id),
    sku TEXT NOT NULL REFERENCES products (sku),
    qty INT8 NOT NULL CHECK (qty > 0),
    received_qty INT8 CHECK (received_qty >= 0 AND received_qty <= qty),
    status TEXT NOT NULL DEFAULT 'in_transit' CHECK (status IN ('in_transit', 'received', 'cancelled')),
    note TEXT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    closed_by TEXT,
    closed_at TIMESTAMPTZ,
    version INT8 NOT NULL DEFAULT 1,
    CONSTRAINT transfers_distinct_ends CHECK (from_location_id <> to_location_id)
);
CREATE INDEX IF NOT EXISTS transfers_to_status_idx ON transfers (to_location_id, status);
CREATE INDEX IF NOT EXISTS transfers_from_status_idx ON transfers (from_location_id, status);

CREATE TABLE IF NOT EXISTS customers (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    address TEXT NOT NULL,
    region TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS customers_email_idx ON customers (email);
CREATE INDEX IF NOT EXISTS customers_name_idx ON customers (name);

CREATE TABLE IF NOT EXISTS orders (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_id UUID NOT NULL REFERENCES customers (id),
    region TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (
        status IN ('pending', 'allocated', 'picking', 'shipped', 'delivered',
                   'cancelled', 'returned', 'on_hold')),
    held_from_status TEXT,
    fulfilment_location_id TEXT REFERENCES locations (id),
    ship_address TEXT NOT NULL,
    total NUMERIC(14, 2) NOT NULL DEFAULT 0 CHECK (total >= 0),
    promised_by TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by TEXT NOT NULL,
    version INT8 NOT NULL DEFAULT 1,
    CONSTRAINT orders_hold_has_origin CHECK ((status = 'on_hold') = (held_from_status IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS orders_status_region_created_idx ON orders (status, region, created_at);
CREATE INDEX IF NOT EXISTS orders_region_created_idx ON orders (region, created_at);
CREATE INDEX IF NOT EXISTS orders_customer_idx ON orders (customer_id);
CREATE INDEX IF NOT EXISTS orders_created_idx ON orders (created_at);

-- A line's reservation lives in reserved_qty at location_id; stock.reserved is their sum.
CREATE TABLE IF NOT EXISTS order_lines (
    order_id UUID NOT NULL REFERENCES orders (id),
    line_no INT8 NOT NULL CHECK (line_no > 0),
    sku TEXT NOT NULL REFERENCES products (sku),
    qty INT8 NOT NULL CHECK (qty > 0),
    unit_price NUMERIC(12, 2) NOT NULL CHECK (unit_price >= 0),
    location_id TEXT REFERENCES locations (id),
    reserved_qty INT8 NOT NULL DEFAULT 0,
    PRIMARY KEY (order_id, line_no),
    CONSTRAINT order_lines_reservation_bounds CHECK (reserved_qty >= 0 AND reserved_qty <= qty),
    CONSTRAINT order_lines_reservation_has_location CHECK (reserved_qty = 0 OR location_id IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS order_lines_sku_idx ON order_lines (sku);
CREATE INDEX IF NOT EXISTS order_lines_location_sku_idx ON order_lines (location_id, sku);

-- Append-only history of every order change.
CREATE TABLE IF NOT EXISTS order_events (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id UUID NOT NULL REFERENCES orders (id),
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT,
    details JSONB NOT NULL DEFAULT '{}',
    note TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS order_events_order_time_idx ON order_events (order_id, created_at);

-- One row per applied form submission, so a double click or a retried COMMIT applies once.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key TEXT PRIMARY KEY,
    command TEXT NOT NULL,
    actor TEXT NOT NULL,
    result JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS replenishment_suggestions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    location_id TEXT NOT NULL REFERENCES locations (id),
    sku TEXT NOT NULL REFERENCES products (sku),
    from_location_id TEXT REFERENCES locations (id),
    qty INT8 NOT NULL CHECK (qty > 0),
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'dismissed')),
    source_key TEXT NOT NULL UNIQUE,
    transfer_id UUID REFERENCES transfers (id),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    decided_by TEXT,
    decided_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS replenishment_suggestions_location_status_idx
    ON replenishment_suggestions (location_id, status);
