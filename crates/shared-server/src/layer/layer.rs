//! `Layer`: a recipe that builds services from other services, following Effect's semantics.
//!
//! - requirements are checked for the whole graph before anything is acquired;
//! - a layer value is built once per build (memoized by identity, single-flight) and released when
//!   the last scope that used it closes; [`Layer::fresh`] opts out;
//! - siblings of [`Layer::merge_all`] build concurrently; [`Layer::provide`] builds dependencies
//!   first and hides them, [`Layer::provide_merge`] keeps them in the output;
//! - constructors receive only the services they declared with `requires`, and must provide every
//!   service they declared with `provides`.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::future::{BoxFuture, Shared};
use futures::FutureExt;
use tracing::Instrument;

use super::context::{Context, ServiceKey};
use super::error::{BuildError, MissingRequirement};
use super::scope::{panic_message, BoxError, Scope};

type Constructor =
    Arc<dyn Fn(Context, Scope) -> BoxFuture<'static, Result<Context, BoxError>> + Send + Sync>;

/// The outcome of building a layer, shared by every dependent.
pub type BuildResult = Result<Context, Arc<BuildError>>;

#[derive(Clone)]
pub(crate) enum Kind {
    Leaf {
        requires: Vec<ServiceKey>,
        provides: Vec<ServiceKey>,
        /// Services this layer provides on purpose over another layer's (test doubles).
        overrides: Vec<ServiceKey>,
        construct: Constructor,
    },
    Provide {
        deps: Layer,
        target: Layer,
        keep_deps: bool,
    },
    Merge(Vec<Layer>),
    Fresh(Layer),
}

pub(crate) struct Node {
    pub(crate) name: Option<String>,
    pub(crate) kind: Kind,
}

/// A recipe for services. Cloning keeps the identity: clones are built once per runtime.
#[derive(Clone)]
pub struct Layer {
    pub(crate) node: Arc<Node>,
}

impl std::fmt::Debug for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layer")
            .field("name", &self.display_name())
            .field("provides", &self.provides())
            .field("requires", &self.requires())
            .finish()
    }
}

/// Declares a leaf layer: its name, the services it needs and the services it provides.
#[must_use]
pub struct LayerBuilder {
    name: String,
    requires: Vec<ServiceKey>,
    provides: Vec<ServiceKey>,
    overrides: Vec<ServiceKey>,
}

impl LayerBuilder {
    pub fn requires<T: ?Sized + 'static>(mut self) -> Self {
        push_unique(&mut self.requires, ServiceKey::of::<T>());
        self
    }

    pub fn provides<T: ?Sized + 'static>(mut self) -> Self {
        push_unique(&mut self.provides, ServiceKey::of::<T>());
        self
    }

    /// Provides `T` on purpose where another layer of the composition provides it too (a test
    /// double, an embedding program's replacement): the graph validation does not report it.
    pub fn overrides<T: ?Sized + 'static>(mut self) -> Self {
        push_unique(&mut self.overrides, ServiceKey::of::<T>());
        self.provides::<T>()
    }

    /// A constructor that returns a context holding every declared service. It may register
    /// finalizers in the scope it is given; they run when the layer is released.
    pub fn build<F, Fut, E>(self, construct: F) -> Layer
    where
        F: Fn(Context, Scope) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Context, E>> + Send + 'static,
        E: Into<BoxError> + 'static,
    {
        let construct: Constructor = Arc::new(move |ctx, scope| {
            construct(ctx, scope).map(|r| r.map_err(Into::into)).boxed()
        });
        Layer::from_node(
            Some(self.name),
            Kind::Leaf {
                requires: self.requires,
                provides: self.provides,
                overrides: self.overrides,
                construct,
            },
        )
    }

    /// A constructor for one service `T` (declared as provided automatically).
    pub fn service<T, F, Fut, E>(self, construct: F) -> Layer
    where
        T: Send + Sync + 'static,
        F: Fn(Context, Scope) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        E: Into<BoxError> + 'static,
    {
        let construct = Arc::new(construct);
        self.provides::<T>().build(move |ctx, scope| {
            let construct = construct.clone();
            async move {
                construct(ctx, scope)
                    .await
                    .map(|svc| Context::new().with(svc))
            }
        })
    }
}

