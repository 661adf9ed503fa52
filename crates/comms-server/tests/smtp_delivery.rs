//! Delivery to a real SMTP server (aiosmtpd, started per test) on every backend of
//! `all_backends()`: headers, both parts and the stable `Message-ID`; a server outage (messages
//! stay pending, retries back off, delivery resumes, nothing lost); a worker killed after
//! claiming rows (another worker delivers them after the lease expires, once, with the same
//! ids); a rolled-back transaction; one refused recipient; and the outbox's throughput.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use comms_server::config::{CommsConfig, SmtpConfig, SmtpTls, TransportConfig};
use comms_server::entities::{DeliveryOutcome, OutboxStatus};
use comms_server::repos::OutboxRepo;
use comms_server::services::OutboxWorker;
use comms_server::transport::EmailTransport;
use serde_json::json;
use shared_server::layer::{build, Context, Layer, Scope};
use shared_server::mail::{Mailer, OutgoingEmail};
use shared_server::testing::all_backends;
use shared_server::{Clock, SystemClock};

/// Runs rounds until a round claims nothing.
async fn drain(worker: &OutboxWorker) -> usize {
    let mut claimed = 0;
    loop {
        let report = worker.run_once().await.unwrap();
        if report.claimed == 0 {
            return claimed;
        }
        claimed += report.claimed;
    }
}

/// The comms layer over `fixture`'s database with the real clock and an SMTP transport.
fn comms_layer(fixture: &Fixture, port: u16) -> Layer {
    let mut smtp = SmtpConfig::new("127.0.0.1", port, SmtpTls::None);
    smtp.timeout = Duration::from_secs(5);
    let mut config = CommsConfig::new(TransportConfig::Smtp(smtp));
    config.from = "Acme <no-reply@acme.test>".parse().unwrap();
    config.app_name = "Acme App".into();
    config.app_url = "https://app.acme.test".into();
    config.worker.poll_interval = Duration::from_millis(50);
    config.worker.shutdown_grace = Duration::from_secs(2);
    comms_server::layer().provide(&Layer::merge_all([
        Layer::value("Db", fixture.db.clone()),
        Layer::shared::<dyn Clock>("Clock", Arc::new(SystemClock)),
        Layer::value("CommsConfig", config),
    ]))
}

