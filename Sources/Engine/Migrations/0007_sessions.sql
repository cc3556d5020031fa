-- Dashboard sessions (POST /login). The server, not the cookie, decides when one ends: a session is valid while
-- its row exists, is not past expires_at, and was opened with the signing key in force now (key_hash), so
-- POST /logout, expiry and a key rotation each end it on every serve process at once.
-- Only hashes are stored: reading this table does not give anyone a session or the key.
CREATE TABLE blacklight.sessions (
    token_hash text PRIMARY KEY,
    key_hash text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
