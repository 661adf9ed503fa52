//! Typed procedures: a group declared with the state its handlers need, one line per procedure.
//!
//! ```text
//! RpcGroup::with_state("documents", state)
//!     .org("Document.get", documents::get)          // async fn(Arc<S>, OrgCaller, P) -> Result<T, E>
//!     .org_stream("Document.list", documents::list) // -> Result<impl Stream<Item = Result<T, E>>, E>
//!     .authenticated("me", me)                       // caller: AuthContext
//!     .public("getHealth", get_health)               // caller: ()
//!     .build()
//! ```
//!
//! The state is a plain struct built once in the slice's `layer.rs` (axum's `State`); the caller
//! form decides the access ([`FromCaller`]); `E: IntoFailure` maps the slice's error enum to the
//! wire once, so handlers use `?`.

use std::future::Future;
use std::sync::Arc;

use futures::future;
use futures::stream::{self, Stream};
use futures::{FutureExt, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::caller::{Caller, FromCaller, OrgCaller};
use super::failure::IntoFailure;
use super::group::{
    decode_payload, encode_element, encode_success, missing_caller, Invoker, RpcGroup,
    StreamInvoker, UnaryInvoker,
};
use super::NoError;
use crate::auth::AuthContext;

impl RpcGroup {
    /// A group served at `/v1/<name>/rpc` whose handlers receive `state`.
    pub fn with_state<S: Send + Sync + 'static>(
        name: impl Into<String>,
        state: S,
    ) -> Procedures<S> {
        Procedures {
            group: RpcGroup::new(name),
            state: Arc::new(state),
        }
    }
}

/// The declaration of a typed group (see the module documentation); [`build`](Self::build)
/// gives the [`RpcGroup`] the transport serves.
pub struct Procedures<S> {
    group: RpcGroup,
    state: Arc<S>,
}

impl<S> std::fmt::Debug for Procedures<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.group.fmt(f)
    }
}

impl<S: Send + Sync + 'static> Procedures<S> {
    pub fn build(self) -> RpcGroup {
        self.group
    }

    /// A unary procedure anyone may call: `async fn(Arc<S>, (), P) -> Result<T, E>`.
    pub fn public<P, T, E, F, Fut>(self, tag: &str, handler: F) -> Self
    where
        P: DeserializeOwned + 'static,
        T: Serialize + Send + 'static,
        E: IntoFailure,
        F: Fn(Arc<S>, (), P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.unary(tag, handler)
    }

    /// A unary procedure for signed-in callers: `async fn(Arc<S>, AuthContext, P) -> Result<T, E>`.
    pub fn authenticated<P, T, E, F, Fut>(self, tag: &str, handler: F) -> Self
    where
        P: DeserializeOwned + 'static,
        T: Serialize + Send + 'static,
        E: IntoFailure,
        F: Fn(Arc<S>, AuthContext, P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.unary(tag, handler)
    }

    /// A unary procedure for members of the active organization:
    /// `async fn(Arc<S>, OrgCaller, P) -> Result<T, E>`.
    pub fn org<P, T, E, F, Fut>(self, tag: &str, handler: F) -> Self
    where
        P: DeserializeOwned + 'static,
        T: Serialize + Send + 'static,
        E: IntoFailure,
        F: Fn(Arc<S>, OrgCaller, P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.unary(tag, handler)
    }

    /// A stream procedure anyone may call.
    pub fn public_stream<P, T, E, F, Fut, St>(self, tag: &str, handler: F) -> Self
    where
        P: DeserializeOwned + 'static,
        T: Serialize + Send + 'static,
        E: IntoFailure,
        F: Fn(Arc<S>, (), P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<St, E>> + Send + 'static,
        St: Stream<Item = Result<T, E>> + Send + 'static,
    {
        self.stream(tag, handler)
    }

    /// A stream procedure for signed-in callers.
    pub fn authenticated_stream<P, T, E, F, Fut, St>(self, tag: &str, handler: F) -> Self
    where
        P: DeserializeOwned + 'static,
        T: Serialize + Send + 'static,
        E: IntoFailure,
        F: Fn(Arc<S>, AuthContext, P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<St, E>> + Send + 'static,
        St: Stream<Item = Result<T, E>> + Send + 'static,
    {
        self.stream(tag, handler)
    }

    /// A stream procedure for members of the active organization.
    pub fn org_stream<P, T, E, F, Fut, St>(self, tag: &str, handler: F) -> Self
    where
        P: DeserializeOwned + 'static,
        T: Serialize + Send + 'static,
        E: IntoFailure,
        F: Fn(Arc<S>, OrgCaller, P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<St, E>> + Send + 'static,
        St: Stream<Item = Result<T, E>> + Send + 'static,
    {
        self.stream(tag, handler)
    }

    fn unary<C, P, T, E, F, Fut>(mut self, tag: &str, handler: F) -> Self
    where
        C: FromCaller,
        P: DeserializeOwned + 'static,
        T: Serialize + Send + 'static,
        E: IntoFailure,
        F: Fn(Arc<S>, C, P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let state = self.state.clone();
        let tag_for_errors = tag.to_string();
        let invoke: UnaryInvoker = Arc::new(move |_ctx, caller: Caller, payload| {
            let payload = match decode_payload::<P>(&tag_for_errors, payload) {
                Ok(payload) => payload,
                Err(cause) => return future::ready(Err(cause)).boxed(),
            };
            let Some(caller) = C::from_caller(caller) else {
                let refused = missing_caller::<(), NoError>().unwrap_err().into_cause();
                return future::ready(Err(refused)).boxed();
            };
            handler(state.clone(), caller, payload)
                .map(|outcome| match outcome {
                    Ok(success) => encode_success(&success),
                    Err(error) => Err(error.into_failure().into_cause()),
                })
                .boxed()
        });
        self.group = self.group.declare(tag, C::ACCESS, Invoker::Unary(invoke));
        self
    }

    fn stream<C, P, T, E, F, Fut, St>(mut self, tag: &str, handler: F) -> Self
    where
        C: FromCaller,
        P: DeserializeOwned + 'static,
        T: Serialize + Send + 'static,
        E: IntoFailure,
        F: Fn(Arc<S>, C, P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<St, E>> + Send + 'static,
        St: Stream<Item = Result<T, E>> + Send + 'static,
    {
        let state = self.state.clone();
        let tag_for_errors = tag.to_string();
        let invoke: StreamInvoker = Arc::new(move |_ctx, caller: Caller, payload| {
            let payload = match decode_payload::<P>(&tag_for_errors, payload) {
                Ok(payload) => payload,
                Err(cause) => return stream::once(future::ready(Err(cause))).boxed(),
            };
            let Some(caller) = C::from_caller(caller) else {
                let refused = missing_caller::<(), NoError>().unwrap_err().into_cause();
                return stream::once(future::ready(Err(refused))).boxed();
            };
            let started = handler(state.clone(), caller, payload);
            stream::once(async move {
                match started.await {
                    Ok(elements) => elements
                        .map(|element| match element {
                            Ok(value) => encode_element(&value),
                            Err(error) => Err(error.into_failure().into_cause()),
                        })
                        .boxed(),
                    Err(error) => {
                        stream::once(future::ready(Err(error.into_failure().into_cause()))).boxed()
                    }
                }
            })
            .flatten()
            .boxed()
        });
        self.group = self.group.declare(tag, C::ACCESS, Invoker::Stream(invoke));
        self
    }
}
