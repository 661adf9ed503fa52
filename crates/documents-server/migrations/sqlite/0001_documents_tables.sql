-- Documents tables (slices.md §3.1), SQLite dialect. It differs from the PostgreSQL file in column
-- types (slices.md §0.4: INTEGER row ids and booleans with a CHECK, TEXT timestamps, TEXT JSON
-- checked with json_valid, BLOB bytes) and in full-text search (§3.2): here an FTS5
-- external-content table kept in sync by triggers (after the tables), there a generated
-- tsvector. Constraint names are identical on both backends; plain indexes are shared
-- (common/0001_documents_indexes.sql).
--
-- Length rules of §3.1 are CHECKs too (the services validate first and name the field; the
-- CHECK is the safety net for writers that bypass them).

CREATE TABLE documents_document (
    _row_id INTEGER CONSTRAINT documents_document_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT documents_document_id_uq UNIQUE,
    organization_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    template_id TEXT,
    parent_document_id TEXT,
    title TEXT CONSTRAINT documents_document_title_check CHECK (title IS NULL OR length(title) <= 500),
    content TEXT CONSTRAINT documents_document_content_check CHECK (content IS NULL OR length(content) <= 1000000),
    content_rich TEXT CONSTRAINT documents_document_content_rich_check CHECK (content_rich IS NULL OR json_valid(content_rich)),
    yjs_snapshot BLOB,
    cover_image TEXT CONSTRAINT documents_document_cover_image_check CHECK (cover_image IS NULL OR length(cover_image) <= 500),
    icon TEXT CONSTRAINT documents_document_icon_check CHECK (icon IS NULL OR length(icon) <= 100),
    is_published INTEGER NOT NULL DEFAULT 0
        CONSTRAINT documents_document_is_published_check CHECK (is_published IN (0, 1)),
    is_archived INTEGER NOT NULL DEFAULT 0
        CONSTRAINT documents_document_is_archived_check CHECK (is_archived IN (0, 1)),
    lock_page INTEGER NOT NULL DEFAULT 0
        CONSTRAINT documents_document_lock_page_check CHECK (lock_page IN (0, 1)),
    text_style TEXT NOT NULL DEFAULT 'default'
        CONSTRAINT documents_document_text_style_check CHECK (text_style IN ('default', 'serif', 'mono')),
    small_text INTEGER NOT NULL DEFAULT 0
        CONSTRAINT documents_document_small_text_check CHECK (small_text IN (0, 1)),
    full_width INTEGER NOT NULL DEFAULT 0
        CONSTRAINT documents_document_full_width_check CHECK (full_width IN (0, 1)),
    toc INTEGER NOT NULL DEFAULT 1
        CONSTRAINT documents_document_toc_check CHECK (toc IN (0, 1)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT,
    created_by TEXT DEFAULT 'app',
    updated_by TEXT DEFAULT 'app',
    deleted_by TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    source TEXT,
    CONSTRAINT documents_document_organization_id_fk FOREIGN KEY (organization_id)
        REFERENCES shared_organization (id) ON DELETE CASCADE,
    CONSTRAINT documents_document_user_id_fk FOREIGN KEY (user_id)
        REFERENCES shared_user (id) ON DELETE CASCADE,
    CONSTRAINT documents_document_parent_document_id_fk FOREIGN KEY (parent_document_id)
        REFERENCES documents_document (id) ON DELETE CASCADE,
    CONSTRAINT documents_document_parent_document_id_check CHECK (parent_document_id <> id),
    CONSTRAINT documents_document_user_id_template_id_uq UNIQUE (user_id, template_id)
);

CREATE TABLE documents_discussion (
    _row_id INTEGER CONSTRAINT documents_discussion_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT documents_discussion_id_uq UNIQUE,
    organization_id TEXT NOT NULL,
    document_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    document_content TEXT NOT NULL
        CONSTRAINT documents_discussion_document_content_check CHECK (length(document_content) BETWEEN 1 AND 1000),
    document_content_rich TEXT CONSTRAINT documents_discussion_document_content_rich_check CHECK (document_content_rich IS NULL OR json_valid(document_content_rich)),
    is_resolved INTEGER NOT NULL DEFAULT 0
        CONSTRAINT documents_discussion_is_resolved_check CHECK (is_resolved IN (0, 1)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT,
    created_by TEXT DEFAULT 'app',
    updated_by TEXT DEFAULT 'app',
    deleted_by TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    source TEXT,
    CONSTRAINT documents_discussion_organization_id_fk FOREIGN KEY (organization_id)
        REFERENCES shared_organization (id) ON DELETE CASCADE,
    CONSTRAINT documents_discussion_document_id_fk FOREIGN KEY (document_id)
        REFERENCES documents_document (id) ON DELETE CASCADE,
    CONSTRAINT documents_discussion_user_id_fk FOREIGN KEY (user_id)
        REFERENCES shared_user (id) ON DELETE CASCADE
);

CREATE TABLE documents_comment (
    _row_id INTEGER CONSTRAINT documents_comment_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT documents_comment_id_uq UNIQUE,
    organization_id TEXT NOT NULL,
    discussion_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    content TEXT NOT NULL CONSTRAINT documents_comment_content_check CHECK (length(content) <= 10000),
    content_rich TEXT CONSTRAINT documents_comment_content_rich_check CHECK (content_rich IS NULL OR json_valid(content_rich)),
    is_edited INTEGER NOT NULL DEFAULT 0
        CONSTRAINT documents_comment_is_edited_check CHECK (is_edited IN (0, 1)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT,
    created_by TEXT DEFAULT 'app',
    updated_by TEXT DEFAULT 'app',
    deleted_by TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    source TEXT,
    CONSTRAINT documents_comment_organization_id_fk FOREIGN KEY (organization_id)
        REFERENCES shared_organization (id) ON DELETE CASCADE,
    CONSTRAINT documents_comment_discussion_id_fk FOREIGN KEY (discussion_id)
        REFERENCES documents_discussion (id) ON DELETE CASCADE,
    CONSTRAINT documents_comment_user_id_fk FOREIGN KEY (user_id)
        REFERENCES shared_user (id) ON DELETE CASCADE
);

CREATE TABLE documents_document_version (
    _row_id INTEGER CONSTRAINT documents_document_version_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT documents_document_version_id_uq UNIQUE,
    organization_id TEXT NOT NULL,
    document_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    title TEXT,
    content TEXT NOT NULL DEFAULT '',
    content_rich TEXT CONSTRAINT documents_document_version_content_rich_check CHECK (content_rich IS NULL OR json_valid(content_rich)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT,
    created_by TEXT DEFAULT 'app',
    updated_by TEXT DEFAULT 'app',
    deleted_by TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    source TEXT,
    CONSTRAINT documents_document_version_organization_id_fk FOREIGN KEY (organization_id)
        REFERENCES shared_organization (id) ON DELETE CASCADE,
    CONSTRAINT documents_document_version_document_id_fk FOREIGN KEY (document_id)
        REFERENCES documents_document (id) ON DELETE CASCADE,
    CONSTRAINT documents_document_version_user_id_fk FOREIGN KEY (user_id)
        REFERENCES shared_user (id) ON DELETE CASCADE
);

CREATE TABLE documents_document_file (
    _row_id INTEGER CONSTRAINT documents_document_file_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT documents_document_file_id_uq UNIQUE,
    organization_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    document_id TEXT,
    size INTEGER NOT NULL CONSTRAINT documents_document_file_size_check CHECK (size >= 0),
    url TEXT NOT NULL,
    app_url TEXT NOT NULL,
    type TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT,
    created_by TEXT DEFAULT 'app',
    updated_by TEXT DEFAULT 'app',
    deleted_by TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    source TEXT,
    CONSTRAINT documents_document_file_organization_id_fk FOREIGN KEY (organization_id)
        REFERENCES shared_organization (id) ON DELETE CASCADE,
    CONSTRAINT documents_document_file_user_id_fk FOREIGN KEY (user_id)
        REFERENCES shared_user (id) ON DELETE CASCADE,
    CONSTRAINT documents_document_file_document_id_fk FOREIGN KEY (document_id)
        REFERENCES documents_document (id) ON DELETE SET NULL
);

CREATE TABLE documents_document_source (
    _row_id INTEGER CONSTRAINT documents_document_source_pk PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL CONSTRAINT documents_document_source_id_uq UNIQUE,
    organization_id TEXT NOT NULL,
    document_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    provider_account_id TEXT NOT NULL,
    source_type TEXT NOT NULL,
    source_id TEXT NOT NULL,
    source_thread_id TEXT,
    source_uri TEXT,
    source_history_id TEXT,
    source_internal_date TEXT,
    source_hash TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT,
    created_by TEXT DEFAULT 'app',
    updated_by TEXT DEFAULT 'app',
    deleted_by TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    source TEXT,
    CONSTRAINT documents_document_source_organization_id_fk FOREIGN KEY (organization_id)
        REFERENCES shared_organization (id) ON DELETE CASCADE,
    CONSTRAINT documents_document_source_document_id_fk FOREIGN KEY (document_id)
        REFERENCES documents_document (id) ON DELETE CASCADE,
    CONSTRAINT documents_document_source_user_id_fk FOREIGN KEY (user_id)
        REFERENCES shared_user (id) ON DELETE CASCADE,
    -- (organization_id, provider_account_id, source_type, source_id): the full column-list name
    -- would pass PostgreSQL's 63-character identifier limit.
    CONSTRAINT documents_document_source_mapping_key_uq
        UNIQUE (organization_id, provider_account_id, source_type, source_id)
);

-- Full-text search (slices.md §3.2): external content over documents_document, rowid = _row_id.
CREATE VIRTUAL TABLE documents_document_fts USING fts5(
    title, content,
    content = 'documents_document', content_rowid = '_row_id',
    tokenize = 'porter unicode61'
);

CREATE TRIGGER documents_document_fts_insert AFTER INSERT ON documents_document BEGIN
    INSERT INTO documents_document_fts (rowid, title, content)
        VALUES (new._row_id, new.title, new.content);
END;

CREATE TRIGGER documents_document_fts_delete AFTER DELETE ON documents_document BEGIN
    INSERT INTO documents_document_fts (documents_document_fts, rowid, title, content)
        VALUES ('delete', old._row_id, old.title, old.content);
END;

-- Only a change of the indexed text re-indexes (flag and metadata updates do not).
CREATE TRIGGER documents_document_fts_update AFTER UPDATE OF title, content ON documents_document
BEGIN
    INSERT INTO documents_document_fts (documents_document_fts, rowid, title, content)
        VALUES ('delete', old._row_id, old.title, old.content);
    INSERT INTO documents_document_fts (rowid, title, content)
        VALUES (new._row_id, new.title, new.content);
END;

-- Versions are immutable (slices.md §3.1, §8): evidence must never drift from the text it cites.
CREATE TRIGGER documents_document_version_immutable BEFORE UPDATE ON documents_document_version
BEGIN
    SELECT RAISE(ABORT, 'documents_document_version rows are immutable');
END;
