//! The outbox, the mailer and the templates against real databases (every backend of
//! `all_backends()`), delivering into the in-memory transport: bad input, idempotency,
//! organization templates, concurrent workers, retries and attempt limits, cancellation,
//! retention, graceful shutdown, and the layer with the development mailbox.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use comms_server::config::{CommsConfig, TransportConfig};
use comms_server::entities::{DeliveryOutcome, OutboxId, OutboxStatus};
use comms_server::services::{OutboxService, TemplateInput, TemplateUpdate};
use comms_server::transport::{EmailTransport, MemoryTransport, TransportError};
use comms_server::CommsError;
use serde_json::json;
use shared_server::db::repo::PageRequest;
use shared_server::layer::{build, Context, Layer, Scope};
use shared_server::mail::{EmailContent, MailError, Mailer, OutgoingEmail};
use shared_server::testing::all_backends;
use shared_server::{Clock, RepoError, SystemClock};

/// Runs rounds until one claims nothing.
async fn drain(worker: &comms_server::services::OutboxWorker) {
    while worker.run_once().await.unwrap().claimed > 0 {}
}

fn id(queued: &shared_server::mail::QueuedEmail) -> OutboxId {
    queued.outbox_id.parse().unwrap()
}

#[tokio::test]
async fn bad_input_is_rejected_naming_the_field_and_nothing_is_queued() {
    for test in all_backends().await {
        let f = Fixture::new(test).await;

        let err = OutgoingEmail::builder()
            .to("ok@example.com")
            .cc("not an address")
            .subject("x")
            .text("y")
            .build()
            .unwrap_err();
        assert_eq!(err.field().as_deref(), Some("cc[0]"));

        let verify = |vars| {
            OutgoingEmail::builder()
                .organization(f.org.id.clone())
                .template("verify-email", vars)
                .to("bob@example.com")
                .build()
                .unwrap()
        };
        let err = f
            .mailer
            .send((&f.db).into(), verify(json!({"userName": "Bob"})))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, MailError::MissingVariable { template, variable } if template == "verify-email" && variable == "url"),
            "{err:?}"
        );
        assert_eq!(err.field().as_deref(), Some("variables.url"));
        assert!(err.to_string().contains("`url`"), "{err}");

        let unknown = OutgoingEmail::builder()
            .template("no-such-template", json!({}))
            .to("bob@example.com")
            .build()
            .unwrap();
        assert!(
            matches!(f.mailer.send((&f.db).into(), unknown).await, Err(MailError::TemplateNotFound { name }) if name == "no-such-template")
        );

        // Hand-built messages are validated by the mailer too.
        let mut blank = f.email("bob@example.com", "Blank");
        blank.content = EmailContent::Rendered {
            subject: "Blank".into(),
            text: Some("  ".into()),
            html: None,
        };
        assert_eq!(
            f.mailer
                .send((&f.db).into(), blank)
                .await
                .unwrap_err()
                .field()
                .as_deref(),
            Some("body")
        );
        let mut nobody = f.email("bob@example.com", "Nobody");
        nobody.to.clear();
        assert_eq!(
            f.mailer
                .send((&f.db).into(), nobody)
                .await
                .unwrap_err()
                .field()
                .as_deref(),
            Some("to")
        );

        // A template without default recipients needs `to`.
        let no_to = OutgoingEmail::builder()
            .template(
                "verify-email",
                json!({"userName": "Bob", "url": "https://x.example"}),
            )
            .build()
            .unwrap();
        assert_eq!(
            f.mailer
                .send((&f.db).into(), no_to)
                .await
                .unwrap_err()
                .field()
                .as_deref(),
            Some("to")
        );

        // A variable that renders the subject empty.
        f.templates
            .create(
                &f.org.id,
                &f.user.id,
                TemplateInput {
                    name: "notice".into(),
                    subject: "{{ title }}".into(),
                    body_html: "<p>{{ body }}</p>".into(),
                    ..TemplateInput::default()
                },
            )
            .await
            .unwrap();
        let empty_subject = OutgoingEmail::builder()
            .organization(f.org.id.clone())
            .template("notice", json!({"title": " ", "body": "b"}))
            .to("bob@example.com")
            .build()
            .unwrap();
        assert_eq!(
            f.mailer
                .send((&f.db).into(), empty_subject)
                .await
                .unwrap_err()
                .field()
                .as_deref(),
            Some("subject")
        );

        assert_eq!(
            f.outbox.counts_by_status().await.unwrap().pending,
            0,
            "{}",
            f.backend()
        );

        // The same message with every variable goes through.
        let ok = f
            .mailer
            .send(
                (&f.db).into(),
                verify(json!({"userName": "Bob", "url": "https://app.acme.test/v?t=1"})),
            )
            .await
            .unwrap();
        let row = f.outbox.find_by_id(&id(&ok)).await.unwrap().unwrap();
        assert_eq!(row.template_name.as_deref(), Some("verify-email"));
        assert_eq!(row.status, OutboxStatus::Pending);
        assert_eq!(row.message_id, ok.message_id.as_str());
    }
}

