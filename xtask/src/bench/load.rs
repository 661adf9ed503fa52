//! The load generator, built as `wrk -t2` is: two threads, each driving its share of the
//! keep-alive connections from one event loop (`mio`, epoll on Linux), all released at once, each
//! connection sending prepared requests (`GET`, or `POST` with a body) back to back for a fixed
//! duration and timing every one of them. An answer counts only if it is a 200 (and, where asked,
//! its body holds an expected piece: RPC errors and "no session" are 200s too).
//!
//! Closed-loop on purpose (a connection sends its next request when the previous answer is in), so
//! requests/s and latency describe the same run. Connection set-up happens before the clock starts.
//! Event loops rather than a thread per connection: at 64 connections, 64 blocking threads cost
//! the 2 shared cores a context switch per request, CPU the server under test then lacks (the
//! load generator should cost what `wrk`, the tool users measure with, costs).

use std::io::{self, Read, Write};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use super::http::Target;
use super::response;

const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Event-loop threads, as `wrk -t2`.
const THREADS: usize = 2;

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

/// Samples of one event loop's connections.
#[derive(Default)]
struct Samples {
    latencies_ns: Vec<u64>,
    errors: u64,
}

/// Runs `spec` and blocks until every connection is done.
pub fn run(spec: &LoadSpec) -> Result<LoadResult, String> {
    let threads = THREADS.min(spec.connections).max(1);
    let start_line = Barrier::new(threads + 1);
    let (started, per_thread) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|thread| {
                // Connections dealt out as evenly as they go: 64 over 2 is 32 each.
                let count =
                    spec.connections / threads + usize::from(thread < spec.connections % threads);
                let start_line = &start_line;
                scope.spawn(move || EventLoop::drive(spec, count, start_line))
            })
            .collect();
        start_line.wait();
        let started = Instant::now();
        let samples: Vec<_> = workers.into_iter().map(|w| w.join()).collect();
        (started, samples)
    });
    let elapsed = started.elapsed();
    let mut latencies_ns = Vec::new();
    let mut errors = 0;
    for samples in per_thread {
        let samples = samples.map_err(|_| "a load generator thread panicked".to_string())??;
        latencies_ns.extend(samples.latencies_ns);
        errors += samples.errors;
    }
    Ok(LoadResult::new(latencies_ns, errors, elapsed))
}

/// One keep-alive connection of an event loop.
struct Conn {
    stream: TcpStream,
    /// What has been read and not yet taken as a response.
    read: Vec<u8>,
    /// The index of the request in flight, and how much of it is written.
    request: usize,
    written: usize,
    sent: Instant,
    in_flight: bool,
}

/// One thread's connections and their poller.
struct EventLoop<'a> {
    spec: &'a LoadSpec,
    poll: Poll,
    conns: Vec<Conn>,
    samples: Samples,
    /// The decoded body of the last response (reused).
    body: Vec<u8>,
    /// No request starts after this.
    deadline: Instant,
}

impl<'a> EventLoop<'a> {
    /// Connects `count` connections, waits for the other loops, then sends until the deadline
    /// and collects the answers still in flight.
    fn drive(spec: &'a LoadSpec, count: usize, start_line: &Barrier) -> Result<Samples, String> {
        let connected = Self::connect(spec, count);
        start_line.wait();
        let mut this = connected?;
        let deadline = Instant::now() + spec.duration;
        this.deadline = deadline;
        for index in 0..this.conns.len() {
            this.send_next(index, 0)?;
        }
        let mut events = Events::with_capacity(1024);
        while this.conns.iter().any(|c| c.in_flight) {
            let now = Instant::now();
            let wait = if now < deadline {
                (deadline - now).min(IO_TIMEOUT)
            } else {
                IO_TIMEOUT
            };
            this.poll
                .poll(&mut events, Some(wait))
                .map_err(|error| format!("poll failed: {error}"))?;
            if events.is_empty() && Instant::now() < deadline {
                continue;
            }
            if events.is_empty() {
                // No answer for IO_TIMEOUT after the deadline: what is still in flight counts
                // as errors (as a blocking client's read timeout would), and the run ends.
                let unanswered = this.conns.iter().filter(|c| c.in_flight).count();
                this.samples.errors += unanswered as u64;
                break;
            }
            for event in events.iter() {
                let index = event.token().0;
                if event.is_writable() {
                    this.write(index)?;
                }
                if event.is_readable() || event.is_read_closed() {
                    this.read(index)?;
                }
            }
        }
        Ok(this.samples)
    }

