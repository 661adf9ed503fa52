//! One test per rule of the layer model (DESIGN.md, "The layer model").

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shared_server::layer::{build, BoxError, BuildError, Context, Layer, Scope};

/// Records acquisitions and releases in order.
#[derive(Clone, Default)]
struct Journal(Arc<Mutex<Vec<String>>>);

impl Journal {
    fn push(&self, entry: impl Into<String>) {
        self.0.lock().unwrap().push(entry.into());
    }
    fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
    fn count(&self, entry: &str) -> usize {
        self.entries().iter().filter(|e| *e == entry).count()
    }
}

struct Config(&'static str);
struct Database(&'static str);
struct UserRepo(Arc<Database>);
struct DocRepo(Arc<Database>);

fn database(journal: &Journal) -> Layer {
    let journal = journal.clone();
    Layer::named_leaf("Database")
        .requires::<Config>()
        .service(move |ctx, scope: Scope| {
            let journal = journal.clone();
            async move {
                let config = ctx.get::<Config>()?;
                journal.push("acquire Database");
                let j = journal.clone();
                scope
                    .add_finalizer("close Database", move || async move {
                        j.push("release Database");
                        Ok(())
                    })
                    .await;
                Ok::<_, BoxError>(Database(config.0))
            }
        })
}

fn repo<T: Send + Sync + 'static>(
    journal: &Journal,
    name: &'static str,
    make: fn(Arc<Database>) -> T,
) -> Layer {
    let journal = journal.clone();
    Layer::named_leaf(name)
        .requires::<Database>()
        .service(move |ctx, scope: Scope| {
            let journal = journal.clone();
            async move {
                let db = ctx.get::<Database>()?;
                journal.push(format!("acquire {name}"));
                let j = journal.clone();
                scope
                    .add_finalizer(format!("close {name}"), move || async move {
                        j.push(format!("release {name}"));
                        Ok(())
                    })
                    .await;
                Ok::<_, BoxError>(make(db))
            }
        })
}

fn config() -> Layer {
    Layer::value("Config", Config("sqlite://memory"))
}

#[tokio::test]
async fn a_layer_shared_by_two_dependents_is_built_once_and_released_after_both() {
    let journal = Journal::default();
    let db = database(&journal).provide(&config());
    let app = Layer::merge_all([
        repo(&journal, "UserRepo", UserRepo).provide(&db),
        repo(&journal, "DocRepo", DocRepo).provide(&db),
    ]);
    let scope = Scope::new("test");
    let ctx = build(&app, Context::new(), &scope).await.unwrap();

    assert_eq!(journal.count("acquire Database"), 1);
    let users = ctx.get::<UserRepo>().unwrap();
    let docs = ctx.get::<DocRepo>().unwrap();
    assert!(
        Arc::ptr_eq(&users.0, &docs.0),
        "both repos share one Database"
    );
    assert_eq!(users.0 .0, "sqlite://memory");
    assert!(!ctx.contains::<Database>(), "provide hides the dependency");

    scope.close().await.unwrap();
    let entries = journal.entries();
    let released_db = entries
        .iter()
        .position(|e| e == "release Database")
        .unwrap();
    let released_users = entries
        .iter()
        .position(|e| e == "release UserRepo")
        .unwrap();
    let released_docs = entries.iter().position(|e| e == "release DocRepo").unwrap();
    assert!(released_db > released_users && released_db > released_docs);
    assert_eq!(journal.count("release Database"), 1);
}

#[tokio::test]
async fn concurrent_first_use_builds_once() {
    let builds = Arc::new(AtomicUsize::new(0));
    let counter = builds.clone();
    let slow = Layer::named_leaf("Slow").service(move |_, _| {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok::<_, BoxError>(Database("slow"))
        }
    });
    // Eight siblings all need `slow` at the same moment.
    let dependents = (0..8).map(|i| {
        Layer::named_leaf(format!("Dependent{i}"))
            .requires::<Database>()
            .build(|_, _| async { Ok::<_, BoxError>(Context::new()) })
            .provide(&slow)
    });
    let scope = Scope::new("test");
    build(&Layer::merge_all(dependents), Context::new(), &scope)
        .await
        .unwrap();
    assert_eq!(builds.load(Ordering::SeqCst), 1);
    scope.close().await.unwrap();
}

