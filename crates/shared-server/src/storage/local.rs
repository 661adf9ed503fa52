//! The default object store: one file per object under a root directory.
//!
//! Layout under `root` (three separate trees, so no object name can collide with bookkeeping):
//!
//! - `objects/{name}`: the object's bytes;
//! - `meta/{name}`: a JSON sidecar `{"content_type": …}`;
//! - `tmp/`: uploads in progress. Bytes are written and synced there, then renamed into place, so
//!   readers never see a partial object.
//!
//! Presigned URLs point at this server's [`object_routes`](super::object_routes) and are signed
//! with an HMAC secret (see the `signing` module). Names are validated by [`object_name`], which
//! rejects every key that could leave the root. One limitation compared with S3: an object name
//! cannot also be a "directory" of another (`a` and `a/b` cannot both exist).

use std::fmt;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use md5::{Digest, Md5};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};
use tokio::fs;
use tokio::io::AsyncWriteExt;

use super::signing::{SignedFields, UrlSigner};
use super::{
    object_name, presign_expiry, presigned_put_binding, ObjectMeta, ObjectStore, PresignedRequest,
    StorageError, StoredObject, OBJECT_ROUTE_PREFIX,
};

/// Default cap on one uploaded object through the presigned PUT route: 5 GiB, S3's single-PUT
/// limit. Lower it with [`LocalObjectStore::with_max_upload_bytes`].
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// Characters kept as-is in a path segment of a presigned URL (RFC 3986 unreserved).
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Objects as files under a root directory, with HMAC-signed URLs served by this server.
pub struct LocalObjectStore {
    root: PathBuf,
    signer: UrlSigner,
    base_url: RwLock<String>,
    max_upload_bytes: u64,
}

impl LocalObjectStore {
    /// Opens (creating it if needed) the store rooted at `root`.
    ///
    /// `secret` keys the URL signatures; `base_url` is the server's public origin
    /// (`http://localhost:8080`), which [`set_base_url`](Self::set_base_url) can set later when
    /// the port is only known after binding.
    pub fn new(
        root: PathBuf,
        secret: Vec<u8>,
        base_url: impl Into<String>,
    ) -> Result<Self, StorageError> {
        let signer = UrlSigner::new(&secret)?;
        let store = Self {
            root,
            signer,
            base_url: RwLock::new(String::new()),
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
        };
        store.set_base_url(&base_url.into());
        for dir in [store.objects_dir(), store.meta_dir(), store.tmp_dir()] {
            std::fs::create_dir_all(&dir).map_err(|error| {
                StorageError::io(format_args!("creating `{}`", dir.display()), &error)
            })?;
        }
        Ok(store)
    }

    /// Caps the size of one object uploaded through a presigned PUT (413 above it).
    pub fn with_max_upload_bytes(mut self, max_upload_bytes: u64) -> Self {
        self.max_upload_bytes = max_upload_bytes;
        self
    }

