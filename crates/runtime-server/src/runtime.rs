//! `ServerRuntime`: the Rust counterpart of Effect's `ManagedRuntime`.
//!
//! - `new` builds nothing; the first `context()`, `run` or `run_exit` builds the layer graph, and
//!   concurrent first callers wait for the same build (it runs as its own task, so a caller that
//!   gives up cannot abandon it half-acquired);
//! - a failed build is cached: every later call returns the same error (build a new runtime to
//!   retry);
//! - `dispose` releases everything in reverse order of acquisition, exactly once; later calls
//!   return the first outcome, and any use after dispose is `RuntimeError::Disposed`.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures::future::{BoxFuture, Shared};
use futures::FutureExt;
use shared_server::layer::{self, panic_message, BuildError, Context, Layer, ReleaseError, Scope};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Why the runtime could not give a context.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RuntimeError {
    #[error("the runtime failed to build: {0}")]
    Build(Arc<BuildError>),
    #[error("the runtime has been disposed")]
    Disposed,
}

/// The outcome of [`ServerRuntime::run`]: the runtime was unavailable, or `f` failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError<E> {
    #[error(transparent)]
    Runtime(RuntimeError),
    #[error("{0}")]
    Failure(E),
}

/// The outcome of [`ServerRuntime::run_exit`], which never fails (Effect's `Exit`).
#[derive(Debug)]
pub enum Exit<T, E> {
    Success(T),
    /// `f` returned a typed error.
    Failure(E),
    /// `f` panicked; the message is kept, the panic does not escape.
    Defect(String),
    /// The cancellation token fired before `f` finished; `f` was dropped.
    Interrupted,
    /// The runtime could not build or was disposed; `f` never ran.
    Unavailable(RuntimeError),
}

impl<T, E> Exit<T, E> {
    pub fn is_success(&self) -> bool {
        matches!(self, Exit::Success(_))
    }
}

type BuildFuture = Shared<BoxFuture<'static, Result<Context, Arc<BuildError>>>>;

/// A lazily built, disposable set of services.
pub struct ServerRuntime {
    layer: Layer,
    input: Context,
    scope: Scope,
    build: Mutex<Option<BuildFuture>>,
    disposed: AtomicBool,
    dispose_outcome: tokio::sync::OnceCell<Result<(), ReleaseError>>,
}

impl std::fmt::Debug for ServerRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerRuntime")
            .field("layer", &self.layer)
            .field("disposed", &self.disposed.load(Ordering::SeqCst))
            .finish()
    }
}

impl ServerRuntime {
    /// A runtime for `layer`; nothing is built until first use.
    pub fn new(layer: Layer) -> Self {
        Self::with_input(layer, Context::new())
    }

    /// A runtime for `layer` with some services given up front.
    pub fn with_input(layer: Layer, input: Context) -> Self {
        Self {
            layer,
            input,
            scope: Scope::new("runtime"),
            build: Mutex::new(None),
            disposed: AtomicBool::new(false),
            dispose_outcome: tokio::sync::OnceCell::new(),
        }
    }

    pub fn layer(&self) -> &Layer {
        &self.layer
    }

    /// The built services, building them on first use.
    pub async fn context(&self) -> Result<Context, RuntimeError> {
        if self.disposed.load(Ordering::SeqCst) {
            return Err(RuntimeError::Disposed);
        }
        let build = self.build_future();
        let built = build.await.map_err(RuntimeError::Build)?;
        // A dispose that raced with the build wins.
        if self.disposed.load(Ordering::SeqCst) {
            return Err(RuntimeError::Disposed);
        }
        Ok(built)
    }

    fn build_future(&self) -> BuildFuture {
        let mut slot = self.build.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert_with(|| {
            let layer = self.layer.clone();
            let input = self.input.clone();
            let scope = self.scope.clone();
            let task = tokio::spawn(
                async move {
                    let started = std::time::Instant::now();
                    let result = layer::build(&layer, input, &scope).await;
                    match &result {
                        Ok(_) => tracing::info!(
                            elapsed_ms = started.elapsed().as_millis() as u64,
                            "runtime built"
                        ),
                        Err(error) => tracing::error!(%error, "runtime build failed"),
                    }
                    result
                }
                .instrument(tracing::info_span!("runtime.build")),
            );
            async move {
                task.await.unwrap_or_else(|join| {
                    Err(Arc::new(BuildError::Panicked {
                        layer: "runtime".into(),
                        message: if join.is_panic() {
                            panic_message(&*join.into_panic())
                        } else {
                            "build task cancelled".into()
                        },
                    }))
                })
            }
            .boxed()
            .shared()
        })
        .clone()
    }

    /// Runs `f` with the context inside one tracing span named `span_name` (as `otel.name`).
    pub async fn run<T, E, F, Fut>(&self, span_name: &str, f: F) -> Result<T, RunError<E>>
    where
        F: FnOnce(Context) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let ctx = self.context().await.map_err(RunError::Runtime)?;
        let span = tracing::info_span!("runtime.run", otel.name = %span_name);
        f(ctx).instrument(span).await.map_err(RunError::Failure)
    }

    /// Like [`run`](Self::run) but never fails: panics become `Defect`.
    pub async fn run_exit<T, E, F, Fut>(&self, span_name: &str, f: F) -> Exit<T, E>
    where
        F: FnOnce(Context) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.run_exit_cancellable(span_name, &CancellationToken::new(), f)
            .await
    }

    /// Like [`run_exit`](Self::run_exit); when `cancel` fires first, `f` is dropped and the exit
    /// is `Interrupted`.
    pub async fn run_exit_cancellable<T, E, F, Fut>(
        &self,
        span_name: &str,
        cancel: &CancellationToken,
        f: F,
    ) -> Exit<T, E>
    where
        F: FnOnce(Context) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let ctx = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Exit::Interrupted,
            ctx = self.context() => match ctx {
                Ok(ctx) => ctx,
                Err(error) => return Exit::Unavailable(error),
            },
        };
        let span = tracing::info_span!("runtime.run", otel.name = %span_name);
        let work = AssertUnwindSafe(f(ctx))
            .catch_unwind()
            .instrument(span.clone());
        tokio::select! {
            biased;
            _ = cancel.cancelled() => {
                span.in_scope(|| tracing::info!("interrupted"));
                Exit::Interrupted
            }
            outcome = work => match outcome {
                Ok(Ok(value)) => Exit::Success(value),
                Ok(Err(error)) => Exit::Failure(error),
                Err(panic) => {
                    let message = panic_message(&*panic);
                    span.in_scope(|| tracing::error!(defect = %message, "run panicked"));
                    Exit::Defect(message)
                }
            },
        }
    }

    /// Releases every service in reverse order of acquisition. Idempotent: later (or concurrent)
    /// calls return the first call's outcome. Waits for a build in progress first.
    pub async fn dispose(&self) -> Result<(), ReleaseError> {
        self.disposed.store(true, Ordering::SeqCst);
        self.dispose_outcome
            .get_or_init(|| async {
                let pending = self.build.lock().unwrap_or_else(|p| p.into_inner()).clone();
                if let Some(build) = pending {
                    let _ = build.await;
                }
                let started = std::time::Instant::now();
                let outcome = self.scope.close().await;
                match &outcome {
                    Ok(()) => tracing::info!(
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "runtime disposed"
                    ),
                    Err(error) => tracing::error!(%error, "runtime disposed with errors"),
                }
                outcome
            })
            .await
            .clone()
    }

    pub fn is_disposed(&self) -> bool {
        self.disposed.load(Ordering::SeqCst)
    }
}
