-- Shared tables (slices.md §1.1), SQLite dialect. It differs from the PostgreSQL file only in
-- column types (slices.md §0.4): INTEGER PRIMARY KEY AUTOINCREMENT row ids, INTEGER booleans with
-- a CHECK, TEXT timestamps (fixed-width RFC 3339 UTC with milliseconds, so text order is time
-- order) and TEXT JSON checked with json_valid. Constraint names are identical on both backends;
-- indexes are shared (common/0001_shared_indexes.sql).
--
-- SQLite reports a unique violation as "UNIQUE constraint failed: t.a, t.b", which the error
-- mapping turns into `t_a_b_uq`: every unique constraint is named that way so both backends
-- report the same name.

CREATE TABLE shared_user (
    _row_id INTEGER CONSTRAINT shared_user_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT shared_user_id_uq UNIQUE,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    email_verified INTEGER NOT NULL DEFAULT 0
        CONSTRAINT shared_user_email_verified_check CHECK (email_verified IN (0, 1)),
    image TEXT,
    role TEXT NOT NULL DEFAULT 'user'
        CONSTRAINT shared_user_role_check CHECK (role IN ('admin', 'user')),
    banned INTEGER NOT NULL DEFAULT 0
        CONSTRAINT shared_user_banned_check CHECK (banned IN (0, 1)),
    ban_reason TEXT,
    ban_expires TEXT,
    is_anonymous INTEGER NOT NULL DEFAULT 0
        CONSTRAINT shared_user_is_anonymous_check CHECK (is_anonymous IN (0, 1)),
    phone_number TEXT,
    phone_number_verified INTEGER NOT NULL DEFAULT 0
        CONSTRAINT shared_user_phone_number_verified_check CHECK (phone_number_verified IN (0, 1)),
    two_factor_enabled INTEGER NOT NULL DEFAULT 0
        CONSTRAINT shared_user_two_factor_enabled_check CHECK (two_factor_enabled IN (0, 1)),
    username TEXT,
    display_username TEXT,
    upload_limit INTEGER NOT NULL DEFAULT 100000000,
    stripe_customer_id TEXT,
    last_login_method TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT,
    created_by TEXT DEFAULT 'app',
    updated_by TEXT DEFAULT 'app',
    deleted_by TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    source TEXT,
    CONSTRAINT shared_user_email_uq UNIQUE (email),
    CONSTRAINT shared_user_phone_number_uq UNIQUE (phone_number),
    CONSTRAINT shared_user_username_uq UNIQUE (username)
);

CREATE TABLE shared_organization (
    _row_id INTEGER CONSTRAINT shared_organization_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT shared_organization_id_uq UNIQUE,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    logo TEXT,
    metadata TEXT,
    type TEXT NOT NULL DEFAULT 'individual'
        CONSTRAINT shared_organization_type_check CHECK (type IN ('individual', 'team', 'enterprise')),
    owner_user_id TEXT NOT NULL,
    is_personal INTEGER NOT NULL DEFAULT 0
        CONSTRAINT shared_organization_is_personal_check CHECK (is_personal IN (0, 1)),
    max_members INTEGER,
    features TEXT CONSTRAINT shared_organization_features_check CHECK (json_valid(features)),
    settings TEXT CONSTRAINT shared_organization_settings_check CHECK (json_valid(settings)),
    subscription_tier TEXT NOT NULL DEFAULT 'free'
        CONSTRAINT shared_organization_subscription_tier_check
        CHECK (subscription_tier IN ('free', 'plus', 'pro', 'enterprise')),
    subscription_status TEXT NOT NULL DEFAULT 'active'
        CONSTRAINT shared_organization_subscription_status_check
        CHECK (subscription_status IN ('active', 'canceled')),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT,
    created_by TEXT DEFAULT 'app',
    updated_by TEXT DEFAULT 'app',
    deleted_by TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    source TEXT,
    CONSTRAINT shared_organization_slug_uq UNIQUE (slug),
    CONSTRAINT shared_organization_owner_user_id_fk FOREIGN KEY (owner_user_id)
        REFERENCES shared_user (id) ON DELETE CASCADE
);

CREATE TABLE shared_team (
    _row_id INTEGER CONSTRAINT shared_team_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT shared_team_id_uq UNIQUE,
    organization_id TEXT NOT NULL,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    description TEXT,
    metadata TEXT,
    logo TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT,
    created_by TEXT DEFAULT 'app',
    updated_by TEXT DEFAULT 'app',
    deleted_by TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    source TEXT,
    CONSTRAINT shared_team_organization_id_name_uq UNIQUE (organization_id, name),
    CONSTRAINT shared_team_organization_id_slug_uq UNIQUE (organization_id, slug),
    CONSTRAINT shared_team_organization_id_fk FOREIGN KEY (organization_id)
        REFERENCES shared_organization (id) ON DELETE CASCADE
);

