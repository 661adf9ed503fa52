//! What the shared files slice costs (issue 11, point 7), on the real `runtime-server serve`:
//!
//! - `files_list` (HTTP POST, JSON) for a user with 100 and one with 1000 files, seeded through
//!   the real procedures (initiate, PUT to the presigned URL, complete), in interleaved rounds
//!   with `getHealth` of the same server as the baseline, so each is a ratio that survives a
//!   noisy machine, and 1000 files against 100 shows how the cost grows tenfold;
//! - event latency: from sending `files_completeUpload` to the `Files.Uploaded` read on every
//!   one of 1, 100 and 1000 `eventStream_connect` streams of that user (one WebSocket each), on
//!   one instance (SQLite, in-process fan-out) and across two instances on PostgreSQL (uploads
//!   through A, streams on B, relayed with `LISTEN/NOTIFY`) on a throwaway PostgreSQL started
//!   like `cargo xtask test` starts one.
//!
//! Results go to the printed table and `target/bench/files.json` ([`report`]).

mod api;
mod report;
mod subscribers;

use std::time::{Duration, Instant};

use super::child::ScratchDir;
use super::http::Target;
use super::load::{self, percentile, LoadResult, LoadSpec};
use super::rounds::{self, Contender};
use super::serve::{ServeBinary, EXIT_WITHIN};
use super::stack::Series;
use super::{Progress, Settings};
use crate::postgres::{self, Availability, TempPostgres};
use api::{rpc_request, Client, Session, SUCCESS};
use subscribers::Subscribers;

pub use report::FilesReport;

/// The users whose listings are measured, by their number of files.
pub const LISTED_FILES: [usize; 2] = [100, 1000];
/// The subscriber counts of the event latency runs.
pub const SUBSCRIBERS: [usize; 3] = [1, 100, 1000];
/// Threads that seed the files (each with its own connection).
const SEED_THREADS: usize = 4;
/// How long every stream may take to see one event before the run fails.
const EVENT_WITHIN: Duration = Duration::from_secs(15);
/// One secret for both instances: sessions and upload descriptors must verify on either.
const SHARED_SECRET: &str = "xtask-bench-files-secret-0123456789abcdef";

/// The listing of one seeded user.
#[derive(Debug, Clone)]
pub struct Listing {
    pub files: usize,
    pub series: Series,
}

/// Event latency with one number of subscribers on one setup.
#[derive(Debug, Clone)]
pub struct EventRun {
    pub setup: &'static str,
    pub subscribers: usize,
    pub uploads: usize,
    /// Every (upload, subscriber) latency, sorted, nanoseconds.
    pub latencies_ns: Vec<u64>,
    /// `files_completeUpload` answered, sorted, nanoseconds.
    pub complete_ns: Vec<u64>,
    /// Per upload, first to last subscriber's arrival, sorted, nanoseconds.
    pub spread_ns: Vec<u64>,
}

impl EventRun {
    pub fn ms(sorted: &[u64], p: f64) -> f64 {
        percentile(sorted, p) as f64 / 1e6
    }
}

/// Measures listings and event latency; see the module comment.
pub fn measure(
    serve: &ServeBinary,
    settings: &Settings,
    progress: &Progress,
) -> Result<FilesReport, String> {
    let data = ScratchDir::create("files")?;
    let env = [("IAM_RATE_LIMIT_ENABLED", "false")];
    let (server, target, _) = serve.launch_with(&data.0, "files", &env)?;
    progress.say(&format!(
        "files: runtime-server serve on SQLite at {} (pid {})",
        target.base_url,
        server.pid()
    ));
    let started = Instant::now();
    let owners = LISTED_FILES
        .iter()
        .map(|&files| seed(&target, files))
        .collect::<Result<Vec<_>, _>>()?;
    let seeded: usize = LISTED_FILES.iter().sum();
    let seed_rate = seeded as f64 / started.elapsed().as_secs_f64();
    progress.say(&format!(
        "files: seeded {seeded} files through initiate + PUT + complete ({seed_rate:.0} uploads/s, \
         {SEED_THREADS} threads)"
    ));
    let (baseline, listings) = measure_listings(&target, &owners, settings, progress)?;
    let mut events = Vec::new();
    for &count in &SUBSCRIBERS {
        events.push(measure_events(
            "one instance, SQLite",
            (&target, &target),
            count,
            settings,
            progress,
        )?);
    }
    server.terminate(EXIT_WITHIN)?;
    let postgres_skipped = match postgres::detect().map_err(|e| e.message)? {
        Availability::Ready(setup) => {
            events.extend(two_instances(setup, serve, settings, progress)?);
            None
        }
        Availability::Unavailable(reason) => {
            progress.say(&format!("files: two instances skipped: {reason}"));
            Some(reason)
        }
    };
    Ok(FilesReport {
        connections: settings.connections,
        rounds: settings.rounds,
        duration: settings.duration,
        seed_uploads_per_sec: seed_rate,
        baseline,
        listings,
        events,
        postgres_skipped,
    })
}

