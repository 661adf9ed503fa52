//! What an RPC call costs (issue 6): the shared group's trivial `getHealth` procedure on the real
//! `runtime-server serve`, called over HTTP (one `POST /v1/shared/rpc` per call, JSON and NDJSON)
//! and over WebSocket/NDJSON (one call in flight per connection, and `in_flight` pipelined calls
//! per connection), in interleaved rounds with `GET /v1/health` of the same server as the
//! baseline, so each transport is reported as a ratio that survives a noisy machine.

use std::time::Duration;

use super::http::{Connection, Target};
use super::json::Json;
use super::load::{self, LoadSpec};
use super::report::{series_json, thousands, unix_time};
use super::rounds::{self, Contender};
use super::stack::{paired_ratio, Series};
use super::ws::{self, WsSpec};
use super::{Progress, Settings};

/// Where the shared group is served.
pub const RPC_PATH: &str = "/v1/shared/rpc";
/// The procedure called: payload-less, answers `{"status":"ok"}`.
pub const PROCEDURE: &str = "getHealth";
/// The baseline route of the same server.
pub const BASELINE: &str = "/v1/health";
/// What every successful call's Exit carries.
pub const SUCCESS: &str = r#""exit":{"_tag":"Success","value":{"status":"ok"}}"#;

/// How a call travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `POST` with `Content-Type: application/json`: one Request in, a JSON array out.
    HttpJson,
    /// `POST` with `Content-Type: application/ndjson`: one Request line in, one Exit line out.
    HttpNdjson,
    /// WebSocket/NDJSON with this many calls in flight per connection.
    WebSocket(usize),
}

impl Transport {
    pub fn name(&self) -> String {
        match self {
            Transport::HttpJson => "HTTP POST, JSON".into(),
            Transport::HttpNdjson => "HTTP POST, NDJSON".into(),
            Transport::WebSocket(k) => format!("WebSocket NDJSON x{k}"),
        }
    }

    /// Calls in flight per connection.
    pub fn in_flight(&self) -> usize {
        match self {
            Transport::WebSocket(k) => *k,
            _ => 1,
        }
    }

    fn json_fields(&self) -> (&'static str, &'static str) {
        match self {
            Transport::HttpJson => ("http", "json"),
            Transport::HttpNdjson => ("http", "ndjson"),
            Transport::WebSocket(_) => ("websocket", "ndjson"),
        }
    }
}

/// The measured series of one transport.
#[derive(Debug, Clone)]
pub struct TransportSeries {
    pub transport: Transport,
    pub series: Series,
}

/// Everything the RPC phase measured.
#[derive(Debug, Clone)]
pub struct RpcReport {
    pub connections: usize,
    pub rounds: usize,
    pub duration: Duration,
    /// `GET /v1/health` req/s of the same server, in the same rounds.
    pub baseline: Series,
    pub transports: Vec<TransportSeries>,
}

/// The transports measured: both HTTP serializations, WebSocket with one call in flight (like
/// HTTP) and, when `in_flight` > 1, pipelined.
pub fn transports(in_flight: usize) -> Vec<Transport> {
    let mut all = vec![
        Transport::HttpJson,
        Transport::HttpNdjson,
        Transport::WebSocket(1),
    ];
    if in_flight > 1 {
        all.push(Transport::WebSocket(in_flight));
    }
    all
}

/// The JSON body of an HTTP/JSON call (the request id scope is the HTTP request).
fn json_body() -> String {
    ws::request_line(1, PROCEDURE).trim_end().to_owned()
}

/// The NDJSON line of a successful [`PROCEDURE`] call's Exit.
pub fn exit_line(id: u64) -> String {
    format!("{{\"_tag\":\"Exit\",\"requestId\":\"{id}\",{SUCCESS}}}")
}

/// The bytes of one `POST` call of [`PROCEDURE`] to `target`'s [`RPC_PATH`].
pub fn post(target: &Target, transport: Transport) -> Vec<u8> {
    let (content_type, body) = match transport {
        Transport::HttpNdjson => ("application/ndjson", ws::request_line(1, PROCEDURE)),
        _ => ("application/json", json_body()),
    };
    target.request("POST", RPC_PATH, &[], Some((content_type, body.as_bytes())))
}