async fn wait_for_status(outbox: &OutboxRepo, id: &str, status: OutboxStatus) {
    let id = id.parse().unwrap();
    for _ in 0..400 {
        if outbox.find_by_id(&id).await.unwrap().map(|r| r.status) == Some(status) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("message {id} never reached {status}");
}

#[tokio::test]
async fn the_layer_delivers_to_a_real_smtp_server_with_headers_both_parts_and_message_id() {
    let Some(server) = SmtpServer::start().await else {
        return;
    };
    for test in all_backends().await {
        let fixture = Fixture::new(test).await;
        let before = server.count();
        let scope = Scope::new("test");
        let ctx = build(&comms_layer(&fixture, server.port), Context::new(), &scope)
            .await
            .unwrap();
        let mailer = ctx.get::<dyn Mailer>().unwrap();

        let verify = mailer
            .send((&fixture.db).into(),
                OutgoingEmail::builder()
                    .organization(fixture.org.id.clone())
                    .user(fixture.user.id.clone())
                    .template(
                        "verify-email",
                        json!({"userName": "Bob <b>", "url": "https://app.acme.test/verify?token=abc&next=%2F"}),
                    )
                    .to("Bob Builder <bob@example.com>")
                    .build()
                    .unwrap(),
            )
            .await
            .unwrap();
        let custom = mailer
            .send(
                (&fixture.db).into(),
                OutgoingEmail::builder()
                    .organization(fixture.org.id.clone())
                    .from("Support Team <support@acme.test>")
                    .to("carol@example.com")
                    .cc("dave@example.com")
                    .bcc("audit@example.com")
                    .reply_to("help@acme.test")
                    .subject("Your report is ready")
                    .text("Plain body line")
                    .html("<h1>Rich body</h1>")
                    .header("X-Entity-Ref-ID", "report-42")
                    .build()
                    .unwrap(),
            )
            .await
            .unwrap();
        let outbox = ctx.get::<OutboxRepo>().unwrap();
        wait_for_status(&outbox, &verify.outbox_id, OutboxStatus::Sent).await;
        wait_for_status(&outbox, &custom.outbox_id, OutboxStatus::Sent).await;
        let received = server.wait_for(before + 2, Duration::from_secs(10)).await;
        let received = &received[before..];
        assert_eq!(received.len(), 2, "{}", fixture.backend());
        let by_id: HashMap<String, &Captured> =
            received.iter().map(|m| (m.message_id(), m)).collect();

        // The verification email: built-in template, both parts, stable Message-ID.
        let mail = by_id
            .get(verify.message_id.as_str())
            .expect("the Message-ID on the wire is the one queued");
        assert_eq!(mail.header("Subject").as_deref(), Some("Verify your email"));
        assert_eq!(
            mail.header("From").as_deref(),
            Some("Acme <no-reply@acme.test>")
        );
        assert_eq!(
            mail.header("To").as_deref(),
            Some("Bob Builder <bob@example.com>")
        );
        assert!(mail.header("Date").is_some());
        assert_eq!(mail.0["content_type"], "multipart/alternative");
        let text = mail.text().expect("a text part");
        let html = mail.html().expect("an HTML part");
        assert!(text.contains("Hi Bob <b>,"), "text is raw: {text}");
        assert!(
            text.contains("https://app.acme.test/verify?token=abc&next=%2F"),
            "{text}"
        );
        assert!(
            html.contains("Hi Bob &lt;b&gt;,"),
            "HTML is escaped: {html}"
        );
        assert!(html.contains("Acme App"), "appName is provided: {html}");
        assert_eq!(mail.rcpt_tos(), vec!["bob@example.com".to_string()]);

        // The custom message: cc, bcc (envelope only), reply-to, extra header.
        let mail = by_id.get(custom.message_id.as_str()).unwrap();
        assert_eq!(
            mail.header("From").as_deref(),
            Some("Support Team <support@acme.test>")
        );
        assert_eq!(mail.header("Cc").as_deref(), Some("dave@example.com"));
        assert_eq!(mail.header("Reply-To").as_deref(), Some("help@acme.test"));
        assert_eq!(mail.header("X-Entity-Ref-ID").as_deref(), Some("report-42"));
        assert!(
            mail.header("Bcc").is_none() && !mail.raw().contains("audit@"),
            "Bcc stays off the message"
        );
        let mut rcpt = mail.rcpt_tos();
        rcpt.sort();
        assert_eq!(
            rcpt,
            vec!["audit@example.com", "carol@example.com", "dave@example.com"]
        );
        assert_eq!(mail.text().unwrap().trim(), "Plain body line");
        assert_eq!(mail.html().unwrap().trim(), "<h1>Rich body</h1>");
        assert!(custom.message_id.as_str().ends_with("@acme.test>"));

        // The row records the provider's id (the server's queue id) and one `sent` attempt.
        let row = outbox
            .find_by_id(&custom.outbox_id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.provider.as_deref(), Some("smtp"));
        assert_eq!(
            row.provider_message_id.as_deref(),
            Some(mail.queue_id().as_str())
        );
        assert_eq!((row.attempts, row.lease_owner.clone()), (1, None));
        assert!(row.sent_at.is_some());
        let logs =
            comms_server::repos::DeliveryLogRepo::new(fixture.db.clone(), Arc::new(SystemClock))
                .list_by_outbox(&row.id)
                .await
                .unwrap();
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].outcome, DeliveryOutcome::Sent);

        // Releasing the layer stops the worker (its finalizer), and nothing is left leased.
        scope.close().await.unwrap();
        let counts = outbox.counts_by_status().await.unwrap();
        assert_eq!(
            (counts.sent, counts.backlog()),
            (2, 0),
            "{}",
            fixture.backend()
        );
    }
}

