//! [`UploadConfig`]: the settings of the upload flow (slices.md §1.5, §1.6), read from the
//! environment by the runtime and handed to the shared layer as a service.
//!
//! | Variable | Default | Meaning |
//! |---|---|---|
//! | `UPLOAD_SIGNING_SECRET` | generated in development | HMAC key of upload descriptors (≥ 32 characters); required outside development |
//! | `UPLOAD_MAX_BYTES` | 5 GiB | the largest file anyone may upload (each user's `upload_limit` applies too) |
//! | `UPLOAD_ALLOWED_MIME_TYPES` | [`DEFAULT_ALLOWED_MIME_TYPES`] | comma-separated MIME types, `type/*` wildcards |
//! | `OBJECT_PUBLIC_BASE_URL` | none | when set, a file's `url` is this base + its key (a CDN in front of the bucket) |

use std::fmt;

use super::object_key::KeyEnv;
use crate::config::{VarError, Vars};

/// The allow-list when `UPLOAD_ALLOWED_MIME_TYPES` is not set (slices.md §1.5).
pub const DEFAULT_ALLOWED_MIME_TYPES: &[&str] = &[
    "image/*",
    "video/*",
    "audio/*",
    "application/pdf",
    "text/plain",
    "text/markdown",
    "text/csv",
    "application/json",
    "application/zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
];

/// `UPLOAD_MAX_BYTES` when not set: 5 GiB, the largest object one S3 PUT may carry.
pub const DEFAULT_UPLOAD_MAX_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// What `UPLOAD_MAX_BYTES` must be.
const MAX_BYTES_EXPECTED: &str = "a positive number of bytes";

/// Shortest accepted `UPLOAD_SIGNING_SECRET`, in bytes.
pub const MIN_SIGNING_SECRET_BYTES: usize = 32;

/// Why the upload settings were refused: the variable, the value as given (`***` for the
/// secret) and the expected form, read and worded like every other setting ([`Vars`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {var}=`{value}`: expected {expected}")]
pub struct UploadConfigError {
    pub var: &'static str,
    pub value: String,
    pub expected: String,
}

impl From<VarError> for UploadConfigError {
    fn from(e: VarError) -> Self {
        Self {
            var: e.var,
            value: e.value,
            expected: e.expected,
        }
    }
}

/// The MIME types uploads may have: exact types and `type/*` wildcards, lowercase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MimeAllowList(Vec<String>);

impl MimeAllowList {
    /// Parses a comma-separated list (`image/*, application/pdf`).
    pub fn parse(list: &str) -> Result<Self, UploadConfigError> {
        let entries: Vec<String> = list
            .split(',')
            .map(|entry| entry.trim().to_ascii_lowercase())
            .filter(|entry| !entry.is_empty())
            .collect();
        let well_formed = |entry: &String| {
            entry.split_once('/').is_some_and(|(kind, sub)| {
                !kind.is_empty()
                    && !sub.is_empty()
                    && !kind.contains('*')
                    && (sub == "*" || !sub.contains('*'))
                    && !entry.contains(char::is_whitespace)
            })
        };
        if entries.is_empty() || !entries.iter().all(well_formed) {
            return Err(Vars::invalid(
                "UPLOAD_ALLOWED_MIME_TYPES",
                list,
                "a comma-separated list of MIME types such as `image/*,application/pdf`",
            )
            .into());
        }
        Ok(Self(entries))
    }

    /// Whether `mime_type` (lowercase, without parameters) is on the list.
    pub fn allows(&self, mime_type: &str) -> bool {
        self.0.iter().any(|entry| match entry.strip_suffix("/*") {
            Some(kind) => mime_type
                .split_once('/')
                .is_some_and(|(candidate, _)| candidate == kind),
            None => entry == mime_type,
        })
    }

    pub fn entries(&self) -> &[String] {
        &self.0
    }
}

impl Default for MimeAllowList {
    fn default() -> Self {
        Self(
            DEFAULT_ALLOWED_MIME_TYPES
                .iter()
                .map(|s| s.to_string())
                .collect(),
        )
    }
}