#[tokio::test]
async fn a_repeated_idempotency_key_returns_the_first_message() {
    for test in all_backends().await {
        let f = Fixture::new(test).await;
        let mut email = f.email("bob@example.com", "Welcome");
        email.idempotency_key = Some("welcome:bob".into());
        let first = f.mailer.send((&f.db).into(), email.clone()).await.unwrap();
        let mut tx = f.db.begin().await.unwrap();
        let again = f
            .mailer
            .send((&mut tx).into(), email.clone())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(!first.duplicate && again.duplicate);
        assert_eq!(
            (first.outbox_id.clone(), first.message_id.clone()),
            (again.outbox_id, again.message_id)
        );
        assert_eq!(
            f.outbox.counts_by_status().await.unwrap().pending,
            1,
            "{}",
            f.backend()
        );
    }
}

#[tokio::test]
async fn organization_templates_override_built_ins_and_deleting_one_brings_the_built_in_back() {
    for test in all_backends().await {
        let f = Fixture::new(test).await;
        let input = TemplateInput {
            name: "verify-email".into(),
            subject: "Bitte bestätigen, {{ userName }}".into(),
            body_html: "<p>Hallo {{ userName }}: <a href=\"{{ url }}\">{{ url }}</a></p>".into(),
            body_text: Some("Hallo {{ userName }}: {{ url }}".into()),
            description: Some("German verification".into()),
            bcc: vec!["audit@acme.test".into()],
            ..TemplateInput::default()
        };
        let template = f
            .templates
            .create(&f.org.id, &f.user.id, input.clone())
            .await
            .unwrap();
        assert_eq!(template.audit.version, 1);

        // Validation names the field; duplicates and other tenants behave like the base repo.
        let mut bad = input.clone();
        bad.body_html = "{% if x %}x{% endif %}".into();
        let err = f
            .templates
            .create(&f.org.id, &f.user.id, bad)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, CommsError::Mail(e) if e.field().as_deref() == Some("bodyHtml")),
            "{err:?}"
        );
        let mut bad = input.clone();
        bad.to = vec!["a@example.com".into(), "nope".into()];
        let err = f
            .templates
            .create(&f.org.id, &f.user.id, bad)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, CommsError::Mail(e) if e.field().as_deref() == Some("to[1]")),
            "{err:?}"
        );
        let mut bad = input.clone();
        bad.name = "Not A Name".into();
        let err = f
            .templates
            .create(&f.org.id, &f.user.id, bad)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, CommsError::Mail(e) if e.field().as_deref() == Some("name")),
            "{err:?}"
        );
        let err = f
            .templates
            .create(&f.org.id, &f.user.id, input.clone())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, CommsError::Repo(RepoError::Conflict { constraint }) if constraint == "comms_email_template_organization_id_name_uq"),
            "{err:?}"
        );
        assert!(matches!(
            f.templates.get(&f.other_org.id, &template.id).await,
            Err(CommsError::Repo(RepoError::NotFound { .. }))
        ));
        assert_eq!(
            f.templates
                .list(&f.org.id, PageRequest::default())
                .await
                .unwrap()
                .items
                .len(),
            1
        );
        assert!(f
            .templates
            .list(&f.other_org.id, PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty());

        // The organization's version is used for its mail, with its default bcc.
        let send = |org: &shared_server::entities::OrganizationId| {
            OutgoingEmail::builder()
                .organization(org.clone())
                .template(
                    "verify-email",
                    json!({"userName": "Bob", "url": "https://app.acme.test/v?t=1"}),
                )
                .to("bob@example.com")
                .build()
                .unwrap()
        };
        let own = f
            .mailer
            .send((&f.db).into(), send(&f.org.id))
            .await
            .unwrap();
        let row = f.outbox.find_by_id(&id(&own)).await.unwrap().unwrap();
        assert_eq!(row.subject, "Bitte bestätigen, Bob");
        assert_eq!(
            row.body_text.as_deref(),
            Some("Hallo Bob: https://app.acme.test/v?t=1")
        );
        assert_eq!(row.bcc, Some(json!(["audit@acme.test"])));
        // Another organization gets the built-in one.
        let other = f
            .mailer
            .send((&f.db).into(), send(&f.other_org.id))
            .await
            .unwrap();
        let row = f.outbox.find_by_id(&id(&other)).await.unwrap().unwrap();
        assert_eq!(row.subject, "Verify your email");
        assert!(row.body_html.unwrap().contains("Acme App"));

        // Update (version-checked), upsert, preview.
        let updated = f
            .templates
            .update(
                &f.org.id,
                &template.id,
                1,
                TemplateUpdate {
                    subject: Some("Bestätigen Sie, {{ userName }}".into()),
                    ..TemplateUpdate::default()
                },
                &f.user.id,
            )
            .await
            .unwrap();
        assert_eq!(updated.audit.version, 2);
        let stale = f
            .templates
            .update(
                &f.org.id,
                &template.id,
                1,
                TemplateUpdate::default(),
                &f.user.id,
            )
            .await
            .unwrap_err();
        assert!(matches!(
            stale,
            CommsError::Repo(RepoError::VersionConflict {
                expected: 1,
                actual: 2,
                ..
            })
        ));
        let mut upsert = input.clone();
        upsert.subject = "Upserted {{ userName }}".into();
        let upserted = f
            .templates
            .upsert(&f.org.id, &f.user.id, upsert, Some(2))
            .await
            .unwrap();
        assert_eq!(
            (upserted.id.clone(), upserted.audit.version),
            (template.id.clone(), 3)
        );
        let preview = f
            .templates
            .preview(
                &f.org.id,
                "verify-email",
                json!({"userName": "Eve", "url": "https://x.example"})
                    .as_object()
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(preview.subject, "Upserted Eve");

        // Deleting it brings the built-in back.
        f.templates.delete(&f.org.id, &template.id).await.unwrap();
        let again = f
            .mailer
            .send((&f.db).into(), send(&f.org.id))
            .await
            .unwrap();
        let row = f.outbox.find_by_id(&id(&again)).await.unwrap().unwrap();
        assert_eq!(row.subject, "Verify your email", "{}", f.backend());
        assert_eq!(row.bcc, None);
    }
}

