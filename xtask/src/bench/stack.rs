//! What the middleware stack costs: the same two handlers served by the full stack and by a bare
//! axum router in one `bench_target` process, measured in interleaved rounds (bare, full, full,
//! bare, ...) so both see the same machine noise, and compared round by round.

use std::path::Path;
use std::time::Duration;

use super::child::{server_command, ScratchDir, Server};
use super::http::{Connection, Target};
use super::load::{self, LoadResult, LoadSpec};
use super::{Progress, Settings};

/// The routes compared: the health check and a small JSON answer.
pub const ROUTES: [&str; 2] = ["/v1/health", "/v1/bench/json"];

const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// One measured round of one stack on one route.
#[derive(Debug, Clone)]
pub struct Round {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub ok: u64,
    pub errors: u64,
}

impl From<&LoadResult> for Round {
    fn from(result: &LoadResult) -> Self {
        Self {
            rps: result.requests_per_sec(),
            p50_ms: result.percentile_ms(50.0),
            p99_ms: result.percentile_ms(99.0),
            ok: result.ok,
            errors: result.errors,
        }
    }
}

/// Every round of one stack on one route, and their summary.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub rounds: Vec<Round>,
}

impl Series {
    pub fn median_rps(&self) -> f64 {
        median(self.rounds.iter().map(|r| r.rps))
    }
    pub fn best_rps(&self) -> f64 {
        self.rounds.iter().map(|r| r.rps).fold(0.0, f64::max)
    }
    pub fn median_p50_ms(&self) -> f64 {
        median(self.rounds.iter().map(|r| r.p50_ms))
    }
    pub fn median_p99_ms(&self) -> f64 {
        median(self.rounds.iter().map(|r| r.p99_ms))
    }
    pub fn errors(&self) -> u64 {
        self.rounds.iter().map(|r| r.errors).sum()
    }
    pub fn requests(&self) -> u64 {
        self.rounds.iter().map(|r| r.ok).sum()
    }
}

/// Full stack against bare axum on one route.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub route: &'static str,
    pub bare: Series,
    pub full: Series,
}

impl Comparison {
    /// Median over rounds of full/bare throughput, each pair measured back to back.
    pub fn ratio(&self) -> f64 {
        paired_ratio(&self.full, &self.bare)
    }

    /// Best full round over best bare round.
    pub fn best_ratio(&self) -> f64 {
        self.full.best_rps() / self.bare.best_rps().max(f64::EPSILON)
    }
}

/// Median over rounds of `series` throughput / `baseline` throughput, round `i` of one paired
/// with round `i` of the other (measured seconds apart).
pub fn paired_ratio(series: &Series, baseline: &Series) -> f64 {
    median(
        series
            .rounds
            .iter()
            .zip(&baseline.rounds)
            .map(|(one, base)| one.rps / base.rps.max(f64::EPSILON)),
    )
}

/// The median of `values` (mean of the middle two for an even count); 0 when empty.
pub fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 0 {
        (values[middle - 1] + values[middle]) / 2.0
    } else {
        values[middle]
    }
}

/// The two stacks of one `bench_target` process.
struct Targets {
    full: Target,
    bare: Target,
}

/// Starts `bench_target`, checks both stacks answer alike, then measures every route.
pub fn measure(
    program: &Path,
    logs: &Path,
    settings: &Settings,
    progress: &Progress,
) -> Result<Vec<Comparison>, String> {
    let data = ScratchDir::create("stack")?;
    let command = server_command(program, &[], &data.0);
    let mut server = Server::spawn("bench_target", command, &logs.join("bench_target.log"))?;
    let targets = read_targets(&mut server)?;
    progress.say(&format!(
        "stack: full {} | bare {} (pid {})",
        targets.full.base_url,
        targets.bare.base_url,
        server.pid()
    ));
    check_equivalent(&targets)?;
    warm_up(&targets, settings, progress)?;
    let comparisons = ROUTES
        .iter()
        .map(|route| measure_route(route, &targets, settings, progress))
        .collect::<Result<Vec<_>, _>>()?;
    server.terminate(Duration::from_secs(10))?;
    Ok(comparisons)
}

fn read_targets(server: &mut Server) -> Result<Targets, String> {
    let full = server.expect_line("full ", READY_TIMEOUT)?;
    let bare = server.expect_line("bare ", READY_TIMEOUT)?;
    Ok(Targets {
        full: Target::parse(&full).map_err(|e| format!("bench: bench_target: {e}"))?,
        bare: Target::parse(&bare).map_err(|e| format!("bench: bench_target: {e}"))?,
    })
}

