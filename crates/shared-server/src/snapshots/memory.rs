//! [`MemoryDocumentSnapshots`]: the `DocumentSnapshots` port in memory, for the tests of slices
//! that use it (knowledge) without the documents tables. Documents are registered with
//! [`put_document`](MemoryDocumentSnapshots::put_document); versions are kept for ever and
//! never change, as the real ones.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{
    DocumentId, DocumentSnapshots, DocumentVersionId, Snapshot, SnapshotError, VersionContent,
};
use crate::entities::{OrganizationId, UserId};

/// One version as the double recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedVersion {
    pub organization_id: OrganizationId,
    pub document_id: DocumentId,
    pub author: UserId,
    pub content: String,
}

#[derive(Debug, Default)]
struct State {
    documents: HashMap<(OrganizationId, DocumentId), String>,
    versions: HashMap<DocumentVersionId, RecordedVersion>,
    order: Vec<DocumentVersionId>,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct MemoryDocumentSnapshots {
    state: Mutex<State>,
}

impl MemoryDocumentSnapshots {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or replaces the content of) a document of `org`.
    pub fn put_document(&self, org: &OrganizationId, document: &DocumentId, content: &str) {
        self.lock()
            .documents
            .insert((org.clone(), document.clone()), content.to_string());
    }

    /// Every version written so far, oldest first.
    pub fn versions(&self) -> Vec<(DocumentVersionId, RecordedVersion)> {
        let state = self.lock();
        state
            .order
            .iter()
            .filter_map(|id| state.versions.get(id).map(|v| (id.clone(), v.clone())))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait::async_trait]
impl DocumentSnapshots for MemoryDocumentSnapshots {
    async fn create_snapshot(
        &self,
        org: &OrganizationId,
        actor: &UserId,
        document: &DocumentId,
        content: Option<String>,
    ) -> Result<Snapshot, SnapshotError> {
        let mut state = self.lock();
        let current = state
            .documents
            .get(&(org.clone(), document.clone()))
            .cloned()
            .ok_or_else(|| SnapshotError::DocumentNotFound(document.clone()))?;
        let content = content.unwrap_or(current);
        let version_id = DocumentVersionId::new();
        state.versions.insert(
            version_id.clone(),
            RecordedVersion {
                organization_id: org.clone(),
                document_id: document.clone(),
                author: actor.clone(),
                content: content.clone(),
            },
        );
        state.order.push(version_id.clone());
        Ok(Snapshot {
            version_id,
            content,
        })
    }

    async fn get_version_content(
        &self,
        org: &OrganizationId,
        version: &DocumentVersionId,
    ) -> Result<VersionContent, SnapshotError> {
        let state = self.lock();
        match state.versions.get(version) {
            Some(found) if &found.organization_id == org => Ok(VersionContent {
                document_id: found.document_id.clone(),
                version_id: version.clone(),
                content: found.content.clone(),
            }),
            _ => Err(SnapshotError::VersionNotFound(version.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn versions_freeze_the_text_and_stay_in_their_organization() {
        let snapshots = MemoryDocumentSnapshots::new();
        let (org, other) = (OrganizationId::new(), OrganizationId::new());
        let (doc, ada) = (DocumentId::new(), UserId::new());
        snapshots.put_document(&org, &doc, "first");
        let first = snapshots
            .create_snapshot(&org, &ada, &doc, None)
            .await
            .unwrap();
        snapshots.put_document(&org, &doc, "second");
        let given = snapshots
            .create_snapshot(&org, &ada, &doc, Some("given".into()))
            .await
            .unwrap();
        assert_eq!(first.content, "first");
        assert_eq!(given.content, "given");
        let read = snapshots
            .get_version_content(&org, &first.version_id)
            .await
            .unwrap();
        assert_eq!(
            (read.document_id, read.content),
            (doc.clone(), "first".to_string())
        );
        assert!(matches!(
            snapshots
                .get_version_content(&other, &first.version_id)
                .await,
            Err(SnapshotError::VersionNotFound(_))
        ));
        assert!(matches!(
            snapshots.create_snapshot(&other, &ada, &doc, None).await,
            Err(SnapshotError::DocumentNotFound(_))
        ));
        assert_eq!(snapshots.versions().len(), 2);
    }
}