#[tokio::test]
async fn two_workers_share_the_outbox_and_no_message_is_delivered_twice() {
    for test in all_backends().await {
        let f = Fixture::new(test).await;
        let mut queued = HashSet::new();
        for n in 0..60 {
            let q = f
                .mailer
                .send(
                    (&f.db).into(),
                    f.email("bulk@example.com", &format!("Shared {n}")),
                )
                .await
                .unwrap();
            queued.insert(q.outbox_id);
        }
        let mut config = worker_config();
        config.batch_size = 7;
        let (ta, tb) = (
            Arc::new(MemoryTransport::new()),
            Arc::new(MemoryTransport::new()),
        );
        let a = f.worker(ta.clone(), config.clone());
        let b = f.worker(tb.clone(), config);
        tokio::join!(drain(&a), drain(&b));
        let by_a: HashSet<String> = ta.sent().iter().map(|m| m.outbox_id.to_string()).collect();
        let by_b: HashSet<String> = tb.sent().iter().map(|m| m.outbox_id.to_string()).collect();
        assert_eq!(ta.sent().len() + tb.sent().len(), 60, "{}", f.backend());
        assert!(
            by_a.is_disjoint(&by_b),
            "a message went out through both workers"
        );
        assert_eq!(&by_a | &by_b, queued);
        assert_eq!(f.outbox.counts_by_status().await.unwrap().sent, 60);
        for outbox_id in by_a.iter().take(3) {
            let logs = f
                .logs
                .list_by_outbox(&outbox_id.parse().unwrap())
                .await
                .unwrap();
            assert_eq!(logs.len(), 1);
            assert_eq!(logs[0].worker.as_deref(), Some(a.owner()));
        }
    }
}

