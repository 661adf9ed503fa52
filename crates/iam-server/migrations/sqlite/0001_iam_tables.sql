-- IAM tables (slices.md §2.1), SQLite dialect: every table of the slice in one migration, so later
-- features (organizations, invitations, teams, API keys, the database rate limiter) add no ALTERs.
-- It differs from the PostgreSQL file only in column types (slices.md §0.4): INTEGER PRIMARY KEY
-- AUTOINCREMENT row ids, INTEGER booleans with a CHECK, TEXT timestamps (fixed-width RFC 3339
-- UTC with milliseconds). Constraint names are identical on both backends, and unique
-- constraints are named `<table>_<cols>_uq` so SQLite's "UNIQUE constraint failed: t.a, t.b"
-- maps to the same name; indexes are shared (common/0001_iam_indexes.sql).

CREATE TABLE iam_account (
    _row_id INTEGER CONSTRAINT iam_account_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT iam_account_id_uq UNIQUE,
    account_id TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    access_token TEXT,
    refresh_token TEXT,
    id_token TEXT,
    access_token_expires_at TEXT,
    refresh_token_expires_at TEXT,
    scope TEXT,
    password TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT,
    created_by TEXT DEFAULT 'app',
    updated_by TEXT DEFAULT 'app',
    deleted_by TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    source TEXT,
    CONSTRAINT iam_account_provider_id_account_id_uq UNIQUE (provider_id, account_id),
    CONSTRAINT iam_account_user_id_fk FOREIGN KEY (user_id)
        REFERENCES shared_user (id) ON DELETE CASCADE
);

CREATE TABLE iam_verification (
    _row_id INTEGER CONSTRAINT iam_verification_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT iam_verification_id_uq UNIQUE,
    identifier TEXT NOT NULL,
    value TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT,
    created_by TEXT DEFAULT 'app',
    updated_by TEXT DEFAULT 'app',
    deleted_by TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    source TEXT
);

CREATE TABLE iam_member (
    _row_id INTEGER CONSTRAINT iam_member_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT iam_member_id_uq UNIQUE,
    organization_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'member'
        CONSTRAINT iam_member_role_check CHECK (role IN ('owner', 'admin', 'member')),
    status TEXT NOT NULL DEFAULT 'active'
        CONSTRAINT iam_member_status_check CHECK (status IN ('active', 'inactive', 'offline', 'suspended', 'deleted', 'invited')),
    invited_by TEXT,
    invited_at TEXT,
    joined_at TEXT,
    last_active_at TEXT,
    permissions TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT,
    created_by TEXT DEFAULT 'app',
    updated_by TEXT DEFAULT 'app',
    deleted_by TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    source TEXT,
    CONSTRAINT iam_member_organization_id_user_id_uq UNIQUE (organization_id, user_id),
    CONSTRAINT iam_member_user_id_fk FOREIGN KEY (user_id)
        REFERENCES shared_user (id) ON DELETE CASCADE,
    CONSTRAINT iam_member_invited_by_fk FOREIGN KEY (invited_by)
        REFERENCES shared_user (id) ON DELETE SET NULL,
    CONSTRAINT iam_member_organization_id_fk FOREIGN KEY (organization_id)
        REFERENCES shared_organization (id) ON DELETE CASCADE
);

CREATE TABLE iam_invitation (
    _row_id INTEGER CONSTRAINT iam_invitation_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT iam_invitation_id_uq UNIQUE,
    organization_id TEXT NOT NULL,
    email TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'member',
    team_id TEXT,
    status TEXT NOT NULL DEFAULT 'pending'
        CONSTRAINT iam_invitation_status_check CHECK (status IN ('pending', 'accepted', 'rejected', 'cancelled')),
    expires_at TEXT NOT NULL,
    inviter_id TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT,
    created_by TEXT DEFAULT 'app',
    updated_by TEXT DEFAULT 'app',
    deleted_by TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    source TEXT,
    CONSTRAINT iam_invitation_team_id_fk FOREIGN KEY (team_id)
        REFERENCES shared_team (id) ON DELETE CASCADE,
    CONSTRAINT iam_invitation_inviter_id_fk FOREIGN KEY (inviter_id)
        REFERENCES shared_user (id) ON DELETE CASCADE,
    CONSTRAINT iam_invitation_organization_id_fk FOREIGN KEY (organization_id)
        REFERENCES shared_organization (id) ON DELETE CASCADE
);

