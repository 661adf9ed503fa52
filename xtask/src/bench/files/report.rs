//! The files benchmark's numbers as a table for people and as `target/bench/files.json` for
//! tools: listings against `getHealth`, event latency per setup and subscriber count, and how
//! each grows when its size grows tenfold (100 -> 1000 files, 100 -> 1000 subscribers).

use std::time::Duration;

use super::super::json::Json;
use super::super::report::{series_json, thousands, unix_time};
use super::super::stack::{paired_ratio, Series};
use super::{EventRun, Listing};

/// Everything the files phase measured.
#[derive(Debug, Clone)]
pub struct FilesReport {
    pub connections: usize,
    pub rounds: usize,
    pub duration: Duration,
    pub seed_uploads_per_sec: f64,
    /// `getHealth` calls/s over HTTP/JSON, in the same rounds as the listings.
    pub baseline: Series,
    pub listings: Vec<Listing>,
    pub events: Vec<EventRun>,
    /// Why the two-instance runs are missing (no PostgreSQL server binaries here).
    pub postgres_skipped: Option<String>,
}

/// `big / small` of one measure at 10x the size.
#[derive(Debug, Clone, Copy)]
pub struct Growth {
    pub from: usize,
    pub to: usize,
    pub p50: f64,
    pub p99: f64,
    /// Throughput ratio (listings only).
    pub rate: Option<f64>,
}

impl FilesReport {
    fn listing(&self, files: usize) -> Option<&Listing> {
        self.listings.iter().find(|l| l.files == files)
    }

    fn event(&self, setup: &str, subscribers: usize) -> Option<&EventRun> {
        self.events
            .iter()
            .find(|e| e.setup == setup && e.subscribers == subscribers)
    }

