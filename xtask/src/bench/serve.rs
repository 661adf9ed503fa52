//! The real binary, `runtime-server serve` on SQLite: how long it takes from launch to its first
//! healthy answer (cold, on a fresh data directory that gets the database file and migrations, and
//! warm, on an existing one), how much memory it holds idle and under load, and that SIGTERM ends it
//! with exit code 0.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::child::{server_command, Memory, ScratchDir, Server};
use super::http::{Connection, Target};
use super::load::{self, LoadSpec};
use super::stack::median;
use super::{Progress, Settings};

const LISTENING: &str = "runtime-server listening on ";
const HEALTHY_WITHIN: Duration = Duration::from_secs(10);
pub const EXIT_WITHIN: Duration = Duration::from_secs(10);
/// How long the server sits without requests before its idle memory is read.
const IDLE_SETTLE: Duration = Duration::from_secs(1);
/// The mix driven at the server while its memory under load is watched.
pub const LOAD_PATHS: [&str; 2] = ["/v1/health", "/v1/ready"];

/// One start: launch until the URL line, and launch until the first 200 on `/v1/health`.
#[derive(Debug, Clone, Copy)]
pub struct Start {
    pub listening: Duration,
    pub healthy: Duration,
}

/// Start-up samples of one kind (cold or warm).
#[derive(Debug, Clone, Default)]
pub struct Starts {
    pub samples: Vec<Start>,
}

impl Starts {
    pub fn healthy_ms(&self) -> Vec<f64> {
        self.samples.iter().map(|s| ms(s.healthy)).collect()
    }
    pub fn median_ms(&self) -> f64 {
        median(self.healthy_ms().into_iter())
    }
    pub fn min_ms(&self) -> f64 {
        self.healthy_ms().into_iter().fold(f64::INFINITY, f64::min)
    }
    pub fn max_ms(&self) -> f64 {
        self.healthy_ms().into_iter().fold(0.0, f64::max)
    }
    pub fn median_listening_ms(&self) -> f64 {
        median(self.samples.iter().map(|s| ms(s.listening)))
    }
}

/// Memory of the serve process and the load that was driven at it.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryReport {
    /// VmRSS after start-up and a second without requests.
    pub idle_kib: u64,
    /// The highest VmRSS sampled while the load ran.
    pub loaded_kib: u64,
    /// VmHWM after the load: the peak over the process's life.
    pub peak_kib: u64,
    pub load_rps: f64,
    pub load_errors: u64,
    /// SIGTERM until the process exited (with code 0).
    pub shutdown: Duration,
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The serve binary and where its logs go.
pub struct ServeBinary<'a> {
    pub program: &'a Path,
    pub logs: &'a Path,
}