CREATE TABLE iam_team_member (
    _row_id INTEGER CONSTRAINT iam_team_member_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT iam_team_member_id_uq UNIQUE,
    organization_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT,
    created_by TEXT DEFAULT 'app',
    updated_by TEXT DEFAULT 'app',
    deleted_by TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    source TEXT,
    CONSTRAINT iam_team_member_team_id_user_id_uq UNIQUE (team_id, user_id),
    CONSTRAINT iam_team_member_team_id_fk FOREIGN KEY (team_id)
        REFERENCES shared_team (id) ON DELETE CASCADE,
    CONSTRAINT iam_team_member_user_id_fk FOREIGN KEY (user_id)
        REFERENCES shared_user (id) ON DELETE CASCADE,
    CONSTRAINT iam_team_member_organization_id_fk FOREIGN KEY (organization_id)
        REFERENCES shared_organization (id) ON DELETE CASCADE
);

CREATE TABLE iam_organization_role (
    _row_id INTEGER CONSTRAINT iam_organization_role_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT iam_organization_role_id_uq UNIQUE,
    organization_id TEXT NOT NULL,
    role TEXT NOT NULL,
    permission TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT,
    created_by TEXT DEFAULT 'app',
    updated_by TEXT DEFAULT 'app',
    deleted_by TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    source TEXT,
    CONSTRAINT iam_organization_role_organization_id_role_uq UNIQUE (organization_id, role),
    CONSTRAINT iam_organization_role_organization_id_fk FOREIGN KEY (organization_id)
        REFERENCES shared_organization (id) ON DELETE CASCADE
);

CREATE TABLE iam_apikey (
    _row_id INTEGER CONSTRAINT iam_apikey_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT iam_apikey_id_uq UNIQUE,
    organization_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    name TEXT,
    start TEXT,
    prefix TEXT,
    key TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1
        CONSTRAINT iam_apikey_enabled_check CHECK (enabled IN (0, 1)),
    rate_limit_enabled INTEGER NOT NULL DEFAULT 1
        CONSTRAINT iam_apikey_rate_limit_enabled_check CHECK (rate_limit_enabled IN (0, 1)),
    rate_limit_time_window INTEGER NOT NULL DEFAULT 86400000
        CONSTRAINT iam_apikey_rate_limit_time_window_check CHECK (rate_limit_time_window > 0),
    rate_limit_max INTEGER NOT NULL DEFAULT 10
        CONSTRAINT iam_apikey_rate_limit_max_check CHECK (rate_limit_max > 0),
    request_count INTEGER NOT NULL DEFAULT 0
        CONSTRAINT iam_apikey_request_count_check CHECK (request_count >= 0),
    remaining INTEGER
        CONSTRAINT iam_apikey_remaining_check CHECK (remaining >= 0),
    refill_interval INTEGER,
    refill_amount INTEGER,
    last_refill_at TEXT,
    last_request TEXT,
    expires_at TEXT,
    permissions TEXT,
    metadata TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT,
    created_by TEXT DEFAULT 'app',
    updated_by TEXT DEFAULT 'app',
    deleted_by TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    source TEXT,
    CONSTRAINT iam_apikey_key_uq UNIQUE (key),
    CONSTRAINT iam_apikey_user_id_fk FOREIGN KEY (user_id)
        REFERENCES shared_user (id) ON DELETE CASCADE,
    CONSTRAINT iam_apikey_organization_id_fk FOREIGN KEY (organization_id)
        REFERENCES shared_organization (id) ON DELETE CASCADE
);

CREATE TABLE iam_rate_limit (
    _row_id INTEGER CONSTRAINT iam_rate_limit_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT iam_rate_limit_id_uq UNIQUE,
    key TEXT NOT NULL,
    count INTEGER NOT NULL
        CONSTRAINT iam_rate_limit_count_check CHECK (count >= 0),
    last_request INTEGER NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT,
    created_by TEXT DEFAULT 'app',
    updated_by TEXT DEFAULT 'app',
    deleted_by TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    source TEXT,
    CONSTRAINT iam_rate_limit_key_uq UNIQUE (key)
);
