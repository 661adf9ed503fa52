//! S3 implementation of `ObjectStore` on aws-sdk-s3, for production (DESIGN.md, "Persistence").
//!
//! Works with AWS S3 and S3-compatible servers (custom endpoint, path-style addressing). The
//! client is configured explicitly from [`S3Config`], without aws-config's provider chain: the
//! runtime reads `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` into the config itself, so what the
//! process uses is exactly what the configuration shows. Object keys keep their leading `/` in the
//! rest of the system; the S3 object name is the key without it (slices.md §1.4).

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::{PresignedRequest as SdkPresignedRequest, PresigningConfig};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use aws_sdk_s3::Client;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use shared_server::storage::{
    check_content_type, normalize_content_md5, object_name, ObjectMeta, ObjectStore,
    PresignedRequest, StorageError, StoredObject,
};

/// Time allowed to open a TCP/TLS connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed between sending a request and the first byte of its response.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Time allowed for a whole operation, retries included (uploads send their body within it).
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(120);
/// Attempts per operation (first try included) on throttling and transient errors.
pub const MAX_ATTEMPTS: u32 = 3;
/// Keys per `DeleteObjects` request (S3's limit).
const DELETE_BATCH: usize = 1000;

const BACKEND: &str = "s3";

/// Where and as whom to reach the bucket.
#[derive(Clone)]
pub struct S3Config {
    pub bucket: String,
    pub region: String,
    /// Custom endpoint (MinIO, R2, …); `None` for AWS.
    pub endpoint: Option<String>,
    /// `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key`.
    pub force_path_style: bool,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |value: &Option<String>| value.as_ref().map(|_| "***");
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("force_path_style", &self.force_path_style)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &redacted(&self.secret_access_key))
            .field("session_token", &redacted(&self.session_token))
            .finish()
    }
}

/// Objects in one S3 bucket.
#[derive(Clone)]
pub struct S3ObjectStore {
    client: Client,
    bucket: String,
    endpoint: Option<String>,
}

impl fmt::Debug for S3ObjectStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3ObjectStore")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl S3ObjectStore {
    /// Builds the client; fails on a missing bucket name, region, credentials or a malformed
    /// endpoint. Nothing is sent yet: [`check`](ObjectStore::check) probes the bucket.
    pub fn new(config: S3Config) -> Result<Self, StorageError> {
        let misconfigured = |message: String| StorageError::Misconfigured { message };
        if config.bucket.trim().is_empty() {
            return Err(misconfigured("the S3 bucket name is empty".into()));
        }
        if config.region.trim().is_empty() {
            return Err(misconfigured("the S3 region is empty".into()));
        }
        let credentials = credentials(&config)?;

        let timeouts = TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .operation_timeout(OPERATION_TIMEOUT)
            .build();
        let https = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut builder = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(https)
            .region(Region::new(config.region.clone()))
            .credentials_provider(credentials)
            .force_path_style(config.force_path_style)
            .timeout_config(timeouts)
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));

        if let Some(endpoint) = &config.endpoint {
            let parsed = url::Url::parse(endpoint).map_err(|error| {
                misconfigured(format!("S3 endpoint `{endpoint}` is not a URL: {error}"))
            })?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                return Err(misconfigured(format!(
                    "S3 endpoint `{endpoint}` must be an http(s) URL with a host"
                )));
            }
            // S3-compatible servers often reject the SDK's default CRC32 trailers; only send
            // checksums where the API requires them (e.g. DeleteObjects).
            builder = builder
                .endpoint_url(endpoint.trim_end_matches('/'))
                .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
                .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        }

        Ok(Self {
            client: Client::from_conf(builder.build()),
            bucket: config.bucket,
            endpoint: config.endpoint,
        })
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Maps an SDK failure of `operation` on `target` to the port's error.
    fn error<E>(&self, operation: &str, target: Target<'_>, error: SdkError<E>) -> StorageError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = error
            .raw_response()
            .map(|response| response.status().as_u16());
        let code = error.code();
        let subject = match target {
            Target::Object(key) => format!("{operation} `{key}`"),
            Target::Bucket => format!("{operation} on bucket `{}`", self.bucket),
        };
        let detail = match (code, error.message(), status) {
            (Some(code), Some(message), _) => format!("{code}: {message}"),
            (Some(code), None, _) => code.to_owned(),
            // HEAD responses carry no body, hence no error code.
            (None, _, Some(status)) => format!("HTTP {status} without an error code"),
            (None, _, None) => error_chain(&error),
        };

        match (target, code, status) {
            (_, Some("NoSuchBucket"), _) => StorageError::NoSuchBucket {
                bucket: self.bucket.clone(),
            },
            (Target::Object(key), Some("NoSuchKey" | "NotFound"), _)
            | (Target::Object(key), None, Some(404)) => StorageError::NotFound {
                key: key.to_owned(),
            },
            (Target::Bucket, Some("NotFound"), _) | (Target::Bucket, None, Some(404)) => {
                StorageError::NoSuchBucket {
                    bucket: self.bucket.clone(),
                }
            }
            (_, Some("AccessDenied" | "InvalidAccessKeyId" | "SignatureDoesNotMatch"), _)
            | (_, _, Some(403)) => StorageError::AccessDenied {
                message: format!("{subject}: {detail}"),
            },
            _ => StorageError::Backend {
                backend: BACKEND,
                message: format!("{subject} failed: {detail}"),
            },
        }
    }
}

/// What an operation was about, for error mapping and messages.
#[derive(Clone, Copy)]
enum Target<'a> {
    Object(&'a str),
    Bucket,
}

