//! Declaring procedures: an [`RpcGroup`] is a named set of procedures (`shared`, `documents`,
//! ...) served at `/v1/<name>/rpc`. Each procedure is declared once with its tag, payload,
//! success and error types (serde types: they define the JSON), whether it streams, and
//! whether it needs an authenticated caller. The group erases the types into [`Procedure`]s the
//! transport calls with JSON in and JSON out.

use std::any::TypeId;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use futures::future::{self, BoxFuture, Either};
use futures::stream::{self, BoxStream, Stream};
use futures::{FutureExt, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::access::Access;
use super::caller::Caller;
use super::error::{RpcError, RpcResult, Unauthorized};
use super::exit::Cause;
use crate::auth::AuthContext;
use crate::layer::Context;

/// What a unary procedure produces: the encoded success (`None` for void) or the cause.
pub type UnaryOutcome = BoxFuture<'static, Result<Option<Value>, Cause>>;
/// What a stream procedure produces: encoded elements; the first `Err` ends the stream.
pub type StreamOutcome = BoxStream<'static, Result<Value, Cause>>;

pub(crate) type UnaryInvoker =
    Arc<dyn Fn(Context, Caller, Option<Value>) -> UnaryOutcome + Send + Sync>;
pub(crate) type StreamInvoker =
    Arc<dyn Fn(Context, Caller, Option<Value>) -> StreamOutcome + Send + Sync>;

/// A running call, as the transport drives it.
pub enum Invocation {
    Unary(UnaryOutcome),
    Stream(StreamOutcome),
}

#[derive(Clone)]
pub(crate) enum Invoker {
    Unary(UnaryInvoker),
    Stream(StreamInvoker),
}

/// One declared procedure with its types erased.
#[derive(Clone)]
pub struct Procedure {
    tag: String,
    access: Access,
    invoker: Invoker,
}

impl std::fmt::Debug for Procedure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Procedure")
            .field("tag", &self.tag)
            .field("access", &self.access)
            .field("stream", &self.is_stream())
            .finish()
    }
}

impl Procedure {
    pub fn tag(&self) -> &str {
        &self.tag
    }

    pub fn access(&self) -> Access {
        self.access
    }

    pub fn is_stream(&self) -> bool {
        matches!(self.invoker, Invoker::Stream(_))
    }

    /// Starts a call. `payload` is the Request's `payload` field (absent for payload-less
    /// procedures); a payload that does not decode fails the call with a `Die` naming the
    /// problem. `caller` is what [`resolve_caller`](super::resolve_caller) resolved for the
    /// procedure's [`access`](Self::access); a weaker one answers `Unauthorized`.
    pub fn invoke(
        &self,
        ctx: Context,
        caller: impl Into<Caller>,
        payload: Option<Value>,
    ) -> Invocation {
        let caller = caller.into();
        match &self.invoker {
            Invoker::Unary(invoke) => Invocation::Unary(invoke(ctx, caller, payload)),
            Invoker::Stream(invoke) => Invocation::Stream(invoke(ctx, caller, payload)),
        }
    }
}

/// A named set of procedures, optionally bound to the services of the slice that declares it.
///
/// Handler signatures (use named `async fn`s, or annotate closures' error type):
///
/// | method | handler |
/// |---|---|
/// | [`public`](Self::public) | `async fn(Context, P) -> RpcResult<S, E>` |
/// | [`authenticated`](Self::authenticated) | `async fn(Context, AuthContext, P) -> RpcResult<S, E>` |
/// | [`public_stream`](Self::public_stream) | `async fn(Context, P) -> RpcResult<impl Stream<Item = RpcResult<S, E>>, E>` |
/// | [`authenticated_stream`](Self::authenticated_stream) | `async fn(Context, AuthContext, P) -> RpcResult<impl Stream<..>, E>` |
///
/// `P = ()` declares a procedure without payload (the field is omitted on the wire and any value
/// is accepted); `S = ()` a void success (`{"_tag":"Success"}` without `value`).
#[derive(Clone)]
pub struct RpcGroup {
    name: String,
    procedures: BTreeMap<String, Procedure>,
    context: Option<Context>,
    /// Tags declared more than once: the registry refuses the group at start-up.
    duplicate_tags: Vec<String>,
}