impl Layer {
    /// Starts a leaf layer named `name`.
    pub fn named_leaf(name: impl Into<String>) -> LayerBuilder {
        LayerBuilder {
            name: name.into(),
            requires: Vec::new(),
            provides: Vec::new(),
            overrides: Vec::new(),
        }
    }

    /// A layer that provides an already-built value (Effect's `Layer.succeed`).
    pub fn value<T: Send + Sync + 'static>(name: impl Into<String>, value: T) -> Layer {
        Self::shared::<T>(name, Arc::new(value))
    }

    /// A layer that provides an already-built shared value; `T` may be a trait object.
    pub fn shared<T: ?Sized + Send + Sync + 'static>(
        name: impl Into<String>,
        value: Arc<T>,
    ) -> Layer {
        Self::named_leaf(name).provides::<T>().build(move |_, _| {
            let value = value.clone();
            async move { Ok::<_, BoxError>(Context::new().with_arc(value)) }
        })
    }

    /// A layer providing nothing and requiring nothing.
    pub fn empty() -> Layer {
        Self::merge_all(Vec::new())
    }

    /// `deps` provides this layer's requirements; the output is this layer's services only.
    pub fn provide(&self, deps: &Layer) -> Layer {
        Self::from_node(
            None,
            Kind::Provide {
                deps: deps.clone(),
                target: self.clone(),
                keep_deps: false,
            },
        )
    }

    /// Like [`Layer::provide`], but the output also holds the services of `deps`.
    pub fn provide_merge(&self, deps: &Layer) -> Layer {
        Self::from_node(
            None,
            Kind::Provide {
                deps: deps.clone(),
                target: self.clone(),
                keep_deps: true,
            },
        )
    }

    /// Layers built concurrently from the same input; the output is the union (later wins).
    pub fn merge_all(layers: impl IntoIterator<Item = Layer>) -> Layer {
        Self::from_node(None, Kind::Merge(layers.into_iter().collect()))
    }

    /// `self` and `other`, built concurrently.
    pub fn merge(&self, other: &Layer) -> Layer {
        Self::merge_all([self.clone(), other.clone()])
    }

    /// A copy of this layer that is not shared: it is built again wherever it is used.
    pub fn fresh(&self) -> Layer {
        Self::from_node(self.node.name.clone(), Kind::Fresh(self.clone()))
    }

    /// Gives a composite layer a name for error paths and graphs. Returns a new layer identity
    /// wrapping this one (the wrapped layer is still memoized as itself).
    pub fn named(&self, name: impl Into<String>) -> Layer {
        Self::from_node(
            Some(name.into()),
            Kind::Provide {
                deps: Layer::empty(),
                target: self.clone(),
                keep_deps: false,
            },
        )
    }

    /// The services this layer outputs.
    pub fn provides(&self) -> Vec<ServiceKey> {
        match &self.node.kind {
            Kind::Leaf { provides, .. } => provides.clone(),
            Kind::Provide {
                deps,
                target,
                keep_deps,
            } => {
                let mut out = if *keep_deps {
                    deps.provides()
                } else {
                    Vec::new()
                };
                for key in target.provides() {
                    push_unique(&mut out, key);
                }
                out
            }
            Kind::Merge(children) => {
                let mut out = Vec::new();
                for key in children.iter().flat_map(Layer::provides) {
                    push_unique(&mut out, key);
                }
                out
            }
            Kind::Fresh(inner) => inner.provides(),
        }
    }

    /// The services this layer needs from outside.
    pub fn requires(&self) -> Vec<ServiceKey> {
        let mut missing = Vec::new();
        self.unsatisfied(&mut Vec::new(), &[], &mut missing);
        let mut keys = Vec::new();
        for m in missing {
            push_unique(&mut keys, m.0);
        }
        keys
    }

    /// Every requirement that neither the graph nor `available` provides, with its layer path.
    pub fn missing_requirements(&self, available: &[ServiceKey]) -> Vec<MissingRequirement> {
        let mut missing = Vec::new();
        self.unsatisfied(&mut Vec::new(), available, &mut missing);
        missing
            .into_iter()
            .map(|(key, path)| MissingRequirement {
                service: key.name(),
                path,
            })
            .collect()
    }

    pub(crate) fn display_name(&self) -> String {
        match (&self.node.name, &self.node.kind) {
            (Some(name), _) => name.clone(),
            (None, Kind::Merge(children)) => format!(
                "merge({})",
                children
                    .iter()
                    .map(Layer::display_name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            (None, Kind::Provide { target, .. }) => target.display_name(),
            (None, Kind::Fresh(inner)) => format!("fresh({})", inner.display_name()),
            (None, Kind::Leaf { .. }) => "layer".to_string(),
        }
    }

    pub(crate) fn id(&self) -> usize {
        Arc::as_ptr(&self.node) as *const () as usize
    }

    fn from_node(name: Option<String>, kind: Kind) -> Layer {
        Layer {
            node: Arc::new(Node { name, kind }),
        }
    }

    fn unsatisfied(
        &self,
        path: &mut Vec<String>,
        available: &[ServiceKey],
        out: &mut Vec<(ServiceKey, Vec<String>)>,
    ) {
        // A fresh wrapper carries its inner layer's name; only the inner one enters the path.
        let named = self.node.name.is_some() && !matches!(self.node.kind, Kind::Fresh(_));
        if named {
            path.push(self.display_name());
        }
        match &self.node.kind {
            Kind::Leaf { requires, .. } => {
                for key in requires.iter().filter(|k| !available.contains(k)) {
                    out.push((*key, path.clone()));
                }
            }
            Kind::Provide { deps, target, .. } => {
                deps.unsatisfied(path, available, out);
                let mut inner: Vec<ServiceKey> = available.to_vec();
                inner.extend(deps.provides());
                target.unsatisfied(path, &inner, out);
            }
            Kind::Merge(children) => {
                for child in children {
                    child.unsatisfied(path, available, out);
                }
            }
            Kind::Fresh(inner) => inner.unsatisfied(path, available, out),
        }
        if named {
            path.pop();
        }
    }
}

/// Builds `layer` from `input`: checks requirements first (nothing is acquired when one is
/// missing), then builds every layer once. The layer is released when `scope` closes.
pub async fn build(layer: &Layer, input: Context, scope: &Scope) -> BuildResult {
    let available: Vec<ServiceKey> = input.keys().copied().collect();
    let missing = layer.missing_requirements(&available);
    if !missing.is_empty() {
        return Err(Arc::new(BuildError::MissingRequirements(missing)));
    }
    let duplicates = layer.duplicate_providers();
    if !duplicates.is_empty() {
        return Err(Arc::new(BuildError::DuplicateProviders(duplicates)));
    }
    let memo = Arc::new(MemoMap::default());
    build_node(layer.clone(), memo, input, scope.clone()).await
}

/// One build's memo: layer identity -> the shared result, its own scope and its user count.
#[derive(Default)]
struct MemoMap {
    entries: Mutex<HashMap<usize, Arc<MemoEntry>>>,
}

struct MemoEntry {
    // Keeps the node alive so its address cannot be reused while the memo exists.
    _layer: Layer,
    result: Shared<BoxFuture<'static, BuildResult>>,
    scope: Scope,
    users: AtomicUsize,
}

fn build_node(
    layer: Layer,
    memo: Arc<MemoMap>,
    input: Context,
    scope: Scope,
) -> BoxFuture<'static, BuildResult> {
    async move {
        if let Kind::Fresh(inner) = &layer.node.kind {
            let own = scope.fork(format!("layer {}", layer.display_name())).await;
            return build_uncached(inner.clone(), memo, input, own).await;
        }
        let entry = memo_entry(&layer, &memo, input);
        entry.users.fetch_add(1, Ordering::SeqCst);
        let release = entry.clone();
        scope
            .add_finalizer(
                format!("layer {}", layer.display_name()),
                move || async move {
                    if release.users.fetch_sub(1, Ordering::SeqCst) == 1 {
                        release
                            .scope
                            .close()
                            .await
                            .map_err(|e| Box::new(e) as BoxError)
                    } else {
                        Ok(())
                    }
                },
            )
            .await;
        entry.result.clone().await
    }
    .boxed()
}

