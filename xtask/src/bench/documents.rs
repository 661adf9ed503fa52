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
//! database may be created (with `psql`); it is dropped afterwards. Results go to stdout and to
//! `target/bench/documents.json`. Flags: `--quick` (1k and 10k documents, shorter rounds),
//! `--sizes N,M`, `--connections N`, `--duration-secs N`, `--rounds N`.

use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::child::ScratchDir;
use super::http::{Connection, Target};
use super::json::Json;
use super::load::{self, LoadSpec};
use super::rounds::{self, Contender};
use super::serve::{ServeBinary, EXIT_WITHIN};
use super::stack::{paired_ratio, Series};
use super::{Progress, Settings};
use crate::error::{Error, Result};
use crate::process;

const DOCUMENTS_RPC: &str = "/v1/documents/rpc";
const SHARED_RPC: &str = "/v1/shared/rpc";
const AUTH: &str = "/api/v1/auth";
/// What a successful call's Exit starts with (unary and stream alike).
const SUCCESS: &[u8] = br#""exit":{"_tag":"Success""#;
const VOCABULARY: usize = 20_000;
const DOCUMENT_CHARS: usize = 2_000;
const SEED_CONNECTIONS: usize = 8;
/// Documents the get/update rounds cycle through.
const HOT_DOCUMENTS: usize = 64;

/// How much to measure.
struct Plan {
    sizes: Vec<usize>,
    settings: Settings,
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

// ---- The corpus ----------------------------------------------------------------------------------

/// xorshift64*: deterministic, so every run searches the same corpus.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Words and their Zipf cumulative weights (exponent 1.07, as in English text).
struct Corpus {
    words: Vec<String>,
    cumulative: Vec<f64>,
}

impl Corpus {
    fn new() -> Self {
        const CONSONANTS: &[u8] = b"bdfgklmnprstvz";
        const VOWELS: &[u8] = b"aeiou";
        let syllable = |i: usize| {
            let c = CONSONANTS[i % CONSONANTS.len()] as char;
            let v = VOWELS[(i / CONSONANTS.len()) % VOWELS.len()] as char;
            format!("{c}{v}")
        };
        let count = CONSONANTS.len() * VOWELS.len();
        let words: Vec<String> = (0..VOCABULARY)
            .map(|i| {
                let mut word = syllable(i % count) + &syllable((i / count) % count);
                if i >= count * count {
                    word += &syllable(i / (count * count));
                }
                word + "x"
            })
            .collect();
        let mut total = 0.0;
        let cumulative = (0..VOCABULARY)
            .map(|rank| {
                total += 1.0 / ((rank + 1) as f64).powf(1.07);
                total
            })
            .collect();
        Self { words, cumulative }
    }