impl ServeBinary<'_> {
    fn launch(&self, data_dir: &Path, label: &str) -> Result<(Server, Target, Start), String> {
        self.launch_with(data_dir, label, &[])
    }

    /// Starts `serve` in `data_dir` with `env` on top of the benchmark's environment and waits
    /// for its first healthy answer; the log goes to `serve-<label>.log`.
    pub fn launch_with(
        &self,
        data_dir: &Path,
        label: &str,
        env: &[(&str, &str)],
    ) -> Result<(Server, Target, Start), String> {
        let log = self.logs.join(format!("serve-{label}.log"));
        let mut command = server_command(self.program, &["serve"], data_dir);
        command.envs(env.iter().copied());
        let launched = Instant::now();
        let mut server = Server::spawn("runtime-server serve", command, &log)?;
        let url = server.expect_line(LISTENING, HEALTHY_WITHIN)?;
        let listening = launched.elapsed();
        let target = Target::parse(&url).map_err(|e| format!("bench: runtime-server: {e}"))?;
        wait_healthy(&target, &server.log, launched + HEALTHY_WITHIN)?;
        let healthy = launched.elapsed();
        Ok((server, target, Start { listening, healthy }))
    }

    /// Start-up `runs` times cold and warm, interleaved. Every start is stopped with SIGTERM and
    /// must exit 0.
    pub fn measure_starts(
        &self,
        runs: usize,
        warm_dir: &Path,
        progress: &Progress,
    ) -> Result<(Starts, Starts), String> {
        let (server, _, first) = self.launch(warm_dir, "prepare")?;
        server.terminate(EXIT_WITHIN)?;
        progress.say(&format!(
            "start-up: prepared the warm data dir ({:.0} ms, not counted)",
            ms(first.healthy)
        ));
        let (mut cold, mut warm) = (Starts::default(), Starts::default());
        for run in 1..=runs {
            let fresh = ScratchDir::create("cold")?;
            cold.samples.push(self.start_and_stop(&fresh.0, "cold")?);
            warm.samples.push(self.start_and_stop(warm_dir, "warm")?);
            let (c, w) = (cold.samples[run - 1], warm.samples[run - 1]);
            progress.say(&format!(
                "start-up run {run}/{runs}: cold {:.0} ms, warm {:.0} ms (launch -> first 200)",
                ms(c.healthy),
                ms(w.healthy)
            ));
        }
        Ok((cold, warm))
    }

    fn start_and_stop(&self, data_dir: &Path, label: &str) -> Result<Start, String> {
        let (server, _, start) = self.launch(data_dir, label)?;
        server.terminate(EXIT_WITHIN)?;
        Ok(start)
    }

    /// Idle memory after start-up, memory under `settings` load, then SIGTERM (exit 0 required).
    pub fn measure_memory(
        &self,
        data_dir: &Path,
        settings: &Settings,
        progress: &Progress,
    ) -> Result<MemoryReport, String> {
        let (server, target, _) = self.launch(data_dir, "memory")?;
        std::thread::sleep(IDLE_SETTLE);
        let idle = Memory::of(server.pid())?;
        progress.say(&format!(
            "memory: idle VmRSS {:.1} MiB; driving {} at it for {} s",
            mib(idle.rss_kib),
            LOAD_PATHS.join(" + "),
            settings.memory_load.as_secs()
        ));
        let spec = LoadSpec::get(
            &target,
            &LOAD_PATHS,
            settings.connections,
            settings.memory_load,
        );
        let (result, loaded_kib) = load_while_sampling(&spec, server.pid())?;
        let after = Memory::of(server.pid())?;
        let shutdown = server.terminate(EXIT_WITHIN)?;
        Ok(MemoryReport {
            idle_kib: idle.rss_kib,
            loaded_kib,
            peak_kib: after.peak_kib,
            load_rps: result.requests_per_sec(),
            load_errors: result.errors,
            shutdown,
        })
    }
}

/// Runs the load and samples VmRSS every 50 ms meanwhile; returns the highest sample.
fn load_while_sampling(spec: &LoadSpec, pid: u32) -> Result<(load::LoadResult, u64), String> {
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            let mut highest = 0;
            while !done.load(Ordering::Relaxed) {
                if let Ok(memory) = Memory::of(pid) {
                    highest = highest.max(memory.rss_kib);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            highest
        });
        let result = load::run(spec);
        done.store(true, Ordering::Relaxed);
        let highest = sampler.join().unwrap_or(0);
        result.map(|result| (result, highest))
    })
}

/// Polls `GET /v1/health` until it answers 200 or `deadline` passes.
fn wait_healthy(target: &Target, log: &Path, deadline: Instant) -> Result<(), String> {
    let request = target.get_request("/v1/health");
    loop {
        let answered = Connection::open(target, Duration::from_secs(1))
            .and_then(|mut connection| connection.send(&request));
        if matches!(answered, Ok(200)) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(timeout_message(log));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn timeout_message(log: &Path) -> String {
    format!(
        "bench: the server did not answer /v1/health within {} s; see {}",
        HEALTHY_WITHIN.as_secs(),
        log.display()
    )
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
