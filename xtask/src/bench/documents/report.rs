//! The documents benchmark's table (stdout) and JSON (`target/bench/documents.json`).

use super::super::json::Json;
use super::super::stack::{paired_ratio, Series};
use super::corpus::{query_classes, Corpus};
use super::{BackendReport, Plan};

pub fn growth(report: &BackendReport, class: &str, plan: &Plan) -> f64 {
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

pub fn table(backends: &[BackendReport], plan: &Plan) -> String {
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

pub fn json(backends: &[BackendReport], plan: &Plan) -> Json {
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
