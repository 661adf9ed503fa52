-- Multi-role memberships (better-auth-api.md §7.1): a member's role is one built-in role or a
-- comma-separated list of distinct built-in roles in the order given (`admin,member`). 0001
-- allowed a single role only; the CHECK now lists every ordered list of distinct roles, so a
-- typo or an unknown role still cannot be stored.
--
-- SQLite cannot alter a CHECK, so the table is rebuilt (no table references iam_member): copy,
-- drop, rename, and re-create its indexes (same names as 0001).

CREATE TABLE iam_member_new (
    _row_id INTEGER CONSTRAINT iam_member_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT iam_member_id_uq UNIQUE,
    organization_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'member'
        CONSTRAINT iam_member_role_check CHECK (role IN (
            'owner',
            'admin',
            'member',
            'owner,admin',
            'owner,member',
            'admin,owner',
            'admin,member',
            'member,owner',
            'member,admin',
            'owner,admin,member',
            'owner,member,admin',
            'admin,owner,member',
            'admin,member,owner',
            'member,owner,admin',
            'member,admin,owner'
        )),
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


INSERT INTO iam_member_new
    SELECT _row_id, id, organization_id, user_id, role, status, invited_by, invited_at, joined_at,
           last_active_at, permissions, created_at, updated_at, deleted_at, created_by,
           updated_by, deleted_by, version, source
    FROM iam_member;
DROP TABLE iam_member;
ALTER TABLE iam_member_new RENAME TO iam_member;
CREATE INDEX iam_member_user_id_status_idx ON iam_member (user_id, status);
CREATE INDEX iam_member_organization_id_role_idx ON iam_member (organization_id, role);