/// A throwaway PostgreSQL, instances A and B on it, and every subscriber count with uploads
/// through A and streams on B.
fn two_instances(
    setup: postgres::Setup,
    serve: &ServeBinary,
    settings: &Settings,
    progress: &Progress,
) -> Result<Vec<EventRun>, String> {
    let database = TempPostgres::start(setup).map_err(|e| e.message)?;
    let url = database.url();
    let objects = ScratchDir::create("files-objects")?;
    let objects_dir = objects.0.to_string_lossy().into_owned();
    let env = [
        ("IAM_RATE_LIMIT_ENABLED", "false"),
        ("DATABASE_URL", url.as_str()),
        ("BETTER_AUTH_SECRET", SHARED_SECRET),
        ("UPLOAD_SIGNING_SECRET", SHARED_SECRET),
        ("OBJECT_STORE_LOCAL_DIR", objects_dir.as_str()),
    ];
    let (data_a, data_b) = (
        ScratchDir::create("files-a")?,
        ScratchDir::create("files-b")?,
    );
    let (a, target_a, _) = serve.launch_with(&data_a.0, "files-a", &env)?;
    let (b, target_b, _) = serve.launch_with(&data_b.0, "files-b", &env)?;
    progress.say(&format!(
        "files: two instances on {}: A {} (pid {}), B {} (pid {})",
        database.describe(),
        target_a.base_url,
        a.pid(),
        target_b.base_url,
        b.pid()
    ));
    let mut runs = Vec::new();
    for &count in &SUBSCRIBERS {
        runs.push(measure_events(
            "two instances, PostgreSQL",
            (&target_a, &target_b),
            count,
            settings,
            progress,
        )?);
    }
    a.terminate(EXIT_WITHIN)?;
    b.terminate(EXIT_WITHIN)?;
    Ok(runs)
}