    fn connect(spec: &'a LoadSpec, count: usize) -> Result<Self, String> {
        let poll = Poll::new().map_err(|error| format!("cannot create a poller: {error}"))?;
        let mut this = Self {
            spec,
            poll,
            conns: Vec::with_capacity(count),
            samples: Samples {
                latencies_ns: Vec::with_capacity(256 * 1024),
                errors: 0,
            },
            body: Vec::with_capacity(4096),
            deadline: Instant::now(),
        };
        for index in 0..count {
            let stream = this.open(index)?;
            this.conns.push(Conn {
                stream,
                read: Vec::with_capacity(16 * 1024),
                request: 0,
                written: 0,
                sent: Instant::now(),
                in_flight: false,
            });
        }
        Ok(this)
    }

    /// A connected, non-blocking stream registered under `index`.
    fn open(&self, index: usize) -> Result<TcpStream, String> {
        let opened = (|| -> io::Result<TcpStream> {
            let std = std::net::TcpStream::connect_timeout(&self.spec.target.addr, IO_TIMEOUT)?;
            std.set_nodelay(true)?;
            std.set_nonblocking(true)?;
            let mut stream = TcpStream::from_std(std);
            self.poll.registry().register(
                &mut stream,
                Token(index),
                Interest::READABLE | Interest::WRITABLE,
            )?;
            Ok(stream)
        })();
        opened.map_err(|error| format!("cannot connect to {}: {error}", self.spec.target.base_url))
    }

    /// Starts request `request` (mod the prepared ones) on connection `index`.
    fn send_next(&mut self, index: usize, request: usize) -> Result<(), String> {
        let conn = &mut self.conns[index];
        conn.request = request % self.spec.requests.len();
        conn.written = 0;
        conn.sent = Instant::now();
        conn.in_flight = true;
        self.write(index)
    }

    /// Writes what the socket takes of the request in flight.
    fn write(&mut self, index: usize) -> Result<(), String> {
        let conn = &mut self.conns[index];
        let request = &self.spec.requests[conn.request];
        while conn.in_flight && conn.written < request.len() {
            match conn.stream.write(&request[conn.written..]) {
                Ok(n) => conn.written += n,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return self.lost(index),
            }
        }
        Ok(())
    }

    /// Reads until the socket is drained, taking every complete response.
    fn read(&mut self, index: usize) -> Result<(), String> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let conn = &mut self.conns[index];
            match conn.stream.read(&mut chunk) {
                Ok(0) => {
                    return if conn.in_flight {
                        self.lost(index)
                    } else {
                        self.reopen(index)
                    }
                }
                Ok(n) => {
                    conn.read.extend_from_slice(&chunk[..n]);
                    self.take_responses(index)?;
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return self.lost(index),
            }
        }
    }

    fn take_responses(&mut self, index: usize) -> Result<(), String> {
        let conn = &mut self.conns[index];
        let parsed = match response::parse(&conn.read, &mut self.body) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return Ok(()),
            Err(error) => {
                return Err(format!(
                    "{} sent a bad response: {error}",
                    self.spec.target.base_url
                ))
            }
        };
        conn.read.drain(..parsed.consumed);
        if !conn.in_flight {
            return Err(format!(
                "{} answered a request that was not sent",
                self.spec.target.base_url
            ));
        }
        conn.in_flight = false;
        if parsed.status == 200 && self.spec.accepts(&self.body) {
            self.samples
                .latencies_ns
                .push(conn.sent.elapsed().as_nanos() as u64);
        } else {
            self.samples.errors += 1;
        }
        let next = conn.request + 1;
        if parsed.close {
            self.reopen(index)?;
        }
        if Instant::now() < self.deadline {
            self.send_next(index, next)?;
        }
        Ok(())
    }

    /// The connection failed with a request in flight: an error, then a fresh connection that
    /// carries on until the deadline.
    fn lost(&mut self, index: usize) -> Result<(), String> {
        self.samples.errors += 1;
        self.conns[index].in_flight = false;
        self.reopen(index)?;
        if Instant::now() < self.deadline {
            let next = self.conns[index].request + 1;
            self.send_next(index, next)?;
        }
        Ok(())
    }

    fn reopen(&mut self, index: usize) -> Result<(), String> {
        let stream = self
            .open(index)
            .map_err(|error| format!("lost a connection and cannot reconnect: {error}"))?;
        let conn = &mut self.conns[index];
        let _ = self.poll.registry().deregister(&mut conn.stream);
        conn.stream = stream;
        conn.read.clear();
        conn.in_flight = false;
        Ok(())
    }
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
