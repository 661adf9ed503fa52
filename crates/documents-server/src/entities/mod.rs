//! Row types of the documents tables (slices.md §3.1): one module per table with its id
//! newtype, row struct (decoded on both backends, serialised in the camelCase wire form of
//! §0.5), the `New…` struct an insert takes and, for mutable tables, the `…Patch` struct a
//! partial update takes. Length rules are checked in the services (which name the payload
//! field); the CHECKs of the migration are the safety net.

mod comment;
mod discussion;
mod document;
mod file;
mod source;
mod version;

pub use comment::{Comment, CommentId, CommentPatch, NewComment, MAX_COMMENT_CHARS};
pub use discussion::{Discussion, DiscussionId, DiscussionPatch, NewDiscussion, MAX_ANCHOR_CHARS};
pub use document::{
    Document, DocumentFilter, DocumentFlag, DocumentPatch, NewDocument, TextStyle,
    MAX_CONTENT_CHARS, MAX_COVER_IMAGE_CHARS, MAX_ICON_CHARS, MAX_TITLE_CHARS,
};
pub use file::{DocumentFile, DocumentFileId, DocumentFilePatch, NewDocumentFile};
pub use source::{DocumentSource, DocumentSourceId, DocumentSourcePatch, NewDocumentSource};
pub use version::{DocumentVersion, NewDocumentVersion, NoPatch};

pub use shared_server::snapshots::{DocumentId, DocumentVersionId};

use serde::{Deserialize, Serialize};
use shared_server::entities::UserId;

/// Author summary (slices.md §3.4): who wrote a discussion, comment or version.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: UserId,
    #[serde(rename = "_rowId")]
    pub _row_id: i64,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

/// `Option<Vec<u8>>` as standard base64 on the wire (`yjsSnapshot`).
pub(crate) mod optional_base64 {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(bytes) => {
                s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
            }
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| {
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}

shared_server::id_sql_value!(CommentId, DiscussionId, DocumentFileId, DocumentSourceId);