    pub fn max_upload_bytes(&self) -> u64 {
        self.max_upload_bytes
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Sets the origin presigned URLs start with (a trailing `/` is ignored).
    pub fn set_base_url(&self, url: &str) {
        let url = url.trim_end_matches('/').to_owned();
        match self.base_url.write() {
            Ok(mut guard) => *guard = url,
            Err(poisoned) => *poisoned.into_inner() = url,
        }
    }

    pub fn base_url(&self) -> String {
        match self.base_url.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub(crate) fn signer(&self) -> &UrlSigner {
        &self.signer
    }

    fn objects_dir(&self) -> PathBuf {
        self.root.join("objects")
    }

    fn meta_dir(&self) -> PathBuf {
        self.root.join("meta")
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Path of an already validated object name.
    fn object_path(&self, name: &str) -> PathBuf {
        self.objects_dir().join(name)
    }

    fn meta_path(&self, name: &str) -> PathBuf {
        self.meta_dir().join(name)
    }

    /// Starts writing a new object in `tmp/`; nothing is visible until
    /// [`StagedObject::commit`].
    pub(crate) async fn stage(&self) -> Result<StagedObject, StorageError> {
        let path = self
            .tmp_dir()
            .join(format!("{}.part", uuid::Uuid::new_v4()));
        let file = fs::File::create(&path).await.map_err(|error| {
            StorageError::io(format_args!("creating `{}`", path.display()), &error)
        })?;
        Ok(StagedObject {
            file: Some(file),
            path,
            size: 0,
            md5: Md5::new(),
        })
    }

    /// Opens an object for streaming: the open file, its size and content type.
    pub(crate) async fn open(
        &self,
        key: &str,
        name: &str,
    ) -> Result<(fs::File, ObjectMeta), StorageError> {
        let path = self.object_path(name);
        let file = fs::File::open(&path)
            .await
            .map_err(|error| read_error(key, &path, &error))?;
        let metadata = file
            .metadata()
            .await
            .map_err(|error| read_error(key, &path, &error))?;
        if !metadata.is_file() {
            return Err(StorageError::not_found(key));
        }
        let content_type = self.read_content_type(name).await;
        Ok((
            file,
            ObjectMeta {
                size: metadata.len(),
                content_type,
            },
        ))
    }

    /// The sidecar's content type; a missing or unreadable sidecar means "none".
    async fn read_content_type(&self, name: &str) -> Option<String> {
        let path = self.meta_path(name);
        let bytes = fs::read(&path).await.ok()?;
        match serde_json::from_slice::<Sidecar>(&bytes) {
            Ok(sidecar) => sidecar.content_type,
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "unreadable object sidecar ignored");
                None
            }
        }
    }

    /// Removes a file, treating "already gone" as success.
    async fn remove_if_exists(path: &Path) -> Result<(), StorageError> {
        match fs::remove_file(path).await {
            Ok(()) => Ok(()),
            Err(error) if is_missing(&error) => Ok(()),
            Err(error) => Err(StorageError::io(
                format_args!("deleting `{}`", path.display()),
                &error,
            )),
        }
    }

    fn presigned_url(&self, name: &str, expires: u64, signature: &str) -> String {
        let encoded: Vec<String> = name
            .split('/')
            .map(|segment| utf8_percent_encode(segment, PATH_SEGMENT).to_string())
            .collect();
        format!(
            "{}{OBJECT_ROUTE_PREFIX}/{}?expires={expires}&signature={signature}",
            self.base_url(),
            encoded.join("/")
        )
    }
}

impl fmt::Debug for LocalObjectStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalObjectStore")
            .field("root", &self.root)
            .field("base_url", &self.base_url())
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("secret", &"***")
            .finish()
    }
}