#[tokio::test]
async fn resources_are_released_in_reverse_order_of_acquisition() {
    let journal = Journal::default();
    let app = repo(&journal, "UserRepo", UserRepo)
        .provide(&database(&journal))
        .provide(&config());
    let scope = Scope::new("test");
    build(&app, Context::new(), &scope).await.unwrap();
    scope.close().await.unwrap();
    assert_eq!(
        journal.entries(),
        [
            "acquire Database",
            "acquire UserRepo",
            "release UserRepo",
            "release Database"
        ]
    );
}

#[tokio::test]
async fn a_failing_finalizer_does_not_stop_the_others() {
    let journal = Journal::default();
    let broken = Layer::named_leaf("Broken").build(|_, scope: Scope| async move {
        scope
            .add_finalizer("close Broken", || async {
                Err::<(), BoxError>("socket already gone".into())
            })
            .await;
        Ok::<_, BoxError>(Context::new())
    });
    let app = Layer::merge_all([database(&journal), broken]).provide(&config());
    let scope = Scope::new("test");
    build(&app, Context::new(), &scope).await.unwrap();
    let err = scope.close().await.unwrap_err();
    assert_eq!(
        journal.count("release Database"),
        1,
        "the healthy finalizer still ran"
    );
    assert!(err.to_string().contains("socket already gone"), "{err}");
}

#[tokio::test]
async fn siblings_build_concurrently() {
    // Each sibling waits for the other to have started: only a concurrent build completes.
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let sibling = |name: &'static str| {
        let barrier = barrier.clone();
        Layer::named_leaf(name).build(move |_, _| {
            let barrier = barrier.clone();
            async move {
                barrier.wait().await;
                Ok::<_, BoxError>(Context::new())
            }
        })
    };
    let app = Layer::merge_all([sibling("Left"), sibling("Right")]);
    let scope = Scope::new("test");
    let built =
        tokio::time::timeout(Duration::from_secs(5), build(&app, Context::new(), &scope)).await;
    assert!(built.expect("siblings built one after the other").is_ok());
}

#[tokio::test]
async fn a_missing_requirement_fails_before_anything_is_acquired() {
    let journal = Journal::default();
    // `Database` needs `Config`, which nobody provides; `UserRepo` is fine once Database exists.
    let app = Layer::merge_all([
        Layer::named_leaf("Cache").build({
            let journal = journal.clone();
            move |_, _| {
                journal.push("acquire Cache");
                async { Ok::<_, BoxError>(Context::new()) }
            }
        }),
        repo(&journal, "UserRepo", UserRepo).provide(&database(&journal)),
    ])
    .named("App");
    let scope = Scope::new("test");
    let err = build(&app, Context::new(), &scope).await.unwrap_err();
    match &*err {
        BuildError::MissingRequirements(missing) => {
            assert_eq!(missing.len(), 1);
            assert_eq!(missing[0].service, "Config");
            assert_eq!(missing[0].path, ["App", "Database"]);
        }
        other => panic!("unexpected error: {other}"),
    }
    assert_eq!(
        err.to_string(),
        "service `Config` is required by `App > Database` but no layer provides it"
    );
    assert!(
        journal.entries().is_empty(),
        "nothing was acquired: {:?}",
        journal.entries()
    );
}

#[tokio::test]
async fn a_failed_build_names_the_layer_releases_what_it_acquired_and_is_shared() {
    let journal = Journal::default();
    let attempts = Arc::new(AtomicUsize::new(0));
    let counter = attempts.clone();
    let failing = Layer::named_leaf("Migrations")
        .requires::<Database>()
        .build(move |_, _| {
            counter.fetch_add(1, Ordering::SeqCst);
            async { Err::<Context, BoxError>("table `x` already exists".into()) }
        })
        .provide(&database(&journal).provide(&config()));
    let app = Layer::merge_all([failing.clone(), failing]);
    let scope = Scope::new("test");
    let err = build(&app, Context::new(), &scope).await.unwrap_err();
    assert_eq!(err.layer(), "Migrations");
    assert_eq!(
        err.to_string(),
        "layer `Migrations` failed to build: table `x` already exists"
    );
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        1,
        "both users saw one cached failure"
    );
    scope.close().await.unwrap();
    assert_eq!(journal.count("release Database"), 1);
}

