//! Repositories of the comms tables (slices.md §5.4). `EmailTemplateRepo` wraps the base
//! repository (org-scoped CRUD, reached through `Deref`); `OutboxRepo` and `DeliveryLogRepo`
//! are written out because their rows may belong to no organization (system mail) and because
//! the outbox's claim/lease statements are the heart of delivery. An operation a caller may need
//! inside its transaction takes `on: impl Into<Exec>` first (the pool or that transaction); the
//! worker's lease statements and the operator reads run on the repository's own pool.

mod delivery_log;
mod outbox;
mod template;

pub use delivery_log::DeliveryLogRepo;
pub(crate) use outbox::truncate_error;
pub use outbox::{OutboxRepo, PURGE_CHUNK};
pub use template::EmailTemplateRepo;

use shared_server::RepoError;

/// Driver errors of the outbox and delivery-log statements as repository errors, with CHECK
/// violations (a broken table rule, e.g. an unknown status) reported as invalid input rather
/// than a database failure.
pub(crate) fn db_error(error: sqlx::Error) -> RepoError {
    shared_server::db::repo::map_table_error("email", error)
}

/// Compile-time guard: repository futures must be `Send` (they run in layers, handlers and the
/// spawned worker).
#[cfg(test)]
mod send_probe {
    use super::*;
    use crate::entities::*;
    use shared_server::db::repo::PageRequest;
    use shared_server::db::{Conn, Db};
    use shared_server::entities::OrganizationId;
    use shared_server::Timestamp;

    fn assert_send<T: Send>(_: T) {}

    #[allow(dead_code, clippy::too_many_arguments)]
    fn probe(
        templates: &EmailTemplateRepo,
        outbox: &OutboxRepo,
        logs: &DeliveryLogRepo,
        db: &Db,
        conn: &mut Conn<'_>,
        org: &OrganizationId,
        new: NewOutboxEmail,
        entry: NewDeliveryLogEntry,
        id: &OutboxId,
        now: Timestamp,
    ) {
        assert_send(templates.find_by_name(db, org, "x"));
        assert_send(outbox.enqueue(&mut *conn, new, "x"));
        assert_send(outbox.claim_due("w", now, 10, std::time::Duration::from_secs(1)));
        assert_send(outbox.mark_sent(db, "w", id, "smtp", None));
        assert_send(outbox.list(org, None, PageRequest::default()));
        assert_send(outbox.counts_by_status());
        assert_send(logs.append(&mut *conn, entry));
    }
}
