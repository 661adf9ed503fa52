//! Test support: a migrated database with a user and an organization, the comms components
//! wired by hand over a frozen clock, and a real SMTP server (aiosmtpd, run as a subprocess by
//! `smtp_server.py`) that captures what it receives.
//!
//! `cargo xtask test` installs aiosmtpd into a virtual environment under `target/test-peers/`
//! and hands its interpreter over in `COMMS_TEST_PYTHON`; `cargo test -p comms-server` finds that
//! environment too. Without aiosmtpd the SMTP tests are skipped with a loud note; under
//! `CI=true` that is an error.

#![allow(dead_code)]

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use comms_server::config::{RetentionConfig, SmtpConfig, SmtpTls, WorkerConfig};
use comms_server::repos::{DeliveryLogRepo, EmailTemplateRepo, OutboxRepo};
use comms_server::services::{EmailTemplateService, OutboxMailer, OutboxWorker, TemplateRenderer};
use comms_server::transport::{
    Delivery, EmailTransport, OutboundEmail, SmtpTransport, TransportError,
};
use comms_server::COMMS_MIGRATIONS;
use serde_json::Value as Json;
use shared_server::db::migrate;
use shared_server::entities::{NewOrganization, NewUser, Organization, User};
use shared_server::mail::{EmailAddress, OutgoingEmail};
use shared_server::migrations::SHARED_MIGRATIONS;
use shared_server::repos::{OrganizationRepo, UserRepo};
use shared_server::testing::TestDb;
use shared_server::{Clock, Db, FixedClock, Timestamp};
use tokio::sync::Notify;

pub const T0: &str = "2026-03-01T09:00:00.000Z";

/// One backend's database with the comms components over a frozen clock.
pub struct Fixture {
    pub test: TestDb,
    pub db: Db,
    pub clock: Arc<FixedClock>,
    pub user: User,
    pub org: Organization,
    pub other_org: Organization,
    pub outbox: OutboxRepo,
    pub logs: DeliveryLogRepo,
    pub templates: EmailTemplateService,
    pub mailer: OutboxMailer,
    pub wake: Arc<Notify>,
}

impl Fixture {
    pub async fn new(test: TestDb) -> Fixture {
        let db = test.db.clone();
        migrate::run(&db, &[&SHARED_MIGRATIONS, &COMMS_MIGRATIONS])
            .await
            .expect("migrate shared + comms");
        let clock = Arc::new(FixedClock::new(T0.parse::<Timestamp>().unwrap()));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let user = UserRepo::new(db.clone(), dyn_clock.clone())
            .insert(&db, NewUser::new("Ann Admin", "ann@example.com"), "system")
            .await
            .unwrap();
        let orgs = OrganizationRepo::new(db.clone(), dyn_clock.clone());
        let org = orgs
            .insert(
                &db,
                NewOrganization::new("Acme", "acme", user.id.clone()),
                "system",
            )
            .await
            .unwrap();
        let other_org = orgs
            .insert(
                &db,
                NewOrganization::new("Other", "other", user.id.clone()),
                "system",
            )
            .await
            .unwrap();
        let outbox = OutboxRepo::new(db.clone(), dyn_clock.clone());
        let logs = DeliveryLogRepo::new(db.clone(), dyn_clock.clone());
        let renderer =
            TemplateRenderer::new("Acme App", "https://app.acme.test", dyn_clock.clone());
        let templates = EmailTemplateService::new(
            EmailTemplateRepo::new(db.clone(), dyn_clock.clone()),
            renderer,
        );
        let wake = Arc::new(Notify::new());
        let mailer = OutboxMailer::new(
            outbox.clone(),
            templates.clone(),
            EmailAddress::parse("Acme <no-reply@acme.test>").unwrap(),
            WorkerConfig::default().max_attempts,
            wake.clone(),
        );
        Fixture {
            test,
            db,
            clock,
            user,
            org,
            other_org,
            outbox,
            logs,
            templates,
            mailer,
            wake,
        }
    }

    pub fn backend(&self) -> &'static str {
        self.db.backend().as_str()
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// A worker over this fixture's database and clock.
    pub fn worker(&self, transport: Arc<dyn EmailTransport>, config: WorkerConfig) -> OutboxWorker {
        OutboxWorker::new(
            self.outbox.clone(),
            self.logs.clone(),
            transport,
            self.clock.clone(),
            config,
            RetentionConfig::default(),
            self.wake.clone(),
        )
    }

    /// A plain message to `to`.
    pub fn email(&self, to: &str, subject: &str) -> OutgoingEmail {
        OutgoingEmail::builder()
            .organization(self.org.id.clone())
            .to(to)
            .subject(subject)
            .text(format!("Text of {subject}"))
            .html(format!("<p>HTML of {subject}</p>"))
            .build()
            .unwrap()
    }
}

/// Worker settings for tests: the defaults with a short grace period.
pub fn worker_config() -> WorkerConfig {
    WorkerConfig {
        shutdown_grace: Duration::from_millis(300),
        poll_interval: Duration::from_millis(50),
        ..WorkerConfig::default()
    }
}

/// An SMTP transport to a local server without TLS.
pub fn smtp_transport(port: u16) -> Arc<dyn EmailTransport> {
    let mut config = SmtpConfig::new("127.0.0.1", port, SmtpTls::None);
    config.timeout = Duration::from_secs(5);
    Arc::new(SmtpTransport::new(&config, 4).unwrap())
}

/// A transport that never answers: its worker hangs mid-send, as if the process froze.
pub struct HangingTransport;

#[async_trait::async_trait]
impl EmailTransport for HangingTransport {
    fn name(&self) -> &'static str {
        "hanging"
    }

    async fn send(&self, _email: &OutboundEmail) -> Result<Delivery, TransportError> {
        std::future::pending().await
    }
}

