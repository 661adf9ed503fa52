//! The slice's implementation of the `DocumentSnapshots` port (slices.md §9) over
//! [`VersionService`]: what knowledge calls to freeze the text it extracts evidence from and
//! to read a cited version back.

use shared_server::entities::{OrganizationId, UserId};
use shared_server::snapshots::{
    DocumentId, DocumentSnapshots, DocumentVersionId, Snapshot, SnapshotError, VersionContent,
};
use shared_server::RepoError;

use crate::services::{SnapshotInput, VersionService};
use crate::DocumentsError;

/// `dyn DocumentSnapshots` as the documents layer provides it.
#[derive(Debug, Clone)]
pub struct TableSnapshots {
    versions: VersionService,
}

impl TableSnapshots {
    pub fn new(versions: VersionService) -> Self {
        Self { versions }
    }
}

fn storage(error: DocumentsError) -> SnapshotError {
    match error {
        DocumentsError::Repo(repo) => SnapshotError::Storage(repo),
        other => SnapshotError::Storage(RepoError::Invalid {
            message: other.to_string(),
        }),
    }
}

#[async_trait::async_trait]
impl DocumentSnapshots for TableSnapshots {
    async fn create_snapshot(
        &self,
        org: &OrganizationId,
        actor: &UserId,
        document: &DocumentId,
        content: Option<String>,
    ) -> Result<Snapshot, SnapshotError> {
        let input = SnapshotInput {
            content,
            ..SnapshotInput::default()
        };
        match self.versions.snapshot(org, actor, document, input).await {
            Ok(version) => Ok(Snapshot {
                version_id: version.id,
                content: version.content,
            }),
            Err(DocumentsError::Repo(RepoError::NotFound { .. })) => {
                Err(SnapshotError::DocumentNotFound(document.clone()))
            }
            Err(other) => Err(storage(other)),
        }
    }

    async fn get_version_content(
        &self,
        org: &OrganizationId,
        version: &DocumentVersionId,
    ) -> Result<VersionContent, SnapshotError> {
        match self.versions.content(org, version).await {
            Ok(found) => Ok(VersionContent {
                document_id: found.document_id,
                version_id: found.document_version_id,
                content: found.content,
            }),
            Err(DocumentsError::Repo(RepoError::NotFound { .. })) => {
                Err(SnapshotError::VersionNotFound(version.clone()))
            }
            Err(other) => Err(storage(other)),
        }
    }
}
