//! What the auth API costs (issue 5), on the real `runtime-server serve`: one user is signed up
//! through `/api/v1/auth`, then
//!
//! - `GET /api/v1/auth/get-session` with its session cookie is loaded in interleaved rounds with
//!   `GET /v1/health` of the same server (the ratio survives a noisy machine);
//! - `POST /api/v1/auth/sign-in/email` runs at low concurrency, where it is bounded by the
//!   Argon2id verification, in rounds alternating with the `password_hash_rate` example of
//!   iam-server (the same `PasswordHasher`, same parameters, same concurrency, in its own
//!   process), so sign-ins/s are reported against raw hashes/s.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::http::{Connection, Target};
use super::json::Json;
use super::load::{self, LoadSpec};
use super::report::{series_json, thousands, unix_time};
use super::rounds::{self, Contender};
use super::stack::{median, paired_ratio, Round, Series};
use super::{Progress, Settings};
use crate::process;

pub const BASE: &str = "/api/v1/auth";
pub const BASELINE: &str = "/v1/health";
const EMAIL: &str = "bench-user@example.com";
const PASSWORD: &str = "bench-password-0123";
const COOKIE: &str = "better-auth.session_token";
/// Sign-in is CPU-bound on purpose; more connections than this only queue for the hasher.
pub const SIGN_IN_CONNECTIONS: usize = 2;
/// Rounds of sign-in and of raw hashing (each a few seconds of pure hashing).
const SIGN_IN_ROUNDS: usize = 3;

/// One run of the `password_hash_rate` example.
#[derive(Debug, Clone, PartialEq)]
pub struct HashRun {
    pub hashes: u64,
    pub elapsed_secs: f64,
    pub concurrency: usize,
    /// `m=19456,t=2,p=1`, as the example reports it.
    pub params: String,
}

impl HashRun {
    pub fn per_sec(&self) -> f64 {
        self.hashes as f64 / self.elapsed_secs.max(f64::EPSILON)
    }

    /// Reads the example's `key=value` line.
    pub fn parse(line: &str) -> Result<Self, String> {
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
                .ok_or_else(|| format!("no `{name}=` in `{line}`"))
        };
        let number = |name: &str| -> Result<f64, String> {
            field(name)?
                .parse::<f64>()
                .map_err(|_| format!("`{name}` is not a number in `{line}`"))
        };
        Ok(Self {
            hashes: number("hashes")? as u64,
            elapsed_secs: number("elapsed_secs")?,
            concurrency: number("concurrency")? as usize,
            params: format!(
                "m={},t={},p={}",
                field("m_cost_kib")?,
                field("t_cost")?,
                field("p_cost")?
            ),
        })
    }
}

/// Everything the auth phase measured.
#[derive(Debug, Clone)]
pub struct AuthReport {
    pub connections: usize,
    pub rounds: usize,
    pub duration: Duration,
    pub baseline: Series,
    pub get_session: Series,
    pub sign_in_connections: usize,
    pub sign_in: Series,
    pub hashing: Vec<HashRun>,
}

/// The server to load and the hash-rate example to compare with.
pub struct AuthTargets<'a> {
    pub server: &'a Target,
    pub hash_rate: &'a Path,
}

pub fn measure(
    targets: &AuthTargets,
    settings: &Settings,
    progress: &Progress,
) -> Result<AuthReport, String> {
    let target = targets.server;
    let cookie = sign_up(target, BASE, EMAIL)?;
    check_session(target, BASE, &cookie, EMAIL)?;
    progress.say(&format!(
        "auth: signed up {EMAIL}; get-session answers with its cookie and null without; \
         {} connections, {} rounds x {} s, baseline GET {BASELINE}",
        settings.connections,
        settings.rounds,
        settings.duration.as_secs()
    ));
    let get_session = get_session_spec(target, BASE, &cookie, EMAIL, settings.connections);
    let contenders = [
        Contender::new(format!("GET {BASELINE}"), |duration| {
            load::run(&LoadSpec::get(
                target,
                &[BASELINE],
                settings.connections,
                duration,
            ))
        }),
        Contender::new("get-session", |duration| {
            load::run(&LoadSpec {
                duration,
                ..get_session.clone()
            })
        }),
    ];
    let mut series = rounds::measure("auth", &contenders, settings, progress)?.into_iter();
    let (baseline, get_session) = (
        series.next().unwrap_or_default(),
        series.next().unwrap_or_default(),
    );

    let connections = settings.connections.min(SIGN_IN_CONNECTIONS);
    let (sign_in, hashing) = measure_sign_in(targets, connections, settings, progress)?;
    Ok(AuthReport {
        connections: settings.connections,
        rounds: settings.rounds,
        duration: settings.duration,
        baseline,
        get_session,
        sign_in_connections: connections,
        sign_in,
        hashing,
    })
}

