//! `shared_upload_session`: a signed, short-lived upload descriptor between
//! `files_initiateUpload` and `files_completeUpload` (org-scoped, one per object key).

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::{invalid, json_object, Audit, OrganizationId, UserId};
use crate::db::repo::{Entity, ListFilter, NewRow, OrgScoped, PatchRow};
use crate::db::Columns;
use crate::db::{RepoError, SqlValue};
use crate::files::ObjectKey;
use crate::time::Timestamp;

crate::entity_id!(
    /// Id of a `shared_upload_session` row.
    UploadSessionId,
    "shared_upload_session"
);

/// `source` of every row written by `UploadSessionRepo::store`.
pub const UPLOAD_INITIATION_SOURCE: &str = "upload-initiation";

/// A `shared_upload_session` row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadSession {
    #[sqlx(rename = "_row_id")]
    #[serde(rename = "_rowId")]
    pub row_id: i64,
    pub id: UploadSessionId,
    pub organization_id: OrganizationId,
    pub file_key: ObjectKey,
    pub user_id: UserId,
    /// `hmac-sha256=<64 lowercase hex>` over the canonical descriptor.
    pub signature: String,
    /// The signed upload descriptor (slices.md §1.5).
    pub metadata: Json,
    pub expires_at: Timestamp,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub audit: Audit,
}

impl Entity for UploadSession {
    type Id = UploadSessionId;
    type New = NewUploadSession;
    type Patch = UploadSessionPatch;
    type Filter = UploadSessionFilter;
    type Scope = OrgScoped;
    const TABLE: &'static str = "shared_upload_session";
    const NAME: &'static str = "UploadSession";

    fn id(&self) -> &UploadSessionId {
        &self.id
    }

    crate::repo_spans!("UploadSessionRepo");
}

/// `hmac-sha256=` followed by 64 lowercase hex digits.
pub(crate) fn check_signature(signature: String) -> Result<String, RepoError> {
    let well_formed = signature.strip_prefix("hmac-sha256=").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    if well_formed {
        Ok(signature)
    } else {
        Err(invalid(
            "upload signature must be hmac-sha256=<64 lowercase hex digits>",
        ))
    }
}

fn check_metadata(metadata: Json) -> Result<Json, RepoError> {
    json_object("upload metadata", &metadata)?;
    Ok(metadata)
}

/// An upload session to insert (`UploadSessionRepo::store` is the usual way: it upserts).
#[derive(Debug, Clone, PartialEq)]
pub struct NewUploadSession {
    pub file_key: ObjectKey,
    pub user_id: UserId,
    pub signature: String,
    pub metadata: Json,
    pub expires_at: Timestamp,
    pub source: Option<String>,
}

impl NewRow for NewUploadSession {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let mut c = Columns::default();
        c.set("file_key", self.file_key)
            .set("user_id", self.user_id)
            .set("signature", check_signature(self.signature)?)
            .set("metadata", check_metadata(self.metadata)?)
            .set("expires_at", self.expires_at)
            .set("source", self.source);
        c.finish()
    }
}

/// A partial update of an upload session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UploadSessionPatch {
    pub signature: Option<String>,
    pub metadata: Option<Json>,
    pub expires_at: Option<Timestamp>,
}

impl PatchRow for UploadSessionPatch {
    fn into_columns(self, _now: Timestamp) -> Result<Vec<(&'static str, SqlValue)>, RepoError> {
        let signature = self.signature.map(check_signature).transpose()?;
        let metadata = self.metadata.map(check_metadata).transpose()?;
        let mut c = Columns::default();
        c.patch("signature", signature)
            .patch("metadata", metadata)
            .patch("expires_at", self.expires_at);
        c.finish()
    }
}

/// Which upload sessions `list`/`count` return.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadSessionFilter {
    pub user_id: Option<UserId>,
}

impl ListFilter for UploadSessionFilter {
    fn conditions(self) -> Vec<(&'static str, SqlValue)> {
        self.user_id
            .map(|u| ("user_id", u.into()))
            .into_iter()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked() {
        let hex = "0123456789abcdef".repeat(4);
        assert!(check_signature(format!("hmac-sha256={hex}")).is_ok());
        assert!(check_signature(format!("hmac-sha256={}", hex.to_uppercase())).is_err());
        assert!(check_signature(format!("sha256={hex}")).is_err());
        assert!(check_signature("hmac-sha256=abc".into()).is_err());
    }
}