CREATE TABLE shared_session (
    _row_id INTEGER CONSTRAINT shared_session_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT shared_session_id_uq UNIQUE,
    token TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    user_id TEXT NOT NULL,
    ip_address TEXT,
    user_agent TEXT,
    impersonated_by TEXT,
    active_organization_id TEXT,
    active_team_id TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT,
    created_by TEXT DEFAULT 'app',
    updated_by TEXT DEFAULT 'app',
    deleted_by TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    source TEXT,
    CONSTRAINT shared_session_token_uq UNIQUE (token),
    CONSTRAINT shared_session_expires_at_check CHECK (expires_at > created_at),
    CONSTRAINT shared_session_user_id_fk FOREIGN KEY (user_id)
        REFERENCES shared_user (id) ON DELETE CASCADE,
    CONSTRAINT shared_session_impersonated_by_fk FOREIGN KEY (impersonated_by)
        REFERENCES shared_user (id) ON DELETE SET NULL,
    CONSTRAINT shared_session_active_organization_id_fk FOREIGN KEY (active_organization_id)
        REFERENCES shared_organization (id) ON DELETE SET NULL,
    CONSTRAINT shared_session_active_team_id_fk FOREIGN KEY (active_team_id)
        REFERENCES shared_team (id) ON DELETE SET NULL
);

CREATE TABLE shared_folder (
    _row_id INTEGER CONSTRAINT shared_folder_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT shared_folder_id_uq UNIQUE,
    organization_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT,
    created_by TEXT DEFAULT 'app',
    updated_by TEXT DEFAULT 'app',
    deleted_by TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    source TEXT,
    CONSTRAINT shared_folder_organization_id_fk FOREIGN KEY (organization_id)
        REFERENCES shared_organization (id) ON DELETE CASCADE,
    CONSTRAINT shared_folder_user_id_fk FOREIGN KEY (user_id)
        REFERENCES shared_user (id) ON DELETE CASCADE
);

CREATE TABLE shared_file (
    _row_id INTEGER CONSTRAINT shared_file_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT shared_file_id_uq UNIQUE,
    organization_id TEXT NOT NULL,
    key TEXT NOT NULL,
    url TEXT NOT NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL CONSTRAINT shared_file_size_check CHECK (size >= 0),
    mime_type TEXT NOT NULL,
    user_id TEXT NOT NULL,
    uploaded_by_user_id TEXT NOT NULL,
    folder_id TEXT,
    metadata TEXT NOT NULL CONSTRAINT shared_file_metadata_check CHECK (json_valid(metadata)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT,
    created_by TEXT DEFAULT 'app',
    updated_by TEXT DEFAULT 'app',
    deleted_by TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    source TEXT,
    CONSTRAINT shared_file_key_uq UNIQUE (key),
    CONSTRAINT shared_file_organization_id_fk FOREIGN KEY (organization_id)
        REFERENCES shared_organization (id) ON DELETE CASCADE,
    CONSTRAINT shared_file_user_id_fk FOREIGN KEY (user_id)
        REFERENCES shared_user (id) ON DELETE CASCADE,
    CONSTRAINT shared_file_uploaded_by_user_id_fk FOREIGN KEY (uploaded_by_user_id)
        REFERENCES shared_user (id) ON DELETE CASCADE,
    CONSTRAINT shared_file_folder_id_fk FOREIGN KEY (folder_id)
        REFERENCES shared_folder (id) ON DELETE CASCADE
);

CREATE TABLE shared_upload_session (
    _row_id INTEGER CONSTRAINT shared_upload_session_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT shared_upload_session_id_uq UNIQUE,
    organization_id TEXT NOT NULL,
    file_key TEXT NOT NULL,
    user_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    metadata TEXT NOT NULL CONSTRAINT shared_upload_session_metadata_check CHECK (json_valid(metadata)),
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT,
    created_by TEXT DEFAULT 'app',
    updated_by TEXT DEFAULT 'app',
    deleted_by TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    source TEXT,
    CONSTRAINT shared_upload_session_file_key_uq UNIQUE (file_key),
    CONSTRAINT shared_upload_session_organization_id_fk FOREIGN KEY (organization_id)
        REFERENCES shared_organization (id) ON DELETE CASCADE,
    CONSTRAINT shared_upload_session_user_id_fk FOREIGN KEY (user_id)
        REFERENCES shared_user (id) ON DELETE CASCADE
);
