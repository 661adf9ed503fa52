//! In-memory `ObjectStore` test double (DESIGN.md, "shipped test doubles").
//!
//! Same key rules and argument validation as the real backends, so code tested against it fails
//! the same way in production. Presigned URLs use the `memory://` scheme and cannot be fetched;
//! tests inspect them, then call [`put`](ObjectStore::put) to play the client's upload.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use super::{
    object_name, presign_expiry, presigned_put_binding, ObjectMeta, ObjectStore, PresignedRequest,
    StorageError, StoredObject,
};

/// Objects in a map keyed by object name (the key without its leading `/`).
#[derive(Debug, Default)]
pub struct MemoryObjectStore {
    objects: Mutex<BTreeMap<String, StoredObject>>,
}

impl MemoryObjectStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Names of the stored objects (keys without their leading `/`), sorted.
    pub fn names(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, StoredObject>> {
        // A panic while holding the lock cannot leave the map half-updated.
        self.objects
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A `memory://` URL carrying what a real backend would sign.
fn presigned(
    method: &'static str,
    name: &str,
    ttl: Duration,
    headers: Vec<(String, String)>,
) -> Result<PresignedRequest, StorageError> {
    let (expires, expires_at) = presign_expiry(ttl)?;
    Ok(PresignedRequest {
        url: format!("memory://{name}?method={method}&expires={expires}"),
        method,
        headers,
        expires_at,
    })
}

#[async_trait]
impl ObjectStore for MemoryObjectStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn put(
        &self,
        key: &str,
        body: Bytes,
        content_type: Option<&str>,
    ) -> Result<(), StorageError> {
        let name = object_name(key)?;
        let object = StoredObject {
            size: body.len() as u64,
            body,
            content_type: content_type.map(str::to_owned),
        };
        self.lock().insert(name.to_owned(), object);
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<StoredObject, StorageError> {
        let name = object_name(key)?;
        self.lock()
            .get(name)
            .cloned()
            .ok_or_else(|| StorageError::not_found(key))
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StorageError> {
        let name = object_name(key)?;
        Ok(self.lock().get(name).map(|object| ObjectMeta {
            size: object.size,
            content_type: object.content_type.clone(),
        }))
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let name = object_name(key)?;
        self.lock().remove(name);
        Ok(())
    }

    async fn delete_many(&self, keys: &[String]) -> Result<(), StorageError> {
        let names = keys
            .iter()
            .map(|key| object_name(key))
            .collect::<Result<Vec<_>, _>>()?;
        let mut objects = self.lock();
        for name in names {
            objects.remove(name);
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
        let binding = presigned_put_binding(content_type, content_md5)?;
        presigned("PUT", name, ttl, binding.headers)
    }

    async fn presign_get(
        &self,
        key: &str,
        ttl: Duration,
    ) -> Result<PresignedRequest, StorageError> {
        let name = object_name(key)?;
        presigned("GET", name, ttl, Vec::new())
    }

    async fn check(&self) -> Result<(), StorageError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trip_and_validation() {
        let store = MemoryObjectStore::new();
        store
            .put("/dev/a.txt", Bytes::from_static(b"hi"), Some("text/plain"))
            .await
            .expect("put");
        assert_eq!(store.names(), vec!["dev/a.txt".to_owned()]);
        let meta = store.head("dev/a.txt").await.expect("head");
        assert_eq!(
            meta,
            Some(ObjectMeta {
                size: 2,
                content_type: Some("text/plain".into())
            })
        );
        assert!(store
            .get("/dev/b.txt")
            .await
            .is_err_and(|e| e.is_not_found()));
        assert!(store.put("/../x", Bytes::new(), None).await.is_err());

        let put = store
            .presign_put(
                "/dev/a.txt",
                "text/plain",
                Some("5d41402abc4b2a76b9719d911017c592"),
                Duration::from_secs(60),
            )
            .await
            .expect("presign");
        assert!(put.url.starts_with("memory://dev/a.txt?method=PUT"));
        assert!(put
            .headers
            .contains(&("Content-MD5".into(), "XUFAKrxLKna5cZ2REBfFkg==".into())));

        store
            .delete_many(&["/dev/a.txt".into(), "/dev/missing".into()])
            .await
            .expect("delete_many");
        assert!(store.is_empty());
    }
}