#[async_trait]
impl ObjectStore for LocalObjectStore {
    fn backend(&self) -> &'static str {
        "local"
    }

    async fn put(
        &self,
        key: &str,
        body: Bytes,
        content_type: Option<&str>,
    ) -> Result<(), StorageError> {
        let name = object_name(key)?;
        let mut staged = self.stage().await?;
        staged.write(&body).await?;
        staged.commit(self, name, content_type).await?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<StoredObject, StorageError> {
        let name = object_name(key)?;
        let path = self.object_path(name);
        let body = fs::read(&path)
            .await
            .map_err(|error| read_error(key, &path, &error))?;
        let content_type = self.read_content_type(name).await;
        Ok(StoredObject {
            size: body.len() as u64,
            body: Bytes::from(body),
            content_type,
        })
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StorageError> {
        let name = object_name(key)?;
        let path = self.object_path(name);
        let metadata = match fs::metadata(&path).await {
            Ok(metadata) if metadata.is_file() => metadata,
            Ok(_) => return Ok(None),
            Err(error) if is_missing(&error) => return Ok(None),
            Err(error) => return Err(read_error(key, &path, &error)),
        };
        Ok(Some(ObjectMeta {
            size: metadata.len(),
            content_type: self.read_content_type(name).await,
        }))
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let name = object_name(key)?;
        let path = self.object_path(name);
        match fs::metadata(&path).await {
            Ok(metadata) if metadata.is_file() => Self::remove_if_exists(&path).await?,
            Ok(_) => return Ok(()),
            Err(error) if is_missing(&error) => {}
            Err(error) => return Err(read_error(key, &path, &error)),
        }
        Self::remove_if_exists(&self.meta_path(name)).await
    }

    async fn delete_many(&self, keys: &[String]) -> Result<(), StorageError> {
        for key in keys {
            object_name(key)?;
        }
        let mut first_error = None;
        for key in keys {
            if let Err(error) = self.delete(key).await {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        content_md5: Option<&str>,
        ttl: Duration,
    ) -> Result<PresignedRequest, StorageError> {
        let name = object_name(key)?;
        let binding = presigned_put_binding(content_type, content_md5)?;
        let (expires, expires_at) = presign_expiry(ttl)?;
        let signature = self.signer.sign(&SignedFields {
            method: "PUT",
            name,
            expires,
            content_type,
            content_md5: binding.content_md5.as_deref().unwrap_or(""),
        });
        Ok(PresignedRequest {
            url: self.presigned_url(name, expires, &signature),
            method: "PUT",
            headers: binding.headers,
            expires_at,
        })
    }

    async fn presign_get(
        &self,
        key: &str,
        ttl: Duration,
    ) -> Result<PresignedRequest, StorageError> {
        let name = object_name(key)?;
        let (expires, expires_at) = presign_expiry(ttl)?;
        let signature = self.signer.sign(&SignedFields {
            method: "GET",
            name,
            expires,
            content_type: "",
            content_md5: "",
        });
        Ok(PresignedRequest {
            url: self.presigned_url(name, expires, &signature),
            method: "GET",
            headers: Vec::new(),
            expires_at,
        })
    }

    async fn check(&self) -> Result<(), StorageError> {
        for dir in [self.objects_dir(), self.meta_dir()] {
            let metadata = fs::metadata(&dir).await.map_err(|error| {
                StorageError::io(format_args!("reading `{}`", dir.display()), &error)
            })?;
            if !metadata.is_dir() {
                return Err(StorageError::Io {
                    message: format!("`{}` is not a directory", dir.display()),
                });
            }
        }
        // Proves the volume is writable, the way an upload would use it.
        let mut probe = self.stage().await?;
        probe.write(b"readiness probe").await?;
        probe.discard().await;
        Ok(())
    }
}

/// The JSON sidecar stored next to each object.
#[derive(Debug, Serialize, Deserialize)]
struct Sidecar {
    content_type: Option<String>,
}

/// An object being written under `tmp/`. Dropped without `commit`, its file is removed.
pub(crate) struct StagedObject {
    file: Option<fs::File>,
    path: PathBuf,
    size: u64,
    md5: Md5,
}

impl StagedObject {
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), StorageError> {
        let Some(file) = self.file.as_mut() else {
            return Err(StorageError::Io {
                message: "write to a closed upload".into(),
            });
        };
        file.write_all(chunk).await.map_err(|error| {
            StorageError::io(format_args!("writing `{}`", self.path.display()), &error)
        })?;
        self.size += chunk.len() as u64;
        self.md5.update(chunk);
        Ok(())
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// MD5 digest of the bytes written so far.
    pub fn md5(&self) -> [u8; 16] {
        self.md5.clone().finalize().into()
    }

    /// Makes the object visible under `name`: sync, write the sidecar, rename into place.
    /// Returns the object's MD5 digest.
    pub async fn commit(
        mut self,
        store: &LocalObjectStore,
        name: &str,
        content_type: Option<&str>,
    ) -> Result<[u8; 16], StorageError> {
        let io = |what: &str, path: &Path, error: std::io::Error| {
            StorageError::io(format_args!("{what} `{}`", path.display()), &error)
        };
        if let Some(mut file) = self.file.take() {
            file.flush()
                .await
                .map_err(|e| io("writing", &self.path, e))?;
            file.sync_all()
                .await
                .map_err(|e| io("syncing", &self.path, e))?;
        }

        let object_path = store.object_path(name);
        let meta_path = store.meta_path(name);
        for path in [&object_path, &meta_path] {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)
                    .await
                    .map_err(|e| io("creating", parent, e))?;
            }
        }

        let sidecar = Sidecar {
            content_type: content_type.map(str::to_owned),
        };
        let sidecar = serde_json::to_vec(&sidecar).map_err(|error| StorageError::Io {
            message: format!("encoding the sidecar of `{name}`: {error}"),
        })?;
        let meta_tmp = self.path.with_extension("meta");
        fs::write(&meta_tmp, sidecar)
            .await
            .map_err(|e| io("writing", &meta_tmp, e))?;
        if let Err(error) = fs::rename(&meta_tmp, &meta_path).await {
            let _ = fs::remove_file(&meta_tmp).await;
            return Err(io("renaming into", &meta_path, error));
        }
        fs::rename(&self.path, &object_path)
            .await
            .map_err(|e| io("renaming into", &object_path, e))?;
        self.path = PathBuf::new();
        Ok(self.md5())
    }

    /// Removes the partial file now rather than on drop.
    pub async fn discard(mut self) {
        self.file = None;
        let path = std::mem::take(&mut self.path);
        if let Err(error) = fs::remove_file(&path).await {
            tracing::warn!(path = %path.display(), %error, "could not remove a partial upload");
        }
    }
}

impl Drop for StagedObject {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            self.file = None;
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// "Does not exist", including a path component that is a file or an object that is a directory.
fn is_missing(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::NotFound | ErrorKind::NotADirectory | ErrorKind::IsADirectory
    )
}

fn read_error(key: &str, path: &Path, error: &std::io::Error) -> StorageError {
    if is_missing(error) {
        StorageError::not_found(key)
    } else {
        StorageError::io(format_args!("reading `{}`", path.display()), error)
    }
}
