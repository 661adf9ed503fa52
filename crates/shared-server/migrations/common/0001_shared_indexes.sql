
-- Indexes of the shared tables: the same SQL on SQLite and PostgreSQL (appended to each
-- dialect's 0001_shared_tables.sql). Unique constraints live in the CREATE TABLE statements.

CREATE INDEX shared_user_role_idx ON shared_user (role);

CREATE INDEX shared_organization_owner_user_id_idx ON shared_organization (owner_user_id);
-- One personal organization per user. SQLite reports a violation by its columns only
-- (`shared_organization.owner_user_id`); OrganizationRepo maps that back to this name.
CREATE UNIQUE INDEX shared_organization_owner_personal_uq ON shared_organization (owner_user_id)
    WHERE is_personal;

CREATE INDEX shared_session_user_id_expires_at_idx ON shared_session (user_id, expires_at);
CREATE INDEX shared_session_expires_at_idx ON shared_session (expires_at);
CREATE INDEX shared_session_active_organization_id_idx ON shared_session (active_organization_id);

CREATE INDEX shared_folder_organization_id_user_id_idx ON shared_folder (organization_id, user_id);

CREATE INDEX shared_file_organization_id_user_id_folder_id_idx
    ON shared_file (organization_id, user_id, folder_id);
CREATE INDEX shared_file_organization_id_created_at_idx ON shared_file (organization_id, created_at);
-- Serves the ON DELETE CASCADE from shared_folder (folder deletion).
CREATE INDEX shared_file_folder_id_idx ON shared_file (folder_id);

-- §0.3: every org-scoped table has an index led by organization_id.
CREATE INDEX shared_upload_session_organization_id_user_id_idx
    ON shared_upload_session (organization_id, user_id);
CREATE INDEX shared_upload_session_expires_at_idx ON shared_upload_session (expires_at);
