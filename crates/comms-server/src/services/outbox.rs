//! `OutboxService`: the RPC-ready operations on an organization's outbox (list without bodies,
//! get with the delivery attempts, cancel a pending message) and the operations view (counts
//! by status, for `/metrics` and `cargo xtask doctor`).

use serde::Serialize;
use shared_server::db::repo::{Page, PageRequest};
use shared_server::entities::{OrganizationId, UserId};
use shared_server::RepoError;

use crate::entities::{DeliveryLogEntry, OutboxCounts, OutboxEmail, OutboxId, OutboxStatus};
use crate::error::CommsError;
use crate::repos::{DeliveryLogRepo, OutboxRepo};

/// An outbox row with its delivery attempts (`outbox_get`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxDetail {
    #[serde(flatten)]
    pub email: OutboxEmail,
    pub deliveries: Vec<DeliveryLogEntry>,
}

/// Outbox operations for one organization at a time.
#[derive(Debug, Clone)]
pub struct OutboxService {
    outbox: OutboxRepo,
    logs: DeliveryLogRepo,
}

impl OutboxService {
    pub fn new(outbox: OutboxRepo, logs: DeliveryLogRepo) -> Self {
        Self { outbox, logs }
    }

    /// The organization's messages, newest first, without bodies.
    pub async fn list(
        &self,
        org: &OrganizationId,
        status: Option<OutboxStatus>,
        page: PageRequest,
    ) -> Result<Page<OutboxEmail>, CommsError> {
        let page = self.outbox.list(org, status, page).await?;
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(OutboxEmail::without_bodies)
                .collect(),
            next: page.next,
        })
    }

    pub async fn get(
        &self,
        org: &OrganizationId,
        id: &OutboxId,
    ) -> Result<OutboxDetail, CommsError> {
        let email = self.outbox.get(org, id).await?;
        let deliveries = self.logs.list_by_outbox(id).await?;
        Ok(OutboxDetail { email, deliveries })
    }

    /// Cancels a pending message; a message already being sent or finished is refused.
    pub async fn cancel(
        &self,
        org: &OrganizationId,
        id: &OutboxId,
        actor: &UserId,
    ) -> Result<OutboxEmail, CommsError> {
        match self.outbox.cancel(org, id, actor.as_str()).await {
            Err(RepoError::Invalid { message }) => Err(CommsError::InvalidState { message }),
            other => Ok(other?),
        }
    }

    /// Messages per status, all tenants (operations view).
    pub async fn counts(&self) -> Result<OutboxCounts, CommsError> {
        Ok(self.outbox.counts_by_status().await?)
    }
}
