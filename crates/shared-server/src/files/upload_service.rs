//! `UploadService` (slices.md §1.3, §1.5): initiation validates the request, mints the file id
//! and key, presigns a PUT bound to `Content-Type` (and `Content-MD5` when the client gave a
//! digest) and stores the signed descriptor; completion turns a received object into a
//! `shared_file` row in one transaction.
//!
//! Typed failures (`ValidationError`, `FolderNotFoundError`, `FileTooLargeError {limit}`,
//! `UploadSessionNotFoundError`, `UploadNotReceivedError`, `UploadSignatureError`) are
//! [`Failure`]s; storage and database faults are defects.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::config::UploadConfig;
use super::descriptor::{DescriptorSigner, UploadDescriptor};
use super::object_key::{is_valid_entity_attribute, EntityKind, KeyParts, ObjectKey};
use super::upload_rules::{check_type_and_metadata, validation};
use crate::entities::{File, FileId, FolderId, NewFile, TeamId, MAX_FILE_NAME_CHARS};
use crate::events::{files_uploaded, user_topic, EventHub};
use crate::repos::{FileRepo, FolderRepo, TeamRepo, UploadSessionRepo};
use crate::rpc::{Failure, OrgCaller, ProcedureError};
use crate::storage::ObjectStore;
use crate::{Clock, Db, Timestamp};

/// How long an upload session and its presigned PUT stay valid (§1.1, §1.5).
pub const UPLOAD_SESSION_TTL: Duration = Duration::from_secs(15 * 60);

/// `source` of files registered by completion.
pub const FILE_SOURCE: &str = "api";

/// `files_initiateUpload`'s payload.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitiateUpload {
    pub file_name: String,
    pub file_size: i64,
    pub mime_type: String,
    pub entity_kind: String,
    pub entity_identifier: String,
    pub entity_attribute: String,
    pub folder_id: Option<FolderId>,
    pub metadata: Json,
}

/// `files_initiateUpload`'s success.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitiatedUpload {
    pub presigned_url: String,
    pub file_key: ObjectKey,
    /// The signed upload descriptor.
    pub metadata: UploadDescriptor,
    pub signature: String,
    pub expires_at: Timestamp,
}

/// Runs the upload flow over the shared repositories and the object store.
pub struct UploadService {
    config: Arc<UploadConfig>,
    signer: DescriptorSigner,
    db: Db,
    clock: Arc<dyn Clock>,
    store: Arc<dyn ObjectStore>,
    events: Arc<dyn EventHub>,
    files: FileRepo,
    folders: FolderRepo,
    teams: TeamRepo,
    uploads: UploadSessionRepo,
}

impl std::fmt::Debug for UploadService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadService")
            .field("config", &self.config)
            .field("store", &self.store.backend())
            .finish_non_exhaustive()
    }
}

fn session_not_found() -> ProcedureError {
    Failure::tagged("UploadSessionNotFoundError")
        .field(
            "message",
            "no pending upload for this key (unknown, expired, already completed or not yours)",
        )
        .into()
}

fn signature_error() -> ProcedureError {
    Failure::tagged("UploadSignatureError")
        .field(
            "message",
            "the upload descriptor does not match its signature",
        )
        .into()
}

fn not_received(message: String) -> ProcedureError {
    Failure::tagged("UploadNotReceivedError")
        .field("message", message)
        .into()
}

