//! `CommsConfig`: how the comms slice delivers email (transport, sender, worker pace, retention),
//! read from environment variables with development defaults that work on a fresh machine.
//!
//! Errors name the variable and the expected form; an SMTP password never appears in an error,
//! a log line or `Debug` output.

use std::path::{Path, PathBuf};
use std::time::Duration;

use shared_server::config::{VarError, Vars};
use shared_server::mail::EmailAddress;

/// Why the comms configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommsConfigError {
    #[error("invalid {var}={value}: expected {expected}")]
    Invalid {
        var: &'static str,
        /// The value as given, with any password replaced by `***`.
        value: String,
        expected: String,
    },
    #[error("{var} is required when APP_ENV={env}: {hint}")]
    Missing {
        var: &'static str,
        env: String,
        hint: &'static str,
    },
}

impl From<VarError> for CommsConfigError {
    fn from(e: VarError) -> Self {
        CommsConfigError::Invalid {
            var: e.var,
            value: e.value,
            expected: e.expected,
        }
    }
}

/// Where messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportConfig {
    /// Development mailbox: each message is written as `<dir>/<outbox id>.eml` and logged with
    /// its subject, recipients and links.
    Mailbox { dir: PathBuf },
    /// An SMTP relay.
    Smtp(SmtpConfig),
    /// Log only: nothing is delivered.
    Log,
}

impl TransportConfig {
    pub fn name(&self) -> &'static str {
        match self {
            TransportConfig::Mailbox { .. } => "mailbox",
            TransportConfig::Smtp(_) => "smtp",
            TransportConfig::Log => "log",
        }
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// `smtps://`: TLS from the first byte (port 465).
    Implicit,
    /// `smtp://…?tls=starttls` (the default for `smtp://`): STARTTLS is required; nothing is
    /// sent if the server does not offer it.
    StartTls,
    /// `smtp://…?tls=opportunistic`: STARTTLS when offered, plain otherwise.
    Opportunistic,
    /// `smtp://…?tls=none`: plain text (local test servers only).
    None,
}

/// An SMTP relay from `SMTP_URL`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    password: Option<String>,
    /// Bound on connecting and on each SMTP command.
    pub timeout: Duration,
}

impl SmtpConfig {
    /// A relay without credentials.
    pub fn new(host: impl Into<String>, port: u16, tls: SmtpTls) -> Self {
        Self {
            host: host.into(),
            port,
            tls,
            username: None,
            password: None,
            timeout: Duration::from_secs(30),
        }
    }

    pub fn with_credentials(mut self, username: String, password: String) -> Self {
        self.username = Some(username);
        self.password = Some(password);
        self
    }

    /// The password, for the transport only (never log it).
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// `smtp(s)://user:***@host:port?tls=…`, for logs and `doctor`.
    pub fn redacted_url(&self) -> String {
        let scheme = if self.tls == SmtpTls::Implicit {
            "smtps"
        } else {
            "smtp"
        };
        let user = match &self.username {
            Some(user) => format!("{user}:***@"),
            None => String::new(),
        };
        let tls = match self.tls {
            SmtpTls::Implicit => "",
            SmtpTls::StartTls => "?tls=starttls",
            SmtpTls::Opportunistic => "?tls=opportunistic",
            SmtpTls::None => "?tls=none",
        };
        format!("{scheme}://{user}{}:{}{tls}", self.host, self.port)
    }
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("url", &self.redacted_url())
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The delivery worker's pace and limits.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerConfig {
    /// Start the worker with the layer (`COMMS_OUTBOX_WORKER=off` queues without delivering,
    /// e.g. in a CLI job while the servers deliver).
    pub enabled: bool,
    /// Sleep between polls when the outbox is idle (a send wakes the worker at once).
    pub poll_interval: Duration,
    /// Rows claimed per poll.
    pub batch_size: u32,
    /// Messages sent at the same time.
    pub concurrency: usize,
    /// Attempts before a message is marked `failed`.
    pub max_attempts: i32,
    /// Delay after the first failed attempt; doubles per attempt up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Random spread of each delay, as a fraction (0.2 = ±20 %).
    pub backoff_jitter: f64,
    /// How long a claim is exclusive; after it, another worker may take the row over.
    pub lease: Duration,
    /// Bound on one delivery attempt (kept well below `lease`).
    pub send_timeout: Duration,
    /// On shutdown, how long in-flight sends may finish before their leases are released.
    pub shutdown_grace: Duration,
    /// How often sent/failed rows past their retention are deleted.
    pub purge_interval: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            poll_interval: Duration::from_millis(1000),
            batch_size: 20,
            concurrency: 4,
            max_attempts: 8,
            backoff_base: Duration::from_secs(30),
            backoff_max: Duration::from_secs(3600),
            backoff_jitter: 0.2,
            lease: Duration::from_secs(60),
            send_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
            purge_interval: Duration::from_secs(24 * 3600),
        }
    }
}

