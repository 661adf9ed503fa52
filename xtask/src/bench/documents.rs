//! `cargo xtask bench documents` (issue 12, point 6): what full-text search and the document
//! procedures cost on the real `runtime-server serve`, on SQLite and on PostgreSQL.
//!
//! For each backend: a fresh database, a real sign-up, then documents of about 2 KB of generated
//! text (a vocabulary of 20,000 words drawn with a Zipf distribution, as natural text is) created
//! through `Document.create` up to each corpus size (10k, then 100k). At each size,
//! `Document.search` is measured per query class (a common word, a mid-frequency word, a rare word,
//! a word with an exclusion), reporting p50/p99 and the growth of p50 from the first size to the
//! last: an index-backed search grows far slower than the corpus for selective queries, while a
//! common word ranks every row it matches. At the last size `Document.get` and `Document.update`
//! calls/s are measured in interleaved rounds with the shared group's `getHealth` as the baseline
//! of the same server, and reported as ratios.
//!
//! PostgreSQL runs when `BENCH_POSTGRES_URL` (or `TEST_POSTGRES_URL`) names a server where a
//! database may be created (with `psql`); it is dropped afterwards. After each seeding step the
//! bench runs `ANALYZE` there, as autovacuum would shortly after a bulk load. Results go to stdout and to
//! `target/bench/documents.json`. Flags: `--quick` (1k and 10k documents, shorter rounds),
//! `--sizes N,M`, `--connections N`, `--duration-secs N`, `--rounds N`.

mod client;
mod corpus;
mod report;

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use super::child::ScratchDir;
use super::load::{self, LoadSpec};
use super::rounds::{self, Contender};
use super::serve::{ServeBinary, EXIT_WITHIN};
use super::stack::Series;
use super::{Progress, Settings};
use crate::error::{Error, Result};
use crate::process;
use client::{rpc, seed, sign_up};
use corpus::{query_classes, Corpus};
use report::{json, table};

const DOCUMENTS_RPC: &str = "/v1/documents/rpc";
const SHARED_RPC: &str = "/v1/shared/rpc";
/// What a successful call's Exit starts with (unary and stream alike).
const SUCCESS: &[u8] = br#""exit":{"_tag":"Success""#;
/// Documents the get/update rounds cycle through.
const HOT_DOCUMENTS: usize = 64;

/// How much to measure.
pub struct Plan {
    pub sizes: Vec<usize>,
    pub settings: Settings,
}

impl Plan {
    fn parse(args: &[String]) -> Result<Self> {
        let quick = args.iter().any(|a| a == "--quick");
        let mut sizes = if quick {
            vec![1_000, 10_000]
        } else {
            vec![10_000, 100_000]
        };
        let mut rest = Vec::new();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            if arg == "--sizes" {
                sizes = args
                    .next()
                    .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
                    .filter(|s: &Vec<usize>| !s.is_empty() && s.windows(2).all(|w| w[0] < w[1]))
                    .ok_or_else(|| {
                        Error::usage("`--sizes` needs increasing counts, e.g. 10000,100000")
                    })?;
            } else {
                rest.push(arg.clone());
            }
        }
        let mut settings = Settings::parse(&rest)?;
        if !rest.iter().any(|a| a == "--connections") {
            settings.connections = 4;
        }
        Ok(Self { sizes, settings })
    }
}

/// `bench documents [flags]` (the first argument is `documents`).
pub fn run(args: &[String]) -> Result<ExitCode> {
    let plan = Plan::parse(&args[1..])?;
    let progress = Progress {
        started: Instant::now(),
    };
    if cfg!(debug_assertions) {
        return super::run_optimized(args, &progress);
    }
    let mut cargo = process::cargo();
    cargo.args([
        "build",
        "--release",
        "-p",
        "runtime-server",
        "--bin",
        "runtime-server",
    ]);
    super::cargo_build(cargo, "the server", &progress)?;
    let release = super::target_dir().join("release");
    let out_dir = super::target_dir().join("bench");
    let logs = out_dir.join("logs");
    let serve = ServeBinary {
        program: &release.join("runtime-server"),
        logs: &logs,
    };
    let mut backends =
        vec![measure_backend("sqlite", &serve, &[], &plan, &progress).map_err(Error::new)?];
    match postgres_admin_url() {
        Some(admin) => {
            let database = TempDatabase::create(&admin).map_err(Error::new)?;
            let env = [("DATABASE_URL", database.url.as_str())];
            backends.push(
                measure_backend("postgres", &serve, &env, &plan, &progress).map_err(Error::new)?,
            );
        }
        None => progress.say("postgres: skipped (set BENCH_POSTGRES_URL or TEST_POSTGRES_URL)"),
    }
    println!("\n{}", table(&backends, &plan));
    let path = out_dir.join("documents.json");
    std::fs::write(&path, json(&backends, &plan).render())
        .map_err(|e| Error::new(format!("bench: cannot write {}: {e}", path.display())))?;
    progress.say(&format!("wrote {}", path.display()));
    Ok(ExitCode::SUCCESS)
}

