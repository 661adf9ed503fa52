//! Resource lifetimes: a `Scope` collects finalizers as resources are acquired and runs them
//! in reverse order when it closes.
//!
//! Every finalizer runs even when an earlier one fails or panics; the failures are aggregated into
//! one [`ReleaseError`]. Closing is idempotent, and a finalizer added to a closed scope runs at once
//! (the resource it guards would otherwise leak).

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use futures::FutureExt;

/// Any error a finalizer or a layer constructor may return.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

type FinalizerFn = Box<dyn FnOnce() -> BoxFuture<'static, Result<(), BoxError>> + Send>;

struct Finalizer {
    name: String,
    run: FinalizerFn,
}

enum State {
    Open(Vec<Finalizer>),
    Closed,
}

/// A finalizer that failed while a scope was being released.
#[derive(Debug, Clone)]
pub struct FinalizerFailure {
    pub finalizer: String,
    pub error: String,
}

/// Every failure seen while closing a scope (and its children).
#[derive(Debug, Clone, thiserror::Error)]
pub struct ReleaseError {
    pub failures: Vec<FinalizerFailure>,
}

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} finalizer(s) failed:", self.failures.len())?;
        for failure in &self.failures {
            write!(f, " [{}: {}]", failure.finalizer, failure.error)?;
        }
        Ok(())
    }
}

/// A set of finalizers released together. Cloning shares the same scope.
#[derive(Clone)]
pub struct Scope {
    name: Arc<str>,
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("name", &self.name)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Scope {
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Self {
            name: name.into(),
            state: Arc::new(Mutex::new(State::Open(Vec::new()))),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn is_closed(&self) -> bool {
        matches!(*self.lock(), State::Closed)
    }

    /// Registers `finalizer` to run when the scope closes. On a closed scope it runs at once.
    pub async fn add_finalizer<F, Fut>(&self, name: impl Into<String>, finalizer: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        let finalizer = Finalizer {
            name: name.into(),
            run: Box::new(move || finalizer().boxed()),
        };
        let rejected = {
            let mut state = self.lock();
            match &mut *state {
                State::Open(list) => {
                    list.push(finalizer);
                    None
                }
                State::Closed => Some(finalizer),
            }
        };
        if let Some(finalizer) = rejected {
            if let Err(failures) = run_one(finalizer).await {
                for failure in failures {
                    tracing::warn!(scope = %self.name, finalizer = %failure.finalizer, error = %failure.error,
                        "finalizer added to a closed scope failed");
                }
            }
        }
    }

    /// A child scope, closed when this one closes (or earlier, by its owner).
    pub async fn fork(&self, name: impl Into<Arc<str>>) -> Scope {
        let child = Scope::new(name);
        let handle = child.clone();
        self.add_finalizer(format!("scope {}", child.name), move || async move {
            handle.close().await.map_err(|e| Box::new(e) as BoxError)
        })
        .await;
        child
    }

    /// Runs every finalizer in reverse order of registration; all of them run, failures are
    /// aggregated. A second close does nothing and succeeds.
    pub async fn close(&self) -> Result<(), ReleaseError> {
        let finalizers = match std::mem::replace(&mut *self.lock(), State::Closed) {
            State::Open(list) => list,
            State::Closed => return Ok(()),
        };
        let mut failures = Vec::new();
        for finalizer in finalizers.into_iter().rev() {
            if let Err(failed) = run_one(finalizer).await {
                failures.extend(failed);
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(ReleaseError { failures })
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state inconsistent (plain swaps/pushes).
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Runs one finalizer; a nested scope's failures are passed up as they are (flat), so the
/// aggregate names the finalizers that failed rather than every scope around them.
async fn run_one(finalizer: Finalizer) -> Result<(), Vec<FinalizerFailure>> {
    let Finalizer { name, run } = finalizer;
    tracing::debug!(finalizer = %name, "releasing");
    let error = match AssertUnwindSafe(run()).catch_unwind().await {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(error)) => match error.downcast::<ReleaseError>() {
            Ok(nested) => return Err(nested.failures),
            Err(other) => other.to_string(),
        },
        Err(panic) => format!("panicked: {}", panic_message(&*panic)),
    };
    tracing::warn!(finalizer = %name, %error, "finalizer failed");
    Err(vec![FinalizerFailure {
        finalizer: name,
        error,
    }])
}

/// The text of a panic payload (`&str` or `String`), for defects and logs.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Record = Box<dyn Fn(&str) -> BoxFuture<'static, Result<(), BoxError>>>;

    fn recorder() -> (Arc<Mutex<Vec<String>>>, Record) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        let record: Record = Box::new(move |name: &str| {
            let l = l.clone();
            let name = name.to_string();
            async move {
                l.lock().unwrap().push(name);
                Ok(())
            }
            .boxed()
        });
        (log, record)
    }

    #[tokio::test]
    async fn releases_in_reverse_order() {
        let (log, rec) = recorder();
        let scope = Scope::new("test");
        for name in ["a", "b", "c"] {
            let f = rec(name);
            scope.add_finalizer(name, move || f).await;
        }
        scope.close().await.unwrap();
        assert_eq!(*log.lock().unwrap(), ["c", "b", "a"]);
    }

    #[tokio::test]
    async fn failing_finalizer_does_not_stop_the_others_and_failures_aggregate() {
        let (log, rec) = recorder();
        let scope = Scope::new("test");
        let first = rec("first");
        scope.add_finalizer("first", move || first).await;
        scope
            .add_finalizer("broken", || async {
                Err::<(), BoxError>("disk on fire".into())
            })
            .await;
        scope
            .add_finalizer("panicky", || async { panic!("boom") })
            .await;
        let last = rec("last");
        scope.add_finalizer("last", move || last).await;

        let err = scope.close().await.unwrap_err();
        assert_eq!(*log.lock().unwrap(), ["last", "first"]);
        let names: Vec<_> = err.failures.iter().map(|f| f.finalizer.as_str()).collect();
        assert_eq!(names, ["panicky", "broken"]);
        assert!(err.failures[0].error.contains("boom"));
        assert!(err.to_string().contains("disk on fire"));
    }

    #[tokio::test]
    async fn close_is_idempotent_and_late_finalizers_run_at_once() {
        let (log, rec) = recorder();
        let scope = Scope::new("test");
        scope.close().await.unwrap();
        scope.close().await.unwrap();
        let late = rec("late");
        scope.add_finalizer("late", move || late).await;
        assert_eq!(*log.lock().unwrap(), ["late"]);
    }

    #[tokio::test]
    async fn child_scope_closes_with_parent_and_reports_its_failures() {
        let (log, rec) = recorder();
        let parent = Scope::new("parent");
        let p = rec("parent-resource");
        parent.add_finalizer("parent-resource", move || p).await;
        let child = parent.fork("child").await;
        let c = rec("child-resource");
        child.add_finalizer("child-resource", move || c).await;
        child
            .add_finalizer("child-broken", || async {
                Err::<(), BoxError>("nope".into())
            })
            .await;
        let err = parent.close().await.unwrap_err();
        assert_eq!(*log.lock().unwrap(), ["child-resource", "parent-resource"]);
        assert_eq!(err.failures.len(), 1);
        assert_eq!(err.failures[0].finalizer, "child-broken");
        assert_eq!(err.failures[0].error, "nope");
        assert!(child.is_closed());
    }
}
