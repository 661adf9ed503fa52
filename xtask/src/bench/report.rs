//! The benchmark's results, printed as a table for people and written as JSON for tools. The
//! expected targets are reported next to the numbers (met or missed), never asserted: the machine
//! is shared and noisy, and a benchmark that fails a build on noise gets switched off.

use super::auth::AuthReport;
use super::files::FilesReport;
use super::json::Json;
use super::peers::{PeerReport, GET_SESSION_GOAL, NDJSON_GOAL};
use super::rpc::RpcReport;
use super::serve::{mib, MemoryReport, Starts, LOAD_PATHS};
use super::stack::{Comparison, Series};
use super::Settings;

/// Full stack throughput should stay at or above this share of bare axum's.
pub const RATIO_TARGET: f64 = 0.90;
/// Launch to first healthy answer, milliseconds.
pub const START_TARGET_MS: f64 = 300.0;
/// Idle resident memory, MiB.
pub const IDLE_TARGET_MIB: f64 = 40.0;

/// Everything one run measured.
pub struct Results {
    pub settings: Settings,
    pub nproc: usize,
    pub stack: Vec<Comparison>,
    pub cold: Starts,
    pub warm: Starts,
    pub memory: MemoryReport,
    pub rpc: RpcReport,
    pub auth: AuthReport,
    pub files: FilesReport,
    pub peers: PeerReport,
    pub measure_secs: f64,
}

pub fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

/// Thousands separators for requests/s.
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

impl Results {
    /// The human-readable table.
    pub fn table(&self) -> String {
        [
            self.stack_table(),
            self.start_table(),
            self.memory_table(),
            self.rpc.table(self.nproc),
            self.auth.table(),
            self.files.table(),
            self.peers.table(),
            self.goals_table(),
        ]
        .join("\n")
    }

    fn stack_table(&self) -> String {
        let s = &self.settings;
        let mut out = format!(
            "HTTP stack: full middleware vs bare axum in one process\n\
             ({} connections, {} rounds x {} s per stack and route, interleaved; medians over rounds;\n\
             load generator and server share the machine's {} cores)\n\
             {:<20} {:<5} {:>10} {:>10} {:>8} {:>8} {:>7}\n",
            s.connections,
            s.rounds,
            s.duration.as_secs(),
            self.nproc,
            "route",
            "stack",
            "req/s",
            "best",
            "p50 ms",
            "p99 ms",
            "errors"
        );
        for comparison in &self.stack {
            let route = format!("GET {}", comparison.route);
            for (name, series) in [("bare", &comparison.bare), ("full", &comparison.full)] {
                out += &series_row(&route, name, series);
            }
            out += &format!(
                "{:<20} full/bare throughput {:.1}% (paired rounds; best vs best {:.1}%), target >= {:.0}%: {}\n",
                "",
                comparison.ratio() * 100.0,
                comparison.best_ratio() * 100.0,
                RATIO_TARGET * 100.0,
                verdict(comparison.ratio() >= RATIO_TARGET)
            );
        }
        out
    }

    /// The three ratios of issue 10, each from rounds of one run.
    fn goals_table(&self) -> String {
        let health = self
            .stack
            .iter()
            .find(|c| c.route == "/v1/health")
            .map_or(f64::NAN, Comparison::ratio);
        let rows = [
            (
                "GET /v1/health, full stack / bare axum",
                health,
                RATIO_TARGET,
            ),
            (
                "get-session, runtime-server / better-auth",
                self.peers.session_ratio(),
                GET_SESSION_GOAL,
            ),
            (
                "NDJSON getHealth, runtime-server / @effect/rpc",
                self.peers.ndjson_ratio(),
                NDJSON_GOAL,
            ),
        ];
        let mut out = format!(
            "Issue 10 goals ({} connections, paired rounds of this run)\n",
            self.settings.connections
        );
        for (name, ratio, goal) in rows {
            out += &format!(
                "{name:<48} {ratio:>8.2}x   goal >= {goal}x: {}\n",
                verdict(ratio >= goal)
            );
        }
        out
    }

    fn start_table(&self) -> String {
        let mut out = format!(
            "Start-up: runtime-server serve on SQLite, launch -> first 200 on /v1/health ({} runs each)\n\
             {:<28} {:>9} {:>9} {:>9} {:>14}\n",
            self.settings.start_runs, "data dir", "median", "min", "max", "URL printed"
        );
        for (name, starts) in [
            ("cold (fresh: creates db)", &self.cold),
            ("warm (existing db)", &self.warm),
        ] {
            out += &format!(
                "{:<28} {:>6.0} ms {:>6.0} ms {:>6.0} ms {:>11.0} ms   target < {:.0} ms: {}\n",
                name,
                starts.median_ms(),
                starts.min_ms(),
                starts.max_ms(),
                starts.median_listening_ms(),
                START_TARGET_MS,
                verdict(starts.median_ms() < START_TARGET_MS)
            );
        }
        out
    }

    fn memory_table(&self) -> String {
        let m = &self.memory;
        format!(
            "Memory: runtime-server serve (VmRSS/VmHWM from /proc/<pid>/status)\n\
             {:<34} {:>6.1} MiB   target < {:.0} MiB: {}\n\
             {:<34} {:>6.1} MiB   (GET {}, {} connections, {} s: {} req/s, {} errors)\n\
             {:<34} {:>6.1} MiB\n\
             SIGTERM -> exit 0 in {} ms\n",
            "idle (1 s after start-up)",
            mib(m.idle_kib),
            IDLE_TARGET_MIB,
            verdict(mib(m.idle_kib) < IDLE_TARGET_MIB),
            "under load (highest VmRSS sampled)",
            mib(m.loaded_kib),
            LOAD_PATHS.join(" + GET "),
            self.settings.connections,
            self.settings.memory_load.as_secs(),
            thousands(m.load_rps),
            m.load_errors,
            "peak (VmHWM)",
            mib(m.peak_kib),
            m.shutdown.as_millis()
        )
    }