/// How long finished rows are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionConfig {
    pub sent: Duration,
    /// `failed` and `cancelled` rows.
    pub failed: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            sent: Duration::from_secs(30 * 86_400),
            failed: Duration::from_secs(90 * 86_400),
        }
    }
}

/// The comms slice's configuration (a service of the runtime, required by [`crate::layer`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CommsConfig {
    pub transport: TransportConfig,
    /// Sender of messages that set none (`EMAIL_FROM`).
    pub from: EmailAddress,
    /// `appName` in templates.
    pub app_name: String,
    /// `appUrl` in templates.
    pub app_url: String,
    pub worker: WorkerConfig,
    pub retention: RetentionConfig,
}

/// Every variable [`CommsConfig::from_vars`] reads, for documentation and `doctor`.
pub const VARIABLES: &[(&str, &str, &str)] = &[
    ("EMAIL_TRANSPORT", "`smtp` if SMTP_URL is set, else `mailbox` (development); required otherwise", "`mailbox` (write .eml files and log links), `smtp`, or `log` (log only)"),
    ("SMTP_URL", "(none)", "`smtps://user:pass@host:465` or `smtp://user:pass@host:587?tls=starttls|opportunistic|none`"),
    ("SMTP_TIMEOUT_SECS", "30", "bound on connecting and on each SMTP command; also bounds one delivery attempt"),
    ("EMAIL_FROM", "`<APP_NAME> <no-reply@example.com>` (development); required otherwise", "default sender, `Name <address>` or `address`"),
    ("COMMS_MAIL_DIR", "`<APP_DATA_DIR>/mail`", "folder of the development mailbox"),
    ("COMMS_OUTBOX_WORKER", "on", "`off` queues mail without delivering it from this instance"),
    ("COMMS_OUTBOX_POLL_MS", "1000", "idle poll interval of the delivery worker"),
    ("COMMS_OUTBOX_BATCH_SIZE", "20", "rows claimed per poll"),
    ("COMMS_OUTBOX_CONCURRENCY", "4", "messages sent at the same time (and SMTP connections kept open)"),
    ("COMMS_OUTBOX_MAX_ATTEMPTS", "8", "attempts before a message is marked failed"),
    ("COMMS_OUTBOX_BACKOFF_BASE_SECS", "30", "retry delay after the first failure; doubles per attempt (±20 %)"),
    ("COMMS_OUTBOX_BACKOFF_MAX_SECS", "3600", "longest retry delay"),
    ("COMMS_OUTBOX_LEASE_SECS", "60", "claim duration; a crashed worker's rows are taken over after it (must exceed SMTP_TIMEOUT_SECS + 5)"),
    ("COMMS_RETENTION_SENT_DAYS", "30", "sent rows (and their delivery logs) are deleted after this"),
    ("COMMS_RETENTION_FAILED_DAYS", "90", "failed and cancelled rows are deleted after this"),
];

impl CommsConfig {
    /// Defaults for `transport`: development sender, worker and retention defaults.
    pub fn new(transport: TransportConfig) -> Self {
        Self {
            transport,
            from: default_from("app"),
            app_name: "app".to_string(),
            app_url: "http://127.0.0.1:8080".to_string(),
            worker: WorkerConfig::default(),
            retention: RetentionConfig::default(),
        }
    }