#[tokio::test]
async fn transient_failures_retry_until_the_attempt_limit_and_permanent_ones_fail_at_once() {
    for test in all_backends().await {
        let f = Fixture::new(test).await;
        let flaky = f
            .mailer
            .send((&f.db).into(), f.email("x@example.com", "Flaky"))
            .await
            .unwrap();
        let transport = Arc::new(MemoryTransport::new());
        transport.fail_with(Some(TransportError::transient("421 try again later")));
        let worker = f.worker(transport.clone(), worker_config());
        for attempt in 1..=8 {
            assert_eq!(
                worker.run_once().await.unwrap().claimed,
                1,
                "attempt {attempt}"
            );
            f.advance(Duration::from_secs(2 * 3600));
        }
        let row = f.outbox.find_by_id(&id(&flaky)).await.unwrap().unwrap();
        assert_eq!((row.status, row.attempts), (OutboxStatus::Failed, 8));
        assert_eq!(row.last_error.as_deref(), Some("421 try again later"));
        let outcomes: Vec<DeliveryOutcome> = f
            .logs
            .list_by_outbox(&row.id)
            .await
            .unwrap()
            .iter()
            .map(|l| l.outcome)
            .collect();
        assert_eq!(outcomes.len(), 8);
        assert!(outcomes[..7].iter().all(|o| *o == DeliveryOutcome::Retry));
        assert_eq!(outcomes[7], DeliveryOutcome::Failed);
        assert_eq!(
            worker.run_once().await.unwrap().claimed,
            0,
            "failed is final"
        );

        let refused = f
            .mailer
            .send((&f.db).into(), f.email("x@example.com", "Refused"))
            .await
            .unwrap();
        transport.fail_with(Some(TransportError::permanent("550 no such user")));
        assert_eq!(worker.run_once().await.unwrap().failed, 1);
        let row = f.outbox.find_by_id(&id(&refused)).await.unwrap().unwrap();
        assert_eq!(
            (row.status, row.attempts),
            (OutboxStatus::Failed, 1),
            "{}",
            f.backend()
        );
    }
}

#[tokio::test]
async fn a_message_whose_every_attempt_was_interrupted_fails_instead_of_looping() {
    for test in all_backends().await {
        let f = Fixture::new(test).await;
        let queued = f
            .mailer
            .send((&f.db).into(), f.email("x@example.com", "Poison"))
            .await
            .unwrap();
        // Eight workers claim it and die (their leases expire one after the other).
        for n in 0..8 {
            let claimed = f
                .outbox
                .claim_due(
                    &format!("dead-worker-{n}"),
                    f.now(),
                    10,
                    Duration::from_secs(60),
                )
                .await
                .unwrap();
            assert_eq!(claimed.len(), 1);
            f.advance(Duration::from_secs(61));
        }
        let transport = Arc::new(MemoryTransport::new());
        let report = f
            .worker(transport.clone(), worker_config())
            .run_once()
            .await
            .unwrap();
        assert_eq!((report.claimed, report.failed), (1, 1));
        assert!(transport.sent().is_empty(), "no ninth attempt");
        let row = f.outbox.find_by_id(&id(&queued)).await.unwrap().unwrap();
        assert_eq!(row.status, OutboxStatus::Failed, "{}", f.backend());
        assert!(row.last_error.unwrap().contains("interrupted"));
    }
}

