-- A signed-in browser keeps its sign-in across reloads through a cookie holding a random
-- token. Only the token's SHA-256 is stored, so a copy of this table opens no account.
-- A session ends when it expires, when the user signs out (revoked_at), when the account
-- is deactivated, or when an admin sets a new password.
CREATE TABLE IF NOT EXISTS sign_in_sessions (
    token_sha256 TEXT PRIMARY KEY CHECK (length(token_sha256) = 64),
    username TEXT NOT NULL REFERENCES users (username),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ,
    CHECK (expires_at > created_at)
);

CREATE INDEX IF NOT EXISTS sign_in_sessions_by_user ON sign_in_sessions (username);