#[tokio::test]
async fn one_refused_recipient_fails_only_that_message_with_the_servers_reason() {
    let Some(server) = SmtpServer::start().await else {
        return;
    };
    for test in all_backends().await {
        let fixture = Fixture::new(test).await;
        let before = server.count();
        let good1 = fixture
            .mailer
            .send(
                (&fixture.db).into(),
                fixture.email("one@example.com", "First"),
            )
            .await
            .unwrap();
        let bad = fixture
            .mailer
            .send(
                (&fixture.db).into(),
                OutgoingEmail::builder()
                    .to("ok@example.com")
                    .to("reject-me@example.com")
                    .subject("Partly refused")
                    .text("x")
                    .build()
                    .unwrap(),
            )
            .await
            .unwrap();
        let good2 = fixture
            .mailer
            .send(
                (&fixture.db).into(),
                fixture.email("two@example.com", "Second"),
            )
            .await
            .unwrap();
        let worker = fixture.worker(smtp_transport(server.port), worker_config());
        let report = worker.run_once().await.unwrap();
        assert_eq!(
            (report.claimed, report.sent, report.failed, report.retried),
            (3, 2, 1, 0)
        );

        let row = fixture
            .outbox
            .find_by_id(&bad.outbox_id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            row.status,
            OutboxStatus::Failed,
            "a 5xx is permanent: no retry"
        );
        assert_eq!(row.attempts, 1);
        let error = row.last_error.unwrap();
        assert!(
            error.contains("550") && error.contains("Recipient address rejected: User unknown"),
            "the server's reason is recorded: {error}"
        );
        let logs = fixture.logs.list_by_outbox(&row.id).await.unwrap();
        assert_eq!(logs[0].outcome, DeliveryOutcome::Failed);
        assert!(logs[0].error.as_deref().unwrap_or_default().contains("550"));
        for good in [&good1, &good2] {
            let row = fixture
                .outbox
                .find_by_id(&good.outbox_id.parse().unwrap())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(row.status, OutboxStatus::Sent);
        }
        let received = server.wait_for(before + 2, Duration::from_secs(5)).await;
        let ids: HashSet<String> = received[before..]
            .iter()
            .map(Captured::message_id)
            .collect();
        assert_eq!(
            ids,
            HashSet::from([good1.message_id.to_string(), good2.message_id.to_string()]),
            "{}",
            fixture.backend()
        );
    }
}

#[tokio::test]
async fn smtp_down_keeps_messages_pending_backs_off_and_delivers_once_it_is_back() {
    let Some(mut server) = SmtpServer::prepare(free_port()) else {
        return;
    };
    for test in all_backends().await {
        let fixture = Fixture::new(test).await;
        let before = server.count();
        let mut queued = Vec::new();
        for n in 0..3 {
            queued.push(
                fixture
                    .mailer
                    .send(
                        (&fixture.db).into(),
                        fixture.email("x@example.com", &format!("Outage {n}")),
                    )
                    .await
                    .unwrap(),
            );
        }
        let worker = fixture.worker(smtp_transport(server.port), worker_config());

        // Attempt 1 while the server is down: every message is kept, due again in 30 s ± 20 %.
        let report = worker.run_once().await.unwrap();
        assert_eq!((report.claimed, report.retried), (3, 3));
        let t1 = fixture.now();
        for q in &queued {
            let row = fixture
                .outbox
                .find_by_id(&q.outbox_id.parse().unwrap())
                .await
                .unwrap()
                .unwrap();
            assert_eq!((row.status, row.attempts), (OutboxStatus::Pending, 1));
            assert!(
                row.last_error
                    .as_deref()
                    .unwrap_or_default()
                    .contains("SMTP"),
                "{:?}",
                row.last_error
            );
            let wait = row.next_attempt_at.unix_millis() - t1.unix_millis();
            assert!((24_000..=36_000).contains(&wait), "first backoff {wait} ms");
        }
        // Not due yet: the next round claims nothing.
        assert_eq!(worker.run_once().await.unwrap().claimed, 0);

        // Attempt 2, still down: the delay doubles (60 s ± 20 %).
        fixture.advance(Duration::from_secs(37));
        assert_eq!(worker.run_once().await.unwrap().retried, 3);
        let t2 = fixture.now();
        for q in &queued {
            let row = fixture
                .outbox
                .find_by_id(&q.outbox_id.parse().unwrap())
                .await
                .unwrap()
                .unwrap();
            assert_eq!((row.status, row.attempts), (OutboxStatus::Pending, 2));
            let wait = row.next_attempt_at.unix_millis() - t2.unix_millis();
            assert!(
                (48_000..=72_000).contains(&wait),
                "second backoff {wait} ms"
            );
        }
        assert!(server.count() == before, "nothing can have arrived");

        // The server comes back: attempt 3 delivers every message, once.
        server.up().await;
        fixture.advance(Duration::from_secs(73));
        let report = worker.run_once().await.unwrap();
        assert_eq!(
            (report.claimed, report.sent),
            (3, 3),
            "{}",
            fixture.backend()
        );
        let received = server.wait_for(before + 3, Duration::from_secs(5)).await;
        let got: Vec<String> = received[before..]
            .iter()
            .map(Captured::message_id)
            .collect();
        let mut expected: Vec<String> = queued.iter().map(|q| q.message_id.to_string()).collect();
        let mut got_sorted = got.clone();
        got_sorted.sort();
        expected.sort();
        assert_eq!(got_sorted, expected, "all delivered, none twice");
        for q in &queued {
            let id = q.outbox_id.parse().unwrap();
            let row = fixture.outbox.find_by_id(&id).await.unwrap().unwrap();
            assert_eq!((row.status, row.attempts), (OutboxStatus::Sent, 3));
            let outcomes: Vec<DeliveryOutcome> = fixture
                .logs
                .list_by_outbox(&id)
                .await
                .unwrap()
                .iter()
                .map(|l| l.outcome)
                .collect();
            assert_eq!(
                outcomes,
                vec![
                    DeliveryOutcome::Retry,
                    DeliveryOutcome::Retry,
                    DeliveryOutcome::Sent
                ]
            );
        }
        server.down();
    }
}