#[tokio::test]
async fn cancel_list_get_purge_and_counts() {
    for test in all_backends().await {
        let f = Fixture::new(test).await;
        let service = OutboxService::new(f.outbox.clone(), f.logs.clone());
        let old = f
            .mailer
            .send((&f.db).into(), f.email("a@example.com", "Old"))
            .await
            .unwrap();
        let transport = Arc::new(MemoryTransport::new());
        let worker = f.worker(transport, worker_config());
        worker.run_once().await.unwrap();
        f.advance(Duration::from_secs(10));
        let cancel_me = f
            .mailer
            .send((&f.db).into(), f.email("b@example.com", "Cancel me"))
            .await
            .unwrap();
        let pending = f
            .mailer
            .send((&f.db).into(), f.email("c@example.com", "Pending"))
            .await
            .unwrap();

        let cancelled = service
            .cancel(&f.org.id, &id(&cancel_me), &f.user.id)
            .await
            .unwrap();
        assert_eq!(cancelled.status, OutboxStatus::Cancelled);
        assert!(matches!(
            service.cancel(&f.org.id, &id(&old), &f.user.id).await,
            Err(CommsError::InvalidState { .. })
        ));
        assert!(matches!(
            service
                .cancel(&f.other_org.id, &id(&pending), &f.user.id)
                .await,
            Err(CommsError::Repo(RepoError::NotFound { .. }))
        ));

        let page = service
            .list(&f.org.id, None, PageRequest::first(2))
            .await
            .unwrap();
        assert_eq!(page.items.len(), 2);
        assert!(page
            .items
            .iter()
            .all(|r| r.body_html.is_none() && r.body_text.is_none()));
        let rest = service
            .list(
                &f.org.id,
                None,
                PageRequest::after(page.next.clone().unwrap(), 2),
            )
            .await
            .unwrap();
        assert_eq!((rest.items.len(), rest.next.clone()), (1, None));
        let sent = service
            .list(&f.org.id, Some(OutboxStatus::Sent), PageRequest::default())
            .await
            .unwrap();
        assert_eq!(sent.items.len(), 1);
        assert!(service
            .list(&f.other_org.id, None, PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty());
        let detail = service.get(&f.org.id, &id(&old)).await.unwrap();
        assert_eq!(detail.deliveries.len(), 1);
        assert!(detail.email.body_html.is_some());
        let wire = serde_json::to_value(&detail).unwrap();
        assert_eq!(wire["status"], "sent");
        assert!(wire["deliveries"][0]["outcome"] == "sent" && wire["messageId"].is_string());

        let counts = service.counts().await.unwrap();
        assert_eq!(
            (counts.pending, counts.sent, counts.cancelled, counts.failed),
            (1, 1, 1, 0)
        );
        assert_eq!(
            counts.pairs(),
            vec![
                ("pending", 1),
                ("sending", 0),
                ("sent", 1),
                ("failed", 0),
                ("cancelled", 1)
            ]
        );

        // Retention: 31 days later the sent row (and its log) goes; the cancelled one stays
        // until 90 days; pending rows are never purged.
        f.advance(Duration::from_secs(31 * 86_400));
        assert_eq!(worker.purge_expired().await.unwrap(), 1);
        assert!(f.outbox.find_by_id(&id(&old)).await.unwrap().is_none());
        assert!(
            f.logs.list_by_outbox(&id(&old)).await.unwrap().is_empty(),
            "logs cascade"
        );
        f.advance(Duration::from_secs(60 * 86_400));
        assert_eq!(worker.purge_expired().await.unwrap(), 1);
        let counts = f.outbox.counts_by_status().await.unwrap();
        assert_eq!(
            (counts.pending, counts.sent, counts.cancelled),
            (1, 0, 0),
            "{}",
            f.backend()
        );
    }
}

#[tokio::test]
async fn a_graceful_stop_hands_unfinished_messages_back_at_once() {
    for test in all_backends().await {
        let f = Fixture::new(test).await;
        let queued = f
            .mailer
            .send((&f.db).into(), f.email("x@example.com", "Stuck"))
            .await
            .unwrap();
        let handle = Arc::new(f.worker(Arc::new(HangingTransport), worker_config())).start();
        for _ in 0..200 {
            let row = f.outbox.find_by_id(&id(&queued)).await.unwrap().unwrap();
            if row.status == OutboxStatus::Sending {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let started = Instant::now();
        handle.shutdown().await.unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "the grace period bounds the stop"
        );
        handle.shutdown().await.unwrap();
        let row = f.outbox.find_by_id(&id(&queued)).await.unwrap().unwrap();
        assert_eq!(
            (row.status, row.lease_owner.clone(), row.attempts),
            (OutboxStatus::Pending, None, 1)
        );
        // No lease to wait for: the next worker sends it right away.
        let transport = Arc::new(MemoryTransport::new());
        assert_eq!(
            f.worker(transport.clone(), worker_config())
                .run_once()
                .await
                .unwrap()
                .sent,
            1
        );
        assert_eq!(
            transport.sent()[0].message_id,
            queued.message_id,
            "{}",
            f.backend()
        );
    }
}

#[tokio::test]
async fn the_layer_delivers_to_the_development_mailbox() {
    for test in all_backends().await {
        let f = Fixture::new(test).await;
        let dir = tempfile::tempdir().unwrap();
        let mail_dir = dir.path().join("mail");
        let mut config = CommsConfig::new(TransportConfig::Mailbox {
            dir: mail_dir.clone(),
        });
        config.worker.poll_interval = Duration::from_millis(50);
        let layer = comms_server::layer().provide(&Layer::merge_all([
            Layer::value("Db", f.db.clone()),
            Layer::shared::<dyn Clock>("Clock", Arc::new(SystemClock)),
            Layer::value("CommsConfig", config),
        ]));
        let scope = Scope::new("test");
        let ctx = build(&layer, Context::new(), &scope).await.unwrap();
        assert_eq!(ctx.get::<dyn EmailTransport>().unwrap().name(), "mailbox");
        let queued = ctx
            .get::<dyn Mailer>()
            .unwrap()
            .send(
                (&f.db).into(),
                OutgoingEmail::builder()
                    .template(
                        "reset-password",
                        json!({"userName": "Bob", "url": "https://app.test/reset/t9"}),
                    )
                    .to("bob@example.com")
                    .build()
                    .unwrap(),
            )
            .await
            .unwrap();
        let file = mail_dir.join(format!("{}.eml", queued.outbox_id));
        for _ in 0..400 {
            if file.exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let eml = std::fs::read_to_string(&file).expect("the .eml file is written");
        assert!(
            eml.contains(&format!("Message-ID: {}", queued.message_id)),
            "{eml}"
        );
        assert!(eml.contains("Subject: Reset your password"));
        assert!(eml.contains("https://app.test/reset/t9"));
        scope.close().await.unwrap();
        let row = f.outbox.find_by_id(&id(&queued)).await.unwrap().unwrap();
        assert_eq!(row.status, OutboxStatus::Sent, "{}", f.backend());
        assert_eq!(row.provider.as_deref(), Some("mailbox"));
    }
}

#[tokio::test]
async fn outbox_overhead_without_a_network_transport() {
    const MESSAGES: usize = 500;
    for test in all_backends().await {
        let f = Fixture::new(test).await;
        for n in 0..MESSAGES {
            f.mailer
                .send(
                    (&f.db).into(),
                    f.email(&format!("u{n}@example.com"), &format!("M {n}")),
                )
                .await
                .unwrap();
        }
        let transport = Arc::new(MemoryTransport::new());
        let worker = f.worker(transport.clone(), worker_config());
        let started = Instant::now();
        while worker.run_once().await.unwrap().claimed > 0 {}
        let took = started.elapsed();
        assert_eq!(transport.sent().len(), MESSAGES);
        println!(
            "OUTBOX OVERHEAD [{}] claim + MIME build + record, no network: {MESSAGES} messages in {:.2} s ({:.0}/s)",
            f.backend(),
            took.as_secs_f64(),
            MESSAGES as f64 / took.as_secs_f64()
        );
    }
}