impl std::fmt::Debug for RpcGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcGroup")
            .field("name", &self.name)
            .field("procedures", &self.procedures.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl RpcGroup {
    /// A group served at `/v1/<name>/rpc`; `name` is lowercase letters, digits and `-`.
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        debug_assert!(
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "RPC group name `{name}` must be lowercase letters, digits and `-`"
        );
        Self {
            name,
            procedures: BTreeMap::new(),
            context: None,
            duplicate_tags: Vec::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL path the group is served at.
    pub fn path(&self) -> String {
        format!("/v1/{}/rpc", self.name)
    }

    /// Binds the services handlers receive (typically the declaring slice layer's context); the
    /// transport adds them over its own context.
    pub fn with_context(mut self, ctx: Context) -> Self {
        self.context = Some(ctx);
        self
    }

    pub fn context(&self) -> Option<&Context> {
        self.context.as_ref()
    }

    pub fn procedure(&self, tag: &str) -> Option<&Procedure> {
        self.procedures.get(tag)
    }

    pub fn procedures(&self) -> impl Iterator<Item = &Procedure> {
        self.procedures.values()
    }

    /// Tags that were declared more than once (the later declaration replaced the earlier).
    pub fn duplicate_tags(&self) -> &[String] {
        &self.duplicate_tags
    }

    /// A unary procedure anyone may call.
    pub fn public<P, S, E, F, Fut>(self, tag: &str, handler: F) -> Self
    where
        P: DeserializeOwned + 'static,
        S: Serialize + Send + 'static,
        E: Serialize + Send + 'static,
        F: Fn(Context, P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = RpcResult<S, E>> + Send + 'static,
    {
        self.unary(tag, Access::Public, move |ctx, _, payload| {
            handler(ctx, payload)
        })
    }

    /// A unary procedure for authenticated callers only.
    pub fn authenticated<P, S, E, F, Fut>(self, tag: &str, handler: F) -> Self
    where
        P: DeserializeOwned + 'static,
        S: Serialize + Send + 'static,
        E: Serialize + Send + 'static,
        F: Fn(Context, AuthContext, P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = RpcResult<S, E>> + Send + 'static,
    {
        self.unary(
            tag,
            Access::Authenticated,
            move |ctx, caller: Caller, payload| match caller.auth() {
                Some(caller) => Either::Left(handler(ctx, caller, payload)),
                None => Either::Right(future::ready(missing_caller())),
            },
        )
    }

    /// A stream procedure anyone may call.
    pub fn public_stream<P, S, E, F, Fut, St>(self, tag: &str, handler: F) -> Self
    where
        P: DeserializeOwned + 'static,
        S: Serialize + Send + 'static,
        E: Serialize + Send + 'static,
        F: Fn(Context, P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = RpcResult<St, E>> + Send + 'static,
        St: Stream<Item = RpcResult<S, E>> + Send + 'static,
    {
        self.stream(tag, Access::Public, move |ctx, _, payload| {
            handler(ctx, payload)
        })
    }

    /// A stream procedure for authenticated callers only.
    pub fn authenticated_stream<P, S, E, F, Fut, St>(self, tag: &str, handler: F) -> Self
    where
        P: DeserializeOwned + 'static,
        S: Serialize + Send + 'static,
        E: Serialize + Send + 'static,
        F: Fn(Context, AuthContext, P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = RpcResult<St, E>> + Send + 'static,
        St: Stream<Item = RpcResult<S, E>> + Send + 'static,
    {
        self.stream(
            tag,
            Access::Authenticated,
            move |ctx, caller: Caller, payload| match caller.auth() {
                Some(caller) => Either::Left(handler(ctx, caller, payload)),
                None => Either::Right(future::ready(missing_caller())),
            },
        )
    }

    fn unary<P, S, E, F, Fut>(self, tag: &str, access: Access, handler: F) -> Self
    where
        P: DeserializeOwned + 'static,
        S: Serialize + Send + 'static,
        E: Serialize + Send + 'static,
        F: Fn(Context, Caller, P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = RpcResult<S, E>> + Send + 'static,
    {
        let tag_for_errors = tag.to_string();
        let invoke: UnaryInvoker = Arc::new(move |ctx, caller, payload| {
            let payload = match decode_payload::<P>(&tag_for_errors, payload) {
                Ok(payload) => payload,
                Err(cause) => return future::ready(Err(cause)).boxed(),
            };
            handler(ctx, caller, payload)
                .map(|outcome| match outcome {
                    Ok(success) => encode_success(&success),
                    Err(error) => Err(error.into_cause()),
                })
                .boxed()
        });
        self.declare(tag, access, Invoker::Unary(invoke))
    }

    fn stream<P, S, E, F, Fut, St>(self, tag: &str, access: Access, handler: F) -> Self
    where
        P: DeserializeOwned + 'static,
        S: Serialize + Send + 'static,
        E: Serialize + Send + 'static,
        F: Fn(Context, Caller, P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = RpcResult<St, E>> + Send + 'static,
        St: Stream<Item = RpcResult<S, E>> + Send + 'static,
    {
        let tag_for_errors = tag.to_string();
        let invoke: StreamInvoker = Arc::new(move |ctx, caller, payload| {
            let payload = match decode_payload::<P>(&tag_for_errors, payload) {
                Ok(payload) => payload,
                Err(cause) => return stream::once(future::ready(Err(cause))).boxed(),
            };
            let started = handler(ctx, caller, payload);
            stream::once(async move {
                match started.await {
                    Ok(elements) => elements
                        .map(|element| match element {
                            Ok(value) => encode_element(&value),
                            Err(error) => Err(error.into_cause()),
                        })
                        .boxed(),
                    Err(error) => stream::once(future::ready(Err(error.into_cause()))).boxed(),
                }
            })
            .flatten()
            .boxed()
        });
        self.declare(tag, access, Invoker::Stream(invoke))
    }

    pub(crate) fn declare(mut self, tag: &str, access: Access, invoker: Invoker) -> Self {
        let previous = self.procedures.insert(
            tag.to_string(),
            Procedure {
                tag: tag.to_string(),
                access,
                invoker,
            },
        );
        if previous.is_some() {
            self.duplicate_tags.push(tag.to_string());
        }
        self
    }
}

/// Only reachable when a transport invokes a protected procedure without authenticating first.
pub(crate) fn missing_caller<T, E>() -> RpcResult<T, E> {
    Err(RpcError::Unauthorized(Unauthorized::new(
        Unauthorized::MISSING_CREDENTIALS,
    )))
}

fn is_unit<T: 'static>() -> bool {
    TypeId::of::<T>() == TypeId::of::<()>()
}

pub(crate) fn decode_payload<P: DeserializeOwned + 'static>(
    tag: &str,
    payload: Option<Value>,
) -> Result<P, Cause> {
    // Payload-less procedures accept whatever is there, like the reference server.
    let payload = if is_unit::<P>() {
        Value::Null
    } else {
        payload.unwrap_or(Value::Null)
    };
    serde_json::from_value(payload)
        .map_err(|e| Cause::die(format!("Invalid payload for {tag}: {e}")))
}

pub(crate) fn encode_success<S: Serialize + 'static>(success: &S) -> Result<Option<Value>, Cause> {
    if is_unit::<S>() {
        return Ok(None);
    }
    encode_element(success).map(Some)
}

pub(crate) fn encode_element<S: Serialize>(value: &S) -> Result<Value, Cause> {
    serde_json::to_value(value).map_err(|e| {
        RpcError::<super::error::NoError>::internal(format!("cannot encode the result: {e}"))
            .into_cause()
    })
}
