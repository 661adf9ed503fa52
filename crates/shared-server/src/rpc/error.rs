//! How a handler fails: [`RpcError`] is either the procedure's typed error (sent as a `Fail`
//! cause the TypeScript client decodes with the procedure's error schema), the `Unauthorized`
//! failure every protected procedure may return, a defect (sent as `Die`), or the service being
//! unavailable for now (sent as the transient interrupt, effect-rpc-protocol.md §2.2).
//!
//! Typed errors are serde types whose JSON carries `_tag`, the Effect `TaggedError` encoding:
//!
//! ```
//! #[derive(Debug, serde::Serialize)]
//! #[serde(tag = "_tag")]
//! enum FolderError {
//!     FolderNotFoundError { id: String },
//!     ValidationError { message: String },
//! }
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use super::exit::{Cause, Defect};

/// What a handler returns; `E` defaults to [`NoError`] for procedures without typed failures.
pub type RpcResult<T, E = NoError> = Result<T, RpcError<E>>;

/// The error type of procedures that declare no typed failure (`Schema.Never`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoError {}

/// The message of the generic defect that replaces infrastructure errors on the wire.
pub const INTERNAL_ERROR: &str = "internal error";

/// `Unauthorized { message }`: the failure of every protected procedure whose caller is not
/// (sufficiently) authenticated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "_tag", rename = "Unauthorized")]
pub struct Unauthorized {
    pub message: String,
}

impl Unauthorized {
    /// No credentials came with the call (the original's message).
    pub const MISSING_CREDENTIALS: &'static str = "Missing authorization header";
    /// Credentials came but do not name a live session or key.
    pub const INVALID_CREDENTIALS: &'static str = "Invalid or expired credentials";
    /// The procedure is organization-scoped and the session has no active organization.
    pub const NO_ORGANIZATION: &'static str = "Organization not found";

    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// A failed call.
#[derive(Debug, Clone, PartialEq)]
pub enum RpcError<E> {
    /// A failure declared on the procedure.
    Fail(E),
    /// The caller is not allowed to call this procedure.
    Unauthorized(Unauthorized),
    /// Not an expected failure: a bug or an infrastructure fault.
    Die(Defect),
    /// The service cannot serve the call for now (its database is unreachable): an `Interrupt`
    /// cause with the transient fiber id `-503` (effect-rpc-protocol.md §2.2), what the
    /// reference server answers for calls it cannot finish for reasons outside the call.
    Unavailable,
}

impl<E> From<E> for RpcError<E> {
    fn from(error: E) -> Self {
        RpcError::Fail(error)
    }
}

impl<E> RpcError<E> {
    /// An infrastructure error: logged here with its details, sent as a generic defect.
    pub fn internal(error: impl fmt::Display) -> Self {
        tracing::error!(error = %error, "rpc handler failed");
        RpcError::Die(Defect::error("Error", INTERNAL_ERROR))
    }

    /// A defect whose message is safe to show the client.
    pub fn defect(message: impl Into<String>) -> Self {
        RpcError::Die(Defect::Message(message.into()))
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        RpcError::Unauthorized(Unauthorized::new(message))
    }

    /// The database (or another dependency) is unavailable: logged at debug only, since the
    /// outage itself is logged once where it is detected (`Db`).
    pub fn unavailable(error: impl fmt::Display) -> Self {
        tracing::debug!(error = %error, "rpc call refused: service unavailable");
        RpcError::Unavailable
    }
}

impl<E: Serialize> RpcError<E> {
    /// The cause on the wire.
    pub fn into_cause(self) -> Cause {
        match self {
            RpcError::Fail(error) => encode_failure(&error),
            RpcError::Unauthorized(error) => encode_failure(&error),
            RpcError::Die(defect) => Cause::Die { defect },
            RpcError::Unavailable => Cause::transient_interrupt(),
        }
    }
}

fn encode_failure(error: &impl Serialize) -> Cause {
    match serde_json::to_value(error) {
        Ok(error) => Cause::Fail { error },
        Err(e) => RpcError::<NoError>::internal(format!("cannot encode the typed error: {e}"))
            .into_cause(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Serialize)]
    #[serde(tag = "_tag", rename = "RpcTestError")]
    struct RpcTestError {
        message: String,
    }

    #[test]
    fn typed_errors_and_unauthorized_are_fail_causes() {
        let failed: RpcError<RpcTestError> = RpcTestError {
            message: "boom".into(),
        }
        .into();
        assert_eq!(
            serde_json::to_value(failed.into_cause()).unwrap(),
            json!({"_tag": "Fail", "error": {"_tag": "RpcTestError", "message": "boom"}})
        );
        let denied = RpcError::<NoError>::unauthorized(Unauthorized::MISSING_CREDENTIALS);
        assert_eq!(
            serde_json::to_value(denied.into_cause()).unwrap(),
            json!({"_tag": "Fail", "error": {"_tag": "Unauthorized",
                "message": "Missing authorization header"}})
        );
    }

    #[test]
    fn internal_errors_never_leak_details() {
        let cause = RpcError::<NoError>::internal("password=hunter2 rejected").into_cause();
        assert_eq!(
            serde_json::to_value(cause).unwrap(),
            json!({"_tag": "Die", "defect": {"name": "Error", "message": "internal error"}})
        );
    }

    #[test]
    fn an_unavailable_service_is_the_transient_interrupt() {
        let cause = RpcError::<NoError>::unavailable("database down").into_cause();
        assert_eq!(
            serde_json::to_value(cause).unwrap(),
            json!({"_tag": "Interrupt", "fiberId": {"_tag": "Runtime", "id": -503, "startTimeMillis": 0}})
        );
    }
}