/// Both stacks give the same answers, and only the full one went through the middleware (its
/// answers carry `x-request-id`): otherwise the comparison would measure something else.
fn check_equivalent(targets: &Targets) -> Result<(), String> {
    for route in ROUTES {
        let (full_body, full_id) = fetch(&targets.full, route)?;
        let (bare_body, bare_id) = fetch(&targets.bare, route)?;
        if full_body != bare_body {
            return Err(format!(
                "bench: {route} answers differ: full `{}`, bare `{}`",
                String::from_utf8_lossy(&full_body),
                String::from_utf8_lossy(&bare_body)
            ));
        }
        if !full_id || bare_id {
            return Err(format!(
                "bench: expected x-request-id on the full stack's {route} only \
                 (full: {full_id}, bare: {bare_id}); is the middleware in place?"
            ));
        }
    }
    Ok(())
}

/// The body of a 200 answer to `GET route`, and whether it carried `x-request-id`.
fn fetch(target: &Target, route: &str) -> Result<(Vec<u8>, bool), String> {
    let url = format!("{}{route}", target.base_url);
    let mut connection = Connection::open(target, Duration::from_secs(5))
        .map_err(|error| format!("bench: cannot connect to {url}: {error}"))?;
    let status = connection
        .send(&target.get_request(route))
        .map_err(|error| format!("bench: GET {url}: {error}"))?;
    if status != 200 {
        return Err(format!("bench: GET {url} answered {status}, expected 200"));
    }
    Ok((
        connection.body().to_vec(),
        connection.header("x-request-id").is_some(),
    ))
}

/// A short unmeasured run per stack and route: connections, allocator pools, caches.
fn warm_up(targets: &Targets, settings: &Settings, progress: &Progress) -> Result<(), String> {
    for route in ROUTES {
        for target in [&targets.bare, &targets.full] {
            load::run(&spec(target, route, settings, settings.warm_up))?;
        }
    }
    progress.say("stack: warmed up both stacks on every route");
    Ok(())
}

fn spec(target: &Target, route: &str, settings: &Settings, duration: Duration) -> LoadSpec {
    LoadSpec::get(target, &[route], settings.connections, duration)
}

/// `rounds` rounds of bare and full back to back; the first of each pair alternates.
fn measure_route(
    route: &'static str,
    targets: &Targets,
    settings: &Settings,
    progress: &Progress,
) -> Result<Comparison, String> {
    let mut comparison = Comparison {
        route,
        bare: Series::default(),
        full: Series::default(),
    };
    for round in 0..settings.rounds {
        let bare_first = round % 2 == 0;
        for full in [!bare_first, bare_first] {
            let (target, series, name) = if full {
                (&targets.full, &mut comparison.full, "full")
            } else {
                (&targets.bare, &mut comparison.bare, "bare")
            };
            let result = Round::from(&load::run(&spec(
                target,
                route,
                settings,
                settings.duration,
            ))?);
            progress.say(&format!(
                "stack: GET {route} round {}/{} {name}: {:.0} req/s, p50 {:.3} ms, p99 {:.3} ms, {} errors",
                round + 1,
                settings.rounds,
                result.rps,
                result.p50_ms,
                result.p99_ms,
                result.errors
            ));
            series.rounds.push(result);
        }
    }
    Ok(comparison)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(rps: f64) -> Round {
        Round {
            rps,
            p50_ms: 1.0,
            p99_ms: 2.0,
            ok: 10,
            errors: 0,
        }
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median([3.0, 1.0, 2.0].into_iter()), 2.0);
        assert_eq!(median([4.0, 1.0, 2.0, 3.0].into_iter()), 2.5);
        assert_eq!(median(std::iter::empty()), 0.0);
    }

    #[test]
    fn the_ratio_pairs_rounds_measured_back_to_back() {
        let comparison = Comparison {
            route: "/",
            bare: Series {
                rounds: vec![round(100.0), round(200.0), round(100.0)],
            },
            full: Series {
                rounds: vec![round(90.0), round(100.0), round(95.0)],
            },
        };
        assert_eq!(comparison.ratio(), 0.9);
        assert_eq!(comparison.best_ratio(), 0.5);
    }
}
