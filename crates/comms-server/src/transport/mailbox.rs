//! The development mailbox (the default transport in development): each message is written to
//! `<mail dir>/<outbox id>.eml`, which any mail client opens, and logged with its subject,
//! recipients and links, so a developer can click a verification link straight from the log.
//! A retried message overwrites its own file: one file per message, never a duplicate.

use std::path::{Path, PathBuf};

use super::{Delivery, EmailTransport, OutboundEmail, TransportError};
use crate::error::CommsError;

/// Writes messages as `.eml` files.
#[derive(Debug, Clone)]
pub struct MailboxTransport {
    dir: PathBuf,
}

impl MailboxTransport {
    /// Creates `dir` if needed and checks it is writable.
    pub fn new(dir: PathBuf) -> Result<Self, CommsError> {
        let fail = |e: std::io::Error| CommsError::Transport {
            transport: "mailbox",
            message: format!(
                "cannot use {} (set COMMS_MAIL_DIR to a writable folder): {e}",
                dir.display()
            ),
        };
        std::fs::create_dir_all(&dir).map_err(fail)?;
        let probe = dir.join(".write-test");
        std::fs::write(&probe, b"").map_err(fail)?;
        let _ = std::fs::remove_file(probe);
        Ok(Self { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file a message is (or will be) written to.
    pub fn path_of(&self, email: &OutboundEmail) -> PathBuf {
        self.dir.join(format!("{}.eml", email.outbox_id))
    }
}

#[async_trait::async_trait]
impl EmailTransport for MailboxTransport {
    fn name(&self) -> &'static str {
        "mailbox"
    }

    async fn send(&self, email: &OutboundEmail) -> Result<Delivery, TransportError> {
        let bytes = email.to_rfc5322()?;
        let path = self.path_of(email);
        let partial = path.with_extension("eml.partial");
        let io = |e: std::io::Error| {
            TransportError::transient(format!("cannot write {}: {e}", path.display()))
        };
        tokio::fs::write(&partial, &bytes).await.map_err(io)?;
        tokio::fs::rename(&partial, &path).await.map_err(io)?;
        let to: Vec<String> = email.recipients().map(ToString::to_string).collect();
        tracing::info!(
            transport = "mailbox",
            to = ?to,
            subject = %email.subject,
            links = ?email.links(),
            file = %path.display(),
            "email delivered to the development mailbox"
        );
        Ok(Delivery {
            provider_message_id: Some(path.display().to_string()),
        })
    }
}
