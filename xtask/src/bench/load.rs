//! The load generator: one thread per keep-alive connection, all released at once, each sending
//! prepared requests (`GET`, or `POST` with a body) back to back for a fixed duration and timing
//! every one of them. An answer counts only if it is a 200 (and, where asked, its body holds an
//! expected piece: RPC errors and "no session" are 200s too).
//!
//! Closed-loop on purpose (a connection sends its next request when the previous answer is in), so
//! requests/s and latency describe the same run. Connection set-up happens before the clock starts.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use super::http::{Connection, Target};

const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// What to drive at a target.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub target: Target,
    /// Each connection cycles through these prepared requests (one is the usual case); see
    /// [`Target::request`].
    pub requests: Vec<Vec<u8>>,
    /// When set, a 200 whose body does not contain these bytes counts as an error.
    pub expect_body: Option<Vec<u8>>,
    pub connections: usize,
    pub duration: Duration,
}

impl LoadSpec {
    /// `GET` requests cycling through `paths`, any 200 counts.
    pub fn get(target: &Target, paths: &[&str], connections: usize, duration: Duration) -> Self {
        Self {
            requests: paths.iter().map(|path| target.get_request(path)).collect(),
            target: target.clone(),
            expect_body: None,
            connections,
            duration,
        }
    }

    fn accepts(&self, body: &[u8]) -> bool {
        self.expect_body.as_deref().is_none_or(|expected| {
            expected.is_empty() || body.windows(expected.len()).any(|w| w == expected)
        })
    }
}

/// What one load run measured.
#[derive(Debug, Clone)]
pub struct LoadResult {
    /// Requests answered with 200.
    pub ok: u64,
    /// Requests answered with another status, or lost to a connection error.
    pub errors: u64,
    pub elapsed: Duration,
    /// Latency of every 200 answer, in nanoseconds, sorted.
    latencies_ns: Vec<u64>,
}

impl LoadResult {
    /// A result from every good answer's latency (any order) and the count of bad ones.
    pub fn new(mut latencies_ns: Vec<u64>, errors: u64, elapsed: Duration) -> Self {
        latencies_ns.sort_unstable();
        Self {
            ok: latencies_ns.len() as u64,
            errors,
            elapsed,
            latencies_ns,
        }
    }

    pub fn requests_per_sec(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// The `p`-th percentile (0..=100) latency in milliseconds, nearest rank; 0 without samples.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        percentile(&self.latencies_ns, p) as f64 / 1e6
    }
}

/// The nearest-rank percentile of sorted `values`.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Samples of one connection's thread.
#[derive(Default)]
struct ConnectionSamples {
    latencies_ns: Vec<u64>,
    errors: u64,
}

/// Runs `spec` and blocks until every connection is done.
pub fn run(spec: &LoadSpec) -> Result<LoadResult, String> {
    let start_line = Barrier::new(spec.connections + 1);
    let (started, per_connection) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..spec.connections)
            .map(|_| scope.spawn(|| drive(spec, &start_line)))
            .collect();
        start_line.wait();
        let started = Instant::now();
        let samples: Vec<_> = workers.into_iter().map(|w| w.join()).collect();
        (started, samples)
    });
    let elapsed = started.elapsed();
    let mut latencies_ns = Vec::new();
    let mut errors = 0;
    for samples in per_connection {
        let samples = samples.map_err(|_| "a load generator thread panicked".to_string())??;
        latencies_ns.extend(samples.latencies_ns);
        errors += samples.errors;
    }
    Ok(LoadResult::new(latencies_ns, errors, elapsed))
}

/// One connection's loop: connect, wait for the others, send until the deadline.
fn drive(spec: &LoadSpec, start_line: &Barrier) -> Result<ConnectionSamples, String> {
    let connected = Connection::open(&spec.target, IO_TIMEOUT);
    start_line.wait();
    let mut connection = connected
        .map_err(|error| format!("cannot connect to {}: {error}", spec.target.base_url))?;
    let deadline = Instant::now() + spec.duration;
    let mut samples = ConnectionSamples {
        latencies_ns: Vec::with_capacity(64 * 1024),
        errors: 0,
    };
    for request in spec.requests.iter().cycle() {
        let sent = Instant::now();
        if sent >= deadline {
            break;
        }
        match connection.send(request) {
            Ok(200) if spec.accepts(connection.body()) => {
                samples.latencies_ns.push(sent.elapsed().as_nanos() as u64)
            }
            Ok(_) => samples.errors += 1,
            Err(_) => {
                samples.errors += 1;
                connection = reconnect(spec)?;
                continue;
            }
        }
        if connection.is_closed() {
            connection = reconnect(spec)?;
        }
    }
    Ok(samples)
}

fn reconnect(spec: &LoadSpec) -> Result<Connection, String> {
    Connection::open(&spec.target, IO_TIMEOUT).map_err(|error| {
        format!(
            "lost the connection to {} and cannot reconnect: {error}",
            spec.target.base_url
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expected_body_must_be_contained() {
        let target = Target::parse("http://127.0.0.1:1").expect("target");
        let mut spec = LoadSpec::get(&target, &["/"], 1, Duration::from_secs(1));
        assert!(spec.accepts(b"null"));
        spec.expect_body = Some(b"\"session\":".to_vec());
        assert!(spec.accepts(br#"{"session":{},"user":{}}"#));
        assert!(!spec.accepts(b"null"));
        assert!(!spec.accepts(b""));
    }

    #[test]
    fn results_sort_their_latencies() {
        let result = LoadResult::new(
            vec![3_000_000, 1_000_000, 2_000_000],
            1,
            Duration::from_secs(1),
        );
        assert_eq!(result.ok, 3);
        assert_eq!(result.percentile_ms(50.0), 2.0);
        assert_eq!(result.requests_per_sec(), 3.0);
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50.0), 50);
        assert_eq!(percentile(&values, 99.0), 99);
        assert_eq!(percentile(&values, 100.0), 100);
        assert_eq!(percentile(&values, 0.0), 1);
        assert_eq!(percentile(&[], 50.0), 0);
        assert_eq!(percentile(&[7], 99.0), 7);
    }
}