#[tokio::test]
async fn a_panicking_constructor_is_a_typed_error() {
    let app = Layer::named_leaf("Explodes").build(|_, _| async {
        if true {
            panic!("bad wiring");
        }
        Ok::<_, BoxError>(Context::new())
    });
    let err = build(&app, Context::new(), &Scope::new("test"))
        .await
        .unwrap_err();
    assert!(
        matches!(&*err, BuildError::Panicked { layer, message } if layer == "Explodes" && message == "bad wiring")
    );
}

#[tokio::test]
async fn a_constructor_must_provide_what_it_declares() {
    let app = Layer::named_leaf("Liar")
        .provides::<Database>()
        .build(|_, _| async { Ok::<_, BoxError>(Context::new()) });
    let err = build(&app, Context::new(), &Scope::new("test"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "layer `Liar` declared that it provides `Database` but did not"
    );
}

#[tokio::test]
async fn fresh_builds_again() {
    let journal = Journal::default();
    let db = database(&journal);
    let app = Layer::merge_all([
        repo(&journal, "UserRepo", UserRepo).provide(&db),
        repo(&journal, "DocRepo", DocRepo).provide(&db.fresh()),
    ])
    .provide(&config());
    let scope = Scope::new("test");
    let ctx = build(&app, Context::new(), &scope).await.unwrap();
    assert_eq!(journal.count("acquire Database"), 2);
    let users = ctx.get::<UserRepo>().unwrap();
    let docs = ctx.get::<DocRepo>().unwrap();
    assert!(!Arc::ptr_eq(&users.0, &docs.0));
    scope.close().await.unwrap();
    assert_eq!(journal.count("release Database"), 2);
}

#[tokio::test]
async fn provide_merge_keeps_the_dependencies_in_the_output() {
    let journal = Journal::default();
    let app =
        repo(&journal, "UserRepo", UserRepo).provide_merge(&database(&journal).provide(&config()));
    let ctx = build(&app, Context::new(), &Scope::new("test"))
        .await
        .unwrap();
    assert!(ctx.contains::<UserRepo>() && ctx.contains::<Database>());
    assert!(!ctx.contains::<Config>());
}

#[tokio::test]
async fn a_constructor_sees_only_what_it_declared() {
    let app = Layer::named_leaf("Sneaky")
        .build(|ctx, _| async move {
            ctx.get::<Config>()?;
            Ok::<_, BoxError>(Context::new())
        })
        .provide(&config());
    let err = build(&app, Context::new(), &Scope::new("test"))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("service `Config` is not in the context"),
        "{err}"
    );
}

#[tokio::test]
async fn graph_lists_layers_and_who_provides_what() {
    let journal = Journal::default();
    let db = database(&journal).provide(&config());
    let app = Layer::merge_all([
        repo(&journal, "UserRepo", UserRepo).provide(&db),
        repo(&journal, "DocRepo", DocRepo).provide(&db),
    ]);
    let graph = app.graph();
    let names: Vec<_> = graph.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["Config", "Database", "UserRepo", "DocRepo"]);
    let text = graph.to_text();
    assert!(
        text.contains("Database <- Database") || text.contains("Database <- "),
        "{text}"
    );
    assert!(text.contains("Config <- Config"), "{text}");
    let mermaid = graph.to_mermaid();
    assert!(mermaid.starts_with("graph TD\n"));
    assert!(mermaid.contains("L1 -->|Database| L2"), "{mermaid}");
    assert!(mermaid.contains("L1 -->|Database| L3"), "{mermaid}");
}