    /// Reads the configuration. `get` returns a variable's value (unset and blank are the
    /// same); `data_dir` is the runtime's data folder (`APP_DATA_DIR`), home of the development
    /// mailbox. `APP_ENV`, `APP_NAME`, `APP_PUBLIC_URL`, `APP_API_HOST` and `APP_API_PORT` are
    /// read too (the runtime's variables) for the environment and the template variables.
    pub fn from_vars(
        get: &dyn Fn(&str) -> Option<String>,
        data_dir: &Path,
    ) -> Result<CommsConfig, CommsConfigError> {
        let vars = Vars::new(get);
        let var = |name: &str| vars.get(name);
        let env = var("APP_ENV").unwrap_or_else(|| "dev".to_string());
        let development = matches!(env.as_str(), "dev" | "development" | "local" | "test");
        let app_name = var("APP_NAME").unwrap_or_else(|| "app".to_string());
        let app_url = var("APP_PUBLIC_URL").unwrap_or_else(|| {
            format!(
                "http://{}:{}",
                var("APP_API_HOST").unwrap_or_else(|| "127.0.0.1".into()),
                var("APP_API_PORT").unwrap_or_else(|| "8080".into())
            )
        });
        let app_url = app_url.trim_end_matches('/').to_string();

        let smtp_timeout = vars.secs("SMTP_TIMEOUT_SECS", 30, 1..=600)?;
        let smtp = match var("SMTP_URL") {
            Some(url) => Some(parse_smtp_url(&url, smtp_timeout)?),
            None => None,
        };
        let mail_dir = var("COMMS_MAIL_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join("mail"));
        let transport = match var("EMAIL_TRANSPORT").as_deref() {
            Some("smtp") => match smtp {
                Some(smtp) => TransportConfig::Smtp(smtp),
                None => {
                    return Err(CommsConfigError::Invalid {
                        var: "SMTP_URL",
                        value: "(not set)".into(),
                        expected: format!("an SMTP URL because EMAIL_TRANSPORT=smtp: {SMTP_URL_FORMS}"),
                    })
                }
            },
            Some("mailbox") => TransportConfig::Mailbox { dir: mail_dir },
            Some("log") => TransportConfig::Log,
            Some(other) => {
                return Err(CommsConfigError::Invalid {
                    var: "EMAIL_TRANSPORT",
                    value: other.chars().take(80).collect(),
                    expected: "one of mailbox, smtp, log".into(),
                })
            }
            None => match smtp {
                Some(smtp) => TransportConfig::Smtp(smtp),
                None if development => TransportConfig::Mailbox { dir: mail_dir },
                None => {
                    return Err(CommsConfigError::Missing {
                        var: "EMAIL_TRANSPORT",
                        env,
                        hint: "set SMTP_URL (and EMAIL_TRANSPORT=smtp), or EMAIL_TRANSPORT=log to only log mail",
                    })
                }
            },
        };

        let from = match var("EMAIL_FROM") {
            Some(from) => EmailAddress::parse(&from).map_err(|e| CommsConfigError::Invalid {
                var: "EMAIL_FROM",
                value: from.chars().take(120).collect(),
                expected: format!(
                    "an address such as `App <no-reply@example.com>` ({})",
                    e.reason
                ),
            })?,
            None if development => default_from(&app_name),
            None => {
                return Err(CommsConfigError::Missing {
                    var: "EMAIL_FROM",
                    env,
                    hint: "the sender of every message, e.g. `App <no-reply@your-domain.com>`",
                })
            }
        };

        let worker = WorkerConfig {
            enabled: vars.flag("COMMS_OUTBOX_WORKER", true)?,
            poll_interval: vars.millis("COMMS_OUTBOX_POLL_MS", 1000, 10..=3_600_000)?,
            batch_size: vars.number("COMMS_OUTBOX_BATCH_SIZE", 20u32, 1..=500)?,
            concurrency: vars.number("COMMS_OUTBOX_CONCURRENCY", 4usize, 1..=64)?,
            max_attempts: vars.number("COMMS_OUTBOX_MAX_ATTEMPTS", 8i32, 1..=100)?,
            backoff_base: vars.secs("COMMS_OUTBOX_BACKOFF_BASE_SECS", 30, 1..=86_400)?,
            backoff_max: vars.secs("COMMS_OUTBOX_BACKOFF_MAX_SECS", 3600, 1..=7 * 86_400)?,
            lease: vars.secs("COMMS_OUTBOX_LEASE_SECS", 60, 10..=86_400)?,
            send_timeout: smtp_timeout,
            ..WorkerConfig::default()
        };
        if worker.lease < worker.send_timeout + Duration::from_secs(5) {
            return Err(CommsConfigError::Invalid {
                var: "COMMS_OUTBOX_LEASE_SECS",
                value: worker.lease.as_secs().to_string(),
                expected: format!(
                    "at least SMTP_TIMEOUT_SECS + 5 = {} seconds, so a live worker never loses a message it is sending",
                    worker.send_timeout.as_secs() + 5
                ),
            });
        }
        if worker.backoff_max < worker.backoff_base {
            return Err(CommsConfigError::Invalid {
                var: "COMMS_OUTBOX_BACKOFF_MAX_SECS",
                value: worker.backoff_max.as_secs().to_string(),
                expected: format!(
                    "at least COMMS_OUTBOX_BACKOFF_BASE_SECS ({})",
                    worker.backoff_base.as_secs()
                ),
            });
        }
        let retention = RetentionConfig {
            sent: days(vars.number("COMMS_RETENTION_SENT_DAYS", 30u64, 1..=3650)?),
            failed: days(vars.number("COMMS_RETENTION_FAILED_DAYS", 90u64, 1..=3650)?),
        };
        Ok(CommsConfig {
            transport,
            from,
            app_name,
            app_url,
            worker,
            retention,
        })
    }

    /// The effective settings as `(variable, value)` pairs, passwords redacted, for `doctor`.
    pub fn redacted(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![("EMAIL_TRANSPORT", self.transport.name().to_string())];
        match &self.transport {
            TransportConfig::Mailbox { dir } => {
                out.push(("COMMS_MAIL_DIR", dir.display().to_string()));
            }
            TransportConfig::Smtp(smtp) => {
                out.push(("SMTP_URL", smtp.redacted_url()));
                out.push(("SMTP_TIMEOUT_SECS", smtp.timeout.as_secs().to_string()));
            }
            TransportConfig::Log => {}
        }
        let w = &self.worker;
        out.extend([
            ("EMAIL_FROM", self.from.to_string()),
            (
                "COMMS_OUTBOX_WORKER",
                if w.enabled { "on" } else { "off" }.to_string(),
            ),
            (
                "COMMS_OUTBOX_POLL_MS",
                w.poll_interval.as_millis().to_string(),
            ),
            ("COMMS_OUTBOX_BATCH_SIZE", w.batch_size.to_string()),
            ("COMMS_OUTBOX_CONCURRENCY", w.concurrency.to_string()),
            ("COMMS_OUTBOX_MAX_ATTEMPTS", w.max_attempts.to_string()),
            (
                "COMMS_OUTBOX_BACKOFF_BASE_SECS",
                w.backoff_base.as_secs().to_string(),
            ),
            (
                "COMMS_OUTBOX_BACKOFF_MAX_SECS",
                w.backoff_max.as_secs().to_string(),
            ),
            ("COMMS_OUTBOX_LEASE_SECS", w.lease.as_secs().to_string()),
            (
                "COMMS_RETENTION_SENT_DAYS",
                (self.retention.sent.as_secs() / 86_400).to_string(),
            ),
            (
                "COMMS_RETENTION_FAILED_DAYS",
                (self.retention.failed.as_secs() / 86_400).to_string(),
            ),
        ]);
        out
    }
}

const SMTP_URL_FORMS: &str =
    "smtp://host:587?tls=starttls or smtps://user:pass@host:465 (tls: starttls, opportunistic or none)";

fn default_from(app_name: &str) -> EmailAddress {
    let address = EmailAddress::parse("no-reply@example.com")
        .unwrap_or_else(|_| unreachable!("a literal valid address"));
    address.clone().with_name(Some(app_name)).unwrap_or(address)
}

fn days(n: u64) -> Duration {
    Duration::from_secs(n * 86_400)
}

/// Replaces the password of `scheme://user:password@host` with `***`, even in a URL that does
/// not parse.
fn redact_url_text(raw: &str) -> String {
    let Some(scheme_end) = raw.find("://") else {
        return raw.chars().take(200).collect();
    };
    let authority_start = scheme_end + 3;
    let rest = &raw[authority_start..];
    let Some(at) = rest.rfind('@') else {
        return raw.chars().take(200).collect();
    };
    let userinfo = &rest[..at];
    let redacted = match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:***"),
        None => userinfo.to_string(),
    };
    format!("{}{redacted}{}", &raw[..authority_start], &rest[at..])
        .chars()
        .take(200)
        .collect()
}

