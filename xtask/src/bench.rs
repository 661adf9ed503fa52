//! `cargo xtask bench`: what the production HTTP stack costs, measured in one run (issue 3, item 5).
//!
//! It builds the release binaries, then measures, printing a progress line per step:
//! 1. start-up of `runtime-server serve` on SQLite, launch to first healthy answer, cold and warm;
//! 2. its resident memory idle and under load, and that SIGTERM ends it with exit 0;
//! 3. requests/s and p50/p99 latency of `GET /v1/health` and a small JSON route through the full
//!    middleware stack versus the same handlers on a bare axum router in the same process
//!    (`examples/bench_target.rs`), in interleaved rounds, reported as ratios;
//! 4. RPC calls/s and p50/p99 per call of the shared group's `getHealth` on `serve` (issue 6):
//!    `POST /v1/shared/rpc` with JSON and with NDJSON, and WebSocket/NDJSON with one call and with
//!    `--in-flight` pipelined calls per connection, each against `GET /v1/health` of the same server
//!    in interleaved rounds ([`rpc`]);
//! 5. the auth API on `serve` (issue 5): get-session with a valid cookie against `GET /v1/health`,
//!    and sign-in at 2 connections against raw Argon2id hashes/s of the same parameters
//!    (iam-server's `examples/password_hash_rate.rs`) ([`auth`]);
//! 6. the shared files slice (issue 11): `files_list` with 100 and 1000 files against `getHealth`,
//!    and `files_completeUpload` -> `Files.Uploaded` latency on 1, 100 and 1000 event streams, on
//!    one instance and across two on a throwaway PostgreSQL ([`files`]; `--files-only` runs just
//!    this phase);
//! 7. the real Node servers `serve` replaces (issue 10): get-session against better-auth 1.7.7 on
//!    SQLite, and NDJSON `getHealth` per HTTP POST against `@effect/rpc`, in rotating rounds
//!    ([`peers`]). With phase 3's full/bare ratio these are the three ratios of issue 10, printed
//!    together at the end.
//!
//! Every phase runs at 64 connections unless `--connections` says otherwise (issue 10 measures at
//! 64, as `wrk -c64` does). It prints a table and writes every number to `target/bench/http.json`
//! (phases 1-3), `target/bench/rpc.json`, `target/bench/auth.json`, `target/bench/files.json` and
//! `target/bench/peers.json`. Targets are reported, not asserted. The load generator is xtask's own (std threads, keep-alive HTTP/1.1); it shares
//! the machine's cores with the server, so it runs optimized (a debug xtask re-runs itself in
//! release) and every comparison is a ratio against a baseline measured in the same run.

mod auth;
mod child;
mod documents;
mod files;
mod http;
mod json;
mod load;
mod peers;
mod report;
mod rounds;
mod rpc;
mod serve;
mod stack;
mod ws;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::process;
use child::ScratchDir;
use report::Results;
use serve::ServeBinary;

/// How hard and how long to measure.
#[derive(Debug, Clone)]
pub struct Settings {
    pub connections: usize,
    /// Length of one measured round of one stack on one route.
    pub duration: Duration,
    pub rounds: usize,
    pub warm_up: Duration,
    pub start_runs: usize,
    pub memory_load: Duration,
    /// WebSocket RPC calls each connection keeps in flight in the pipelined run.
    pub in_flight: usize,
    pub quick: bool,
    /// Measure the files phase only.
    pub files_only: bool,
    /// `--api-only`: skip start-up, memory and the stack comparison (phases 1-3), for iterating
    /// on the phases that load `serve` and the Node peers.
    pub api_only: bool,
}

impl Settings {
    fn standard() -> Self {
        Self {
            connections: 64,
            duration: Duration::from_secs(3),
            rounds: 5,
            warm_up: Duration::from_millis(500),
            start_runs: 5,
            memory_load: Duration::from_secs(6),
            in_flight: 8,
            quick: false,
            files_only: false,
            api_only: false,
        }
    }

    fn quick() -> Self {
        Self {
            duration: Duration::from_secs(1),
            rounds: 3,
            warm_up: Duration::from_millis(200),
            start_runs: 3,
            memory_load: Duration::from_secs(2),
            quick: true,
            ..Self::standard()
        }
    }

    /// `[--quick] [--duration-secs N] [--connections N] [--rounds N] [--in-flight N]`; explicit
    /// numbers win over `--quick`.
    fn parse(args: &[String]) -> Result<Self> {
        let mut settings = if args.iter().any(|a| a == "--quick") {
            Self::quick()
        } else {
            Self::standard()
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => {}
                "--files-only" => settings.files_only = true,
                "--api-only" => settings.api_only = true,
                "--duration-secs" => {
                    let secs = number(arg, args.next())?;
                    settings.duration = Duration::from_secs(secs as u64);
                    settings.memory_load = Duration::from_secs(2 * secs as u64);
                }
                "--connections" => settings.connections = number(arg, args.next())?,
                "--rounds" => settings.rounds = number(arg, args.next())?,
                "--in-flight" => settings.in_flight = number(arg, args.next())?,
                other => return Err(Error::usage(format!("`bench` does not take `{other}`"))),
            }
        }
        Ok(settings)
    }
}