/// The memo entry for `layer`, starting its build (as a task, so that no waiter's cancellation
/// can abandon it half-acquired) when it is the first user.
fn memo_entry(layer: &Layer, memo: &Arc<MemoMap>, input: Context) -> Arc<MemoEntry> {
    let mut entries = memo.entries.lock().unwrap_or_else(|p| p.into_inner());
    entries
        .entry(layer.id())
        .or_insert_with(|| {
            let name = layer.display_name();
            let scope = Scope::new(format!("layer {name}"));
            let task = tokio::spawn(build_uncached(
                layer.clone(),
                memo.clone(),
                input,
                scope.clone(),
            ));
            let own_scope = scope.clone();
            let result = async move {
                let result = match task.await {
                    Ok(result) => result,
                    Err(join) if join.is_panic() => Err(Arc::new(BuildError::Panicked {
                        layer: name.clone(),
                        message: panic_message(&*join.into_panic()),
                    })),
                    Err(_) => Err(Arc::new(BuildError::Cancelled {
                        layer: name.clone(),
                    })),
                };
                if result.is_err() {
                    // Release whatever the failed build acquired; the error stays cached.
                    if let Err(e) = own_scope.close().await {
                        tracing::warn!(layer = %name, error = %e, "releasing a failed layer build");
                    }
                }
                result
            }
            .boxed()
            .shared();
            Arc::new(MemoEntry {
                _layer: layer.clone(),
                result,
                scope,
                users: AtomicUsize::new(0),
            })
        })
        .clone()
}

