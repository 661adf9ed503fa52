//! The `documents` RPC group at `/v1/documents/rpc` (slices.md §3.5): the route table, one line
//! per procedure. Every procedure is for members of the active organization (`OrgCaller`);
//! handlers are in `documents.rs`, `discussions.rs` and `versions.rs`, their payload rules in
//! `payload.rs`. Streams are bounded: `Document.list` by its `limit` (≤ 200),
//! `Document.search` by its `limit` (≤ 100), every other listing at 500 rows.

mod discussions;
mod documents;
pub mod payload;
mod versions;

use shared_server::rpc::RpcGroup;

use crate::layer::DocumentsState;
use crate::DocumentsError;

/// The group, over the state the layer built.
pub fn documents_group(state: DocumentsState) -> RpcGroup {
    RpcGroup::with_state("documents", state)
        .org("Document.get", documents::get)
        .org_stream("Document.listByUser", documents::list_by_user)
        .org_stream("Document.list", documents::list)
        .org_stream("Document.listTrash", documents::list_trash)
        .org_stream("Document.listChildren", documents::list_children)
        .org_stream("Document.search", documents::search)
        .org("Document.create", documents::create)
        .org("Document.update", documents::update)
        .org("Document.archive", documents::archive)
        .org("Document.restore", documents::restore)
        .org("Document.publish", documents::publish)
        .org("Document.unpublish", documents::unpublish)
        .org("Document.lock", documents::lock)
        .org("Document.unlock", documents::unlock)
        .org("Document.delete", documents::delete)
        .org("Discussion.get", discussions::get)
        .org_stream("Discussion.listByDocument", discussions::list_by_document)
        .org("Discussion.create", discussions::create)
        .org(
            "Discussion.createWithComment",
            discussions::create_with_comment,
        )
        .org("Discussion.resolve", discussions::resolve)
        .org("Discussion.unresolve", discussions::unresolve)
        .org("Discussion.delete", discussions::delete)
        .org("Comment.get", discussions::get_comment)
        .org_stream("Comment.listByDiscussion", discussions::list_comments)
        .org("Comment.create", discussions::create_comment)
        .org("Comment.update", discussions::update_comment)
        .org("Comment.delete", discussions::delete_comment)
        .org("DocumentVersion.get", versions::get)
        .org("DocumentVersion.getContent", versions::get_content)
        .org_stream("DocumentVersion.listByDocument", versions::list_by_document)
        .org("DocumentVersion.createSnapshot", versions::create_snapshot)
        .org("DocumentVersion.hardDelete", versions::hard_delete)
        .build()
}

/// The stream of a listing: rows already read, sent as chunks.
type RowStream<T> = futures::stream::Iter<std::vec::IntoIter<Result<T, DocumentsError>>>;

/// What a listing handler returns.
type Rows<T> = Result<RowStream<T>, DocumentsError>;

fn rows<T>(items: Vec<T>) -> RowStream<T> {
    futures::stream::iter(items.into_iter().map(Ok).collect::<Vec<_>>())
}
