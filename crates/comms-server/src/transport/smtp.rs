//! SMTP delivery through lettre: pooled connections (one per concurrent send), TLS on rustls
//! (implicit `smtps://`, required or opportunistic STARTTLS), connect and command timeouts.
//!
//! The server's answer decides what happens next: a 5xx reply (e.g. one recipient refused with
//! `550 no such user`) fails this message for good with the server's reason; a 4xx reply, a
//! timeout or a refused connection is transient and retried with backoff. One rejected
//! recipient fails only its own message, never the rest of the batch.
//!
//! A server that offers no STARTTLS behind an `smtp://` URL that requires it (the default) is
//! the common development mistake (issue 10): such mail stays pending (fixing `SMTP_URL`
//! delivers it), and the first such failure is logged at `error` with the fix, `?tls=none` for a
//! local test server. [`SmtpTransport::check`] (shown by `doctor`) says the same.

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::sync::atomic::{AtomicBool, Ordering};

use super::{message, Delivery, EmailTransport, OutboundEmail, TransportError};
use crate::config::{SmtpConfig, SmtpTls};
use crate::error::CommsError;

/// Delivers to an SMTP relay.
pub struct SmtpTransport {
    /// Always `Some` until dropped (see `Drop`).
    inner: Option<AsyncSmtpTransport<Tokio1Executor>>,
    /// The URL without the password, for logs.
    label: String,
    /// The same URL with `?tls=none`: the fix when the server offers no STARTTLS.
    plain_label: String,
    /// Whether the missing-STARTTLS failure was logged at `error` yet (only the first is).
    starttls_mismatch_logged: AtomicBool,
}

impl std::fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTransport")
            .field("relay", &self.label)
            .finish()
    }
}

impl SmtpTransport {
    /// A transport keeping up to `connections` connections open. Nothing connects yet; call it
    /// inside a Tokio runtime (the connection pool starts a background task).
    pub fn new(config: &SmtpConfig, connections: usize) -> Result<Self, CommsError> {
        let tls_error = |e: lettre::transport::smtp::Error| CommsError::Transport {
            transport: "smtp",
            message: format!("TLS settings for {}: {e}", config.host),
        };
        let tls = match config.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::Implicit => {
                Tls::Wrapper(TlsParameters::new(config.host.clone()).map_err(tls_error)?)
            }
            SmtpTls::StartTls => {
                Tls::Required(TlsParameters::new(config.host.clone()).map_err(tls_error)?)
            }
            SmtpTls::Opportunistic => {
                Tls::Opportunistic(TlsParameters::new(config.host.clone()).map_err(tls_error)?)
            }
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.clone())
                .port(config.port)
                .tls(tls)
                .timeout(Some(config.timeout))
                .hello_name(ClientId::Domain(crate::host::hostname()))
                .pool_config(
                    PoolConfig::new().max_size(u32::try_from(connections.max(1)).unwrap_or(4)),
                );
        if let Some(username) = &config.username {
            builder = builder.credentials(Credentials::new(
                username.clone(),
                config.password().unwrap_or_default().to_string(),
            ));
        }
        let label = config.redacted_url();
        let mut plain = config.clone();
        plain.tls = SmtpTls::None;
        let plain_label = plain.redacted_url();
        tracing::info!(relay = %label, timeout_secs = config.timeout.as_secs(), "email transport: SMTP");
        Ok(Self {
            inner: Some(builder.build()),
            label,
            plain_label,
            starttls_mismatch_logged: AtomicBool::new(false),
        })
    }

    /// Connects, greets and (as configured) starts TLS, then quits: what `doctor` shows.
    /// `Ok` carries the relay's URL (password redacted).
    pub async fn check(&self) -> Result<String, TransportError> {
        let Some(inner) = &self.inner else {
            return Err(TransportError::transient("the SMTP transport is shut down"));
        };
        match inner.test_connection().await {
            Ok(true) => Ok(self.label.clone()),
            Ok(false) => Err(TransportError::transient(format!(
                "SMTP {}: the server did not answer NOOP",
                self.label
            ))),
            Err(error) => Err(self.classify(&error)),
        }
    }

    /// The worker's view of a failed send: permanent or transient, with the server's reason
    /// and, for a server without STARTTLS, the fix.
    fn classify(&self, error: &lettre::transport::smtp::Error) -> TransportError {
        if is_missing_starttls(error) {
            return TransportError::transient(format!(
                "SMTP {}: the server offers no STARTTLS, and this URL requires it (the default \
                 for smtp://). For a local test server without TLS, set SMTP_URL={}; \
                 for a real relay, fix its TLS ({error})",
                self.label, self.plain_label
            ));
        }
        let message = format!("SMTP {}: {error}", self.label);
        if error.is_permanent() || error.is_client() {
            TransportError::permanent(message)
        } else {
            TransportError::transient(message)
        }
    }
}

