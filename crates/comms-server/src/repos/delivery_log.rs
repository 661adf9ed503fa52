//! `DeliveryLogRepo`: appends one line per delivery attempt (in the same transaction as the
//! outbox row's new state) and lists a message's attempts.

use std::sync::Arc;

use shared_server::db::repo::Sql;
use shared_server::db::{Db, Exec, SqlValue};
use shared_server::{Clock, RepoError};

use super::db_error;
use crate::entities::{DeliveryLogEntry, DeliveryLogId, NewDeliveryLogEntry, OutboxId};

/// The delivery log (append-only).
#[derive(Clone)]
pub struct DeliveryLogRepo {
    db: Db,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for DeliveryLogRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryLogRepo")
            .field("db", &self.db)
            .finish()
    }
}

impl DeliveryLogRepo {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock }
    }

    #[tracing::instrument(skip_all, name = "DeliveryLogRepo.append")]
    pub async fn append(
        &self,
        on: impl Into<Exec<'_>>,
        entry: NewDeliveryLogEntry,
    ) -> Result<DeliveryLogEntry, RepoError> {
        let mut on = on.into();
        let mut held = on.conn().await?;
        let conn = &mut held.conn();
        let now = self.clock.now();
        let values: Vec<SqlValue> = vec![
            DeliveryLogId::new().into(),
            SqlValue::Text(entry.organization_id.map(|o| o.as_str().to_string())),
            entry.outbox_id.into(),
            entry.attempt.into(),
            entry.outcome.into(),
            entry.provider.into(),
            entry.provider_message_id.into(),
            entry.error.into(),
            entry.duration_ms.into(),
            entry.worker.into(),
            now.into(),
            now.into(),
            "system".into(),
            "system".into(),
            1i32.into(),
        ];
        let mut sql = Sql::new(
            "INSERT INTO comms_email_delivery_log (id, organization_id, outbox_id, attempt, outcome, \
             provider, provider_message_id, error, duration_ms, worker, created_at, updated_at, \
             created_by, updated_by, version) VALUES (",
        );
        sql.push_bind_list(values).push(") RETURNING *");
        sql.fetch_one(conn).await.map_err(db_error)
    }

    /// A message's attempts, oldest first.
    #[tracing::instrument(skip_all, name = "DeliveryLogRepo.list_by_outbox")]
    pub async fn list_by_outbox(
        &self,
        outbox: &OutboxId,
    ) -> Result<Vec<DeliveryLogEntry>, RepoError> {
        let mut pooled = self.db.acquire().await?;
        let mut sql = Sql::new("SELECT * FROM comms_email_delivery_log WHERE outbox_id = ");
        sql.push_bind(outbox).push(" ORDER BY attempt, _row_id");
        sql.fetch_all(&mut pooled.conn()).await.map_err(db_error)
    }
}
