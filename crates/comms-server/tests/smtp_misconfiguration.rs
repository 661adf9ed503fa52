//! A plain-text SMTP server behind an `smtp://` URL that requires STARTTLS (the default): the
//! common development mistake of pointing `SMTP_URL=smtp://127.0.0.1:1025` at a local test
//! server (issue 10). Mail must stay pending (fixing the URL delivers it), the first failure is
//! logged at `error` with the fix (`?tls=none`), and the transport's check (what
//! `cargo xtask doctor` shows) says the same.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use comms_server::config::{SmtpConfig, SmtpTls};
use comms_server::entities::OutboxStatus;
use comms_server::transport::{EmailTransport, SmtpTransport};
use shared_server::mail::Mailer;
use shared_server::testing::all_backends;

/// Everything logged while it is the thread's default subscriber, as text.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn starttls_transport(port: u16) -> SmtpTransport {
    let mut config = SmtpConfig::new("127.0.0.1", port, SmtpTls::StartTls);
    config.timeout = Duration::from_secs(5);
    SmtpTransport::new(&config, 2).unwrap()
}

// Current-thread runtime: the worker's tasks run on this thread, under the capturing subscriber.
#[tokio::test(flavor = "current_thread")]
async fn starttls_required_against_a_plain_server_keeps_mail_pending_and_logs_the_fix_once() {
    let Some(server) = SmtpServer::start().await else {
        return;
    };
    let logs = CapturedLogs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    for test in all_backends().await {
        let fixture = Fixture::new(test).await;
        let queued = fixture
            .mailer
            .send(
                (&fixture.db).into(),
                fixture.email("bob@example.com", "Over plain SMTP"),
            )
            .await
            .unwrap();
        let transport: Arc<dyn EmailTransport> = Arc::new(starttls_transport(server.port));
        let worker = fixture.worker(transport.clone(), worker_config());

        let report = worker.run_once().await.unwrap();
        assert_eq!(
            (report.claimed, report.retried),
            (1, 1),
            "{}",
            fixture.backend()
        );
        let row = fixture
            .outbox
            .find_by_id(&queued.outbox_id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            row.status,
            OutboxStatus::Pending,
            "fixing SMTP_URL must still deliver it"
        );
        let reason = row.last_error.unwrap_or_default();
        assert!(reason.contains("STARTTLS"), "{reason}");
        assert!(
            reason.contains("?tls=none"),
            "the fix is in the row: {reason}"
        );

        // A second failure of the same transport is not logged at `error` again.
        fixture.advance(Duration::from_secs(40));
        assert_eq!(worker.run_once().await.unwrap().retried, 1);
        let errors: Vec<String> = logs
            .text()
            .lines()
            .filter(|line| line.contains("ERROR") && line.contains("?tls=none"))
            .map(str::to_string)
            .collect();
        assert_eq!(errors.len(), 1, "one error line per transport: {errors:#?}");
        assert!(
            errors[0].contains(&format!("smtp://127.0.0.1:{}?tls=none", server.port)),
            "the line spells out the fixed URL: {}",
            errors[0]
        );
        logs.0.lock().unwrap().clear();
        assert_eq!(server.count(), 0, "nothing went out in plain text");
    }
}

#[tokio::test]
async fn the_transport_check_names_the_fix_and_passes_once_the_url_says_tls_none() {
    let Some(server) = SmtpServer::start().await else {
        return;
    };
    let error = starttls_transport(server.port).check().await.unwrap_err();
    assert!(error.message.contains("?tls=none"), "{}", error.message);

    let mut plain = SmtpConfig::new("127.0.0.1", server.port, SmtpTls::None);
    plain.timeout = Duration::from_secs(5);
    let detail = SmtpTransport::new(&plain, 1)
        .unwrap()
        .check()
        .await
        .unwrap();
    assert!(
        detail.contains(&format!("127.0.0.1:{}", server.port)),
        "{detail}"
    );
}

#[tokio::test]
async fn the_check_of_an_unreachable_relay_fails_without_the_tls_hint() {
    let mut config = SmtpConfig::new("127.0.0.1", free_port(), SmtpTls::StartTls);
    config.timeout = Duration::from_secs(2);
    let error = SmtpTransport::new(&config, 1)
        .unwrap()
        .check()
        .await
        .unwrap_err();
    assert!(!error.message.contains("?tls=none"), "{}", error.message);
}