/// Measures every transport against the baseline on the server at `target`.
pub fn measure(
    target: &Target,
    settings: &Settings,
    progress: &Progress,
) -> Result<RpcReport, String> {
    let transports = transports(settings.in_flight);
    check_answers(target, &transports)?;
    progress.say(&format!(
        "rpc: {PROCEDURE} answers alike over every transport; {} connections, {} rounds x {} s \
         per transport, baseline GET {BASELINE}",
        settings.connections,
        settings.rounds,
        settings.duration.as_secs()
    ));
    let mut contenders = vec![Contender::new(format!("GET {BASELINE}"), |duration| {
        load::run(&LoadSpec::get(
            target,
            &[BASELINE],
            settings.connections,
            duration,
        ))
    })];
    for &transport in &transports {
        contenders.push(Contender::new(transport.name(), move |duration| {
            run(target, transport, settings.connections, duration)
        }));
    }
    let mut series = rounds::measure("rpc", &contenders, settings, progress)?.into_iter();
    let baseline = series.next().unwrap_or_default();
    Ok(RpcReport {
        connections: settings.connections,
        rounds: settings.rounds,
        duration: settings.duration,
        baseline,
        transports: transports
            .into_iter()
            .zip(series)
            .map(|(transport, series)| TransportSeries { transport, series })
            .collect(),
    })
}

/// One load run of `transport`.
fn run(
    target: &Target,
    transport: Transport,
    connections: usize,
    duration: Duration,
) -> Result<super::load::LoadResult, String> {
    match transport {
        Transport::HttpJson | Transport::HttpNdjson => load::run(&LoadSpec {
            target: target.clone(),
            requests: vec![post(target, transport)],
            expect_body: Some(SUCCESS.as_bytes().to_vec()),
            connections,
            duration,
        }),
        Transport::WebSocket(in_flight) => ws::run(&WsSpec {
            target: target.clone(),
            path: RPC_PATH.into(),
            tag: PROCEDURE.into(),
            success: SUCCESS.into(),
            connections,
            in_flight,
            duration,
        }),
    }
}

/// One call per transport, answered exactly as the protocol says: otherwise the numbers would
/// measure errors.
fn check_answers(target: &Target, transports: &[Transport]) -> Result<(), String> {
    for &transport in transports {
        let (expected, got) = match transport {
            Transport::HttpJson => (format!("[{}]", exit_line(1)), http_call(target, transport)?),
            Transport::HttpNdjson => (format!("{}\n", exit_line(1)), http_call(target, transport)?),
            Transport::WebSocket(_) => (format!("{}\n", exit_line(7)), ws_call(target, 7)?),
        };
        if got != expected {
            return Err(format!(
                "bench: {PROCEDURE} over {} answered `{}`, expected `{}`",
                transport.name(),
                got.escape_debug(),
                expected.escape_debug()
            ));
        }
    }
    Ok(())
}

/// One call over HTTP on a fresh connection; the response body.
pub fn http_call(target: &Target, transport: Transport) -> Result<String, String> {
    let url = format!("{}{RPC_PATH}", target.base_url);
    let mut connection = Connection::open(target, Duration::from_secs(5))
        .map_err(|error| format!("bench: cannot connect to {url}: {error}"))?;
    let status = connection
        .send(&post(target, transport))
        .map_err(|error| format!("bench: POST {url}: {error}"))?;
    if status != 200 {
        return Err(format!("bench: POST {url} answered {status}, expected 200"));
    }
    Ok(String::from_utf8_lossy(connection.body()).into_owned())
}

fn ws_call(target: &Target, id: u64) -> Result<String, String> {
    let mut socket = ws::connect(target, RPC_PATH).map_err(|e| format!("bench: {e}"))?;
    socket
        .send(tungstenite::Message::text(ws::request_line(id, PROCEDURE)))
        .map_err(|error| format!("bench: WebSocket write failed: {error}"))?;
    let text = ws::read_text(&mut socket).map_err(|e| format!("bench: {e}"))?;
    let _ = socket.close(None);
    let _ = socket.flush();
    Ok(text)
}

impl RpcReport {
    fn ratio(&self, series: &Series) -> f64 {
        paired_ratio(series, &self.baseline)
    }

    fn find(&self, wanted: impl Fn(&Transport) -> bool) -> Option<&TransportSeries> {
        self.transports.iter().find(|t| wanted(&t.transport))
    }

