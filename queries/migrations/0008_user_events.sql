-- Who changed which account, and how: account changes carry their actor like every other write.
CREATE TABLE IF NOT EXISTS user_events (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    username TEXT NOT NULL REFERENCES users (username),
    actor TEXT NOT NULL CHECK (btrim(actor) <> ''),
    kind TEXT NOT NULL CHECK (kind IN ('created', 'updated', 'deactivated', 'reactivated')),
    details JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS user_events_by_time ON user_events (created_at);