/// A positive whole number following `flag`.
fn number(flag: &str, value: Option<&String>) -> Result<usize> {
    value
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| (1..=10_000).contains(n))
        .ok_or_else(|| Error::usage(format!("`{flag}` needs a whole number from 1 to 10000")))
}

/// Progress lines on stderr, each with the time since the benchmark started.
pub struct Progress {
    started: Instant,
}

impl Progress {
    pub fn say(&self, message: &str) {
        eprintln!(
            "bench [{:>6.1}s] {message}",
            self.started.elapsed().as_secs_f64()
        );
    }
}

pub fn run(args: &[String]) -> Result<ExitCode> {
    if args.first().is_some_and(|a| a == "documents") {
        return documents::run(args);
    }
    let settings = Settings::parse(args)?;
    let progress = Progress {
        started: Instant::now(),
    };
    if cfg!(debug_assertions) {
        return run_optimized(args, &progress);
    }
    let release = target_dir().join("release");
    let out_dir = target_dir().join("bench");
    build(&progress)?;
    if settings.files_only {
        return run_files_only(&release, &out_dir, &settings, &progress);
    }
    let results = measure(&release, &out_dir, settings, &progress).map_err(Error::new)?;
    println!("\n{}", results.table());
    let quick = results.settings.quick;
    for (name, json) in [
        ("http.json", results.json()),
        ("rpc.json", results.rpc.json(results.nproc, quick)),
        ("auth.json", results.auth.json(results.nproc, quick)),
        ("files.json", results.files.json(results.nproc, quick)),
        ("peers.json", results.peers.json(results.nproc, quick)),
    ] {
        let path = out_dir.join(name);
        std::fs::write(&path, json.render()).map_err(|error| {
            Error::new(format!("bench: cannot write {}: {error}", path.display()))
        })?;
        progress.say(&format!("wrote {}", path.display()));
    }
    Ok(ExitCode::SUCCESS)
}

/// `--files-only`: the files phase on its own, its table and `files.json`.
fn run_files_only(
    release: &Path,
    out_dir: &Path,
    settings: &Settings,
    progress: &Progress,
) -> Result<ExitCode> {
    let logs = out_dir.join("logs");
    let serve = ServeBinary {
        program: &release.join("runtime-server"),
        logs: &logs,
    };
    let report = files::measure(&serve, settings, progress).map_err(Error::new)?;
    println!("\n{}", report.table());
    let nproc = std::thread::available_parallelism().map_or(1, |n| n.get());
    let path = out_dir.join("files.json");
    std::fs::write(&path, report.json(nproc, settings.quick).render())
        .map_err(|error| Error::new(format!("bench: cannot write {}: {error}", path.display())))?;
    progress.say(&format!("wrote {}", path.display()));
    Ok(ExitCode::SUCCESS)
}

/// `cargo xtask` builds xtask without optimizations, and an unoptimized load generator spends
/// the CPU it shares with the server on itself (measured: 10-20% fewer requests/s against the bare
/// router on 2 cores). So a debug xtask builds itself in release and hands the run over.
fn run_optimized(args: &[String], progress: &Progress) -> Result<ExitCode> {
    let mut cargo = process::cargo();
    cargo.args(["build", "--release", "-p", "xtask", "--bin", "xtask"]);
    cargo_build(cargo, "the load generator", progress)?;
    let mut optimized = std::process::Command::new(target_dir().join("release").join("xtask"));
    optimized.arg("bench").args(args);
    process::run_in_place(optimized)
}

/// Cargo's target directory (`CARGO_TARGET_DIR`, or `target/` in the workspace).
fn target_dir() -> PathBuf {
    let root = process::workspace_root();
    std::env::var_os("CARGO_TARGET_DIR")
        .map(|dir| root.join(dir))
        .unwrap_or_else(|| root.join("target"))
}

/// Builds the release server binary, the `bench_target` example and iam-server's
/// `password_hash_rate` example. One cargo invocation on purpose: the dependencies are built
/// once, with the features the server uses (a separate `-p iam-server` build would resolve other
/// features and compile much of the tree a second time).
fn build(progress: &Progress) -> Result<()> {
    let mut cargo = process::cargo();
    cargo.args([
        "build",
        "--release",
        "-p",
        "runtime-server",
        "-p",
        "iam-server",
    ]);
    cargo.args(["--bin", "runtime-server", "--example", "bench_target"]);
    cargo.args(["--example", "password_hash_rate"]);
    cargo_build(
        cargo,
        "the server and the examples (the first release build takes a while)",
        progress,
    )
}

