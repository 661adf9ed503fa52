//! The Node peers of issue 10: runtime-server `serve` against the real JavaScript servers it
//! replaces, on the same machine, in one run, so the ratios come from rounds seconds apart:
//!
//! - get-session with a session cookie (cookie cache off, SQLite) against a real better-auth 1.7.7
//!   server with its defaults on SQLite (better-sqlite3), `xtask/peers/better-auth`;
//! - one `getHealth` per HTTP `POST` with NDJSON against the real `@effect/rpc` HTTP server on
//!   `@effect/platform-node`, `xtask/peers/effect-rpc`.
//!
//! Both peers are installed with `npm ci` from their committed lock files (reused when unchanged),
//! started in a scratch directory, checked to answer exactly what runtime-server answers, then the
//! four loads run in rotating rounds.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::auth;
use super::child::{ScratchDir, Server};
use super::http::Target;
use super::json::Json;
use super::load::{self, LoadSpec};
use super::report::{series_json, thousands, unix_time, verdict};
use super::rounds::{self, Contender};
use super::rpc::{self, Transport};
use super::stack::{paired_ratio, Series};
use super::{Progress, Settings};
use crate::{process, provision};

/// Where better-auth mounts its API by default (runtime-server: [`auth::BASE`]).
const BETTER_AUTH_BASE: &str = "/api/auth";
/// The user signed up on both auth servers (runtime-server's auth phase signed up another one).
const PEER_EMAIL: &str = "peer-bench-user@example.com";
/// What each peer prints once it listens.
const LISTENING: &str = "listening ";
/// Node starts, compiles the modules and (better-auth) migrates a fresh SQLite file.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// The goals of issue 10: our throughput over the peer's.
pub const GET_SESSION_GOAL: f64 = 20.0;
pub const NDJSON_GOAL: f64 = 10.0;

/// The peers' folders, relative to the workspace root.
const BETTER_AUTH_DIR: &str = "xtask/peers/better-auth";
const EFFECT_RPC_DIR: &str = "xtask/peers/effect-rpc";

/// Everything the peer phase measured.
#[derive(Debug, Clone)]
pub struct PeerReport {
    pub connections: usize,
    pub rounds: usize,
    pub duration: Duration,
    pub node_version: String,
    pub session_ours: Series,
    pub session_better_auth: Series,
    pub ndjson_ours: Series,
    pub ndjson_effect_rpc: Series,
}

impl PeerReport {
    /// runtime-server get-session req/s over better-auth's, paired by round.
    pub fn session_ratio(&self) -> f64 {
        paired_ratio(&self.session_ours, &self.session_better_auth)
    }

    /// runtime-server NDJSON calls/s over @effect/rpc's, paired by round.
    pub fn ndjson_ratio(&self) -> f64 {
        paired_ratio(&self.ndjson_ours, &self.ndjson_effect_rpc)
    }
}