    fn setups(&self) -> Vec<&'static str> {
        let mut setups: Vec<&'static str> = self.events.iter().map(|e| e.setup).collect();
        setups.dedup();
        setups
    }

    /// 1000 files over 100 files.
    pub fn listing_growth(&self) -> Option<Growth> {
        let (small, big) = (self.listing(100)?, self.listing(1000)?);
        Some(Growth {
            from: 100,
            to: 1000,
            p50: big.series.median_p50_ms() / small.series.median_p50_ms().max(f64::EPSILON),
            p99: big.series.median_p99_ms() / small.series.median_p99_ms().max(f64::EPSILON),
            rate: Some(paired_ratio(&big.series, &small.series)),
        })
    }

    /// 1000 subscribers over 100 on `setup`.
    pub fn subscriber_growth(&self, setup: &str) -> Option<Growth> {
        let (small, big) = (self.event(setup, 100)?, self.event(setup, 1000)?);
        let ratio = |p: f64| {
            EventRun::ms(&big.latencies_ns, p) / EventRun::ms(&small.latencies_ns, p).max(1e-9)
        };
        Some(Growth {
            from: 100,
            to: 1000,
            p50: ratio(50.0),
            p99: ratio(99.0),
            rate: None,
        })
    }

    pub fn table(&self) -> String {
        let mut out = format!(
            "Files: files_list on runtime-server serve (SQLite), HTTP POST JSON, {} connections\n\
             ({} rounds x {} s per call, interleaved with getHealth of the same server; medians \
             over rounds; seeded through initiate + PUT + complete at {:.0} uploads/s)\n\
             {:<24} {:>10} {:>10} {:>8} {:>8} {:>7} {:>12}\n",
            self.connections,
            self.rounds,
            self.duration.as_secs(),
            self.seed_uploads_per_sec,
            "call",
            "calls/s",
            "best",
            "p50 ms",
            "p99 ms",
            "errors",
            "vs getHealth"
        );
        out += &listing_row("getHealth", &self.baseline, None);
        for listing in &self.listings {
            out += &listing_row(
                &format!("files_list, {} files", listing.files),
                &listing.series,
                Some(paired_ratio(&listing.series, &self.baseline)),
            );
        }
        if let Some(growth) = self.listing_growth() {
            out += &format!(
                "10x files ({} -> {}): calls/s x{:.3}, p50 x{:.1}, p99 x{:.1}\n",
                growth.from,
                growth.to,
                growth.rate.unwrap_or(f64::NAN),
                growth.p50,
                growth.p99
            );
        }
        out += &format!(
            "\nEvents: files_completeUpload sent -> Files.Uploaded read on every eventStream_connect \
             stream of the user\n(one WebSocket per stream; a stream sends an event 50 ms after \
             it arrives unless 25 are waiting, slices.md 1.7)\n\
             {:<27} {:>11} {:>7} {:>8} {:>8} {:>8} {:>12} {:>13}\n",
            "setup",
            "subscribers",
            "uploads",
            "p50 ms",
            "p99 ms",
            "max ms",
            "complete p50",
            "spread p50 ms"
        );
        for run in &self.events {
            out += &format!(
                "{:<27} {:>11} {:>7} {:>8.1} {:>8.1} {:>8.1} {:>9.1} ms {:>13.1}\n",
                run.setup,
                run.subscribers,
                run.uploads,
                EventRun::ms(&run.latencies_ns, 50.0),
                EventRun::ms(&run.latencies_ns, 99.0),
                EventRun::ms(&run.latencies_ns, 100.0),
                EventRun::ms(&run.complete_ns, 50.0),
                EventRun::ms(&run.spread_ns, 50.0),
            );
        }
        for setup in self.setups() {
            if let Some(growth) = self.subscriber_growth(setup) {
                out += &format!(
                    "10x subscribers ({} -> {}), {setup}: p50 x{:.2}, p99 x{:.2}\n",
                    growth.from, growth.to, growth.p50, growth.p99
                );
            }
        }
        if let Some(reason) = &self.postgres_skipped {
            out += &format!("two instances on PostgreSQL: skipped ({reason})\n");
        }
        out
    }

    /// The document written to `target/bench/files.json`.
    pub fn json(&self, nproc: usize, quick: bool) -> Json {
        let listings = self.listings.iter().map(|listing| {
            Json::obj([
                ("procedure", Json::str("files_list")),
                ("files", Json::Int(listing.files as u64)),
                ("calls", series_json(&listing.series)),
                (
                    "over_get_health_rps_paired_median",
                    Json::num(paired_ratio(&listing.series, &self.baseline)),
                ),
            ])
        });
        let events = self.events.iter().map(|run| {
            let ms = |samples: &[u64], p: f64| Json::num(EventRun::ms(samples, p));
            Json::obj([
                ("setup", Json::str(run.setup)),
                ("subscribers", Json::Int(run.subscribers as u64)),
                ("uploads", Json::Int(run.uploads as u64)),
                ("samples", Json::Int(run.latencies_ns.len() as u64)),
                ("latency_p50_ms", ms(&run.latencies_ns, 50.0)),
                ("latency_p99_ms", ms(&run.latencies_ns, 99.0)),
                ("latency_max_ms", ms(&run.latencies_ns, 100.0)),
                ("complete_upload_p50_ms", ms(&run.complete_ns, 50.0)),
                ("complete_upload_p99_ms", ms(&run.complete_ns, 99.0)),
                ("first_to_last_subscriber_p50_ms", ms(&run.spread_ns, 50.0)),
                ("first_to_last_subscriber_p99_ms", ms(&run.spread_ns, 99.0)),
            ])
        });
        let growth = |growth: Option<Growth>| {
            growth.map_or(Json::num(f64::NAN), |g| {
                let mut fields = vec![
                    ("from".to_owned(), Json::Int(g.from as u64)),
                    ("to".to_owned(), Json::Int(g.to as u64)),
                    ("p50_ratio".to_owned(), Json::num(g.p50)),
                    ("p99_ratio".to_owned(), Json::num(g.p99)),
                ];
                if let Some(rate) = g.rate {
                    fields.push(("calls_per_sec_ratio".to_owned(), Json::num(rate)));
                }
                Json::Obj(fields)
            })
        };
        let subscriber_growth = self
            .setups()
            .into_iter()
            .map(|setup| (setup.to_owned(), growth(self.subscriber_growth(setup))))
            .collect();
        Json::obj([
            ("benchmark", Json::str("files")),
            ("unix_time", Json::Int(unix_time())),
            ("machine", Json::obj([("nproc", Json::Int(nproc as u64))])),
            (
                "settings",
                Json::obj([
                    ("connections", Json::Int(self.connections as u64)),
                    ("round_duration_secs", Json::Int(self.duration.as_secs())),
                    ("rounds", Json::Int(self.rounds as u64)),
                    ("quick", Json::Bool(quick)),
                    ("transport", Json::str("HTTP POST, JSON")),
                ]),
            ),
            ("seed_uploads_per_sec", Json::num(self.seed_uploads_per_sec)),
            (
                "baseline",
                Json::obj([
                    ("procedure", Json::str("getHealth")),
                    ("calls", series_json(&self.baseline)),
                ]),
            ),
            ("listings", Json::Arr(listings.collect())),
            ("listing_growth_10x", growth(self.listing_growth())),
            ("events", Json::Arr(events.collect())),
            ("subscriber_growth_10x", Json::Obj(subscriber_growth)),
            (
                "two_instances_skipped",
                self.postgres_skipped
                    .as_ref()
                    .map_or(Json::Bool(false), |reason| Json::str(reason.clone())),
            ),
        ])
    }
}

