-- Indexes of the documents tables (slices.md §3.1): the same SQL on SQLite and PostgreSQL
-- (appended to each dialect's 0001_documents_tables.sql). Unique constraints live in the
-- CREATE TABLE statements; the search structures are per dialect. Names longer than
-- PostgreSQL's 63-character identifiers shorten `organization_id` to `org_id`.

CREATE INDEX documents_document_org_id_parent_document_id_updated_at_idx
    ON documents_document (organization_id, parent_document_id, updated_at);
CREATE INDEX documents_document_organization_id_user_id_updated_at_idx
    ON documents_document (organization_id, user_id, updated_at);
CREATE INDEX documents_document_organization_id_is_archived_updated_at_idx
    ON documents_document (organization_id, is_archived, updated_at);
-- The FK's lookup when a parent is deleted (cascade to its children).
CREATE INDEX documents_document_parent_document_id_idx
    ON documents_document (parent_document_id);

CREATE INDEX documents_discussion_organization_id_document_id_created_at_idx
    ON documents_discussion (organization_id, document_id, created_at);
CREATE INDEX documents_discussion_document_id_idx ON documents_discussion (document_id);

CREATE INDEX documents_comment_organization_id_discussion_id_created_at_idx
    ON documents_comment (organization_id, discussion_id, created_at);
CREATE INDEX documents_comment_discussion_id_idx ON documents_comment (discussion_id);

CREATE INDEX documents_document_version_org_id_document_id_created_at_idx
    ON documents_document_version (organization_id, document_id, created_at);
CREATE INDEX documents_document_version_document_id_idx
    ON documents_document_version (document_id);

CREATE INDEX documents_document_file_organization_id_document_id_idx
    ON documents_document_file (organization_id, document_id);
CREATE INDEX documents_document_file_organization_id_user_id_idx
    ON documents_document_file (organization_id, user_id);

CREATE INDEX documents_document_source_organization_id_source_thread_id_idx
    ON documents_document_source (organization_id, source_thread_id);
CREATE INDEX documents_document_source_document_id_idx
    ON documents_document_source (document_id);
