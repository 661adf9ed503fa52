//! The payloads of the `documents` procedures (slices.md §3.5) and their rules. Decoding is
//! lenient where the contract allows it (unknown keys ignored; a missing key and `null` both
//! mean "absent", except `coverImage`, `icon` and `parentDocumentId` in `Document.update`,
//! where `null` clears); ids arrive as text and are parsed here, so a malformed id reads as a
//! missing row (`…NotFoundError`) rather than a decode failure. Every length and shape rule
//! fails with `ValidationError { message, path }` naming the field.
//!
//! Text that PostgreSQL cannot store (a NUL character, also inside JSON strings) is refused
//! here too, so it never reaches a statement on either backend.

use serde::{Deserialize, Deserializer};
use serde_json::Value as Json;
use shared_server::rpc::OrgCaller;

use crate::DocumentsError;

/// `{id}`: the payload of every by-id procedure.
#[derive(Debug, Deserialize)]
pub struct ById {
    pub id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListByUser {
    pub user_id: String,
    pub organization_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListDocuments {
    pub organization_id: String,
    pub parent_document_id: Option<String>,
    pub search: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTrash {
    pub organization_id: String,
    pub search: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListChildren {
    pub parent_document_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Search {
    pub query: String,
    pub organization_id: String,
    pub user_id: Option<String>,
    pub include_archived: Option<bool>,
    pub limit: Option<f64>,
    pub offset: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateDocument {
    pub organization_id: String,
    pub template_id: Option<String>,
    pub parent_document_id: Option<String>,
    pub title: Option<String>,
    pub content: Option<String>,
    pub content_rich: Option<Json>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateDocument {
    pub id: String,
    pub version: Option<i64>,
    pub title: Option<String>,
    pub content: Option<String>,
    pub content_rich: Option<Json>,
    /// Base64 (standard alphabet).
    pub yjs_snapshot: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub cover_image: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub icon: Option<Option<String>>,
    pub full_width: Option<bool>,
    pub small_text: Option<bool>,
    pub text_style: Option<String>,
    pub toc: Option<bool>,
    pub lock_page: Option<bool>,
    pub is_published: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub parent_document_id: Option<Option<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateDiscussion {
    pub organization_id: String,
    pub document_id: String,
    pub document_content: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateDiscussionWithComment {
    pub organization_id: String,
    pub document_id: String,
    pub document_content: String,
    /// An array of rich-content nodes.
    pub content_rich: Option<Json>,
    pub discussion_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ByDiscussion {
    pub discussion_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ByDocument {
    pub document_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateComment {
    pub organization_id: String,
    pub discussion_id: String,
    pub content: String,
    pub content_rich: Option<Json>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateComment {
    pub id: String,
    pub content: Option<String>,
    pub content_rich: Option<Json>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetVersionContent {
    pub id: String,
    pub organization_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateSnapshot {
    pub organization_id: String,
    pub document_id: String,
    pub title: Option<String>,
    pub content: Option<String>,
    pub content_rich: Option<Json>,
}

/// A key that is present (even as `null`) is `Some(value)`; a missing key stays `None`
/// through `#[serde(default)]`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// §0.3: `organizationId` must be the active organization (`Forbidden` otherwise).
pub fn same_organization(who: &OrgCaller, organization_id: &str) -> Result<(), DocumentsError> {
    if is_active_organization(who, organization_id) {
        Ok(())
    } else {
        Err(DocumentsError::Forbidden)
    }
}

/// For procedures without failures: another organization gives an empty result.
pub fn is_active_organization(who: &OrgCaller, organization_id: &str) -> bool {
    who.org_id().as_str() == organization_id
}

/// An id of `entity`'s table; a malformed one names no row (`<entity>NotFoundError`).
pub fn id_of<T: std::str::FromStr>(entity: &'static str, text: &str) -> Result<T, DocumentsError> {
    text.parse()
        .map_err(|_| DocumentsError::not_found(entity, shorten(text)))
}

/// Text of at most `max` characters, storable on both backends.
pub fn text(path: &str, value: &str, max: usize) -> Result<(), DocumentsError> {
    let chars = value.chars().count();
    if chars > max {
        return Err(DocumentsError::invalid(
            path,
            format!("{path} must have at most {max} characters (got {chars})"),
        ));
    }
    if value.contains('\0') {
        return Err(DocumentsError::invalid(
            path,
            format!("{path} must not contain NUL characters"),
        ));
    }
    Ok(())
}

/// An optional [`text`].
pub fn optional_text(path: &str, value: Option<&str>, max: usize) -> Result<(), DocumentsError> {
    value.map_or(Ok(()), |value| text(path, value, max))
}

/// Rich content: any JSON whose strings are storable (no NUL), at most `max_bytes` encoded.
pub fn rich(path: &str, value: Option<&Json>) -> Result<(), DocumentsError> {
    fn has_nul(value: &Json) -> bool {
        match value {
            Json::String(s) => s.contains('\0'),
            Json::Array(items) => items.iter().any(has_nul),
            Json::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
            _ => false,
        }
    }
    match value {
        Some(value) if has_nul(value) => Err(DocumentsError::invalid(
            path,
            format!("{path} must not contain NUL characters"),
        )),
        _ => Ok(()),
    }
}

/// A filter string without the characters no row can hold (a filter has no failure).
pub fn filter_text(value: Option<String>) -> Option<String> {
    value.map(|v| v.replace('\0', "")).filter(|v| !v.is_empty())
}

/// A count of the payload (`limit`, `offset`) as an integer, when it is a finite number.
pub fn whole(value: Option<f64>) -> Option<i64> {
    value
        .filter(|v| v.is_finite())
        .map(|v| v.trunc().clamp(i64::MIN as f64, i64::MAX as f64) as i64)
}

/// An id as quoted back in a failure: at most 120 characters of what was sent.
fn shorten(text: &str) -> String {
    text.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn null_clears_and_missing_leaves_the_tristate_fields() {
        let cleared: UpdateDocument =
            serde_json::from_value(json!({"id": "x", "coverImage": null, "title": null})).unwrap();
        assert_eq!(cleared.cover_image, Some(None));
        assert_eq!(cleared.icon, None);
        assert_eq!(cleared.title, None);
        let set: UpdateDocument =
            serde_json::from_value(json!({"id": "x", "parentDocumentId": "p"})).unwrap();
        assert_eq!(set.parent_document_id, Some(Some("p".into())));
    }

    #[test]
    fn lengths_and_nul_characters_are_validation_errors() {
        assert!(text("title", &"é".repeat(500), 500).is_ok());
        assert!(matches!(
            text("title", &"é".repeat(501), 500),
            Err(DocumentsError::Invalid { ref path, .. }) if path == "title"
        ));
        assert!(text("content", "a\0b", 10).is_err());
        assert!(rich("contentRich", Some(&json!([{"text": "a\u{0}"}]))).is_err());
        assert!(rich("contentRich", Some(&json!([{"text": "fine"}]))).is_ok());
        assert_eq!(whole(Some(2.9)), Some(2));
        assert_eq!(whole(Some(-1e300)), Some(i64::MIN));
    }
}