fn listing_row(name: &str, series: &Series, ratio: Option<f64>) -> String {
    format!(
        "{:<24} {:>10} {:>10} {:>8.3} {:>8.3} {:>7} {:>12}\n",
        name,
        thousands(series.median_rps()),
        thousands(series.best_rps()),
        series.median_p50_ms(),
        series.median_p99_ms(),
        series.errors(),
        ratio.map_or("-".to_owned(), |r| format!("{:.2}%", r * 100.0))
    )
}

#[cfg(test)]
mod tests {
    use super::super::super::stack::Round;
    use super::*;

    fn series(rps: f64, p50_ms: f64) -> Series {
        Series {
            rounds: vec![Round {
                rps,
                p50_ms,
                p99_ms: 2.0 * p50_ms,
                ok: 1,
                errors: 0,
            }],
        }
    }

    fn run(setup: &'static str, subscribers: usize, ms: u64) -> EventRun {
        EventRun {
            setup,
            subscribers,
            uploads: 1,
            latencies_ns: vec![ms * 1_000_000; 4],
            complete_ns: vec![1_000_000],
            spread_ns: vec![0],
        }
    }

    #[test]
    fn growth_compares_ten_times_the_size() {
        let report = FilesReport {
            connections: 1,
            rounds: 1,
            duration: Duration::from_secs(1),
            seed_uploads_per_sec: 1.0,
            baseline: series(1000.0, 1.0),
            listings: vec![
                Listing {
                    files: 100,
                    series: series(200.0, 5.0),
                },
                Listing {
                    files: 1000,
                    series: series(20.0, 50.0),
                },
            ],
            events: vec![run("one", 100, 50), run("one", 1000, 75), run("two", 1, 60)],
            postgres_skipped: None,
        };
        let listing = report.listing_growth().expect("both listings");
        assert_eq!(listing.rate, Some(0.1));
        assert_eq!(listing.p50, 10.0);
        let events = report.subscriber_growth("one").expect("both runs");
        assert_eq!(events.p50, 1.5);
        assert!(report.subscriber_growth("two").is_none());
        assert_eq!(report.setups(), ["one", "two"]);
        let table = report.table();
        assert!(table.contains("files_list, 1000 files"), "{table}");
        assert!(
            table.contains("10x subscribers (100 -> 1000), one: p50 x1.50"),
            "{table}"
        );
        assert!(report
            .json(2, true)
            .render()
            .contains("\"listing_growth_10x\""));
    }
}
