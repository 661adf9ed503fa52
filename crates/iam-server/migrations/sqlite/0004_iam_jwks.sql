-- The jwt plugin's signing keys (PLUGINS.md §7), SQLite dialect (better-auth's `jwks` model):
-- `public_key` is the public JWK as JSON text; `private_key` the private JWK, as JSON text of
-- better-auth's `symmetricEncrypt` output (a JSON string) unless private-key encryption is off.
-- A key past `expires_at` no longer signs and leaves the JWKS after the grace period.
CREATE TABLE iam_jwks (
    _row_id INTEGER CONSTRAINT iam_jwks_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT iam_jwks_id_uq UNIQUE,
    public_key TEXT NOT NULL,
    private_key TEXT NOT NULL,
    alg TEXT,
    crv TEXT,
    expires_at TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT,
    created_by TEXT DEFAULT 'app',
    updated_by TEXT DEFAULT 'app',
    deleted_by TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    source TEXT
);
CREATE INDEX iam_jwks_created_at_idx ON iam_jwks (created_at);