    /// The human-readable table.
    pub fn table(&self, nproc: usize) -> String {
        let mut out = format!(
            "RPC: {PROCEDURE} on runtime-server serve at {RPC_PATH}, {} connections\n\
             ({} rounds x {} s per transport, interleaved with GET {BASELINE} of the same server; \
             medians over rounds;\n\
             ratio = calls/s over GET {BASELINE} req/s, paired by round; {} cores shared with the \
             load generator)\n\
             {:<24} {:>9} {:>10} {:>10} {:>8} {:>8} {:>7} {:>9}\n",
            self.connections,
            self.rounds,
            self.duration.as_secs(),
            nproc,
            "transport",
            "in flight",
            "calls/s",
            "best",
            "p50 ms",
            "p99 ms",
            "errors",
            "vs health"
        );
        out += &row(
            &format!("GET {BASELINE} (req/s)"),
            self.connections,
            &self.baseline,
            None,
        );
        for t in &self.transports {
            out += &row(
                &t.transport.name(),
                self.connections * t.transport.in_flight(),
                &t.series,
                Some(self.ratio(&t.series)),
            );
        }
        if let Some(ws) = self.find(|t| *t == Transport::WebSocket(1)) {
            let over = |transport: Transport| {
                self.find(|t| *t == transport)
                    .map_or(f64::NAN, |http| paired_ratio(&ws.series, &http.series))
            };
            out += &format!(
                "WebSocket x1 calls/s over HTTP POST calls/s (same connections, paired rounds): \
                 {:.2}x JSON, {:.2}x NDJSON\n",
                over(Transport::HttpJson),
                over(Transport::HttpNdjson)
            );
        }
        out
    }

    /// The document written to `target/bench/rpc.json`.
    pub fn json(&self, nproc: usize, quick: bool) -> Json {
        let transports = self.transports.iter().map(|t| {
            let (transport, serialization) = t.transport.json_fields();
            Json::obj([
                ("name", Json::str(t.transport.name())),
                ("transport", Json::str(transport)),
                ("serialization", Json::str(serialization)),
                ("connections", Json::Int(self.connections as u64)),
                (
                    "in_flight_per_connection",
                    Json::Int(t.transport.in_flight() as u64),
                ),
                ("calls", series_json(&t.series)),
                (
                    "over_baseline_rps_paired_median",
                    Json::num(self.ratio(&t.series)),
                ),
            ])
        });
        Json::obj([
            ("benchmark", Json::str("rpc")),
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
            ("path", Json::str(RPC_PATH)),
            ("procedure", Json::str(PROCEDURE)),
            (
                "baseline",
                Json::obj([
                    ("route", Json::str(format!("GET {BASELINE}"))),
                    ("requests", series_json(&self.baseline)),
                ]),
            ),
            ("transports", Json::Arr(transports.collect())),
        ])
    }
}

fn row(name: &str, in_flight: usize, series: &Series, ratio: Option<f64>) -> String {
    format!(
        "{:<24} {:>9} {:>10} {:>10} {:>8.3} {:>8.3} {:>7} {:>9}\n",
        name,
        in_flight,
        thousands(series.median_rps()),
        thousands(series.best_rps()),
        series.median_p50_ms(),
        series.median_p99_ms(),
        series.errors(),
        ratio.map_or("-".to_owned(), |r| format!("{:.1}%", r * 100.0))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_bodies_hold_one_request_in_each_serialization() {
        let target = Target::parse("http://127.0.0.1:9").expect("target");
        let ndjson = String::from_utf8(post(&target, Transport::HttpNdjson)).expect("utf-8");
        assert!(ndjson.contains("Content-Type: application/ndjson\r\n"));
        assert!(ndjson.ends_with(
            "\r\n\r\n{\"_tag\":\"Request\",\"id\":\"1\",\"tag\":\"getHealth\",\"headers\":[]}\n"
        ));
        let json = String::from_utf8(post(&target, Transport::HttpJson)).expect("utf-8");
        assert!(json.contains("Content-Type: application/json\r\n"));
        assert!(json.ends_with("\"headers\":[]}"));
    }

    #[test]
    fn pipelining_is_measured_only_when_asked() {
        assert_eq!(transports(1).len(), 3);
        assert_eq!(transports(8).last(), Some(&Transport::WebSocket(8)));
        assert_eq!(Transport::WebSocket(8).in_flight(), 8);
        assert_eq!(Transport::HttpJson.in_flight(), 1);
    }

    #[test]
    fn the_expected_exit_is_the_protocol_line() {
        assert_eq!(
            exit_line(3),
            r#"{"_tag":"Exit","requestId":"3","exit":{"_tag":"Success","value":{"status":"ok"}}}"#
        );
    }
}