#[tokio::test]
async fn a_killed_workers_rows_are_delivered_once_by_another_worker_after_the_lease_expires() {
    let Some(server) = SmtpServer::start().await else {
        return;
    };
    for test in all_backends().await {
        let fixture = Fixture::new(test).await;
        let before = server.count();
        let mut queued = Vec::new();
        for n in 0..5 {
            queued.push(
                fixture
                    .mailer
                    .send(
                        (&fixture.db).into(),
                        fixture.email("y@example.com", &format!("Crash {n}")),
                    )
                    .await
                    .unwrap(),
            );
        }

        // Worker A claims the batch, then freezes mid-send and is killed.
        let a = Arc::new(fixture.worker(Arc::new(HangingTransport), worker_config()));
        let a_owner = a.owner().to_string();
        let task = tokio::spawn({
            let a = a.clone();
            async move { a.run_once().await }
        });
        wait_until_leased(&fixture.outbox, &queued, &a_owner).await;
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());

        // Worker B cannot take the rows while A's lease runs…
        let b = fixture.worker(smtp_transport(server.port), worker_config());
        assert_eq!(
            b.run_once().await.unwrap().claimed,
            0,
            "leased rows are not stolen"
        );
        fixture.advance(Duration::from_secs(59));
        assert_eq!(b.run_once().await.unwrap().claimed, 0);

        // …and delivers all of them once it expired.
        fixture.advance(Duration::from_secs(2));
        assert_eq!(drain(&b).await, 5);
        let received = server.wait_for(before + 5, Duration::from_secs(5)).await;
        let mut got: Vec<String> = received[before..]
            .iter()
            .map(Captured::message_id)
            .collect();
        got.sort();
        let mut expected: Vec<String> = queued.iter().map(|q| q.message_id.to_string()).collect();
        expected.sort();
        assert_eq!(
            got,
            expected,
            "none lost, none twice ({})",
            fixture.backend()
        );
        for q in &queued {
            let id = q.outbox_id.parse().unwrap();
            let row = fixture.outbox.find_by_id(&id).await.unwrap().unwrap();
            assert_eq!(
                (row.status, row.attempts),
                (OutboxStatus::Sent, 2),
                "A's claim counted as an attempt"
            );
            let logs = fixture.logs.list_by_outbox(&id).await.unwrap();
            assert_eq!(logs.len(), 1, "A recorded nothing");
            assert_eq!(logs[0].worker.as_deref(), Some(b.owner()));
        }

        // The ambiguous case: C hands a message to the server, then dies before recording it.
        // D sends it again after the lease: the two copies carry the same Message-ID.
        let before = server.count();
        let queued = fixture
            .mailer
            .send(
                (&fixture.db).into(),
                fixture.email("z@example.com", "Ambiguous"),
            )
            .await
            .unwrap();
        let c = Arc::new(fixture.worker(
            Arc::new(SendThenHang(smtp_transport(server.port))),
            worker_config(),
        ));
        let task = tokio::spawn({
            let c = c.clone();
            async move { c.run_once().await }
        });
        let first = server.wait_for(before + 1, Duration::from_secs(5)).await;
        assert_eq!(first.len(), before + 1);
        task.abort();
        let _ = task.await;
        fixture.advance(Duration::from_secs(61));
        let d = fixture.worker(smtp_transport(server.port), worker_config());
        assert_eq!(d.run_once().await.unwrap().sent, 1);
        let copies = server.wait_for(before + 2, Duration::from_secs(5)).await;
        let copies = &copies[before..];
        assert_eq!(copies.len(), 2, "at-least-once: the message went out twice");
        assert!(
            copies.iter().all(|m| m.message_id() == queued.message_id.as_str()),
            "both copies carry the queued Message-ID, so the receiver can tell them apart from new mail"
        );
        let row = fixture
            .outbox
            .find_by_id(&queued.outbox_id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.status, OutboxStatus::Sent);
    }
}