/// `error: its source: …`, the readable part of a failure that never reached the service
/// (connection refused, timeout, DNS). Requests and credentials are not part of these messages.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !message.contains(&cause_text) {
            message.push_str(": ");
            message.push_str(&cause_text);
        }
        source = cause.source();
    }
    message
}

fn credentials(config: &S3Config) -> Result<Credentials, StorageError> {
    let present = |value: &Option<String>| value.clone().filter(|v| !v.trim().is_empty());
    match (
        present(&config.access_key_id),
        present(&config.secret_access_key),
    ) {
        (Some(access_key_id), Some(secret_access_key)) => Ok(Credentials::new(
            access_key_id,
            secret_access_key,
            present(&config.session_token),
            None,
            "runtime-config",
        )),
        _ => Err(StorageError::Misconfigured {
            message: "S3 credentials are missing: set both AWS_ACCESS_KEY_ID and \
                      AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)"
                .into(),
        }),
    }
}

fn presigning_config(ttl: Duration) -> Result<PresigningConfig, StorageError> {
    PresigningConfig::expires_in(ttl).map_err(|error| StorageError::InvalidArgument {
        message: format!("presigned URL lifetime of {}s: {error}", ttl.as_secs()),
    })
}

/// The port's view of a presigned request: the headers the client must send (the signer covers
/// them), minus `host`, which the client derives from the URL.
fn presigned(
    request: &SdkPresignedRequest,
    method: &'static str,
    config: &PresigningConfig,
) -> PresignedRequest {
    let headers = request
        .headers()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("host"))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    let expires_at = config
        .start_time()
        .checked_add(config.expires())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    PresignedRequest {
        url: request.uri().to_owned(),
        method,
        headers,
        expires_at: DateTime::<Utc>::from(expires_at),
    }
}

#[async_trait]
impl ObjectStore for S3ObjectStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn put(
        &self,
        key: &str,
        body: Bytes,
        content_type: Option<&str>,
    ) -> Result<(), StorageError> {
        let name = object_name(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(name)
            .set_content_type(content_type.map(str::to_owned))
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|error| self.error("put", Target::Object(key), error))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<StoredObject, StorageError> {
        let name = object_name(key)?;
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(name)
            .send()
            .await
            .map_err(|error| self.error("get", Target::Object(key), error))?;
        let content_type = output.content_type().map(str::to_owned);
        let body = output
            .body
            .collect()
            .await
            .map_err(|error| StorageError::Backend {
                backend: BACKEND,
                message: format!(
                    "get `{key}` failed while reading the body: {}",
                    error_chain(&error)
                ),
            })?
            .into_bytes();
        Ok(StoredObject {
            size: body.len() as u64,
            body,
            content_type,
        })
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StorageError> {
        let name = object_name(key)?;
        let result = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(name)
            .send()
            .await;
        match result {
            Ok(output) => Ok(Some(ObjectMeta {
                size: output
                    .content_length()
                    .and_then(|length| u64::try_from(length).ok())
                    .unwrap_or(0),
                content_type: output.content_type().map(str::to_owned),
            })),
            Err(error) => match self.error("head", Target::Object(key), error) {
                StorageError::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let name = object_name(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(name)
            .send()
            .await
            .map_err(|error| self.error("delete", Target::Object(key), error))?;
        Ok(())
    }

    async fn delete_many(&self, keys: &[String]) -> Result<(), StorageError> {
        let names = keys
            .iter()
            .map(|key| object_name(key))
            .collect::<Result<Vec<_>, _>>()?;
        for batch in names.chunks(DELETE_BATCH) {
            let build_failed = |error: aws_sdk_s3::error::BuildError| StorageError::Backend {
                backend: BACKEND,
                message: format!("building a DeleteObjects request failed: {error}"),
            };
            let objects = batch
                .iter()
                .map(|name| ObjectIdentifier::builder().key(*name).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(build_failed)?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(build_failed)?;
            let output = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|error| self.error("delete_many", Target::Bucket, error))?;
            if let Some(first) = output.errors().first() {
                return Err(StorageError::Backend {
                    backend: BACKEND,
                    message: format!(
                        "delete_many: {} of {} keys were not deleted; first: `{}`: {}: {}",
                        output.errors().len(),
                        batch.len(),
                        first.key().unwrap_or("?"),
                        first.code().unwrap_or("unknown"),
                        first.message().unwrap_or("")
                    ),
                });
            }
        }
        Ok(())
    }

    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        content_md5: Option<&str>,
        ttl: Duration,
    ) -> Result<PresignedRequest, StorageError> {
        let name = object_name(key)?;
        check_content_type(content_type)?;
        let content_md5 = content_md5.map(normalize_content_md5).transpose()?;
        let config = presigning_config(ttl)?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(name)
            .content_type(content_type)
            .set_content_md5(content_md5)
            .presigned(config.clone())
            .await
            .map_err(|error| self.error("presign_put", Target::Object(key), error))?;
        Ok(presigned(&request, "PUT", &config))
    }

    async fn presign_get(
        &self,
        key: &str,
        ttl: Duration,
    ) -> Result<PresignedRequest, StorageError> {
        let name = object_name(key)?;
        let config = presigning_config(ttl)?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(name)
            .presigned(config.clone())
            .await
            .map_err(|error| self.error("presign_get", Target::Object(key), error))?;
        Ok(presigned(&request, "GET", &config))
    }

    async fn check(&self) -> Result<(), StorageError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|error| self.error("check", Target::Bucket, error))?;
        Ok(())
    }
}
