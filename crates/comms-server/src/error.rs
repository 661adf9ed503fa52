//! `CommsError`: the one error type of the slice's repositories, services and worker (the
//! configuration has its own, [`crate::CommsConfigError`], because it fails before anything
//! runs). Input problems carry the field they are about; storage problems carry the
//! [`RepoError`] that the runtime maps to HTTP/RPC responses in one place.

use shared_server::mail::MailError;
use shared_server::RepoError;

#[derive(Debug, thiserror::Error)]
pub enum CommsError {
    /// A repository call failed (`NotFound`, `Conflict`, `VersionConflict`, …).
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// Bad email or template input, naming the field (`to[0]`, `bodyHtml`, `variables.url`).
    #[error(transparent)]
    Mail(#[from] MailError),
    /// The operation is not allowed in the row's current state (e.g. cancelling a sent message).
    #[error("{message}")]
    InvalidState { message: String },
    /// The transport could not be set up (mail folder not writable, bad TLS settings).
    #[error("email transport `{transport}` cannot start: {message}")]
    Transport {
        transport: &'static str,
        message: String,
    },
}

impl From<sqlx::Error> for CommsError {
    fn from(error: sqlx::Error) -> Self {
        CommsError::Repo(RepoError::from(error))
    }
}

impl From<CommsError> for MailError {
    /// For the `Mailer` port, whose callers only know `MailError`.
    fn from(error: CommsError) -> Self {
        match error {
            CommsError::Mail(mail) => mail,
            CommsError::Repo(repo) => MailError::Storage(repo),
            other => MailError::Storage(RepoError::Invalid {
                message: other.to_string(),
            }),
        }
    }
}
