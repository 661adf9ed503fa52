//! `AppConfig`: every setting of the runtime, read from the environment (and an optional `.env`).
//!
//! Development needs no variable at all. Invalid values stop start-up with the variable's name and
//! the expected form; with `APP_ENV=prod` every missing required secret is listed at once.
//! The README's configuration table documents each variable; keep the two in step.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::time::Duration;

use shared_server::config::{VarError, Vars};
use shared_server::db::{redact_url, DbConfig};

use crate::persistence::s3::S3Config;
use crate::rpc::RpcLimits;

/// Deployment environment (`APP_ENV`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Dev,
    Staging,
    Prod,
}

impl AppEnv {
    pub fn as_str(&self) -> &'static str {
        match self {
            AppEnv::Dev => "dev",
            AppEnv::Staging => "staging",
            AppEnv::Prod => "prod",
        }
    }
}

/// Log output format (`APP_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Which `ObjectStore` implementation to use (`OBJECT_STORE`).
#[derive(Debug, Clone)]
pub enum ObjectStoreConfig {
    Local { root: PathBuf },
    S3(S3Config),
}

/// A secret that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

#[derive(Debug, Clone)]
pub struct AppConfig {
    pub app_name: String,
    pub env: AppEnv,
    pub host: IpAddr,
    pub port: u16,
    /// The public base URL of the server; `None` means "the address it listens on".
    pub public_url: Option<String>,
    pub log_level: String,
    pub log_format: LogFormat,
    pub data_dir: PathBuf,
    pub auth_secret: Secret,
    /// The secret was generated for development (logged as a warning at start-up).
    pub auth_secret_generated: bool,
    pub trusted_origins: Vec<String>,
    pub database: DbConfig,
    pub object_store: ObjectStoreConfig,
    pub shutdown_drain_timeout: Duration,
    pub readiness_timeout: Duration,
    pub http: HttpConfig,
    /// Per-connection limits of the RPC endpoints (`APP_RPC_*`).
    pub rpc: RpcLimits,
    /// OTLP export; `None` unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
    pub otel: Option<OtelConfig>,
    /// Email delivery (comms slice).
    pub comms: comms_server::CommsConfig,
    /// Uploads of the shared slice (`UPLOAD_*`, `OBJECT_PUBLIC_BASE_URL`; slices.md §1.5).
    pub uploads: shared_server::files::UploadConfig,
    /// Authentication (iam slice).
    /// Shared, not copied: the server sets its default public URL once it listens.
    pub iam: std::sync::Arc<iam_server::IamConfig>,
}

/// Limits of the HTTP stack.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Largest request body accepted (413 above it); signed object uploads have their own limit.
    pub body_limit_bytes: usize,
    /// Longest time a request may take, body included (408 after it).
    pub request_timeout: Duration,
}

