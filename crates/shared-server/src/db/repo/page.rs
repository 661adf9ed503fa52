//! Keyset pages of `list` (slices.md §0.6): which page to read and one page of items.

use serde::{Deserialize, Serialize};

/// Page size when a [`PageRequest`] sets none.
pub const DEFAULT_PAGE_LIMIT: u32 = 50;
/// Largest page size; larger requests are clamped.
pub const MAX_PAGE_LIMIT: u32 = 200;

/// Which page to read: after the item with public id `after` (none: the first page), at most
/// `limit` items (default [`DEFAULT_PAGE_LIMIT`], clamped to `1..=`[`MAX_PAGE_LIMIT`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

impl PageRequest {
    /// The first page of `limit` items.
    pub fn first(limit: u32) -> Self {
        Self {
            after: None,
            limit: Some(limit),
        }
    }

    /// The page after the item `after`.
    pub fn after(after: impl Into<String>, limit: u32) -> Self {
        Self {
            after: Some(after.into()),
            limit: Some(limit),
        }
    }

    /// The page size actually used.
    pub fn effective_limit(&self) -> u32 {
        self.limit
            .unwrap_or(DEFAULT_PAGE_LIMIT)
            .clamp(1, MAX_PAGE_LIMIT)
    }
}

/// One page of items; `next` is the cursor of the following page (the id of the last item),
/// `None` on the last page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}