/// Installs and starts both peers, checks them, and measures them against `ours` (a running
/// `runtime-server serve`) in rotating rounds.
pub fn measure(
    ours: &Target,
    logs: &Path,
    settings: &Settings,
    progress: &Progress,
) -> Result<PeerReport, String> {
    let node = process::find_program("node", &[])
        .ok_or("bench: the Node peers need `node` on PATH (apt-get install nodejs npm)")?;
    let node_version = node_version(&node)?;
    let root = process::workspace_root();
    for dir in [BETTER_AUTH_DIR, EFFECT_RPC_DIR] {
        provision::npm_ci("bench", &root.join(dir)).map_err(|error| error.message)?;
    }
    let data = ScratchDir::create("peers")?;
    let (better_auth_server, better_auth) =
        start_peer(&node, "better-auth", BETTER_AUTH_DIR, &data.0, logs)?;
    let (effect_server, effect_rpc) =
        start_peer(&node, "effect-rpc", EFFECT_RPC_DIR, &data.0, logs)?;
    progress.say(&format!(
        "peers: node {node_version}: better-auth at {} (pid {}), @effect/rpc at {} (pid {})",
        better_auth.base_url,
        better_auth_server.pid(),
        effect_rpc.base_url,
        effect_server.pid()
    ));

    // runtime-server's user was signed up by the auth phase: a second sign-up of the same email
    // would be refused, so ours signs up a user of its own.
    let our_cookie = auth::sign_up(ours, auth::BASE, PEER_EMAIL)?;
    let peer_cookie = auth::sign_up(&better_auth, BETTER_AUTH_BASE, PEER_EMAIL)?;
    for (target, base, cookie) in [
        (ours, auth::BASE, &our_cookie),
        (&better_auth, BETTER_AUTH_BASE, &peer_cookie),
    ] {
        auth::check_session(target, base, cookie, PEER_EMAIL)?;
    }
    let expected = format!("{}\n", rpc::exit_line(1));
    for target in [ours, &effect_rpc] {
        let got = rpc::http_call(target, Transport::HttpNdjson)?;
        if got != expected {
            return Err(format!(
                "bench: {} over HTTP NDJSON at {} answered `{}`, expected `{}`",
                rpc::PROCEDURE,
                target.base_url,
                got.escape_debug(),
                expected.escape_debug()
            ));
        }
    }
    progress.say(&format!(
        "peers: both signed a user up and answer get-session alike; both answer {} alike; \
         {} connections, {} rounds x {} s each",
        rpc::PROCEDURE,
        settings.connections,
        settings.rounds,
        settings.duration.as_secs()
    ));

    let connections = settings.connections;
    let session = |target: &Target, base: &str, cookie: &str| {
        auth::get_session_spec(target, base, cookie, PEER_EMAIL, connections)
    };
    let ndjson = |target: &Target| LoadSpec {
        target: target.clone(),
        requests: vec![rpc::post(target, Transport::HttpNdjson)],
        expect_body: Some(rpc::SUCCESS.as_bytes().to_vec()),
        connections,
        duration: Duration::ZERO,
    };
    let specs = [
        (
            "get-session runtime-server",
            session(ours, auth::BASE, &our_cookie),
        ),
        (
            "get-session better-auth",
            session(&better_auth, BETTER_AUTH_BASE, &peer_cookie),
        ),
        ("NDJSON getHealth runtime-server", ndjson(ours)),
        ("NDJSON getHealth @effect/rpc", ndjson(&effect_rpc)),
    ];
    let contenders: Vec<_> = specs
        .iter()
        .map(|(name, spec)| {
            Contender::new(*name, move |duration| {
                load::run(&LoadSpec {
                    duration,
                    ..spec.clone()
                })
            })
        })
        .collect();
    let mut series = rounds::measure("peers", &contenders, settings, progress)?.into_iter();
    let mut next = || series.next().unwrap_or_default();
    let report = PeerReport {
        connections,
        rounds: settings.rounds,
        duration: settings.duration,
        node_version,
        session_ours: next(),
        session_better_auth: next(),
        ndjson_ours: next(),
        ndjson_effect_rpc: next(),
    };
    better_auth_server.terminate(Duration::from_secs(10))?;
    effect_server.terminate(Duration::from_secs(10))?;
    Ok(report)
}