    /// The JSON document written to `target/bench/http.json` (the RPC and auth phases write their
    /// own, see [`RpcReport::json`] and [`AuthReport::json`]).
    pub fn json(&self) -> Json {
        let s = &self.settings;
        Json::obj([
            ("benchmark", Json::str("http")),
            ("unix_time", Json::Int(unix_time())),
            (
                "machine",
                Json::obj([("nproc", Json::Int(self.nproc as u64))]),
            ),
            (
                "settings",
                Json::obj([
                    ("connections", Json::Int(s.connections as u64)),
                    ("round_duration_secs", Json::Int(s.duration.as_secs())),
                    ("rounds", Json::Int(s.rounds as u64)),
                    ("warm_up_ms", Json::Int(s.warm_up.as_millis() as u64)),
                    ("start_runs", Json::Int(s.start_runs as u64)),
                    ("memory_load_secs", Json::Int(s.memory_load.as_secs())),
                    ("quick", Json::Bool(s.quick)),
                    ("measure_secs", Json::num(self.measure_secs)),
                ]),
            ),
            (
                "targets",
                Json::obj([
                    ("full_over_bare_throughput_min", Json::num(RATIO_TARGET)),
                    ("startup_ms_max", Json::num(START_TARGET_MS)),
                    ("idle_rss_mib_max", Json::num(IDLE_TARGET_MIB)),
                ]),
            ),
            (
                "stack",
                Json::Arr(self.stack.iter().map(comparison_json).collect()),
            ),
            (
                "startup",
                Json::obj([
                    ("cold", starts_json(&self.cold)),
                    ("warm", starts_json(&self.warm)),
                ]),
            ),
            ("memory", self.memory_json()),
        ])
    }

    fn memory_json(&self) -> Json {
        let m = &self.memory;
        Json::obj([
            ("idle_rss_kib", Json::Int(m.idle_kib)),
            ("idle_rss_mib", Json::num(mib(m.idle_kib))),
            ("loaded_rss_max_kib", Json::Int(m.loaded_kib)),
            ("peak_hwm_kib", Json::Int(m.peak_kib)),
            (
                "idle_target_met",
                Json::Bool(mib(m.idle_kib) < IDLE_TARGET_MIB),
            ),
            (
                "load_paths",
                Json::Arr(LOAD_PATHS.iter().map(|p| Json::str(*p)).collect()),
            ),
            ("load_rps", Json::num(m.load_rps)),
            ("load_errors", Json::Int(m.load_errors)),
            (
                "sigterm_exit_ms",
                Json::num(m.shutdown.as_secs_f64() * 1000.0),
            ),
            ("sigterm_exit_code", Json::Int(0)),
        ])
    }
}

fn series_row(route: &str, name: &str, series: &Series) -> String {
    format!(
        "{:<20} {:<5} {:>10} {:>10} {:>8.3} {:>8.3} {:>7}\n",
        route,
        name,
        thousands(series.median_rps()),
        thousands(series.best_rps()),
        series.median_p50_ms(),
        series.median_p99_ms(),
        series.errors()
    )
}

pub fn series_json(series: &Series) -> Json {
    let rounds = series.rounds.iter().map(|r| {
        Json::obj([
            ("rps", Json::num(r.rps)),
            ("p50_ms", Json::num(r.p50_ms)),
            ("p99_ms", Json::num(r.p99_ms)),
            ("ok", Json::Int(r.ok)),
            ("errors", Json::Int(r.errors)),
        ])
    });
    Json::obj([
        ("rps_median", Json::num(series.median_rps())),
        ("rps_best", Json::num(series.best_rps())),
        ("p50_ms_median", Json::num(series.median_p50_ms())),
        ("p99_ms_median", Json::num(series.median_p99_ms())),
        ("requests", Json::Int(series.requests())),
        ("errors", Json::Int(series.errors())),
        ("rounds", Json::Arr(rounds.collect())),
    ])
}

fn comparison_json(comparison: &Comparison) -> Json {
    Json::obj([
        ("route", Json::str(format!("GET {}", comparison.route))),
        ("bare", series_json(&comparison.bare)),
        ("full", series_json(&comparison.full)),
        (
            "full_over_bare_rps_paired_median",
            Json::num(comparison.ratio()),
        ),
        (
            "full_over_bare_rps_best",
            Json::num(comparison.best_ratio()),
        ),
        ("target_met", Json::Bool(comparison.ratio() >= RATIO_TARGET)),
    ])
}

fn starts_json(starts: &Starts) -> Json {
    Json::obj([
        ("healthy_ms_median", Json::num(starts.median_ms())),
        ("healthy_ms_min", Json::num(starts.min_ms())),
        ("healthy_ms_max", Json::num(starts.max_ms())),
        (
            "listening_ms_median",
            Json::num(starts.median_listening_ms()),
        ),
        (
            "healthy_ms_runs",
            Json::Arr(starts.healthy_ms().into_iter().map(Json::num).collect()),
        ),
        (
            "target_met",
            Json::Bool(starts.median_ms() < START_TARGET_MS),
        ),
    ])
}

pub fn unix_time() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0.4), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(thousands(1234567.8), "1,234,568");
    }
}
