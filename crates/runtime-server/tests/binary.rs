//! The `runtime-server` binary as an operator meets it: start-up on the embedded defaults,
//! SIGTERM, and each kind of bad configuration or broken dependency stopping start-up clearly.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn binary() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_runtime-server"));
    // Only what the test sets: no developer .env or variables leak in.
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("APP_LOG_LEVEL", "info");
    cmd
}

fn run_to_end(cmd: &mut Command) -> (i32, String) {
    let output = cmd.output().expect("run runtime-server");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

#[test]
fn serves_on_the_embedded_defaults_and_stops_on_sigterm() {
    let dir = common::DataDir::new();
    let started = Instant::now();
    let mut child = binary()
        .current_dir(dir.path())
        .env("APP_API_PORT", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next().expect("a line on stdout").unwrap();
    let url = line
        .strip_prefix("runtime-server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_string();
    let health = reqwest::blocking_get(&format!("{url}/v1/health"));
    assert_eq!(health, "OK");
    eprintln!("start-up to first healthy answer: {:?}", started.elapsed());
    // Self-contained: the database, the generated secret and the objects live under ./data.
    assert!(dir.path().join("data/app.db").exists());
    assert!(dir.path().join("data/.auth-secret").exists());
    assert!(dir.path().join("data/objects").is_dir());

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = wait_with_timeout(&mut child, Duration::from_secs(15));
    assert_eq!(status, Some(0), "graceful shutdown exits 0");
}

#[test]
fn invalid_configuration_names_the_variable_and_exits_non_zero() {
    let dir = common::DataDir::new();
    let (code, output) = run_to_end(binary().current_dir(dir.path()).env("APP_API_PORT", "http"));
    assert_eq!(code, 2);
    assert!(
        output.contains("invalid APP_API_PORT=`http`: expected a TCP port number"),
        "{output}"
    );
}

#[test]
fn production_without_secrets_lists_them_all() {
    let dir = common::DataDir::new();
    let (code, output) = run_to_end(
        binary()
            .current_dir(dir.path())
            .env("APP_ENV", "prod")
            .env("OBJECT_STORE", "s3"),
    );
    assert_eq!(code, 2);
    assert!(
        output.contains("BETTER_AUTH_SECRET, UPLOAD_SIGNING_SECRET, S3_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, EMAIL_TRANSPORT (or SMTP_URL), EMAIL_FROM"),
        "{output}"
    );
}

#[test]
fn an_unreachable_database_is_retried_then_named() {
    let dir = common::DataDir::new();
    // Nothing listens on port 1.
    let started = Instant::now();
    let (code, output) = run_to_end(
        binary()
            .current_dir(dir.path())
            .env("APP_API_PORT", "0")
            .env("DATABASE_URL", "postgres://app:hunter2@127.0.0.1:1/app")
            .env("DB_CONNECT_ATTEMPTS", "3")
            .env("DB_CONNECT_BACKOFF_MS", "50"),
    );
    assert_ne!(code, 0);
    assert!(
        output.contains("could not connect to PostgreSQL at 127.0.0.1:1/app after 3 attempt(s)"),
        "{output}"
    );
    assert_eq!(
        output.matches("retrying").count(),
        2,
        "two retries logged: {output}"
    );
    assert!(
        !output.contains("hunter2"),
        "the password never appears: {output}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_corrupt_database_file_is_refused_and_left_untouched() {
    let dir = common::DataDir::new();
    let db_path = dir.path().join("data/app.db");
    std::fs::create_dir_all(db_path.parent().unwrap()).unwrap();
    let garbage: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&db_path, &garbage).unwrap();
    let (code, output) = run_to_end(binary().current_dir(dir.path()).env("APP_API_PORT", "0"));
    assert_ne!(code, 0);
    assert!(output.contains("is not a SQLite database"), "{output}");
    assert_eq!(
        std::fs::read(&db_path).unwrap(),
        garbage,
        "the file was modified"
    );
    assert!(!dir.path().join("data/app.db-wal").exists());
}

#[test]
fn a_foreign_sqlite_database_is_refused_and_left_untouched() {
    let dir = common::DataDir::new();
    let db_path = dir.path().join("data/app.db");
    std::fs::create_dir_all(db_path.parent().unwrap()).unwrap();
    let status = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('create table invoices(id integer)'); c.commit()",
            db_path.to_str().unwrap(),
        ])
        .status()
        .expect("python3 creates a foreign database");
    assert!(status.success());
    let before = std::fs::read(&db_path).unwrap();
    let (code, output) = run_to_end(binary().current_dir(dir.path()).env("APP_API_PORT", "0"));
    assert_ne!(code, 0);
    assert!(
        output.contains("holds another application's tables (invoices)"),
        "{output}"
    );
    assert_eq!(std::fs::read(&db_path).unwrap(), before);
}

#[test]
fn migrate_applies_once_and_graph_lists_the_layers() {
    let dir = common::DataDir::new();
    let (code, first) = run_to_end(binary().current_dir(dir.path()).arg("migrate"));
    assert_eq!(code, 0, "{first}");
    assert!(first.contains("applied shared/0001_"), "{first}");
    let (code, second) = run_to_end(binary().current_dir(dir.path()).arg("migrate"));
    assert_eq!(code, 0, "{second}");
    assert!(second.contains("migrate: 0 applied"), "{second}");

    let (code, graph) = run_to_end(
        binary()
            .current_dir(dir.path())
            .args(["graph", "--mermaid"]),
    );
    assert_eq!(code, 0);
    assert!(graph.starts_with("graph TD"), "{graph}");
    for layer in [
        "Tooling",
        "Database",
        "Migrations",
        "ObjectStore",
        "HttpServer",
        "shared",
    ] {
        assert!(
            graph.contains(&format!("[\"{layer}\"]")),
            "{layer} missing: {graph}"
        );
    }
    let (code, doctor) = run_to_end(binary().current_dir(dir.path()).arg("doctor"));
    assert_eq!(code, 0, "{doctor}");
    assert!(doctor.contains("ok    database"), "{doctor}");
    assert!(doctor.contains("ok    email delivery"), "{doctor}");
    assert!(doctor.contains("BETTER_AUTH_SECRET"), "{doctor}");
    let secret = std::fs::read_to_string(dir.path().join("data/.auth-secret")).unwrap();
    assert!(
        !doctor.contains(secret.trim()),
        "doctor never prints secrets"
    );
}

fn wait_with_timeout(child: &mut std::process::Child, timeout: Duration) -> Option<i32> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    None
}

mod reqwest {
    /// A minimal blocking GET over a raw socket (keeps reqwest's async client out of sync tests).
    pub fn blocking_get(url: &str) -> String {
        use std::io::{Read, Write};
        let rest = url.strip_prefix("http://").expect("http url");
        let (host, path) = rest
            .split_once('/')
            .map(|(h, p)| (h, format!("/{p}")))
            .unwrap_or((rest, "/".into()));
        let mut stream = std::net::TcpStream::connect(host).expect("connect");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        response
            .split("\r\n\r\n")
            .nth(1)
            .unwrap_or_default()
            .to_string()
    }
}