/// OpenTelemetry export over OTLP/HTTP (protobuf), from the standard `OTEL_*` variables.
#[derive(Debug, Clone)]
pub struct OtelConfig {
    /// Base endpoint; signals go to `<endpoint>/v1/traces`, `/v1/logs`, `/v1/metrics`.
    pub endpoint: String,
    /// Extra request headers (`OTEL_EXPORTER_OTLP_HEADERS`), e.g. an API key; never logged.
    pub headers: Vec<(String, Secret)>,
    pub service_name: String,
    pub export_timeout: Duration,
    pub metrics_interval: Duration,
}

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid {var}=`{value}`: expected {expected}")]
    Invalid {
        var: &'static str,
        value: String,
        expected: String,
    },
    #[error("APP_ENV={env} requires these variables, which are not set: {}", .missing.join(", "))]
    MissingRequired {
        env: &'static str,
        missing: Vec<&'static str>,
    },
    #[error(transparent)]
    Comms(#[from] comms_server::config::CommsConfigError),
    #[error(transparent)]
    Iam(#[from] iam_server::IamConfigError),
    #[error(transparent)]
    Uploads(#[from] shared_server::files::UploadConfigError),
    #[error("cannot use data directory {path}: {message} (set APP_DATA_DIR to a writable folder)")]
    DataDir { path: String, message: String },
}

impl From<VarError> for ConfigError {
    fn from(e: VarError) -> Self {
        ConfigError::Invalid {
            var: e.var,
            value: e.value,
            expected: e.expected,
        }
    }
}

/// The source of variables: the process environment in production, a map in tests. Values are
/// read through [`Vars`] (trimmed, blank = unset).
pub trait VarSource {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment (after `.env` was loaded).
pub struct ProcessEnv;

impl VarSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        Vars::process().get(name)
    }
}

impl VarSource for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

impl AppConfig {
    /// Loads `.env` (if present; real environment variables win), then reads the configuration.
    /// In development a missing `BETTER_AUTH_SECRET` is generated once and kept in the data folder.
    pub fn load() -> Result<AppConfig, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_source(&ProcessEnv)
    }

    /// Reads the configuration from `vars`; pure except for creating the dev secret file.
    pub fn from_source(source: &dyn VarSource) -> Result<AppConfig, ConfigError> {
        let get = |name: &str| source.var(name);
        let vars = &Vars::new(&get);
        let env = match vars.get("APP_ENV").as_deref() {
            None | Some("dev") | Some("development") | Some("local") | Some("test") => AppEnv::Dev,
            Some("staging") => AppEnv::Staging,
            Some("prod") | Some("production") => AppEnv::Prod,
            Some(other) => return Err(invalid("APP_ENV", other, "one of dev, staging, prod")),
        };
        let mut missing = Vec::new();
        let data_dir = PathBuf::from(vars.get("APP_DATA_DIR").unwrap_or_else(|| "data".into()));
        let host = vars.parse(
            "APP_API_HOST",
            "127.0.0.1".parse().expect("valid ip"),
            "an IP address such as 127.0.0.1 or 0.0.0.0",
        )?;
        let port = vars.parse("APP_API_PORT", 8080u16, "a TCP port number 0-65535")?;
        let public_url = match vars.get("APP_PUBLIC_URL") {
            Some(url) => Some(parse_http_url("APP_PUBLIC_URL", &url)?),
            None => None,
        };
        let log_format = match vars.get("APP_LOG_FORMAT").as_deref() {
            None if env == AppEnv::Prod => LogFormat::Json,
            None | Some("pretty") | Some("text") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => return Err(invalid("APP_LOG_FORMAT", other, "pretty or json")),
        };
        let log_level = vars.get("APP_LOG_LEVEL").unwrap_or_else(|| "info".into());
        if !matches!(
            log_level.to_ascii_lowercase().as_str(),
            "trace" | "debug" | "info" | "warn" | "warning" | "error" | "off"
        ) {
            return Err(invalid(
                "APP_LOG_LEVEL",
                &log_level,
                "one of trace, debug, info, warn, error, off",
            ));
        }
        let auth_secret_generated = env == AppEnv::Dev && vars.get("BETTER_AUTH_SECRET").is_none();
        let auth_secret = match vars.get("BETTER_AUTH_SECRET") {
            Some(secret) if secret.len() < 32 => {
                return Err(invalid(
                    "BETTER_AUTH_SECRET",
                    "***",
                    "at least 32 characters (e.g. `openssl rand -hex 32`)",
                ))
            }
            Some(secret) => Secret::new(secret),
            None if env == AppEnv::Dev => dev_secret(&data_dir, ".auth-secret")?,
            None => {
                missing.push("BETTER_AUTH_SECRET");
                Secret::new(String::new())
            }
        };
        if env != AppEnv::Dev && vars.get("UPLOAD_SIGNING_SECRET").is_none() {
            missing.push("UPLOAD_SIGNING_SECRET");
        }
        let trusted_origins = match vars.get("SECURITY_TRUSTED_ORIGINS") {
            Some(list) => parse_origins(&list)?,
            None => Vec::new(),
        };
        let database = database_config(vars, &data_dir)?;
        let object_store = object_store_config(vars, &data_dir, env, &mut missing)?;
        let shutdown_drain_timeout = Duration::from_secs(vars.parse(
            "APP_SHUTDOWN_TIMEOUT_SECS",
            30u64,
            "a number of seconds",
        )?);
        let readiness_timeout = Duration::from_millis(vars.parse(
            "APP_READINESS_TIMEOUT_MS",
            2000u64,
            "a number of milliseconds",
        )?);
        let http = HttpConfig {
            body_limit_bytes: vars.parse(
                "APP_BODY_LIMIT_BYTES",
                2 * 1024 * 1024usize,
                "a number of bytes",
            )?,
            request_timeout: Duration::from_secs(vars.parse(
                "APP_REQUEST_TIMEOUT_SECS",
                30u64,
                "a number of seconds",
            )?),
        };
        let rpc = rpc_limits(vars)?;
        let app_name = vars.get("APP_NAME").unwrap_or_else(|| "app".into());
        let otel = otel_config(vars, &app_name)?;
        // Outside development the comms slice needs a transport and a sender; list them with
        // the other missing variables instead of stopping at the first.
        if env != AppEnv::Dev {
            if vars.get("EMAIL_TRANSPORT").is_none() && vars.get("SMTP_URL").is_none() {
                missing.push("EMAIL_TRANSPORT (or SMTP_URL)");
            }
            if vars.get("EMAIL_FROM").is_none() {
                missing.push("EMAIL_FROM");
            }
        }
        if !missing.is_empty() {
            return Err(ConfigError::MissingRequired {
                env: env.as_str(),
                missing,
            });
        }
        let comms = comms_server::CommsConfig::from_vars(&get, &data_dir)?;
        let upload_secret = match vars.get("UPLOAD_SIGNING_SECRET") {
            None if env == AppEnv::Dev => Some(
                dev_secret(&data_dir, ".upload-secret")?
                    .expose()
                    .as_bytes()
                    .to_vec(),
            ),
            _ => None,
        };
        let key_env = match env {
            AppEnv::Dev => shared_server::files::KeyEnv::Dev,
            AppEnv::Staging => shared_server::files::KeyEnv::Staging,
            AppEnv::Prod => shared_server::files::KeyEnv::Prod,
        };
        let uploads = shared_server::files::UploadConfig::from_vars(*vars, key_env, upload_secret)?;
        let iam = std::sync::Arc::new(iam_server::IamConfig::from_vars(
            &get,
            Some(auth_secret.expose()),
        )?);
        Ok(AppConfig {
            app_name,
            env,
            host,
            port,
            public_url,
            log_level,
            log_format,
            data_dir,
            auth_secret,
            auth_secret_generated,
            trusted_origins,
            database,
            object_store,
            shutdown_drain_timeout,
            readiness_timeout,
            http,
            rpc,
            otel,
            comms,
            uploads,
            iam,
        })
    }

    /// The OpenTelemetry service name: `<APP_NAME>-server`.
    pub fn service_name(&self) -> String {
        format!("{}-server", self.app_name)
    }

    /// The effective settings as `(variable, value)` pairs with secrets redacted, for `doctor`.
    pub fn redacted(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("APP_NAME", self.app_name.clone()),
            ("APP_ENV", self.env.as_str().to_string()),
            ("APP_API_HOST", self.host.to_string()),
            ("APP_API_PORT", self.port.to_string()),
            (
                "APP_PUBLIC_URL",
                self.public_url
                    .clone()
                    .unwrap_or_else(|| "(the listen address)".into()),
            ),
            ("APP_LOG_LEVEL", self.log_level.clone()),
            (
                "APP_LOG_FORMAT",
                format!("{:?}", self.log_format).to_lowercase(),
            ),
            ("APP_DATA_DIR", self.data_dir.display().to_string()),
            ("BETTER_AUTH_SECRET", "*** (set)".to_string()),
            ("SECURITY_TRUSTED_ORIGINS", self.trusted_origins.join(",")),
            ("DATABASE_URL", redact_url(&self.database.url)),
            (
                "DB_MAX_CONNECTIONS",
                self.database.max_connections.to_string(),
            ),
            (
                "DB_MIN_CONNECTIONS",
                self.database.min_connections.to_string(),
            ),
            (
                "DB_ACQUIRE_TIMEOUT_MS",
                self.database.acquire_timeout.as_millis().to_string(),
            ),
            (
                "DB_CONNECT_ATTEMPTS",
                self.database.connect_attempts.to_string(),
            ),
            (
                "APP_SHUTDOWN_TIMEOUT_SECS",
                self.shutdown_drain_timeout.as_secs().to_string(),
            ),
        ];
        out.extend(self.comms.redacted());
        out.push(("UPLOAD_SIGNING_SECRET", "*** (set)".to_string()));
        out.push(("UPLOAD_MAX_BYTES", self.uploads.max_bytes.to_string()));
        out.push((
            "UPLOAD_ALLOWED_MIME_TYPES",
            self.uploads.allowed_mime_types.entries().join(","),
        ));
        out.push((
            "OBJECT_PUBLIC_BASE_URL",
            self.uploads
                .public_base_url
                .clone()
                .unwrap_or_else(|| "(none)".into()),
        ));
        match &self.object_store {
            ObjectStoreConfig::Local { root } => {
                out.push(("OBJECT_STORE", "local".into()));
                out.push(("OBJECT_STORE_LOCAL_DIR", root.display().to_string()));
            }
            ObjectStoreConfig::S3(s3) => {
                out.push(("OBJECT_STORE", "s3".into()));
                out.push(("S3_BUCKET", s3.bucket.clone()));
                out.push(("S3_REGION", s3.region.clone()));
                out.push((
                    "S3_ENDPOINT",
                    s3.endpoint.clone().unwrap_or_else(|| "(AWS)".into()),
                ));
                out.push(("S3_FORCE_PATH_STYLE", s3.force_path_style.to_string()));
                out.push((
                    "AWS_ACCESS_KEY_ID",
                    if s3.access_key_id.is_some() {
                        "*** (set)"
                    } else {
                        "(not set)"
                    }
                    .into(),
                ));
                out.push((
                    "AWS_SECRET_ACCESS_KEY",
                    if s3.secret_access_key.is_some() {
                        "*** (set)"
                    } else {
                        "(not set)"
                    }
                    .into(),
                ));
            }
        }
        out
    }
}

