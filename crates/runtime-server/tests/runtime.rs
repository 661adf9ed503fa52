//! `ServerRuntime` semantics: lazy single-flight build, run/run_exit, cached failure, dispose.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use runtime_server::{Exit, RunError, RuntimeError, ServerRuntime};
use shared_server::layer::{BoxError, Context, Layer, Scope};
use tokio_util::sync::CancellationToken;

struct Counter;

/// A layer that counts its builds and records its release in `released`.
fn counted(
    name: &'static str,
    builds: Arc<AtomicUsize>,
    released: Arc<Mutex<Vec<&'static str>>>,
) -> Layer {
    Layer::named_leaf(name).service(move |_, scope: Scope| {
        let builds = builds.clone();
        let released = released.clone();
        async move {
            builds.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            scope
                .add_finalizer(name, move || async move {
                    released.lock().unwrap().push(name);
                    Ok(())
                })
                .await;
            Ok::<_, BoxError>(Counter)
        }
    })
}

#[tokio::test]
async fn builds_lazily_once_for_concurrent_first_callers() {
    let builds = Arc::new(AtomicUsize::new(0));
    let runtime = Arc::new(ServerRuntime::new(counted(
        "Counter",
        builds.clone(),
        Default::default(),
    )));
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert_eq!(builds.load(Ordering::SeqCst), 0, "new() builds nothing");

    let callers = (0..16).map(|_| {
        let runtime = runtime.clone();
        tokio::spawn(async move {
            runtime
                .context()
                .await
                .map(|ctx| ctx.get::<Counter>().unwrap())
        })
    });
    let counters: Vec<_> = futures::future::join_all(callers)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    assert_eq!(builds.load(Ordering::SeqCst), 1);
    assert!(counters.windows(2).all(|w| Arc::ptr_eq(&w[0], &w[1])));
}

#[tokio::test]
async fn run_gives_the_context_and_passes_typed_failures_through() {
    let runtime = ServerRuntime::new(Layer::value("Answer", 42u32));
    let value = runtime
        .run("compute", |ctx| async move {
            Ok::<_, String>(*ctx.get::<u32>().unwrap() + 1)
        })
        .await
        .unwrap();
    assert_eq!(value, 43);
    let err = runtime
        .run("fail", |_| async {
            Err::<(), _>("quota exceeded".to_string())
        })
        .await
        .unwrap_err();
    assert!(matches!(err, RunError::Failure(ref m) if m == "quota exceeded"));
}

#[tokio::test]
async fn run_exit_reports_success_failure_defect_and_interruption() {
    let runtime = ServerRuntime::new(Layer::value("Answer", 42u32));
    let ok = runtime
        .run_exit("ok", |ctx| async move {
            Ok::<_, ()>(*ctx.get::<u32>().unwrap())
        })
        .await;
    assert!(matches!(ok, Exit::Success(42)));
    let failed = runtime
        .run_exit("failed", |_| async { Err::<(), _>("nope") })
        .await;
    assert!(matches!(failed, Exit::Failure("nope")));
    let defect = runtime
        .run_exit("defect", |_| async {
            if true {
                panic!("invariant broken");
            }
            Ok::<(), ()>(())
        })
        .await;
    assert!(matches!(defect, Exit::Defect(ref m) if m == "invariant broken"));

    let cancel = CancellationToken::new();
    let finished = Arc::new(AtomicUsize::new(0));
    let done = finished.clone();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        trigger.cancel();
    });
    let interrupted = runtime
        .run_exit_cancellable("slow", &cancel, |_| async move {
            tokio::time::sleep(Duration::from_secs(30)).await;
            done.fetch_add(1, Ordering::SeqCst);
            Ok::<(), ()>(())
        })
        .await;
    assert!(matches!(interrupted, Exit::Interrupted));
    assert_eq!(
        finished.load(Ordering::SeqCst),
        0,
        "the interrupted work was dropped"
    );
}

#[tokio::test]
async fn a_failed_build_is_cached_and_returned_to_every_caller() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let counter = attempts.clone();
    let runtime = ServerRuntime::new(Layer::named_leaf("Flaky").build(move |_, _| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { Err::<Context, BoxError>("connection refused".into()) }
    }));
    for _ in 0..3 {
        let err = runtime.context().await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "the runtime failed to build: layer `Flaky` failed to build: connection refused"
        );
    }
    let exit = runtime.run_exit("x", |_| async { Ok::<(), ()>(()) }).await;
    assert!(matches!(exit, Exit::Unavailable(RuntimeError::Build(_))));
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn dispose_releases_in_reverse_order_once_and_later_use_is_a_typed_error() {
    let released = Arc::new(Mutex::new(Vec::new()));
    let builds = Arc::new(AtomicUsize::new(0));
    let inner = counted("Inner", builds.clone(), released.clone());
    let outer = Layer::named_leaf("Outer")
        .requires::<Counter>()
        .build({
            let released = released.clone();
            move |_, scope: Scope| {
                let released = released.clone();
                async move {
                    scope
                        .add_finalizer("Outer", move || async move {
                            released.lock().unwrap().push("Outer");
                            Ok(())
                        })
                        .await;
                    Ok::<_, BoxError>(Context::new())
                }
            }
        })
        .provide(&inner);
    let runtime = ServerRuntime::new(outer);
    runtime.context().await.unwrap();
    runtime.dispose().await.unwrap();
    runtime.dispose().await.unwrap();
    assert_eq!(*released.lock().unwrap(), ["Outer", "Inner"]);
    assert!(matches!(
        runtime.context().await,
        Err(RuntimeError::Disposed)
    ));
    let exit = runtime
        .run_exit("late", |_| async { Ok::<(), ()>(()) })
        .await;
    assert!(matches!(exit, Exit::Unavailable(RuntimeError::Disposed)));
}

#[tokio::test]
async fn dispose_of_a_never_built_runtime_is_fine() {
    let builds = Arc::new(AtomicUsize::new(0));
    let runtime = ServerRuntime::new(counted("Never", builds.clone(), Default::default()));
    runtime.dispose().await.unwrap();
    assert_eq!(builds.load(Ordering::SeqCst), 0);
    assert!(matches!(
        runtime.context().await,
        Err(RuntimeError::Disposed)
    ));
}

#[tokio::test]
async fn run_opens_one_span_named_after_the_work() {
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Names(Arc<Mutex<Vec<String>>>);
    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Names {
        fn on_new_span(
            &self,
            attrs: &tracing::span::Attributes<'_>,
            _: &tracing::span::Id,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            struct Visit<'a>(&'a mut Vec<String>, &'static str);
            impl tracing::field::Visit for Visit<'_> {
                fn record_debug(
                    &mut self,
                    field: &tracing::field::Field,
                    value: &dyn std::fmt::Debug,
                ) {
                    if field.name() == "otel.name" {
                        self.0.push(format!("{}:{:?}", self.1, value));
                    }
                }
            }
            let mut names = self.0.lock().unwrap();
            attrs.record(&mut Visit(&mut names, attrs.metadata().name()));
        }
    }
    let names = Names::default();
    let subscriber = tracing_subscriber::registry().with(names.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    let runtime = ServerRuntime::new(Layer::value("Answer", 1u8));
    runtime
        .run("billing.close_month", |_| async {
            tracing::info!("inside");
            Ok::<(), ()>(())
        })
        .await
        .unwrap();
    let recorded = names.0.lock().unwrap().clone();
    assert_eq!(recorded, ["runtime.run:billing.close_month"]);
}
