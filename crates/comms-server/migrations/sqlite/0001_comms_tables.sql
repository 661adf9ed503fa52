-- Comms tables (slices.md §5.1), SQLite dialect. It differs from the PostgreSQL file only in
-- column types (slices.md §0.4): INTEGER row ids, TEXT timestamps (fixed-width RFC 3339 UTC with
-- milliseconds, so text order is time order) and TEXT JSON checked with json_valid. Constraint
-- names are identical on both backends; indexes are shared (common/0001_comms_indexes.sql).
--
-- `to` is an SQL keyword, hence the quoted column name.
--
-- Beyond slices.md: `comms_email_outbox.message_id` (the stable Message-ID of every delivery
-- attempt), a nullable `body_html` (text-only messages; one of the two parts is required) and
-- `comms_email_delivery_log.worker` (which instance made the attempt).

CREATE TABLE comms_email_template (
    _row_id INTEGER CONSTRAINT comms_email_template_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT comms_email_template_id_uq UNIQUE,
    organization_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    subject TEXT NOT NULL,
    body_html TEXT NOT NULL,
    body_text TEXT,
    "to" TEXT CONSTRAINT comms_email_template_to_check CHECK ("to" IS NULL OR json_valid("to")),
    cc TEXT CONSTRAINT comms_email_template_cc_check CHECK (cc IS NULL OR json_valid(cc)),
    bcc TEXT CONSTRAINT comms_email_template_bcc_check CHECK (bcc IS NULL OR json_valid(bcc)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT,
    created_by TEXT DEFAULT 'app',
    updated_by TEXT DEFAULT 'app',
    deleted_by TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    source TEXT,
    CONSTRAINT comms_email_template_organization_id_name_uq UNIQUE (organization_id, name),
    CONSTRAINT comms_email_template_organization_id_fk FOREIGN KEY (organization_id)
        REFERENCES shared_organization (id) ON DELETE CASCADE,
    CONSTRAINT comms_email_template_user_id_fk FOREIGN KEY (user_id)
        REFERENCES shared_user (id) ON DELETE CASCADE
);

CREATE TABLE comms_email_outbox (
    _row_id INTEGER CONSTRAINT comms_email_outbox_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT comms_email_outbox_id_uq UNIQUE,
    organization_id TEXT,
    user_id TEXT,
    template_name TEXT,
    message_id TEXT NOT NULL CONSTRAINT comms_email_outbox_message_id_uq UNIQUE,
    from_address TEXT NOT NULL,
    reply_to TEXT,
    "to" TEXT NOT NULL CONSTRAINT comms_email_outbox_to_check CHECK (json_valid("to")),
    cc TEXT CONSTRAINT comms_email_outbox_cc_check CHECK (cc IS NULL OR json_valid(cc)),
    bcc TEXT CONSTRAINT comms_email_outbox_bcc_check CHECK (bcc IS NULL OR json_valid(bcc)),
    subject TEXT NOT NULL,
    body_html TEXT,
    body_text TEXT,
    headers TEXT CONSTRAINT comms_email_outbox_headers_check CHECK (headers IS NULL OR json_valid(headers)),
    status TEXT NOT NULL DEFAULT 'pending'
        CONSTRAINT comms_email_outbox_status_check
        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 8,
    next_attempt_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_error TEXT,
    provider TEXT,
    provider_message_id TEXT,
    lease_owner TEXT,
    lease_until TEXT,
    idempotency_key TEXT CONSTRAINT comms_email_outbox_idempotency_key_uq UNIQUE,
    sent_at TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT,
    created_by TEXT DEFAULT 'app',
    updated_by TEXT DEFAULT 'app',
    deleted_by TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    source TEXT,
    CONSTRAINT comms_email_outbox_body_check CHECK (body_html IS NOT NULL OR body_text IS NOT NULL),
    CONSTRAINT comms_email_outbox_organization_id_fk FOREIGN KEY (organization_id)
        REFERENCES shared_organization (id) ON DELETE CASCADE,
    CONSTRAINT comms_email_outbox_user_id_fk FOREIGN KEY (user_id)
        REFERENCES shared_user (id) ON DELETE SET NULL
);

CREATE TABLE comms_email_delivery_log (
    _row_id INTEGER CONSTRAINT comms_email_delivery_log_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT comms_email_delivery_log_id_uq UNIQUE,
    organization_id TEXT,
    outbox_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    outcome TEXT NOT NULL
        CONSTRAINT comms_email_delivery_log_outcome_check CHECK (outcome IN ('sent', 'retry', 'failed')),
    provider TEXT NOT NULL,
    provider_message_id TEXT,
    error TEXT,
    duration_ms INTEGER NOT NULL,
    worker TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT,
    created_by TEXT DEFAULT 'app',
    updated_by TEXT DEFAULT 'app',
    deleted_by TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    source TEXT,
    CONSTRAINT comms_email_delivery_log_outbox_id_fk FOREIGN KEY (outbox_id)
        REFERENCES comms_email_outbox (id) ON DELETE CASCADE,
    CONSTRAINT comms_email_delivery_log_organization_id_fk FOREIGN KEY (organization_id)
        REFERENCES shared_organization (id) ON DELETE CASCADE
);
