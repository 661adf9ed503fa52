//! The documents slice's layer (slices.md §9): from `Db` and `dyn Clock` it builds the
//! repositories and services once, and provides them with the `documents` RPC group
//! ([`DocumentsRpc`]) and the `dyn DocumentSnapshots` port other slices use.
//!
//! The database must already have the documents migrations ([`DOCUMENTS_MIGRATIONS`]); the
//! runtime applies every slice's migrations before slices are built.
//!
//! [`DOCUMENTS_MIGRATIONS`]: crate::DOCUMENTS_MIGRATIONS

use std::sync::Arc;

use shared_server::layer::{BoxError, Context, Layer};
use shared_server::snapshots::DocumentSnapshots;
use shared_server::{Clock, Db};

use crate::repos::{
    CommentRepo, DiscussionRepo, DocumentFileRepo, DocumentRepo, DocumentSourceRepo,
    DocumentVersionRepo,
};
use crate::rpc::documents_group;
use crate::services::{DiscussionService, DocumentService, VersionService};
use crate::snapshots::TableSnapshots;

shared_server::slice_rpc!(
    /// The `documents` group (`/v1/documents/rpc`) as a layer service.
    DocumentsRpc
);

/// What the handlers use, built once by the layer.
#[derive(Debug, Clone)]
pub struct DocumentsState {
    pub documents: DocumentService,
    pub discussions: DiscussionService,
    pub versions: VersionService,
}

impl DocumentsState {
    /// The services over `db`, timed by `clock`.
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        let documents = DocumentRepo::new(db.clone(), clock.clone());
        let discussions = DiscussionRepo::new(db.clone(), clock.clone());
        let comments = CommentRepo::new(db.clone(), clock.clone());
        let versions = DocumentVersionRepo::new(db.clone(), clock);
        Self {
            documents: DocumentService::new(db.clone(), documents.clone()),
            discussions: DiscussionService::new(
                db.clone(),
                documents.clone(),
                discussions,
                comments,
            ),
            versions: VersionService::new(db, documents, versions),
        }
    }
}

/// The documents slice: requires `Db` and `dyn Clock`; provides `DocumentRepo`,
/// `DiscussionRepo`, `CommentRepo`, `DocumentVersionRepo`, `DocumentFileRepo`,
/// `DocumentSourceRepo`, `DocumentService`, `DiscussionService`, `VersionService`,
/// `dyn DocumentSnapshots` and `DocumentsRpc`.
pub fn layer() -> Layer {
    Layer::named_leaf("documents")
        .requires::<Db>()
        .requires::<dyn Clock>()
        .provides::<DocumentRepo>()
        .provides::<DiscussionRepo>()
        .provides::<CommentRepo>()
        .provides::<DocumentVersionRepo>()
        .provides::<DocumentFileRepo>()
        .provides::<DocumentSourceRepo>()
        .provides::<DocumentService>()
        .provides::<DiscussionService>()
        .provides::<VersionService>()
        .provides::<dyn DocumentSnapshots>()
        .provides::<DocumentsRpc>()
        .build(|ctx, _scope| async move {
            let db = (*ctx.get::<Db>()?).clone();
            let clock = ctx.get::<dyn Clock>()?;
            let state = DocumentsState::new(db.clone(), clock.clone());
            let snapshots: Arc<dyn DocumentSnapshots> =
                Arc::new(TableSnapshots::new(state.versions.clone()));
            let services = Context::new()
                .with(state.documents.repo().clone())
                .with(DiscussionRepo::new(db.clone(), clock.clone()))
                .with(CommentRepo::new(db.clone(), clock.clone()))
                .with(DocumentVersionRepo::new(db.clone(), clock.clone()))
                .with(DocumentFileRepo::new(db.clone(), clock.clone()))
                .with(DocumentSourceRepo::new(db, clock))
                .with(state.documents.clone())
                .with(state.discussions.clone())
                .with(state.versions.clone())
                .with_arc::<dyn DocumentSnapshots>(snapshots)
                .with(DocumentsRpc(documents_group(state)));
            Ok::<_, BoxError>(services)
        })
}