fn otel_config(vars: &Vars<'_>, app_name: &str) -> Result<Option<OtelConfig>, ConfigError> {
    if vars.flag("OTEL_SDK_DISABLED", false)? {
        return Ok(None);
    }
    let Some(endpoint) = vars.get("OTEL_EXPORTER_OTLP_ENDPOINT") else {
        return Ok(None);
    };
    let endpoint = parse_http_url("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)?;
    match vars.get("OTEL_EXPORTER_OTLP_PROTOCOL").as_deref() {
        None | Some("http/protobuf") => {}
        Some(other) => {
            return Err(invalid(
                "OTEL_EXPORTER_OTLP_PROTOCOL",
                other,
                "http/protobuf (the only protocol this build exports)",
            ))
        }
    }
    let mut headers = Vec::new();
    for pair in vars
        .get("OTEL_EXPORTER_OTLP_HEADERS")
        .unwrap_or_default()
        .split(',')
        .filter(|p| !p.trim().is_empty())
    {
        let (key, value) = pair.split_once('=').ok_or_else(|| {
            invalid(
                "OTEL_EXPORTER_OTLP_HEADERS",
                "***",
                "comma-separated key=value pairs",
            )
        })?;
        headers.push((key.trim().to_string(), Secret::new(value.trim())));
    }
    Ok(Some(OtelConfig {
        endpoint,
        headers,
        service_name: vars
            .get("OTEL_SERVICE_NAME")
            .unwrap_or_else(|| format!("{app_name}-server")),
        export_timeout: Duration::from_millis(vars.parse(
            "OTEL_EXPORTER_OTLP_TIMEOUT",
            10_000u64,
            "a number of milliseconds",
        )?),
        metrics_interval: Duration::from_millis(vars.parse(
            "OTEL_METRIC_EXPORT_INTERVAL",
            60_000u64,
            "a number of milliseconds",
        )?),
    }))
}

fn database_config(vars: &Vars<'_>, data_dir: &Path) -> Result<DbConfig, ConfigError> {
    let url = vars
        .get("DATABASE_URL")
        .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("app.db").display()));
    if !(url.starts_with("sqlite:")
        || url.starts_with("postgres://")
        || url.starts_with("postgresql://"))
    {
        return Err(invalid(
            "DATABASE_URL",
            &redact_url(&url),
            "sqlite://<path> or postgres://user:password@host:port/database",
        ));
    }
    let mut db = DbConfig::new(url);
    db.max_connections = vars.parse(
        "DB_MAX_CONNECTIONS",
        db.max_connections,
        "a positive integer",
    )?;
    if db.max_connections == 0 {
        return Err(invalid("DB_MAX_CONNECTIONS", "0", "a positive integer"));
    }
    db.min_connections = vars.parse("DB_MIN_CONNECTIONS", db.min_connections, "an integer")?;
    db.acquire_timeout = Duration::from_millis(vars.parse(
        "DB_ACQUIRE_TIMEOUT_MS",
        5000u64,
        "a number of milliseconds",
    )?);
    let idle = vars.parse(
        "DB_IDLE_TIMEOUT_SECS",
        600u64,
        "a number of seconds (0 = never)",
    )?;
    db.idle_timeout = (idle > 0).then(|| Duration::from_secs(idle));
    db.connect_attempts = vars
        .parse(
            "DB_CONNECT_ATTEMPTS",
            db.connect_attempts,
            "a positive integer",
        )?
        .max(1);
    db.connect_backoff = Duration::from_millis(vars.parse(
        "DB_CONNECT_BACKOFF_MS",
        200u64,
        "a number of milliseconds",
    )?);
    db.sqlite_busy_timeout = Duration::from_millis(vars.parse(
        "DB_SQLITE_BUSY_TIMEOUT_MS",
        5000u64,
        "a number of milliseconds",
    )?);
    Ok(db)
}

