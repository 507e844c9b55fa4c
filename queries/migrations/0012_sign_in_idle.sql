-- A sign-in also ends after a stretch without activity (STOCKROOM_IDLE_MINUTES, default 60),
-- besides its 12-hour limit: last_seen_at is when the browser last used it.
ALTER TABLE sign_in_sessions ADD COLUMN IF NOT EXISTS last_seen_at TIMESTAMPTZ NOT NULL DEFAULT now();
