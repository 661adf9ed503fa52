//! Repositories of the documents tables (slices.md §3.4). Each wraps the base repository of its
//! entity (the §0.6 contract: org-scoped, keyset pages, optimistic versions, spans) and adds the
//! table's own queries in the same form: `on: impl Into<Exec<'_>>` first (the pool or the
//! caller's transaction), then the organization, which every statement filters on.
//!
//! `DocumentVersionRepo` is the exception that proves the rule: it does not dereference to its
//! base repository, so the immutable table has no update and no soft delete to call.

mod comment;
mod discussion;
mod document;
mod file;
mod source;
mod version;

pub use comment::CommentRepo;
pub use discussion::{DiscussionRepo, DiscussionWithComments, ThreadComment};
pub use document::{DocumentRepo, DocumentSearch, ListDocuments, SearchHit, MAX_ANCESTOR_DEPTH};
pub use file::DocumentFileRepo;
pub use source::DocumentSourceRepo;
pub use version::{DocumentVersionRepo, VersionContent, VersionWithAuthor};

use shared_server::db::repo::Sql;

/// Most rows one listing stream returns (streams are bounded, slices.md §0.8).
pub const MAX_STREAM_ROWS: i64 = 500;

/// The `LIKE` pattern of a case-insensitive "contains" (`%` and `_` in the text match
/// themselves; compared with `lower(column)`, pattern lowercased here).
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Appends ` AND lower(<column>) LIKE $n ESCAPE '\'` for a non-empty `contains`.
pub(crate) fn push_contains(sql: &mut Sql, column: &str, contains: Option<&str>) {
    if let Some(text) = contains.filter(|t| !t.is_empty()) {
        sql.push(" AND lower(")
            .push(column)
            .push(") LIKE ")
            .push_bind(contains_pattern(text))
            .push(" ESCAPE '\\'");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_wildcards_in_the_text_are_escaped() {
        assert_eq!(super::contains_pattern("50%_A\\b"), "%50\\%\\_a\\\\b%");
    }
}