/// Runs a cargo build without the variables `cargo run` gave xtask (`CARGO_PKG_*`,
/// `CARGO_MANIFEST_*`, `LD_LIBRARY_PATH`): build scripts that watch the environment saw them
/// change and rebuilt ring, rustls, sqlx and everything above them, minutes of release
/// compilation each time `cargo xtask bench` followed a plain `cargo build --release`.
fn cargo_build(mut cargo: std::process::Command, what: &str, progress: &Progress) -> Result<()> {
    for (name, _) in std::env::vars_os() {
        let injected = name.to_str().is_some_and(|name| {
            name.starts_with("CARGO_PKG_")
                || name.starts_with("CARGO_MANIFEST_")
                || name == "LD_LIBRARY_PATH"
        });
        if injected {
            cargo.env_remove(&name);
        }
    }
    progress.say(&format!("building {what}: {}", process::describe(&cargo)));
    let status = cargo
        .status()
        .map_err(|error| Error::new(format!("bench: cannot run cargo: {error}")))?;
    if !status.success() {
        return Err(Error::new(format!(
            "bench: the release build failed ({}); see cargo's output above",
            process::describe_status(status)
        )));
    }
    progress.say("built");
    Ok(())
}

/// The phases, in order: start-up, memory, stack comparison, RPC, auth, Node peers, files.
fn measure(
    release: &Path,
    out_dir: &Path,
    settings: Settings,
    progress: &Progress,
) -> std::result::Result<Results, String> {
    let began = Instant::now();
    let logs = out_dir.join("logs");
    let serve = ServeBinary {
        program: &release.join("runtime-server"),
        logs: &logs,
    };
    progress.say(&format!(
        "start-up: {} cold and {} warm starts of runtime-server serve (logs in {})",
        settings.start_runs,
        settings.start_runs,
        logs.display()
    ));
    let warm = ScratchDir::create("warm")?;
    let (cold_starts, warm_starts, memory, stack) = if settings.api_only {
        progress.say("--api-only: no start-up, memory or stack phase");
        Default::default()
    } else {
        let (cold, warm_starts) = serve.measure_starts(settings.start_runs, &warm.0, progress)?;
        let memory = serve.measure_memory(&warm.0, &settings, progress)?;
        progress.say(&format!(
            "stack: {} connections, {} rounds x {} s per stack and route",
            settings.connections,
            settings.rounds,
            settings.duration.as_secs()
        ));
        let target = release.join("examples").join("bench_target");
        let stack = stack::measure(&target, &logs, &settings, progress)?;
        (cold, warm_starts, memory, stack)
    };

    // RPC and auth share one serve process on a fresh SQLite data dir. The auth API's rate limiter
    // is off in dev mode (how the bench runs it); it is switched off explicitly all the same, as
    // the sign-in loop would otherwise measure 429s if that default ever changed.
    let data = ScratchDir::create("api")?;
    let (server, api, _) =
        serve.launch_with(&data.0, "api", &[("IAM_RATE_LIMIT_ENABLED", "false")])?;
    progress.say(&format!(
        "rpc + auth: runtime-server serve at {} (pid {})",
        api.base_url,
        server.pid()
    ));
    let rpc = rpc::measure(&api, &settings, progress)?;
    let hash_rate = release.join("examples").join("password_hash_rate");
    let auth = auth::measure(
        &auth::AuthTargets {
            server: &api,
            hash_rate: &hash_rate,
        },
        &settings,
        progress,
    )?;
    let peers = peers::measure(&api, &logs, &settings, progress)?;
    server.terminate(serve::EXIT_WITHIN)?;
    let files = files::measure(&serve, &settings, progress)?;
    Ok(Results {
        nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
        settings,
        stack,
        rpc,
        auth,
        files,
        peers,
        cold: cold_starts,
        warm: warm_starts,
        memory,
        measure_secs: began.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Settings> {
        Settings::parse(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn explicit_numbers_win_over_quick() {
        assert!(parse(&["--files-only"]).unwrap().files_only);
        let settings = parse(&[
            "--connections",
            "8",
            "--quick",
            "--duration-secs",
            "2",
            "--in-flight",
            "4",
        ])
        .unwrap();
        assert!(settings.quick);
        assert_eq!(settings.connections, 8);
        assert_eq!(settings.in_flight, 4);
        assert_eq!(settings.duration, Duration::from_secs(2));
        assert_eq!(settings.rounds, Settings::quick().rounds);
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        assert_eq!(parse(&["--connections"]).unwrap_err().code, 2);
        assert_eq!(parse(&["--rounds", "0"]).unwrap_err().code, 2);
        assert_eq!(parse(&["--in-flight", "x"]).unwrap_err().code, 2);
        assert_eq!(parse(&["--fast"]).unwrap_err().code, 2);
    }
}