/// The upload settings.
#[derive(Clone)]
pub struct UploadConfig {
    /// The `env` segment of new object keys (`APP_ENV`).
    pub env: KeyEnv,
    /// HMAC key of upload descriptors.
    pub signing_secret: Vec<u8>,
    pub max_bytes: u64,
    pub allowed_mime_types: MimeAllowList,
    /// `OBJECT_PUBLIC_BASE_URL` without a trailing `/`.
    pub public_base_url: Option<String>,
}

impl fmt::Debug for UploadConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadConfig")
            .field("env", &self.env)
            .field("signing_secret", &"***")
            .field("max_bytes", &self.max_bytes)
            .field("allowed_mime_types", &self.allowed_mime_types)
            .field("public_base_url", &self.public_base_url)
            .finish()
    }
}

impl UploadConfig {
    /// Reads the `UPLOAD_*` and `OBJECT_PUBLIC_BASE_URL` variables through the shared reader
    /// (trimmed, blank = unset). `fallback_secret` is used when `UPLOAD_SIGNING_SECRET` is not
    /// set: the runtime passes its generated development secret in development and `None`
    /// elsewhere, which makes the variable required.
    pub fn from_vars(
        vars: Vars<'_>,
        env: KeyEnv,
        fallback_secret: Option<Vec<u8>>,
    ) -> Result<Self, UploadConfigError> {
        let signing_secret = match vars.get("UPLOAD_SIGNING_SECRET") {
            Some(secret) if secret.len() >= MIN_SIGNING_SECRET_BYTES => secret.into_bytes(),
            Some(_) => {
                return Err(Vars::invalid(
                    "UPLOAD_SIGNING_SECRET",
                    "***",
                    "at least 32 characters (e.g. `openssl rand -hex 32`)",
                )
                .into())
            }
            None => fallback_secret.ok_or_else(|| {
                Vars::invalid(
                    "UPLOAD_SIGNING_SECRET",
                    "(not set)",
                    "a secret of at least 32 characters (required outside development)",
                )
            })?,
        };
        let max_bytes = vars.parse(
            "UPLOAD_MAX_BYTES",
            DEFAULT_UPLOAD_MAX_BYTES,
            MAX_BYTES_EXPECTED,
        )?;
        if max_bytes == 0 {
            return Err(Vars::invalid("UPLOAD_MAX_BYTES", "0", MAX_BYTES_EXPECTED).into());
        }
        let allowed_mime_types = match vars.get("UPLOAD_ALLOWED_MIME_TYPES") {
            Some(list) => MimeAllowList::parse(&list)?,
            None => MimeAllowList::default(),
        };
        let public_base_url = match vars.get("OBJECT_PUBLIC_BASE_URL") {
            Some(given) => {
                let base = given.trim_end_matches('/').to_string();
                let parsed = url::Url::parse(&base).ok();
                if !parsed.is_some_and(|u| matches!(u.scheme(), "http" | "https")) {
                    return Err(Vars::invalid(
                        "OBJECT_PUBLIC_BASE_URL",
                        &given,
                        "an http(s) URL such as https://cdn.example.com",
                    )
                    .into());
                }
                Some(base)
            }
            None => None,
        };
        Ok(Self {
            env,
            signing_secret,
            max_bytes,
            allowed_mime_types,
            public_base_url,
        })
    }

    /// Development settings with a random signing secret (one per process): what the shared
    /// layer uses when the runtime provides no `UploadConfig` (a slice's own tests).
    pub fn development() -> Self {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).expect("the OS random source works");
        Self {
            env: KeyEnv::Dev,
            signing_secret: hex::encode(secret).into_bytes(),
            max_bytes: DEFAULT_UPLOAD_MAX_BYTES,
            allowed_mime_types: MimeAllowList::default(),
            public_base_url: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(
        vars: &[(&str, &str)],
        fallback: Option<&str>,
    ) -> Result<UploadConfig, UploadConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let get = |name: &str| vars.get(name).cloned();
        UploadConfig::from_vars(
            Vars::new(&get),
            KeyEnv::Prod,
            fallback.map(|s| s.as_bytes().to_vec()),
        )
    }

