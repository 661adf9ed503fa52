-- Indexes of the comms tables: the same SQL on SQLite and PostgreSQL (appended to each dialect's
-- 0001_comms_tables.sql). Unique constraints live in the CREATE TABLE statements.

-- The worker's claim: due pending rows and expired leases, oldest first.
CREATE INDEX comms_email_outbox_status_next_attempt_at_idx
    ON comms_email_outbox (status, next_attempt_at);
CREATE INDEX comms_email_outbox_organization_id_created_at_idx
    ON comms_email_outbox (organization_id, created_at);
CREATE INDEX comms_email_outbox_user_id_idx ON comms_email_outbox (user_id);

CREATE INDEX comms_email_delivery_log_outbox_id_attempt_idx
    ON comms_email_delivery_log (outbox_id, attempt);
CREATE INDEX comms_email_delivery_log_organization_id_idx
    ON comms_email_delivery_log (organization_id);

CREATE INDEX comms_email_template_user_id_idx ON comms_email_template (user_id);