fn postgres_admin_url() -> Option<String> {
    ["BENCH_POSTGRES_URL", "TEST_POSTGRES_URL"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
}

/// A database created for the run on the given server, dropped when done.
struct TempDatabase {
    admin: String,
    name: String,
    url: String,
}

impl TempDatabase {
    fn create(admin: &str) -> std::result::Result<Self, String> {
        let name = format!("bench_documents_{}", std::process::id());
        psql(admin, &format!("DROP DATABASE IF EXISTS {name}"))?;
        psql(admin, &format!("CREATE DATABASE {name}"))?;
        let base = admin.split('?').next().unwrap_or(admin);
        let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
        Ok(Self {
            admin: admin.to_string(),
            url: format!("{server}/{name}"),
            name,
        })
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        let _ = psql(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

fn psql(url: &str, statement: &str) -> std::result::Result<(), String> {
    let output = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qc", statement])
        .output()
        .map_err(|e| format!("bench: cannot run psql: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "bench: psql `{statement}`: {}",
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

// ---- Measuring -----------------------------------------------------------------------------------

/// One query class at one corpus size.
pub struct SearchRun {
    pub class: &'static str,
    pub size: usize,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: u64,
}

pub struct BackendReport {
    pub backend: &'static str,
    pub seed_rate: f64,
    pub searches: Vec<SearchRun>,
    pub health: Series,
    pub get: Series,
    pub update: Series,
}

fn measure_backend(
    backend: &'static str,
    serve: &ServeBinary,
    env: &[(&str, &str)],
    plan: &Plan,
    progress: &Progress,
) -> std::result::Result<BackendReport, String> {
    let data = ScratchDir::create(&format!("documents-{backend}"))?;
    let mut env = env.to_vec();
    env.push(("IAM_RATE_LIMIT_ENABLED", "false"));
    let (server, target, _) = serve.launch_with(&data.0, &format!("documents-{backend}"), &env)?;
    progress.say(&format!(
        "{backend}: runtime-server serve at {} (pid {})",
        target.base_url,
        server.pid()
    ));
    let session = sign_up(&target)?;
    let corpus = Corpus::new();
    let classes = query_classes(&corpus);
    let (mut searches, mut hot, mut seeded, mut seed_secs) = (Vec::new(), Vec::new(), 0, 0.0);
    for &size in &plan.sizes {
        let started = Instant::now();
        let ids = seed(&target, &session, &corpus, seeded, size, progress)?;
        seed_secs += started.elapsed().as_secs_f64();
        if hot.is_empty() {
            hot = ids;
        }
        seeded = size;
        // What autovacuum's analyze does minutes after a bulk load, done at once: without
        // statistics the planner takes the fresh table for a tiny one and filters every row's
        // vector instead of using the GIN index.
        if let Some((_, url)) = env.iter().find(|(name, _)| *name == "DATABASE_URL") {
            psql(url, "ANALYZE")?;
            progress.say(&format!("{backend}: ANALYZE after seeding"));
        }
        for (class, queries) in &classes {
            let requests = queries
                .iter()
                .map(|q| {
                    rpc(
                        &target,
                        &session,
                        DOCUMENTS_RPC,
                        "Document.search",
                        &format!(
                            r#"{{"organizationId":"{}","query":"{q}"}}"#,
                            session.organization
                        ),
                    )
                })
                .collect();
            let spec = LoadSpec {
                target: target.clone(),
                requests,
                expect_body: Some(SUCCESS.to_vec()),
                connections: plan.settings.connections,
                duration: plan.settings.duration * 2,
            };
            load::run(&LoadSpec {
                duration: plan.settings.warm_up,
                ..spec.clone()
            })?;
            let result = load::run(&spec)?;
            let run = SearchRun {
                class,
                size,
                rps: result.requests_per_sec(),
                p50_ms: result.percentile_ms(50.0),
                p99_ms: result.percentile_ms(99.0),
                errors: result.errors,
            };
            progress.say(&format!("{backend}: search `{class}` over {size}: p50 {:.2} ms, p99 {:.2} ms, {:.0}/s, {} errors", run.p50_ms, run.p99_ms, run.rps, run.errors));
            searches.push(run);
        }
    }
    let spec = |requests: Vec<Vec<u8>>| LoadSpec {
        target: target.clone(),
        requests,
        expect_body: Some(SUCCESS.to_vec()),
        connections: plan.settings.connections,
        duration: plan.settings.duration,
    };
    let health = spec(vec![rpc(
        &target,
        &session,
        SHARED_RPC,
        "getHealth",
        "null",
    )]);
    let get = spec(
        hot.iter()
            .map(|id| {
                rpc(
                    &target,
                    &session,
                    DOCUMENTS_RPC,
                    "Document.get",
                    &format!(r#"{{"id":"{id}"}}"#),
                )
            })
            .collect(),
    );
    let update = spec(
        hot.iter()
            .enumerate()
            .map(|(i, id)| {
                rpc(
                    &target,
                    &session,
                    DOCUMENTS_RPC,
                    "Document.update",
                    &format!(r#"{{"id":"{id}","icon":"i{i}"}}"#),
                )
            })
            .collect(),
    );
    let run = |spec: &LoadSpec, d: Duration| {
        load::run(&LoadSpec {
            duration: d,
            ..spec.clone()
        })
    };
    let contenders = [
        Contender::new("getHealth", |d| run(&health, d)),
        Contender::new("Document.get", |d| run(&get, d)),
        Contender::new("Document.update", |d| run(&update, d)),
    ];
    let mut series = rounds::measure(
        &format!("{backend} calls"),
        &contenders,
        &plan.settings,
        progress,
    )?
    .into_iter();
    server.terminate(EXIT_WITHIN)?;
    let (health, get, update) = (
        series.next().unwrap_or_default(),
        series.next().unwrap_or_default(),
        series.next().unwrap_or_default(),
    );
    Ok(BackendReport {
        backend,
        seed_rate: seeded as f64 / seed_secs.max(f64::EPSILON),
        searches,
        health,
        get,
        update,
    })
}
