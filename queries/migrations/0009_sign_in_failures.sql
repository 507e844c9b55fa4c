-- Failed sign-ins per username (known or not, so a lock-out reveals no account): five within
-- a quarter of an hour lock the name until the window has passed or an admin sets a password.
CREATE TABLE IF NOT EXISTS sign_in_failures (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    username TEXT NOT NULL,
    failed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS sign_in_failures_by_user ON sign_in_failures (username, failed_at);