/// A JSON `POST` to `base` + `path`, from a page on the target's own origin.
fn json_post(target: &Target, base: &str, path: &str, body: &str) -> Vec<u8> {
    target.request(
        "POST",
        &format!("{base}{path}"),
        &[("Origin", &target.base_url)],
        Some(("application/json", body.as_bytes())),
    )
}

fn credentials() -> String {
    format!(r#"{{"email":"{EMAIL}","password":"{PASSWORD}"}}"#)
}

/// Signs the benchmark's user up at the auth API under `base` (as a browser on the server's own
/// origin would) and returns its `Cookie` header value. The API is runtime-server's or a real
/// better-auth's: both speak the same wire.
pub fn sign_up(target: &Target, base: &str, email: &str) -> Result<String, String> {
    let url = format!("{}{base}/sign-up/email", target.base_url);
    let body = format!(r#"{{"name":"Bench User","email":"{email}","password":"{PASSWORD}"}}"#);
    let mut connection = Connection::open(target, Duration::from_secs(10))
        .map_err(|error| format!("bench: cannot connect to {url}: {error}"))?;
    let status = connection
        .send(&json_post(target, base, "/sign-up/email", &body))
        .map_err(|error| format!("bench: POST {url}: {error}"))?;
    if status != 200 {
        return Err(format!(
            "bench: POST {url} answered {status} `{}`, expected 200",
            String::from_utf8_lossy(connection.body())
        ));
    }
    session_cookie(connection.headers("set-cookie").into_iter())
        .ok_or_else(|| format!("bench: POST {url} set no non-empty {COOKIE} cookie"))
}

/// `name=value` of the session cookie among `Set-Cookie` values.
fn session_cookie<'a>(set_cookies: impl Iterator<Item = &'a str>) -> Option<String> {
    set_cookies
        .filter_map(|header| header.split(';').next())
        .map(str::trim)
        .find(|pair| {
            pair.strip_prefix(COOKIE)
                .and_then(|rest| rest.strip_prefix('='))
                .is_some_and(|value| !value.is_empty())
        })
        .map(str::to_owned)
}

/// The bytes a get-session answer for the user `email` holds (a missing session is `null`).
fn session_marker(email: &str) -> Vec<u8> {
    format!(r#""email":"{email}""#).into_bytes()
}

/// `GET <base>/get-session` with the session cookie; only an answer naming the user counts.
pub fn get_session_spec(
    target: &Target,
    base: &str,
    cookie: &str,
    email: &str,
    connections: usize,
) -> LoadSpec {
    LoadSpec {
        target: target.clone(),
        requests: vec![target.request(
            "GET",
            &format!("{base}/get-session"),
            &[("Cookie", cookie)],
            None,
        )],
        expect_body: Some(session_marker(email)),
        connections,
        duration: Duration::ZERO,
    }
}

/// get-session finds the user with the cookie and answers `null` without: otherwise the load would
/// measure the wrong thing.
pub fn check_session(target: &Target, base: &str, cookie: &str, email: &str) -> Result<(), String> {
    let url = format!("{}{base}/get-session", target.base_url);
    let mut connection = Connection::open(target, Duration::from_secs(10))
        .map_err(|error| format!("bench: cannot connect to {url}: {error}"))?;
    for (with_cookie, request) in [
        (
            true,
            get_session_spec(target, base, cookie, email, 1)
                .requests
                .remove(0),
        ),
        (false, target.get_request(&format!("{base}/get-session"))),
    ] {
        let status = connection
            .send(&request)
            .map_err(|error| format!("bench: GET {url}: {error}"))?;
        let body = connection.body();
        let marker = session_marker(email);
        let found = body.windows(marker.len()).any(|w| w == marker.as_slice());
        let expected = if with_cookie { found } else { body == b"null" };
        if status != 200 || !expected {
            return Err(format!(
                "bench: GET {url} {} the session cookie answered {status} `{}`",
                if with_cookie { "with" } else { "without" },
                String::from_utf8_lossy(body)
            ));
        }
    }
    Ok(())
}

/// Sign-in rounds alternating with raw hashing rounds at the same concurrency.
fn measure_sign_in(
    targets: &AuthTargets,
    connections: usize,
    settings: &Settings,
    progress: &Progress,
) -> Result<(Series, Vec<HashRun>), String> {
    let spec = LoadSpec {
        target: targets.server.clone(),
        requests: vec![json_post(
            targets.server,
            BASE,
            "/sign-in/email",
            &credentials(),
        )],
        expect_body: Some(b"\"token\":\"".to_vec()),
        connections,
        duration: settings.warm_up,
    };
    let warm = load::run(&spec)?;
    if warm.ok == 0 {
        return Err(format!(
            "bench: POST {}{BASE}/sign-in/email did not sign {EMAIL} in ({} errors)",
            targets.server.base_url, warm.errors
        ));
    }
    let rounds = settings.rounds.min(SIGN_IN_ROUNDS);
    let secs = settings.duration.as_secs().max(1);
    progress.say(&format!(
        "auth: sign-in at {connections} connections vs password_hash_rate at concurrency \
         {connections}, {rounds} rounds x {secs} s each"
    ));
    let mut sign_in = Series::default();
    let mut hashing = Vec::new();
    for round in 0..rounds {
        for hash_first in [round % 2 == 1, round % 2 == 0] {
            if hash_first {
                let run = hash_rate(targets.hash_rate, secs, connections)?;
                progress.say(&format!(
                    "auth: Argon2id ({}) in-process round {}/{rounds}: {:.1} hashes/s",
                    run.params,
                    round + 1,
                    run.per_sec()
                ));
                hashing.push(run);
            } else {
                let result = Round::from(&load::run(&LoadSpec {
                    duration: Duration::from_secs(secs),
                    ..spec.clone()
                })?);
                progress.say(&format!(
                    "auth: sign-in round {}/{rounds}: {:.1}/s, p50 {:.1} ms, p99 {:.1} ms, {} errors",
                    round + 1,
                    result.rps,
                    result.p50_ms,
                    result.p99_ms,
                    result.errors
                ));
                sign_in.rounds.push(result);
            }
        }
    }
    Ok((sign_in, hashing))
}

/// Runs the example for `secs` seconds at `concurrency`.
fn hash_rate(program: &Path, secs: u64, concurrency: usize) -> Result<HashRun, String> {
    let mut command = Command::new(program);
    command.args([
        "--secs".to_owned(),
        secs.to_string(),
        "--concurrency".to_owned(),
        concurrency.to_string(),
    ]);
    let output = command.output().map_err(|error| {
        format!(
            "bench: cannot run `{}`: {error}",
            process::describe(&command)
        )
    })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "bench: `{}` failed ({}): {}",
            process::describe(&command),
            process::describe_status(output.status),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    HashRun::parse(stdout.trim()).map_err(|error| format!("bench: password_hash_rate: {error}"))
}

impl AuthReport {
    pub fn hashes_per_sec(&self) -> f64 {
        median(self.hashing.iter().map(HashRun::per_sec))
    }

    /// Median over rounds of sign-ins/s over the hashes/s measured next to it.
    pub fn sign_in_over_hashing(&self) -> f64 {
        median(
            self.sign_in
                .rounds
                .iter()
                .zip(&self.hashing)
                .map(|(sign_in, hashing)| sign_in.rps / hashing.per_sec().max(f64::EPSILON)),
        )
    }

    fn params(&self) -> String {
        self.hashing
            .first()
            .map_or_else(|| "?".to_owned(), |run| run.params.clone())
    }

    /// The human-readable table.
    pub fn table(&self) -> String {
        let mut out = format!(
            "Auth API ({BASE}) on runtime-server serve (SQLite), one signed-up user\n\
             ({} connections, {} rounds x {} s, interleaved with GET {BASELINE}; medians over rounds)\n\
             {:<30} {:>10} {:>10} {:>8} {:>8} {:>7} {:>9}\n",
            self.connections,
            self.rounds,
            self.duration.as_secs(),
            "request",
            "req/s",
            "best",
            "p50 ms",
            "p99 ms",
            "errors",
            "vs health"
        );
        for (name, series, ratio) in [
            (format!("GET {BASELINE}"), &self.baseline, None),
            (
                "GET get-session (cookie)".to_owned(),
                &self.get_session,
                Some(paired_ratio(&self.get_session, &self.baseline)),
            ),
        ] {
            out += &format!(
                "{:<30} {:>10} {:>10} {:>8.3} {:>8.3} {:>7} {:>9}\n",
                name,
                thousands(series.median_rps()),
                thousands(series.best_rps()),
                series.median_p50_ms(),
                series.median_p99_ms(),
                series.errors(),
                ratio.map_or("-".to_owned(), |r| format!("{:.1}%", r * 100.0))
            );
        }
        out += &format!(
            "sign-in (POST sign-in/email, {} connections, {} rounds): {:.1} sign-ins/s \
             (p50 {:.1} ms, p99 {:.1} ms, {} errors)\n\
             Argon2id {} in-process, concurrency {}: {:.1} hashes/s; \
             sign-ins/s over hashes/s {:.1}% (paired rounds)\n",
            self.sign_in_connections,
            self.sign_in.rounds.len(),
            self.sign_in.median_rps(),
            self.sign_in.median_p50_ms(),
            self.sign_in.median_p99_ms(),
            self.sign_in.errors(),
            self.params(),
            self.sign_in_connections,
            self.hashes_per_sec(),
            self.sign_in_over_hashing() * 100.0
        );
        out
    }

    /// The document written to `target/bench/auth.json`.
    pub fn json(&self, nproc: usize, quick: bool) -> Json {
        let hashing = self.hashing.iter().map(|run| {
            Json::obj([
                ("hashes", Json::Int(run.hashes)),
                ("elapsed_secs", Json::num(run.elapsed_secs)),
                ("hashes_per_sec", Json::num(run.per_sec())),
            ])
        });
        Json::obj([
            ("benchmark", Json::str("auth")),
            ("unix_time", Json::Int(unix_time())),
            ("machine", Json::obj([("nproc", Json::Int(nproc as u64))])),
            (
                "settings",
                Json::obj([
                    ("connections", Json::Int(self.connections as u64)),
                    ("round_duration_secs", Json::Int(self.duration.as_secs())),
                    ("rounds", Json::Int(self.rounds as u64)),
                    ("quick", Json::Bool(quick)),
                ]),
            ),
            (
                "get_session",
                Json::obj([
                    ("route", Json::str(format!("GET {BASE}/get-session"))),
                    ("requests", series_json(&self.get_session)),
                    ("baseline_route", Json::str(format!("GET {BASELINE}"))),
                    ("baseline", series_json(&self.baseline)),
                    (
                        "over_baseline_rps_paired_median",
                        Json::num(paired_ratio(&self.get_session, &self.baseline)),
                    ),
                ]),
            ),
            (
                "sign_in",
                Json::obj([
                    ("route", Json::str(format!("POST {BASE}/sign-in/email"))),
                    ("connections", Json::Int(self.sign_in_connections as u64)),
                    ("requests", series_json(&self.sign_in)),
                ]),
            ),
            (
                "argon2id",
                Json::obj([
                    ("params", Json::str(self.params())),
                    ("concurrency", Json::Int(self.sign_in_connections as u64)),
                    ("hashes_per_sec_median", Json::num(self.hashes_per_sec())),
                    ("rounds", Json::Arr(hashing.collect())),
                ]),
            ),
            (
                "sign_in_over_hashes_paired_median",
                Json::num(self.sign_in_over_hashing()),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_rate_line_is_read_by_name() {
        let run = HashRun::parse(
            "hashes=41 elapsed_secs=3.046 concurrency=2 m_cost_kib=19456 t_cost=2 p_cost=1",
        )
        .expect("parsed");
        assert_eq!(run.hashes, 41);
        assert_eq!(run.concurrency, 2);
        assert_eq!(run.params, "m=19456,t=2,p=1");
        assert!((run.per_sec() - 41.0 / 3.046).abs() < 1e-9);
        assert!(HashRun::parse("hashes=x elapsed_secs=1").is_err());
        assert!(HashRun::parse("").is_err());
    }

    #[test]
    fn the_session_cookie_is_the_non_empty_token() {
        let headers = [
            "better-auth.dont_remember=; Max-Age=0; Path=/",
            "better-auth.session_token=abc.def%3D; Max-Age=604800; Path=/; HttpOnly",
        ];
        assert_eq!(
            session_cookie(headers.into_iter()).as_deref(),
            Some("better-auth.session_token=abc.def%3D")
        );
        let expired = ["better-auth.session_token=; Max-Age=0; Path=/"];
        assert_eq!(session_cookie(expired.into_iter()), None);
    }

    #[test]
    fn sign_in_rounds_pair_with_the_hashing_next_to_them() {
        let round = |rps| Round {
            rps,
            p50_ms: 1.0,
            p99_ms: 1.0,
            ok: 1,
            errors: 0,
        };
        let hashing = |hashes| HashRun {
            hashes,
            elapsed_secs: 1.0,
            concurrency: 2,
            params: "m=1,t=1,p=1".into(),
        };
        let report = AuthReport {
            connections: 16,
            rounds: 3,
            duration: Duration::from_secs(1),
            baseline: Series::default(),
            get_session: Series::default(),
            sign_in_connections: 2,
            sign_in: Series {
                rounds: vec![round(9.0), round(20.0), round(5.0)],
            },
            hashing: vec![hashing(10), hashing(10), hashing(10)],
        };
        assert_eq!(report.hashes_per_sec(), 10.0);
        assert_eq!(report.sign_in_over_hashing(), 0.9);
    }
}