/// Delivers through `inner`, then never returns: the message left, but the worker dies before
/// it can record that (the ambiguous case).
pub struct SendThenHang(pub Arc<dyn EmailTransport>);

#[async_trait::async_trait]
impl EmailTransport for SendThenHang {
    fn name(&self) -> &'static str {
        "send-then-hang"
    }

    async fn send(&self, email: &OutboundEmail) -> Result<Delivery, TransportError> {
        self.0.send(email).await?;
        std::future::pending().await
    }
}

// ---------------------------------------------------------------------------------------------
// The SMTP server
// ---------------------------------------------------------------------------------------------

/// One message the SMTP server accepted.
#[derive(Debug, Clone)]
pub struct Captured(pub Json);

impl Captured {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers(name).into_iter().next()
    }

    pub fn headers(&self, name: &str) -> Vec<String> {
        self.0["headers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|pair| {
                let key = pair.get(0)?.as_str()?;
                key.eq_ignore_ascii_case(name)
                    .then(|| pair.get(1)?.as_str().map(str::to_string))
                    .flatten()
            })
            .collect()
    }

    pub fn message_id(&self) -> String {
        self.header("Message-ID").unwrap_or_default()
    }

    pub fn text(&self) -> Option<String> {
        self.0["text"].as_str().map(str::to_string)
    }

    pub fn html(&self) -> Option<String> {
        self.0["html"].as_str().map(str::to_string)
    }

    pub fn raw(&self) -> String {
        self.0["raw"].as_str().unwrap_or_default().to_string()
    }

    pub fn rcpt_tos(&self) -> Vec<String> {
        self.0["rcpt_tos"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    }

    pub fn queue_id(&self) -> String {
        self.0["queue_id"].as_str().unwrap_or_default().to_string()
    }
}

/// aiosmtpd on 127.0.0.1, started as a subprocess; killed on drop.
pub struct SmtpServer {
    python: PathBuf,
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/common/smtp_server.py")
}

/// The interpreter of the virtual environment `cargo xtask test` installs aiosmtpd into.
fn xtask_venv_python() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("test-peers/aiosmtpd/bin/python")
}

/// A Python interpreter with aiosmtpd: `COMMS_TEST_PYTHON`, else the virtual environment
/// `cargo xtask test` keeps under `target/`, else `python3`, else `/usr/bin/python3` (where
/// Debian's python3-aiosmtpd installs).
fn python_with_aiosmtpd() -> Option<PathBuf> {
    let candidates = std::env::var_os("COMMS_TEST_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            xtask_venv_python(),
            PathBuf::from("python3"),
            PathBuf::from("/usr/bin/python3"),
        ]);
    candidates.into_iter().find(|python| {
        Command::new(python)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// A free TCP port on 127.0.0.1 (nothing listens on it once this returns).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

impl SmtpServer {
    /// Starts a server on a free port; `None` (after a loud note) when aiosmtpd is missing,
    /// a panic under `CI=true`.
    pub async fn start() -> Option<SmtpServer> {
        Self::start_on(free_port()).await
    }

    /// Finds the interpreter without starting anything (for tests that start it later).
    pub fn prepare(port: u16) -> Option<SmtpServer> {
        let Some(python) = python_with_aiosmtpd() else {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!(
                    "Python's aiosmtpd is missing under CI=true: run the suite with \
                     `cargo xtask test`, which installs it into target/test-peers/aiosmtpd"
                );
            }
            // Written to the real stderr: the test harness would swallow `eprintln!`.
            let _ = writeln!(
                std::io::stderr(),
                "NOTE: Python's aiosmtpd is not installed: the SMTP delivery tests are SKIPPED. \
                 `cargo xtask test` installs it (into target/test-peers/aiosmtpd)."
            );
            return None;
        };
        Some(SmtpServer {
            python,
            port,
            dir: tempfile::tempdir().expect("a temp dir for captured mail"),
            child: None,
        })
    }

    pub async fn start_on(port: u16) -> Option<SmtpServer> {
        let mut server = Self::prepare(port)?;
        server.up().await;
        Some(server)
    }

    /// Starts (or restarts) the server process on its port and waits until it accepts.
    pub async fn up(&mut self) {
        assert!(self.child.is_none(), "the SMTP server is already running");
        let child = Command::new(&self.python)
            .arg(script())
            .arg(self.dir.path())
            .arg(self.port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the aiosmtpd test server");
        self.child = Some(child);
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the aiosmtpd test server did not listen on port {} within 10 s",
            self.port
        );
    }

    /// Kills the server (SIGKILL): connections are refused until [`SmtpServer::up`].
    pub fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// How many messages arrived so far.
    pub fn count(&self) -> usize {
        std::fs::read_dir(self.dir.path())
            .expect("read captured mail")
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .count()
    }

    /// Every message received so far, in arrival order, parsed by Python's email package.
    pub fn messages(&self) -> Vec<Captured> {
        let output = Command::new(&self.python)
            .arg(script())
            .arg("--parse")
            .arg(self.dir.path())
            .output()
            .expect("parse captured mail");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let all: Vec<Json> = serde_json::from_slice(&output.stdout).expect("captured mail as JSON");
        all.into_iter().map(Captured).collect()
    }

    /// Waits until at least `n` messages arrived (at most `timeout`), then returns them all.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Captured> {
        self.wait_count(n, timeout).await;
        self.messages()
    }

    /// Waits until at least `n` messages arrived (at most `timeout`); returns the count.
    pub async fn wait_count(&self, n: usize, timeout: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.count() < n && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.count()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.down();
    }
}