    #[test]
    fn the_secret_is_required_without_a_fallback() {
        assert_eq!(read(&[], None).unwrap_err().var, "UPLOAD_SIGNING_SECRET");
        let short = read(&[("UPLOAD_SIGNING_SECRET", "short")], None).unwrap_err();
        assert_eq!(short.var, "UPLOAD_SIGNING_SECRET");
        assert_eq!(short.value, "***", "a secret is never repeated");
        assert!(!short.to_string().contains("short"), "{short}");
        let dev = read(&[], Some("d".repeat(32).as_str())).unwrap();
        assert_eq!(dev.signing_secret, "d".repeat(32).into_bytes());
        assert!(!format!("{dev:?}").contains("dddd"));
    }

    #[test]
    fn limits_lists_and_base_url_are_parsed() {
        let secret = "s".repeat(40);
        let config = read(
            &[
                ("UPLOAD_SIGNING_SECRET", &secret),
                ("UPLOAD_MAX_BYTES", "1000"),
                ("UPLOAD_ALLOWED_MIME_TYPES", "image/*, Application/PDF"),
                ("OBJECT_PUBLIC_BASE_URL", "https://cdn.example.com/"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(config.max_bytes, 1000);
        assert!(config.allowed_mime_types.allows("image/png"));
        assert!(config.allowed_mime_types.allows("application/pdf"));
        assert!(!config.allowed_mime_types.allows("text/plain"));
        assert_eq!(
            config.public_base_url.as_deref(),
            Some("https://cdn.example.com")
        );
        for (var, value) in [
            ("UPLOAD_MAX_BYTES", "0"),
            ("UPLOAD_MAX_BYTES", "lots"),
            ("UPLOAD_ALLOWED_MIME_TYPES", "image"),
            ("UPLOAD_ALLOWED_MIME_TYPES", "*/*"),
            ("OBJECT_PUBLIC_BASE_URL", "cdn.example.com"),
        ] {
            let error =
                read(&[("UPLOAD_SIGNING_SECRET", &secret), (var, value)], None).unwrap_err();
            assert_eq!(error.var, var, "{value}");
            assert_eq!(error.value, value, "the value is repeated as given");
            assert!(error
                .to_string()
                .starts_with(&format!("invalid {var}=`{value}`: expected ")));
        }
    }

    #[test]
    fn values_are_trimmed_and_blank_ones_are_unset() {
        let secret = format!("  {}  ", "s".repeat(40));
        let config = read(
            &[
                ("UPLOAD_SIGNING_SECRET", &secret),
                ("UPLOAD_MAX_BYTES", " 2048 "),
                ("UPLOAD_ALLOWED_MIME_TYPES", "   "),
                ("OBJECT_PUBLIC_BASE_URL", ""),
            ],
            None,
        )
        .unwrap();
        assert_eq!(config.signing_secret, "s".repeat(40).into_bytes());
        assert_eq!(config.max_bytes, 2048);
        assert_eq!(config.allowed_mime_types, MimeAllowList::default());
        assert_eq!(config.public_base_url, None);
        let blank_secret = read(&[("UPLOAD_SIGNING_SECRET", "  ")], None).unwrap_err();
        assert_eq!(blank_secret.var, "UPLOAD_SIGNING_SECRET");
        assert_eq!(blank_secret.value, "(not set)");
    }

    #[test]
    fn the_default_list_is_the_documented_one() {
        let list = MimeAllowList::default();
        for ok in [
            "image/png",
            "video/mp4",
            "audio/mpeg",
            "application/pdf",
            "text/markdown",
        ] {
            assert!(list.allows(ok), "{ok}");
        }
        for refused in [
            "application/x-msdownload",
            "text/html",
            "application/javascript",
        ] {
            assert!(!list.allows(refused), "{refused}");
        }
    }
}