fn build_uncached(
    layer: Layer,
    memo: Arc<MemoMap>,
    input: Context,
    scope: Scope,
) -> BoxFuture<'static, BuildResult> {
    build_uncached_inner(layer, memo, input, scope)
        .map(|r| r.map_err(BuildErrorOrArc::into_arc))
        .boxed()
}

async fn build_uncached_inner(
    layer: Layer,
    memo: Arc<MemoMap>,
    input: Context,
    scope: Scope,
) -> Result<Context, BuildErrorOrArc> {
    match &layer.node.kind {
        Kind::Leaf {
            requires,
            provides,
            construct,
            ..
        } => {
            let name = layer.display_name();
            let given = input.project(requires);
            let started = std::time::Instant::now();
            let constructing = construct(given, scope)
                .instrument(tracing::debug_span!("layer.build", layer = %name));
            let built = AssertUnwindSafe(constructing)
                .catch_unwind()
                .await
                .map_err(|panic| BuildError::Panicked {
                    layer: name.clone(),
                    message: panic_message(&*panic),
                })?
                .map_err(|source| BuildError::Failed {
                    layer: name.clone(),
                    source,
                })?;
            if let Some(key) = provides.iter().find(|k| !built.contains_key(k)) {
                return Err(BuildError::MissingOutput {
                    layer: name,
                    service: key.name(),
                }
                .into());
            }
            tracing::debug!(layer = %name, elapsed_ms = started.elapsed().as_millis() as u64, "layer built");
            Ok(built.project(provides))
        }
        Kind::Provide {
            deps,
            target,
            keep_deps,
        } => {
            let dep_out =
                build_node(deps.clone(), memo.clone(), input.clone(), scope.clone()).await?;
            let mut target_in = input;
            target_in.merge(&dep_out);
            let out = build_node(target.clone(), memo, target_in, scope).await?;
            if *keep_deps {
                let mut all = dep_out;
                all.merge(&out);
                Ok(all)
            } else {
                Ok(out)
            }
        }
        Kind::Merge(children) => {
            let builds = children
                .iter()
                .map(|child| build_node(child.clone(), memo.clone(), input.clone(), scope.clone()));
            // Wait for every sibling, so none is left half-built, then report the first error.
            let results = futures::future::join_all(builds).await;
            let mut out = Context::new();
            for result in results {
                out.merge(&result?);
            }
            Ok(out)
        }
        Kind::Fresh(inner) => Ok(build_uncached(inner.clone(), memo, input, scope).await?),
    }
}

/// Lets `?` work on both fresh errors and shared (already-cached) ones inside the builders.
enum BuildErrorOrArc {
    Own(BuildError),
    Shared(Arc<BuildError>),
}

impl BuildErrorOrArc {
    fn into_arc(self) -> Arc<BuildError> {
        match self {
            BuildErrorOrArc::Own(e) => Arc::new(e),
            BuildErrorOrArc::Shared(e) => e,
        }
    }
}

impl From<BuildError> for BuildErrorOrArc {
    fn from(e: BuildError) -> Self {
        BuildErrorOrArc::Own(e)
    }
}

impl From<Arc<BuildError>> for BuildErrorOrArc {
    fn from(e: Arc<BuildError>) -> Self {
        BuildErrorOrArc::Shared(e)
    }
}

fn push_unique(keys: &mut Vec<ServiceKey>, key: ServiceKey) {
    if !keys.contains(&key) {
        keys.push(key);
    }
}