impl UploadService {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: Arc<UploadConfig>,
        db: Db,
        clock: Arc<dyn Clock>,
        store: Arc<dyn ObjectStore>,
        events: Arc<dyn EventHub>,
        files: FileRepo,
        folders: FolderRepo,
        teams: TeamRepo,
        uploads: UploadSessionRepo,
    ) -> Self {
        Self {
            signer: DescriptorSigner::new(&config.signing_secret),
            config,
            db,
            clock,
            store,
            events,
            files,
            folders,
            teams,
            uploads,
        }
    }

    pub fn config(&self) -> &UploadConfig {
        &self.config
    }

    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// `files_initiateUpload` (§1.5 steps 1–3).
    pub async fn initiate(
        &self,
        who: &OrgCaller,
        request: InitiateUpload,
    ) -> Result<InitiatedUpload, ProcedureError> {
        let file_name = request.file_name.trim().to_string();
        let name_chars = file_name.chars().count();
        if name_chars == 0 || name_chars > MAX_FILE_NAME_CHARS {
            return Err(validation(
                "fileName must have 1 to 255 characters after trimming",
                "fileName",
            ));
        }
        if request.file_size < 0 {
            return Err(validation("fileSize must not be negative", "fileSize"));
        }
        let limit = self
            .config
            .max_bytes
            .min(u64::try_from(who.user.upload_limit).unwrap_or(0));
        if u64::try_from(request.file_size).unwrap_or(0) > limit {
            return Err(Failure::tagged("FileTooLargeError")
                .field("limit", limit)
                .into());
        }
        let mime_type = request.mime_type.trim().to_ascii_lowercase();
        let (extension, content_md5) = check_type_and_metadata(
            &self.config.allowed_mime_types,
            &mime_type,
            &request.metadata,
        )?;
        let entity_kind = EntityKind::from_str(&request.entity_kind).map_err(|_| {
            validation(
                "entityKind must be user, organization or team",
                "entityKind",
            )
        })?;
        if !is_valid_entity_attribute(&request.entity_attribute) {
            return Err(validation(
                "entityAttribute must match ^[a-z][a-z0-9-]{0,31}$",
                "entityAttribute",
            ));
        }
        self.check_entity(who, entity_kind, &request.entity_identifier)
            .await?;
        if let Some(folder) = &request.folder_id {
            let owned = self
                .folders
                .find_by_id(&self.db, who.org_id(), folder)
                .await?
                .is_some_and(|found| &found.user_id == who.user_id());
            if !owned {
                return Err(Failure::not_found("Folder", folder).into());
            }
        }

        let now = self.clock.now();
        let file_id = FileId::new();
        let file_key = ObjectKey::build(KeyParts {
            env: self.config.env,
            org_type: who.organization.org_type,
            org_id: who.org_id(),
            entity_kind,
            entity_identifier: &request.entity_identifier,
            entity_attribute: &request.entity_attribute,
            uploaded_at: now,
            file_id: &file_id,
            extension: &extension,
        })
        .map_err(|error| validation(error.reason, "entityIdentifier"))?;
        let presigned = self
            .store
            .presign_put(
                file_key.as_str(),
                &mime_type,
                content_md5.as_deref(),
                UPLOAD_SESSION_TTL,
            )
            .await
            .map_err(ProcedureError::internal)?;
        let expires_at = now.plus(UPLOAD_SESSION_TTL);
        let descriptor = UploadDescriptor {
            file_id,
            file_key: file_key.clone(),
            organization_id: who.org_id().clone(),
            user_id: who.user_id().clone(),
            folder_id: request.folder_id,
            file_name,
            file_size: request.file_size,
            mime_type,
            metadata: request.metadata,
            expires_at,
        };
        let descriptor_json =
            serde_json::to_value(&descriptor).map_err(ProcedureError::internal)?;
        let signature = self.signer.sign(&descriptor_json);
        self.uploads
            .store(
                &self.db,
                who.org_id(),
                who.user_id(),
                &file_key,
                &signature,
                descriptor_json,
                expires_at,
            )
            .await?;
        Ok(InitiatedUpload {
            presigned_url: presigned.url,
            file_key,
            metadata: descriptor,
            signature,
            expires_at,
        })
    }

    /// §1.4: the entity is the caller, the active organization, or a team of it.
    async fn check_entity(
        &self,
        who: &OrgCaller,
        kind: EntityKind,
        identifier: &str,
    ) -> Result<(), ProcedureError> {
        let allowed = match kind {
            EntityKind::User => identifier == who.user_id().as_str(),
            EntityKind::Organization => identifier == who.org_id().as_str(),
            EntityKind::Team => match TeamId::parse(identifier) {
                Ok(team) => self
                    .teams
                    .find_by_id(&self.db, who.org_id(), &team)
                    .await?
                    .is_some(),
                Err(_) => false,
            },
        };
        if allowed {
            Ok(())
        } else {
            Err(validation(
                "entityIdentifier must be the caller, the active organization or one of its teams",
                "entityIdentifier",
            ))
        }
    }

    /// `files_completeUpload` (§1.5 step 5): the session is checked (exists, unexpired, the
    /// caller's, signature verifies) and the store must show the object with the promised size;
    /// then one transaction deletes the session and inserts the file; after commit
    /// `Files.Uploaded` goes to the caller's topic.
    ///
    /// The checks read outside the transaction on purpose: a transaction held open across the
    /// object store's round trip (a network call on S3) keeps a read snapshot that SQLite cannot
    /// upgrade to a write once another completion has committed (`SQLITE_BUSY_SNAPSHOT`), so
    /// completions running at once failed. The session row is what serializes them: the
    /// transaction deletes it first, and only the completion that deleted it registers the
    /// file; it is retried on a transient conflict ([`Db::transaction`]).
    pub async fn complete(&self, who: &OrgCaller, file_key: &str) -> Result<File, ProcedureError> {
        let Ok(key) = ObjectKey::parse(file_key) else {
            return Err(session_not_found());
        };
        let session = self
            .uploads
            .find_by_file_key(&self.db, who.org_id(), &key)
            .await?;
        let Some(session) = session else {
            return Err(session_not_found());
        };
        if &session.user_id != who.user_id() || self.clock.now() > session.expires_at {
            return Err(session_not_found());
        }
        if !self.signer.verify(&session.metadata, &session.signature) {
            return Err(signature_error());
        }
        let descriptor: UploadDescriptor =
            serde_json::from_value(session.metadata).map_err(|_| signature_error())?;
        let consistent = descriptor.file_key == key
            && &descriptor.organization_id == who.org_id()
            && &descriptor.user_id == who.user_id()
            && &descriptor.file_id == key.file_id();
        if !consistent {
            return Err(signature_error());
        }
        let object = self
            .store
            .head(key.as_str())
            .await
            .map_err(ProcedureError::internal)?;
        match object {
            None => {
                return Err(not_received(
                    "the object has not been uploaded to the presigned URL".into(),
                ))
            }
            Some(meta) if i64::try_from(meta.size).ok() != Some(descriptor.file_size) => {
                return Err(not_received(format!(
                    "the uploaded object has {} bytes, not the announced {}",
                    meta.size, descriptor.file_size
                )))
            }
            Some(_) => {}
        }
        let url = self.file_url(&descriptor.file_id, &key);
        let new = NewFile {
            id: Some(descriptor.file_id),
            key: key.clone(),
            url,
            name: descriptor.file_name,
            size: descriptor.file_size,
            mime_type: descriptor.mime_type,
            user_id: who.user_id().clone(),
            uploaded_by_user_id: who.user_id().clone(),
            folder_id: descriptor.folder_id,
            metadata: descriptor.metadata,
            source: Some(FILE_SOURCE.into()),
        };
        let (uploads, files) = (self.uploads.clone(), self.files.clone());
        let (org, actor) = (who.org_id().clone(), who.actor().to_owned());
        let registered = self
            .db
            .transaction(move |tx| {
                let (uploads, files, org, actor, key, new) = (
                    uploads.clone(),
                    files.clone(),
                    org.clone(),
                    actor.clone(),
                    key.clone(),
                    new.clone(),
                );
                Box::pin(async move {
                    if !uploads.delete_by_file_key(&mut *tx, &org, &key).await? {
                        return Ok(None);
                    }
                    files.insert(&mut *tx, &org, new, &actor).await.map(Some)
                })
            })
            .await?;
        let Some(file) = registered else {
            return Err(session_not_found());
        };
        self.events
            .publish(&user_topic(who.user_id()), files_uploaded(&file))
            .await;
        Ok(file)
    }

    /// The stable URL of a file (§1.6): the content route, or `OBJECT_PUBLIC_BASE_URL` + key.
    pub fn file_url(&self, file_id: &FileId, key: &ObjectKey) -> String {
        match &self.config.public_base_url {
            Some(base) => format!("{base}{key}"),
            None => format!("/v1/shared/files/{file_id}/content"),
        }
    }
}