    fn word(&self, rng: &mut Rng) -> &str {
        let total = self.cumulative[VOCABULARY - 1];
        let x = (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * total;
        let rank = self
            .cumulative
            .partition_point(|&c| c < x)
            .min(VOCABULARY - 1);
        &self.words[rank]
    }

    /// The `Document.create` payload of document `index`: a title of 2-6 words, ~2 KB of content.
    fn document(&self, index: usize) -> String {
        let mut rng = Rng::new(index as u64 + 1);
        let title: Vec<&str> = (0..2 + rng.below(5)).map(|_| self.word(&mut rng)).collect();
        let mut content = String::with_capacity(DOCUMENT_CHARS + 64);
        let mut sentence = 0;
        while content.len() < DOCUMENT_CHARS {
            content.push_str(self.word(&mut rng));
            sentence += 1;
            content.push_str(if sentence % 12 == 0 { ". " } else { " " });
        }
        format!(
            r#"{{"title":"{}","content":"{}"}}"#,
            title.join(" "),
            content.trim_end()
        )
    }
}

/// The query classes, each a few queries of that kind (ranks in the Zipf order).
fn query_classes(corpus: &Corpus) -> Vec<(&'static str, Vec<String>)> {
    let words = |ranks: std::ops::Range<usize>, step: usize| -> Vec<String> {
        ranks
            .step_by(step)
            .map(|r| corpus.words[r].clone())
            .collect()
    };
    let common = words(3..35, 4);
    let medium = words(300..1_100, 100);
    let rare = words(8_000..16_000, 1_000);
    let excluding = medium
        .iter()
        .zip(&common)
        .map(|(m, c)| format!("{m} -{c}"))
        .collect();
    vec![
        ("common word", common),
        ("mid-frequency word", medium),
        ("rare word", rare),
        ("word -common", excluding),
    ]
}

// ---- Talking to the server -----------------------------------------------------------------------

/// A signed-up user with an active organization.
struct Session {
    bearer: String,
    organization: String,
}

fn call(
    connection: &mut Connection,
    target: &Target,
    request: &[u8],
    what: &str,
) -> std::result::Result<Vec<u8>, String> {
    let status = connection
        .send(request)
        .map_err(|e| format!("bench: {what}: {e}"))?;
    let body = connection.body().to_vec();
    if status != 200 {
        return Err(format!(
            "bench: {what} at {}: HTTP {status} {}",
            target.base_url,
            String::from_utf8_lossy(&body)
        ));
    }
    Ok(body)
}

/// The first `"id":"<prefix>…"` value in `body`.
fn first_id(body: &[u8], prefix: &str) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let start = text.find(&format!(r#""id":"{prefix}"#))? + 6;
    let end = text[start..].find('"')? + start;
    Some(text[start..end].to_string())
}

fn sign_up(target: &Target) -> std::result::Result<Session, String> {
    let mut connection =
        Connection::open(target, Duration::from_secs(10)).map_err(|e| e.to_string())?;
    let origin = [("Origin", target.base_url.as_str())];
    let body = br#"{"name":"Bench","email":"bench-documents@example.com","password":"correct horse battery staple"}"#;
    let request = target.request(
        "POST",
        &format!("{AUTH}/sign-up/email"),
        &origin,
        Some(("application/json", body)),
    );
    call(&mut connection, target, &request, "sign-up")?;
    let token = connection
        .header("set-auth-token")
        .ok_or("bench: sign-up set no bearer token")?
        .to_string();
    let bearer = format!("Bearer {token}");
    let auth = [
        ("Authorization", bearer.as_str()),
        ("Origin", target.base_url.as_str()),
    ];
    let listed = call(
        &mut connection,
        target,
        &target.request("GET", &format!("{AUTH}/organization/list"), &auth, None),
        "organization/list",
    )?;
    let organization =
        first_id(&listed, "shared_organization__").ok_or("bench: the user has no organization")?;
    let body = format!(r#"{{"organizationId":"{organization}"}}"#);
    let request = target.request(
        "POST",
        &format!("{AUTH}/organization/set-active"),
        &auth,
        Some(("application/json", body.as_bytes())),
    );
    call(&mut connection, target, &request, "organization/set-active")?;
    Ok(Session {
        bearer,
        organization,
    })
}

/// A prepared `POST` of one RPC call (HTTP, JSON serialization).
fn rpc(target: &Target, session: &Session, path: &str, tag: &str, payload: &str) -> Vec<u8> {
    let body =
        format!(r#"{{"_tag":"Request","id":"1","tag":"{tag}","payload":{payload},"headers":[]}}"#);
    target.request(
        "POST",
        path,
        &[("Authorization", &session.bearer)],
        Some(("application/json", body.as_bytes())),
    )
}

/// Creates documents `from..to` with [`SEED_CONNECTIONS`] connections; returns the first ids made.
fn seed(
    target: &Target,
    session: &Session,
    corpus: &Corpus,
    from: usize,
    to: usize,
    progress: &Progress,
) -> std::result::Result<Vec<String>, String> {
    let next = AtomicUsize::new(from);
    let ids = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..SEED_CONNECTIONS)
            .map(|_| {
                scope.spawn(|| -> std::result::Result<(), String> {
                    let mut connection = Connection::open(target, Duration::from_secs(30))
                        .map_err(|e| e.to_string())?;
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        if index >= to {
                            return Ok(());
                        }
                        let payload = corpus.document(index).replacen(
                            '{',
                            &format!(r#"{{"organizationId":"{}","#, session.organization),
                            1,
                        );
                        let body = call(
                            &mut connection,
                            target,
                            &rpc(target, session, DOCUMENTS_RPC, "Document.create", &payload),
                            "Document.create",
                        )?;
                        if !body.windows(SUCCESS.len()).any(|w| w == SUCCESS) {
                            return Err(format!(
                                "bench: Document.create failed: {}",
                                String::from_utf8_lossy(&body)
                            ));
                        }
                        let mut ids = ids.lock().unwrap_or_else(|p| p.into_inner());
                        if ids.len() < HOT_DOCUMENTS {
                            ids.extend(first_id(&body, "documents_document__"));
                        }
                        if (index + 1) % 10_000 == 0 {
                            progress.say(&format!(
                                "seed: {} documents ({:.0}/s)",
                                index + 1,
                                (index + 1 - from) as f64 / started.elapsed().as_secs_f64()
                            ));
                        }
                    }
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| {
            w.join()
                .map_err(|_| "bench: a seeding thread panicked".to_string())?
        })
    })?;
    let rate = (to - from) as f64 / started.elapsed().as_secs_f64();
    progress.say(&format!("seed: {to} documents ({rate:.0} created/s)"));
    Ok(ids.into_inner().unwrap_or_else(|p| p.into_inner()))
}

// ---- Measuring -----------------------------------------------------------------------------------

/// One query class at one corpus size.
struct SearchRun {
    class: &'static str,
    size: usize,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

struct BackendReport {
    backend: &'static str,
    seed_rate: f64,
    searches: Vec<SearchRun>,
    health: Series,
    get: Series,
    update: Series,
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

// ---- Reporting -----------------------------------------------------------------------------------

fn growth(report: &BackendReport, class: &str, plan: &Plan) -> f64 {
    let p50 = |size| {
        report
            .searches
            .iter()
            .find(|s| s.class == class && s.size == size)
            .map_or(0.0, |s| s.p50_ms)
    };
    let (first, last) = (plan.sizes[0], plan.sizes[plan.sizes.len() - 1]);
    p50(last) / p50(first).max(f64::EPSILON)
}

fn table(backends: &[BackendReport], plan: &Plan) -> String {
    let (first, last) = (plan.sizes[0], plan.sizes[plan.sizes.len() - 1]);
    let mut out = format!(
        "Documents ({} connections; corpus {first} -> {last} documents of ~2 KB; growth = p50 at {last} / p50 at {first}, corpus x{})\n\n",
        plan.settings.connections,
        last / first.max(1)
    );
    out += "| backend | query | documents | p50 ms | p99 ms | searches/s | errors |\n|---|---|---|---|---|---|---|\n";
    for b in backends {
        for s in &b.searches {
            out += &format!(
                "| {} | {} | {} | {:.2} | {:.2} | {:.0} | {} |\n",
                b.backend, s.class, s.size, s.p50_ms, s.p99_ms, s.rps, s.errors
            );
        }
    }
    out += "\n| backend | query | p50 growth |\n|---|---|---|\n";
    for b in backends {
        for (class, _) in query_classes(&Corpus::new()) {
            out += &format!(
                "| {} | {class} | x{:.2} |\n",
                b.backend,
                growth(b, class, plan)
            );
        }
    }
    out += "\n| backend | getHealth calls/s | Document.get calls/s (ratio) | Document.update calls/s (ratio) | seeded/s |\n|---|---|---|---|---|\n";
    for b in backends {
        out += &format!(
            "| {} | {:.0} | {:.0} ({:.2}) | {:.0} ({:.2}) | {:.0} |\n",
            b.backend,
            b.health.median_rps(),
            b.get.median_rps(),
            paired_ratio(&b.get, &b.health),
            b.update.median_rps(),
            paired_ratio(&b.update, &b.health),
            b.seed_rate
        );
    }
    out
}

fn json(backends: &[BackendReport], plan: &Plan) -> Json {
    let series = |s: &Series| {
        Json::obj([
            ("median_rps", Json::num(s.median_rps())),
            ("p50_ms", Json::num(s.median_p50_ms())),
            ("p99_ms", Json::num(s.median_p99_ms())),
            ("errors", Json::Int(s.errors())),
        ])
    };
    Json::obj([
        (
            "sizes",
            Json::Arr(plan.sizes.iter().map(|&s| Json::Int(s as u64)).collect()),
        ),
        ("connections", Json::Int(plan.settings.connections as u64)),
        (
            "backends",
            Json::Arr(
                backends
                    .iter()
                    .map(|b| {
                        Json::obj([
                            ("backend", Json::str(b.backend)),
                            ("seeded_per_sec", Json::num(b.seed_rate)),
                            (
                                "search",
                                Json::Arr(
                                    b.searches
                                        .iter()
                                        .map(|s| {
                                            Json::obj([
                                                ("query", Json::str(s.class)),
                                                ("documents", Json::Int(s.size as u64)),
                                                ("p50_ms", Json::num(s.p50_ms)),
                                                ("p99_ms", Json::num(s.p99_ms)),
                                                ("per_sec", Json::num(s.rps)),
                                                ("errors", Json::Int(s.errors)),
                                            ])
                                        })
                                        .collect(),
                                ),
                            ),
                            ("get_health", series(&b.health)),
                            ("document_get", series(&b.get)),
                            ("document_update", series(&b.update)),
                            (
                                "document_get_ratio",
                                Json::num(paired_ratio(&b.get, &b.health)),
                            ),
                            (
                                "document_update_ratio",
                                Json::num(paired_ratio(&b.update, &b.health)),
                            ),
                        ])
                    })
                    .collect(),
            ),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_corpus_is_deterministic_zipfian_and_about_two_kilobytes() {
        let corpus = Corpus::new();
        assert_eq!(corpus.document(7), corpus.document(7));
        let doc = corpus.document(3);
        assert!((2_000..2_200).contains(&doc.len()), "{}", doc.len());
        let mut rng = Rng::new(1);
        let common = (0..10_000)
            .filter(|_| corpus.word(&mut rng) == corpus.words[0])
            .count();
        assert!(common > 500, "{common}");
        let unique: std::collections::HashSet<_> = corpus.words.iter().collect();
        assert_eq!(unique.len(), VOCABULARY);
    }

    #[test]
    fn ids_are_read_from_replies() {
        let body = br#"[{"_tag":"Exit","exit":{"_tag":"Success","value":{"_rowId":1,"id":"documents_document__x1","title":"t"}}}]"#;
        assert_eq!(
            first_id(body, "documents_document__").as_deref(),
            Some("documents_document__x1")
        );
        assert_eq!(first_id(body, "shared_user__"), None);
    }
}
