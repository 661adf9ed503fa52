-- The two-factor plugin's table (PLUGINS.md §2.5), SQLite dialect: one row per user who enrolled
-- (better-auth's `twoFactor` model). `secret` and `backup_codes` hold better-auth's
-- `symmetricEncrypt` text (hex, or `$ba$<version>$hex` with rotated secrets), so rows moved
-- from better-auth keep working. `verified` is false between enable and the first TOTP check.
CREATE TABLE iam_two_factor (
    _row_id INTEGER CONSTRAINT iam_two_factor_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT iam_two_factor_id_uq UNIQUE,
    user_id TEXT NOT NULL CONSTRAINT iam_two_factor_user_id_uq UNIQUE,
    secret TEXT NOT NULL,
    backup_codes TEXT NOT NULL,
    verified INTEGER NOT NULL DEFAULT 1
        CONSTRAINT iam_two_factor_verified_check CHECK (verified IN (0, 1)),
    failed_verification_count INTEGER NOT NULL DEFAULT 0
        CONSTRAINT iam_two_factor_failed_verification_count_check CHECK (failed_verification_count >= 0),
    locked_until TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT,
    created_by TEXT DEFAULT 'app',
    updated_by TEXT DEFAULT 'app',
    deleted_by TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    source TEXT,
    CONSTRAINT iam_two_factor_user_id_fk FOREIGN KEY (user_id)
        REFERENCES shared_user (id) ON DELETE CASCADE
);