/// Parses `SMTP_URL`.
pub fn parse_smtp_url(raw: &str, timeout: Duration) -> Result<SmtpConfig, CommsConfigError> {
    let invalid = |why: &str| CommsConfigError::Invalid {
        var: "SMTP_URL",
        value: redact_url_text(raw),
        expected: format!("{SMTP_URL_FORMS}; {why}"),
    };
    let url = url::Url::parse(raw).map_err(|e| invalid(&format!("it does not parse ({e})")))?;
    let implicit = match url.scheme() {
        "smtps" => true,
        "smtp" => false,
        _ => return Err(invalid("the scheme must be smtp or smtps")),
    };
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| invalid("the host is missing"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    if !(url.path().is_empty() || url.path() == "/") {
        return Err(invalid("no path is allowed after the port"));
    }
    let mut tls = if implicit {
        SmtpTls::Implicit
    } else {
        SmtpTls::StartTls
    };
    for (key, value) in url.query_pairs() {
        match (key.as_ref(), value.as_ref(), implicit) {
            ("tls", "starttls" | "required", false) => tls = SmtpTls::StartTls,
            ("tls", "opportunistic", false) => tls = SmtpTls::Opportunistic,
            ("tls", "none", false) => tls = SmtpTls::None,
            ("tls", "implicit" | "tls", true) => tls = SmtpTls::Implicit,
            ("tls", _, true) => {
                return Err(invalid("smtps:// is always TLS; drop the tls parameter"))
            }
            ("tls", _, false) => {
                return Err(invalid("tls must be starttls, opportunistic or none"))
            }
            _ => return Err(invalid(&format!("unknown parameter `{key}`"))),
        }
    }
    let port = url.port().unwrap_or(if implicit { 465 } else { 587 });
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| invalid("the user name or password is not valid UTF-8 after %-decoding"))
    };
    let mut config = SmtpConfig::new(host, port, tls);
    config.timeout = timeout;
    if !url.username().is_empty() {
        let username = decode(url.username())?;
        let password = decode(url.password().unwrap_or_default())?;
        if tls == SmtpTls::None || tls == SmtpTls::Opportunistic {
            tracing::warn!(smtp = %config.redacted_url(), "SMTP credentials over a connection that may not be encrypted");
        }
        config = config.with_credentials(username, password);
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<CommsConfig, CommsConfigError> {
        let vars: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        CommsConfig::from_vars(&|name| vars.get(name).cloned(), Path::new("/srv/data"))
    }

    #[test]
    fn development_defaults_to_the_mailbox_in_the_data_dir() {
        let config = load(&[]).unwrap();
        assert_eq!(
            config.transport,
            TransportConfig::Mailbox {
                dir: PathBuf::from("/srv/data/mail")
            }
        );
        assert_eq!(config.from.address(), "no-reply@example.com");
        assert_eq!(config.worker, WorkerConfig::default());
        assert_eq!(config.retention, RetentionConfig::default());
        assert_eq!(config.app_url, "http://127.0.0.1:8080");
    }

    #[test]
    fn smtp_urls_parse_with_their_tls_mode() {
        let config = load(&[(
            "SMTP_URL",
            "smtps://mailer%40acme.test:s3cr%3At@smtp.acme.test",
        )])
        .unwrap();
        let TransportConfig::Smtp(smtp) = &config.transport else {
            panic!("SMTP_URL selects smtp");
        };
        assert_eq!(
            (smtp.host.as_str(), smtp.port, smtp.tls),
            ("smtp.acme.test", 465, SmtpTls::Implicit)
        );
        assert_eq!(smtp.username.as_deref(), Some("mailer@acme.test"));
        assert_eq!(smtp.password(), Some("s3cr:t"));
        assert!(
            !format!("{smtp:?}").contains("s3cr"),
            "Debug hides the password"
        );
        assert!(!smtp.redacted_url().contains("s3cr"));

        let smtp = parse_smtp_url("smtp://relay.acme.test", Duration::from_secs(5)).unwrap();
        assert_eq!((smtp.port, smtp.tls), (587, SmtpTls::StartTls));
        let smtp =
            parse_smtp_url("smtp://127.0.0.1:2525?tls=none", Duration::from_secs(5)).unwrap();
        assert_eq!(
            (smtp.host.as_str(), smtp.port, smtp.tls),
            ("127.0.0.1", 2525, SmtpTls::None)
        );
        let smtp =
            parse_smtp_url("smtp://h.test:25?tls=opportunistic", Duration::from_secs(5)).unwrap();
        assert_eq!(smtp.tls, SmtpTls::Opportunistic);
    }

    #[test]
    fn bad_values_name_the_variable_and_never_print_the_password() {
        for url in [
            "http://user:hunter2@host.test",
            "smtp://user:hunter2@host.test?tls=maybe",
            "smtps://user:hunter2@host.test?tls=none",
            "smtp://user:hunter2@",
            "smtp://user:hunter2@host.test/path",
            "smtp://user:hunter2@host.test:99999",
        ] {
            let err = load(&[("SMTP_URL", url)]).unwrap_err();
            let text = err.to_string();
            assert!(text.starts_with("invalid SMTP_URL="), "{text}");
            assert!(text.contains("smtps://user:pass@host:465"), "{text}");
            assert!(!text.contains("hunter2"), "password leaked: {text}");
        }
        let err = load(&[("COMMS_OUTBOX_POLL_MS", "soon")]).unwrap_err();
        assert!(
            err.to_string().contains("COMMS_OUTBOX_POLL_MS=soon"),
            "{err}"
        );
        let err = load(&[("EMAIL_TRANSPORT", "pigeon")]).unwrap_err();
        assert!(err.to_string().contains("mailbox, smtp, log"), "{err}");
        let err = load(&[("EMAIL_TRANSPORT", "smtp")]).unwrap_err();
        assert!(err.to_string().contains("SMTP_URL"), "{err}");
        let err = load(&[("EMAIL_FROM", "nobody")]).unwrap_err();
        assert!(
            err.to_string().starts_with("invalid EMAIL_FROM=nobody"),
            "{err}"
        );
        let err = load(&[("COMMS_OUTBOX_LEASE_SECS", "20")]).unwrap_err();
        assert!(err.to_string().contains("SMTP_TIMEOUT_SECS + 5"), "{err}");
    }

    #[test]
    fn production_requires_a_transport_and_a_sender() {
        let err = load(&[("APP_ENV", "prod")]).unwrap_err();
        assert!(
            matches!(
                err,
                CommsConfigError::Missing {
                    var: "EMAIL_TRANSPORT",
                    ..
                }
            ),
            "{err}"
        );
        let err = load(&[
            ("APP_ENV", "prod"),
            ("SMTP_URL", "smtps://u:p@smtp.acme.test"),
        ])
        .unwrap_err();
        assert!(
            matches!(
                err,
                CommsConfigError::Missing {
                    var: "EMAIL_FROM",
                    ..
                }
            ),
            "{err}"
        );
        let config = load(&[
            ("APP_ENV", "prod"),
            ("SMTP_URL", "smtps://u:p@smtp.acme.test"),
            ("EMAIL_FROM", "Acme <no-reply@acme.test>"),
            ("COMMS_OUTBOX_BATCH_SIZE", "50"),
            ("COMMS_RETENTION_SENT_DAYS", "7"),
        ])
        .unwrap();
        assert_eq!(config.transport.name(), "smtp");
        assert_eq!(config.worker.batch_size, 50);
        assert_eq!(config.retention.sent, Duration::from_secs(7 * 86_400));
        let shown = format!("{:?}", config.redacted());
        assert!(
            shown.contains("smtps://u:***@smtp.acme.test:465") && !shown.contains(":p@"),
            "{shown}"
        );
    }
}
