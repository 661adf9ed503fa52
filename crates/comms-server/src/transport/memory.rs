//! An in-memory transport for tests: keeps every message it is given, and can be told to fail
//! (transiently or permanently) to exercise retries.

use std::sync::Mutex;

use super::{Delivery, EmailTransport, OutboundEmail, TransportError};

/// Keeps delivered messages in memory.
#[derive(Debug, Default)]
pub struct MemoryTransport {
    sent: Mutex<Vec<OutboundEmail>>,
    failure: Mutex<Option<TransportError>>,
}

impl MemoryTransport {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message delivered so far, in order.
    pub fn sent(&self) -> Vec<OutboundEmail> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Makes every following send fail with `error` (`None`: succeed again).
    pub fn fail_with(&self, error: Option<TransportError>) {
        *self.failure.lock().unwrap_or_else(|p| p.into_inner()) = error;
    }
}

#[async_trait::async_trait]
impl EmailTransport for MemoryTransport {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn send(&self, email: &OutboundEmail) -> Result<Delivery, TransportError> {
        if let Some(error) = self
            .failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            return Err(error);
        }
        // Build the MIME message as a real transport would, so bad rows fail the same way.
        email.to_rfc5322()?;
        self.sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(email.clone());
        Ok(Delivery {
            provider_message_id: Some(format!("memory-{}", email.outbox_id)),
        })
    }
}
