//! The `runtime-server` binary: `serve` (default), `migrate`, `doctor`, `graph [--mermaid]`.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use runtime_server::app;
use runtime_server::config::AppConfig;
use runtime_server::{HttpServer, ServerRuntime, ShutdownSignals};
use shared_server::db::migrate;
use shared_server::storage::ObjectStore;
use shared_server::Db;

const USAGE: &str = "usage: runtime-server [serve | migrate | doctor | graph [--mermaid]]

  serve     start the HTTP server (default)
  migrate   apply pending database migrations and exit
  doctor    print the effective configuration (secrets redacted) and check each dependency
  graph     print the layer graph of the composed runtime (text, or Mermaid with --mermaid)

Configuration comes from environment variables and an optional .env file (see README).";

fn main() -> ExitCode {
    let started = Instant::now();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().cloned().unwrap_or_else(|| "serve".to_string());
    let command = command.as_str();
    let mermaid = args.iter().any(|a| a == "--mermaid");
    if matches!(command, "-h" | "--help" | "help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let config = match AppConfig::load() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(error) => {
            eprintln!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        match command {
            "serve" => serve(config, started).await,
            "migrate" => migrate_command(config).await,
            "doctor" => doctor(config).await,
            "graph" => graph(config, mermaid),
            other => {
                eprintln!("unknown command `{other}`\n\n{USAGE}");
                ExitCode::from(2)
            }
        }
    })
}

async fn serve(config: AppConfig, started: Instant) -> ExitCode {
    let signals = match ShutdownSignals::install() {
        Ok(signals) => signals,
        Err(error) => {
            eprintln!("cannot install signal handlers: {error}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = ServerRuntime::new(app::server_layer(config));
    let ctx = match runtime.context().await {
        Ok(ctx) => ctx,
        Err(error) => {
            eprintln!("start-up failed: {error}");
            let _ = runtime.dispose().await;
            return ExitCode::FAILURE;
        }
    };
    match ctx.get::<HttpServer>() {
        Ok(server) => {
            tracing::info!(startup_ms = started.elapsed().as_millis() as u64, "ready");
            println!("runtime-server listening on {}", server.base_url);
        }
        Err(error) => {
            eprintln!("start-up failed: {error}");
            return ExitCode::FAILURE;
        }
    }
    drop(ctx);
    signals.wait_then_arm_force_exit().await;
    match runtime.dispose().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("shutdown finished with errors: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn migrate_command(config: AppConfig) -> ExitCode {
    runtime_server::tooling::init_logging(&config, None);
    let db = match Db::connect(&config.database).await {
        Ok(db) => db,
        Err(error) => {
            eprintln!("migrate: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = migrate::run(&db, &app::migrations()).await;
    db.close().await;
    match outcome {
        Ok(report) => {
            for name in &report.applied {
                println!("applied {name}");
            }
            println!(
                "migrate: {} applied, {} already applied ({})",
                report.applied.len(),
                report.already_applied,
                db.target()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("migrate: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn doctor(config: AppConfig) -> ExitCode {
    println!("configuration:");
    for (name, value) in config.redacted() {
        println!("  {name:<28} {value}");
    }
    println!("\nchecks:");
    let mut healthy = true;
    let mut report = |name: &str, outcome: Result<String, String>| match outcome {
        Ok(detail) => println!("  ok    {name:<14} {detail}"),
        Err(detail) => {
            healthy = false;
            println!("  FAIL  {name:<14} {detail}");
        }
    };
    let mut probe = config.database.clone();
    probe.connect_attempts = 1;
    match Db::connect(&probe).await {
        Ok(db) => {
            let started = Instant::now();
            let ping = db.ping(Duration::from_secs(2)).await;
            report(
                "database",
                ping.map(|()| format!("{} ({} ms)", db.target(), started.elapsed().as_millis()))
                    .map_err(|e| e.to_string()),
            );
            let status = migrate::status(&db, &app::migrations()).await;
            report(
                "migrations",
                status
                    .map(|list| {
                        let pending = list.iter().filter(|m| m.applied_at.is_none()).count();
                        format!("{} known, {} pending", list.len(), pending)
                    })
                    .map_err(|e| e.to_string()),
            );
            let outbox = comms_server::repos::OutboxRepo::new(
                db.clone(),
                std::sync::Arc::new(shared_server::SystemClock),
            );
            report(
                "email outbox",
                outbox
                    .counts_by_status()
                    .await
                    .map(|counts| {
                        counts
                            .pairs()
                            .iter()
                            .map(|(status, n)| format!("{status} {n}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .map_err(|e| e.to_string()),
            );
            db.close().await;
        }
        Err(error) => report("database", Err(error.to_string())),
    }
    report(
        "email delivery",
        check_email_transport(&config.comms.transport).await,
    );
    let store = match &config.object_store {
        runtime_server::config::ObjectStoreConfig::Local { root } => {
            shared_server::storage::LocalObjectStore::new(
                root.clone(),
                config.auth_secret.expose().as_bytes().to_vec(),
                "http://localhost",
            )
            .map(|s| Box::new(s) as Box<dyn ObjectStore>)
        }
        runtime_server::config::ObjectStoreConfig::S3(s3) => {
            runtime_server::persistence::s3::S3ObjectStore::new(s3.clone())
                .map(|s| Box::new(s) as Box<dyn ObjectStore>)
        }
    };
    match store {
        Ok(store) => {
            let checked = store.check().await;
            report(
                "object store",
                checked
                    .map(|()| store.backend().to_string())
                    .map_err(|e| e.to_string()),
            );
        }
        Err(error) => report("object store", Err(error.to_string())),
    }
    if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// SMTP: connect, greet and start TLS as configured, so a relay without STARTTLS behind a URL
/// that requires it shows up here with its fix (issue 10). The other transports need no check.
async fn check_email_transport(
    transport: &comms_server::config::TransportConfig,
) -> Result<String, String> {
    use comms_server::config::TransportConfig;
    match transport {
        TransportConfig::Smtp(smtp) => {
            let started = Instant::now();
            let transport = comms_server::transport::SmtpTransport::new(smtp, 1)
                .map_err(|error| error.to_string())?;
            let checked = transport.check().await.map_err(|error| error.message);
            checked.map(|relay| format!("{relay} ({} ms)", started.elapsed().as_millis()))
        }
        TransportConfig::Mailbox { dir } => Ok(format!("development mailbox in {}", dir.display())),
        TransportConfig::Log => Ok("log (messages are only logged)".to_owned()),
    }
}

fn graph(config: AppConfig, mermaid: bool) -> ExitCode {
    let graph = app::server_layer(config).graph();
    if mermaid {
        print!("{}", graph.to_mermaid());
    } else {
        print!("{}", graph.to_text());
        println!("RPC groups (one per slice, served at /v1/<group>/rpc):");
        for entry in app::rpc_groups() {
            println!("  {}", entry.service());
        }
    }
    if graph.duplicates.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "error: {} service(s) provided by more than one layer (see DUPLICATE lines); \
             the server refuses to start with this composition",
            graph.duplicates.len()
        );
        ExitCode::FAILURE
    }
}