fn object_store_config(
    vars: &Vars<'_>,
    data_dir: &Path,
    env: AppEnv,
    missing: &mut Vec<&'static str>,
) -> Result<ObjectStoreConfig, ConfigError> {
    match vars.get("OBJECT_STORE").as_deref() {
        None | Some("local") => Ok(ObjectStoreConfig::Local {
            root: vars
                .get("OBJECT_STORE_LOCAL_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| data_dir.join("objects")),
        }),
        Some("s3") => {
            let bucket = vars.get("S3_BUCKET");
            if bucket.is_none() {
                missing.push("S3_BUCKET");
            }
            let access_key_id = vars.get("AWS_ACCESS_KEY_ID");
            let secret_access_key = vars.get("AWS_SECRET_ACCESS_KEY");
            if access_key_id.is_none() {
                missing.push("AWS_ACCESS_KEY_ID");
            }
            if secret_access_key.is_none() {
                missing.push("AWS_SECRET_ACCESS_KEY");
            }
            let endpoint = match vars
                .get("S3_ENDPOINT")
                .or_else(|| vars.get("AWS_ENDPOINT_URL_S3"))
            {
                Some(url) => Some(parse_http_url("S3_ENDPOINT", &url)?),
                None => None,
            };
            let _ = env;
            Ok(ObjectStoreConfig::S3(S3Config {
                bucket: bucket.unwrap_or_default(),
                region: vars
                    .get("S3_REGION")
                    .or_else(|| vars.get("AWS_REGION"))
                    .unwrap_or_else(|| "us-east-1".into()),
                force_path_style: vars.parse(
                    "S3_FORCE_PATH_STYLE",
                    endpoint.is_some(),
                    "true or false",
                )?,
                endpoint,
                access_key_id,
                secret_access_key,
                session_token: vars.get("AWS_SESSION_TOKEN"),
            }))
        }
        Some(other) => Err(invalid("OBJECT_STORE", other, "local or s3")),
    }
}

/// A development secret: read from `<data>/<file>` (`.auth-secret`, `.upload-secret`), or
/// generated once and kept there.
fn dev_secret(data_dir: &Path, file: &str) -> Result<Secret, ConfigError> {
    let path = data_dir.join(file);
    let data_dir_error = |e: std::io::Error| ConfigError::DataDir {
        path: data_dir.display().to_string(),
        message: e.to_string(),
    };
    if let Ok(existing) = std::fs::read_to_string(&path) {
        if existing.trim().len() >= 32 {
            return Ok(Secret::new(existing.trim()));
        }
    }
    std::fs::create_dir_all(data_dir).map_err(data_dir_error)?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ConfigError::DataDir {
        path: data_dir.display().to_string(),
        message: format!("no randomness available: {e}"),
    })?;
    let secret = hex::encode(bytes);
    std::fs::write(&path, &secret).map_err(data_dir_error)?;
    restrict_permissions(&path);
    Ok(Secret::new(secret))
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path) {}