/// lettre's answer when `Tls::Required` meets a server whose EHLO lists no STARTTLS.
fn is_missing_starttls(error: &lettre::transport::smtp::Error) -> bool {
    error.is_client() && error.to_string().contains("STARTTLS is not supported")
}

impl Drop for SmtpTransport {
    /// lettre's connection pool spawns its shutdown on the Tokio runtime when dropped, which
    /// panics without one (a context released after its runtime ended): drop it inside a
    /// short-lived runtime then.
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            return drop(inner);
        }
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime.block_on(async move { drop(inner) }),
            Err(_) => std::mem::forget(inner),
        }
    }
}

#[async_trait::async_trait]
impl EmailTransport for SmtpTransport {
    fn name(&self) -> &'static str {
        "smtp"
    }

    async fn send(&self, email: &OutboundEmail) -> Result<Delivery, TransportError> {
        let message = message::build(email)?;
        let Some(inner) = &self.inner else {
            return Err(TransportError::transient("the SMTP transport is shut down"));
        };
        match inner.send(message).await {
            Ok(response) => {
                let lines: Vec<&str> = response.message().collect();
                let joined = lines.join(" ");
                Ok(Delivery {
                    provider_message_id: Some(provider_id(&joined)),
                })
            }
            Err(error) => {
                let failure = self.classify(&error);
                if is_missing_starttls(&error)
                    && !self.starttls_mismatch_logged.swap(true, Ordering::Relaxed)
                {
                    tracing::error!(relay = %self.label, fix = %self.plain_label, "{failure}");
                }
                Err(failure)
            }
        }
    }
}

/// The provider's id from the final `250` answer: the token after `queued as` when the server
/// says it (Postfix, most relays), else the whole answer (at most 200 characters).
fn provider_id(answer: &str) -> String {
    let lower = answer.to_ascii_lowercase();
    if let Some(at) = lower.find("queued as") {
        let id = answer[at + "queued as".len()..]
            .trim_start_matches([' ', ':'])
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .trim_matches(['<', '>', '.', ',']);
        if !id.is_empty() {
            return id.to_string();
        }
    }
    answer.trim().chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_ids_come_from_the_final_answer() {
        assert_eq!(provider_id("2.0.0 Ok: queued as 4F2A1B3C"), "4F2A1B3C");
        assert_eq!(provider_id("OK queued as <abc-123>"), "abc-123");
        assert_eq!(provider_id("OK"), "OK");
    }

    #[tokio::test]
    async fn every_tls_mode_builds_without_connecting() {
        for tls in [
            SmtpTls::Implicit,
            SmtpTls::StartTls,
            SmtpTls::Opportunistic,
            SmtpTls::None,
        ] {
            let config = SmtpConfig::new("smtp.example.com", 2525, tls)
                .with_credentials("user".into(), "secret".into());
            let transport = SmtpTransport::new(&config, 2).unwrap();
            assert!(!format!("{transport:?}").contains("secret"));
        }
    }

    #[test]
    fn dropping_it_after_its_runtime_ended_does_not_panic() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let config = SmtpConfig::new("smtp.example.com", 2525, SmtpTls::None);
        let transport = runtime.block_on(async { SmtpTransport::new(&config, 2).unwrap() });
        drop(runtime);
        drop(transport);
    }
}