/// Signs up a user and gives them `files` files, uploaded by [`SEED_THREADS`] threads.
fn seed(target: &Target, files: usize) -> Result<Session, String> {
    let session = Client::open(target)?.sign_up(&format!("bench-files-{files}@example.com"))?;
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..SEED_THREADS)
            .map(|worker| {
                let session = &session;
                scope.spawn(move || -> Result<(), String> {
                    let mut client = Client::open(target)?;
                    for n in (worker..files).step_by(SEED_THREADS) {
                        let name = format!("file-{n:04}.txt");
                        client.upload(session, &name, name.as_bytes())?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|worker| worker.join().map_err(|_| "a seeding thread panicked")?)
    })?;
    Ok(session)
}

/// `files_list` of `session` as one HTTP/JSON call.
fn list_request(target: &Target, session: &Session) -> Vec<u8> {
    rpc_request(target, session, "files_list", None)
}

/// `getHealth` as one HTTP/JSON call (public: no cookie).
fn health_request(target: &Target) -> Vec<u8> {
    let body = r#"{"_tag":"Request","id":"1","tag":"getHealth","headers":[]}"#;
    target.request(
        "POST",
        api::RPC_PATH,
        &[],
        Some(("application/json", body.as_bytes())),
    )
}

fn run_load(
    target: &Target,
    request: Vec<u8>,
    settings: &Settings,
    duration: Duration,
) -> Result<LoadResult, String> {
    load::run(&LoadSpec {
        target: target.clone(),
        requests: vec![request],
        expect_body: Some(SUCCESS.as_bytes().to_vec()),
        connections: settings.connections,
        duration,
    })
}

/// Checks each listing holds exactly its owner's files, then measures `getHealth` and every
/// listing in interleaved rounds.
fn measure_listings(
    target: &Target,
    owners: &[Session],
    settings: &Settings,
    progress: &Progress,
) -> Result<(Series, Vec<Listing>), String> {
    let mut client = Client::open(target)?;
    for (session, files) in owners.iter().zip(LISTED_FILES) {
        let listing = client.call_raw(&list_request(target, session), "files_list")?;
        let listed = listing.matches("\"uploadedByUserId\":").count();
        if listed != files {
            return Err(format!(
                "bench: files_list of {} listed {listed} files, expected {files}",
                session.email
            ));
        }
    }
    progress.say(&format!(
        "files: files_list lists {:?} files; {} connections, {} rounds x {} s each, baseline getHealth",
        LISTED_FILES,
        settings.connections,
        settings.rounds,
        settings.duration.as_secs()
    ));
    let mut contenders = vec![Contender::new("getHealth", |duration| {
        run_load(target, health_request(target), settings, duration)
    })];
    for (session, files) in owners.iter().zip(LISTED_FILES) {
        contenders.push(Contender::new(
            format!("files_list ({files} files)"),
            move |duration| run_load(target, list_request(target, session), settings, duration),
        ));
    }
    let mut series = rounds::measure("files", &contenders, settings, progress)?.into_iter();
    let baseline = series.next().unwrap_or_default();
    let listings = LISTED_FILES
        .iter()
        .zip(series)
        .map(|(&files, series)| Listing { files, series })
        .collect();
    Ok((baseline, listings))
}

/// Uploads timed per run: enough for a p99 over subscribers x uploads.
fn uploads_per_run(settings: &Settings) -> usize {
    if settings.quick {
        10
    } else {
        30
    }
}

/// `count` streams of a fresh user on `streams`, then uploads through `uploads`, each timed
/// from sending `files_completeUpload` to its event on every stream.
fn measure_events(
    setup: &'static str,
    (uploads, streams): (&Target, &Target),
    count: usize,
    settings: &Settings,
    progress: &Progress,
) -> Result<EventRun, String> {
    let mut client = Client::open(uploads)?;
    let tag = if uploads.addr == streams.addr {
        "one"
    } else {
        "two"
    };
    let session = client.sign_up(&format!("bench-events-{tag}-{count}@example.com"))?;
    let subscribers = Subscribers::connect(streams, &session.cookie, count)?;
    // The subscriptions start once the server has handled the Requests: a first event that
    // reaches every stream proves they all listen.
    let mut ready = false;
    for attempt in 0..5 {
        let key = client.prepare_upload(&session, &format!("warm-{attempt}.txt"), b"warm")?;
        let (id, _) = client.complete_upload(&session, &key)?;
        if subscribers.wait_for(&id, Duration::from_secs(3)).is_ok() {
            ready = true;
            break;
        }
    }
    if !ready {
        return Err(format!(
            "bench: {count} event streams on {} never all received a first event",
            streams.base_url
        ));
    }
    let mut run = EventRun {
        setup,
        subscribers: count,
        uploads: uploads_per_run(settings),
        latencies_ns: Vec::with_capacity(count * uploads_per_run(settings)),
        complete_ns: Vec::new(),
        spread_ns: Vec::new(),
    };
    for n in 0..run.uploads {
        let key = client.prepare_upload(&session, &format!("event-{n}.txt"), b"event")?;
        let sent = Instant::now();
        let (id, took) = client.complete_upload(&session, &key)?;
        let arrivals = subscribers.wait_for(&id, EVENT_WITHIN)?;
        run.complete_ns.push(took.as_nanos() as u64);
        let first = arrivals.iter().min().copied().unwrap_or(sent);
        let last = arrivals.iter().max().copied().unwrap_or(sent);
        run.spread_ns.push((last - first).as_nanos() as u64);
        run.latencies_ns.extend(
            arrivals
                .iter()
                .map(|at| at.saturating_duration_since(sent).as_nanos() as u64),
        );
    }
    // Ends the streams (and their threads) before the next run opens others.
    drop(subscribers);
    for samples in [
        &mut run.latencies_ns,
        &mut run.complete_ns,
        &mut run.spread_ns,
    ] {
        samples.sort_unstable();
    }
    progress.say(&format!(
        "files: events, {setup}, {count} subscribers, {} uploads: p50 {:.1} ms, p99 {:.1} ms \
         (completeUpload p50 {:.1} ms, first-to-last subscriber p50 {:.1} ms)",
        run.uploads,
        EventRun::ms(&run.latencies_ns, 50.0),
        EventRun::ms(&run.latencies_ns, 99.0),
        EventRun::ms(&run.complete_ns, 50.0),
        EventRun::ms(&run.spread_ns, 50.0),
    ));
    Ok(run)
}