fn parse_origins(list: &str) -> Result<Vec<String>, ConfigError> {
    let mut origins = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let url = url::Url::parse(item).map_err(|_| {
            invalid(
                "SECURITY_TRUSTED_ORIGINS",
                item,
                "comma-separated URLs such as https://app.example.com",
            )
        })?;
        let origin = url.origin();
        if !origin.is_tuple() {
            return Err(invalid(
                "SECURITY_TRUSTED_ORIGINS",
                item,
                "http(s) URLs with a host",
            ));
        }
        let origin = origin.ascii_serialization();
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    Ok(origins)
}

fn parse_http_url(var: &'static str, value: &str) -> Result<String, ConfigError> {
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Ok(value.trim_end_matches('/').to_string())
        }
        _ => Err(invalid(
            var,
            value,
            "an http(s) URL such as https://api.example.com",
        )),
    }
}

/// The RPC endpoints' limits; zero is refused (it would refuse every call).
fn rpc_limits(vars: &Vars<'_>) -> Result<RpcLimits, ConfigError> {
    let defaults = RpcLimits::default();
    let positive = |var, default: u64, expected| -> Result<u64, ConfigError> {
        let default = NonZeroU64::new(default).unwrap_or(NonZeroU64::MIN);
        Ok(vars.parse(var, default, expected)?.get())
    };
    let as_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    Ok(RpcLimits {
        max_frame_bytes: as_usize(positive(
            "APP_RPC_MAX_FRAME_BYTES",
            defaults.max_frame_bytes as u64,
            "a positive number of bytes",
        )?),
        max_in_flight: as_usize(positive(
            "APP_RPC_MAX_IN_FLIGHT",
            defaults.max_in_flight as u64,
            "a positive number of calls",
        )?),
        idle_timeout: Duration::from_secs(positive(
            "APP_RPC_IDLE_TIMEOUT_SECS",
            defaults.idle_timeout.as_secs(),
            "a positive number of seconds",
        )?),
        send_timeout: Duration::from_secs(positive(
            "APP_RPC_SEND_TIMEOUT_SECS",
            defaults.send_timeout.as_secs(),
            "a positive number of seconds",
        )?),
    })
}

