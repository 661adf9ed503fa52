-- Indexes of the IAM tables: the same SQL on SQLite and PostgreSQL (appended to each dialect's
-- 0001_iam_tables.sql). Unique constraints live in the CREATE TABLE statements; every
-- org-scoped table has an index led by organization_id (slices.md §0.3).

CREATE INDEX iam_account_user_id_provider_id_idx ON iam_account (user_id, provider_id);

CREATE INDEX iam_verification_identifier_idx ON iam_verification (identifier);
CREATE INDEX iam_verification_expires_at_idx ON iam_verification (expires_at);

-- (organization_id, user_id) is served by iam_member_organization_id_user_id_uq.
CREATE INDEX iam_member_user_id_status_idx ON iam_member (user_id, status);
CREATE INDEX iam_member_organization_id_role_idx ON iam_member (organization_id, role);

-- One pending invitation per (organization, email). SQLite reports a violation by its columns
-- only; InvitationRepo maps that back to this name.
CREATE UNIQUE INDEX iam_invitation_organization_id_email_pending_uq
    ON iam_invitation (organization_id, email) WHERE status = 'pending';
CREATE INDEX iam_invitation_email_status_idx ON iam_invitation (email, status);
CREATE INDEX iam_invitation_organization_id_status_idx ON iam_invitation (organization_id, status);

CREATE INDEX iam_team_member_organization_id_team_id_idx ON iam_team_member (organization_id, team_id);
CREATE INDEX iam_team_member_user_id_idx ON iam_team_member (user_id);

CREATE INDEX iam_apikey_organization_id_user_id_idx ON iam_apikey (organization_id, user_id);
CREATE INDEX iam_apikey_user_id_idx ON iam_apikey (user_id);