async fn wait_until_leased(
    outbox: &OutboxRepo,
    queued: &[shared_server::mail::QueuedEmail],
    owner: &str,
) {
    for _ in 0..400 {
        let mut leased = 0;
        for q in queued {
            let row = outbox
                .find_by_id(&q.outbox_id.parse().unwrap())
                .await
                .unwrap()
                .unwrap();
            if row.status == OutboxStatus::Sending && row.lease_owner.as_deref() == Some(owner) {
                leased += 1;
            }
        }
        if leased == queued.len() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("worker {owner} never leased the rows");
}

#[tokio::test]
async fn a_rolled_back_transaction_sends_nothing() {
    let Some(server) = SmtpServer::start().await else {
        return;
    };
    for test in all_backends().await {
        let fixture = Fixture::new(test).await;
        let before = server.count();
        let scope = Scope::new("test");
        let ctx = build(&comms_layer(&fixture, server.port), Context::new(), &scope)
            .await
            .unwrap();
        let mailer = ctx.get::<dyn Mailer>().unwrap();

        let mut tx = fixture.db.begin().await.unwrap();
        let rolled_back = mailer
            .send(
                (&mut tx).into(),
                fixture.email("gone@example.com", "Rolled back sign-up"),
            )
            .await
            .unwrap();
        tx.rollback().await.unwrap();

        let mut tx = fixture.db.begin().await.unwrap();
        let committed = mailer
            .send(
                (&mut tx).into(),
                fixture.email("kept@example.com", "Committed sign-up"),
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let outbox = ctx.get::<OutboxRepo>().unwrap();
        wait_for_status(&outbox, &committed.outbox_id, OutboxStatus::Sent).await;
        assert!(outbox
            .find_by_id(&rolled_back.outbox_id.parse().unwrap())
            .await
            .unwrap()
            .is_none());
        // Give a stray delivery every chance to show up.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let received = server.messages();
        let subjects: Vec<String> = received[before..]
            .iter()
            .filter_map(|m| m.header("Subject"))
            .collect();
        assert_eq!(
            subjects,
            vec!["Committed sign-up".to_string()],
            "{}",
            fixture.backend()
        );
        assert_eq!(outbox.counts_by_status().await.unwrap().sent, 1);
        scope.close().await.unwrap();
    }
}

#[tokio::test]
async fn outbox_throughput_into_a_local_smtp_server() {
    const MESSAGES: usize = 500;
    let Some(server) = SmtpServer::start().await else {
        return;
    };
    for test in all_backends().await {
        let fixture = Fixture::new(test).await;
        let backend = fixture.backend();
        for (batch_size, concurrency) in [(20u32, 4usize), (100, 8)] {
            let before = server.count();
            let sent_before = fixture.outbox.counts_by_status().await.unwrap().sent;
            let started = Instant::now();
            for n in 0..MESSAGES {
                fixture
                    .mailer
                    .send(
                        (&fixture.db).into(),
                        fixture.email(&format!("user{n}@example.com"), &format!("Bulk {n}")),
                    )
                    .await
                    .unwrap();
            }
            let enqueue = started.elapsed();
            let mut config = worker_config();
            config.batch_size = batch_size;
            config.concurrency = concurrency;
            let mut smtp = SmtpConfig::new("127.0.0.1", server.port, SmtpTls::None);
            smtp.timeout = Duration::from_secs(10);
            let transport: Arc<dyn EmailTransport> =
                Arc::new(comms_server::transport::SmtpTransport::new(&smtp, concurrency).unwrap());
            let worker = fixture.worker(transport, config);
            let started = Instant::now();
            let delivered = drain(&worker).await;
            let took = started.elapsed();
            assert_eq!(delivered, MESSAGES);
            let received = server
                .wait_count(before + MESSAGES, Duration::from_secs(30))
                .await;
            assert_eq!(received - before, MESSAGES, "every message arrived");
            let sent = fixture.outbox.counts_by_status().await.unwrap().sent;
            assert_eq!(sent - sent_before, MESSAGES as u64);
            println!(
                "THROUGHPUT [{backend}] batch={batch_size} concurrency={concurrency}: {MESSAGES} messages \
                 queued in {:.2} s ({:.0}/s), delivered to SMTP in {:.2} s ({:.0} messages/s)",
                enqueue.as_secs_f64(),
                MESSAGES as f64 / enqueue.as_secs_f64(),
                took.as_secs_f64(),
                MESSAGES as f64 / took.as_secs_f64()
            );
        }
    }
}