fn node_version(node: &Path) -> Result<String, String> {
    let output = Command::new(node)
        .arg("--version")
        .output()
        .map_err(|error| format!("bench: cannot run {}: {error}", node.display()))?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Starts `node <dir>/server.mjs` in `data_dir` with a clean environment (no `NODE_ENV`: the
/// peers run with their development defaults, as runtime-server's bench does) and waits for its
/// address.
fn start_peer(
    node: &Path,
    name: &str,
    dir: &str,
    data_dir: &Path,
    logs: &Path,
) -> Result<(Server, Target), String> {
    let mut command = Command::new(node);
    command
        .arg(process::workspace_root().join(dir).join("server.mjs"))
        .current_dir(data_dir)
        .env_clear();
    for variable in ["PATH", "HOME", "TMPDIR"] {
        if let Some(value) = std::env::var_os(variable) {
            command.env(variable, value);
        }
    }
    let mut server = Server::spawn(name, command, &logs.join(format!("{name}.log")))?;
    let url = server.expect_line(LISTENING, READY_TIMEOUT)?;
    let target = Target::parse(&url).map_err(|error| format!("bench: {name}: {error}"))?;
    Ok((server, target))
}

impl PeerReport {
    fn rows(&self) -> [(&'static str, &Series); 4] {
        [
            ("get-session runtime-server", &self.session_ours),
            ("get-session better-auth", &self.session_better_auth),
            ("NDJSON getHealth runtime-server", &self.ndjson_ours),
            ("NDJSON getHealth @effect/rpc", &self.ndjson_effect_rpc),
        ]
    }

    /// The human-readable table.
    pub fn table(&self) -> String {
        let mut out = format!(
            "Node peers (node {}): runtime-server serve vs better-auth 1.7.7 (SQLite) and \
             @effect/rpc (NDJSON over HTTP POST)\n\
             ({} connections, {} rounds x {} s each, rotating; medians over rounds)\n\
             {:<34} {:>10} {:>10} {:>8} {:>8} {:>7}\n",
            self.node_version,
            self.connections,
            self.rounds,
            self.duration.as_secs(),
            "load",
            "req/s",
            "best",
            "p50 ms",
            "p99 ms",
            "errors"
        );
        for (name, series) in self.rows() {
            out += &format!(
                "{:<34} {:>10} {:>10} {:>8.3} {:>8.3} {:>7}\n",
                name,
                thousands(series.median_rps()),
                thousands(series.best_rps()),
                series.median_p50_ms(),
                series.median_p99_ms(),
                series.errors()
            );
        }
        out += &format!(
            "get-session runtime-server / better-auth: {:.1}x (paired rounds), goal >= {:.0}x: {}\n\
             NDJSON getHealth runtime-server / @effect/rpc: {:.1}x (paired rounds), goal >= {:.0}x: {}\n",
            self.session_ratio(),
            GET_SESSION_GOAL,
            verdict(self.session_ratio() >= GET_SESSION_GOAL),
            self.ndjson_ratio(),
            NDJSON_GOAL,
            verdict(self.ndjson_ratio() >= NDJSON_GOAL)
        );
        out
    }

    /// The document written to `target/bench/peers.json`.
    pub fn json(&self, nproc: usize, quick: bool) -> Json {
        let loads = self.rows().map(|(name, series)| {
            Json::obj([("name", Json::str(name)), ("requests", series_json(series))])
        });
        Json::obj([
            ("benchmark", Json::str("peers")),
            ("unix_time", Json::Int(unix_time())),
            (
                "machine",
                Json::obj([
                    ("nproc", Json::Int(nproc as u64)),
                    ("node", Json::str(self.node_version.clone())),
                ]),
            ),
            (
                "settings",
                Json::obj([
                    ("connections", Json::Int(self.connections as u64)),
                    ("round_duration_secs", Json::Int(self.duration.as_secs())),
                    ("rounds", Json::Int(self.rounds as u64)),
                    ("quick", Json::Bool(quick)),
                ]),
            ),
            ("loads", Json::Arr(loads.into_iter().collect())),
            (
                "get_session_over_better_auth_paired_median",
                Json::num(self.session_ratio()),
            ),
            ("get_session_goal", Json::num(GET_SESSION_GOAL)),
            (
                "ndjson_over_effect_rpc_paired_median",
                Json::num(self.ndjson_ratio()),
            ),
            ("ndjson_goal", Json::num(NDJSON_GOAL)),
        ])
    }
}