fn invalid(var: &'static str, value: &str, expected: &'static str) -> ConfigError {
    Vars::invalid(var, value, expected).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn temp_data_dir() -> String {
        std::env::temp_dir()
            .join(format!("cfg-{}", uuid_like()))
            .display()
            .to_string()
    }

    fn uuid_like() -> String {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).expect("randomness");
        hex::encode(b)
    }

    #[test]
    fn development_needs_no_variable_and_keeps_its_generated_secret() {
        let dir = temp_data_dir();
        let config = AppConfig::from_source(&vars(&[("APP_DATA_DIR", &dir)])).unwrap();
        assert_eq!(config.env, AppEnv::Dev);
        assert_eq!(config.port, 8080);
        assert_eq!(config.database.url, format!("sqlite://{dir}/app.db"));
        assert!(
            matches!(config.object_store, ObjectStoreConfig::Local { ref root } if root.ends_with("objects"))
        );
        let again = AppConfig::from_source(&vars(&[("APP_DATA_DIR", &dir)])).unwrap();
        assert_eq!(
            config.auth_secret, again.auth_secret,
            "the secret is generated once"
        );
        assert_eq!(config.auth_secret.expose().len(), 64);
        assert!(
            !format!("{config:?}").contains(config.auth_secret.expose()),
            "secrets never print"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn production_lists_every_missing_secret() {
        let err = AppConfig::from_source(&vars(&[("APP_ENV", "prod"), ("OBJECT_STORE", "s3")]))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "APP_ENV=prod requires these variables, which are not set: BETTER_AUTH_SECRET, UPLOAD_SIGNING_SECRET, S3_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, EMAIL_TRANSPORT (or SMTP_URL), EMAIL_FROM"
        );
    }

    #[test]
    fn invalid_values_name_the_variable_and_the_expected_form() {
        let dir = temp_data_dir();
        for (var, value, expected) in [
            ("APP_API_PORT", "eighty", "invalid APP_API_PORT=`eighty`: expected a TCP port number 0-65535"),
            ("APP_ENV", "qa", "invalid APP_ENV=`qa`: expected one of dev, staging, prod"),
            ("DATABASE_URL", "mysql://x", "invalid DATABASE_URL=`mysql://x`: expected sqlite://<path> or postgres://user:password@host:port/database"),
            ("APP_LOG_FORMAT", "xml", "invalid APP_LOG_FORMAT=`xml`: expected pretty or json"),
            ("SECURITY_TRUSTED_ORIGINS", "not a url", "invalid SECURITY_TRUSTED_ORIGINS=`not a url`: expected comma-separated URLs such as https://app.example.com"),
        ] {
            let err = AppConfig::from_source(&vars(&[("APP_DATA_DIR", &dir), (var, value)])).unwrap_err();
            assert_eq!(err.to_string(), expected);
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn trusted_origins_are_reduced_to_origins() {
        let dir = temp_data_dir();
        let config = AppConfig::from_source(&vars(&[
            ("APP_DATA_DIR", &dir),
            (
                "SECURITY_TRUSTED_ORIGINS",
                "https://app.example.com/login, http://localhost:3000/,https://app.example.com",
            ),
        ]))
        .unwrap();
        assert_eq!(
            config.trusted_origins,
            ["https://app.example.com", "http://localhost:3000"]
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn database_url_password_is_redacted() {
        let dir = temp_data_dir();
        let config = AppConfig::from_source(&vars(&[
            ("APP_DATA_DIR", &dir),
            (
                "DATABASE_URL",
                "postgres://app:hunter2@db.internal:5432/app",
            ),
        ]))
        .unwrap();
        let shown = config
            .redacted()
            .into_iter()
            .find(|(k, _)| *k == "DATABASE_URL")
            .unwrap()
            .1;
        assert_eq!(shown, "postgres://app:***@db.internal:5432/app");
        let _ = std::fs::remove_dir_all(dir);
    }
}
