//! What an upload request must satisfy before anything is minted (slices.md §1.5 step 1): the
//! MIME type is on the allow-list, the extension is one the MIME database lists for that type
//! (`mime_guess`), and a `metadata.md5Hash`, when given, is an MD5 digest in hex or base64.

use serde_json::Value as Json;

use super::config::MimeAllowList;
use crate::rpc::{Failure, ProcedureError};
use crate::storage::normalize_content_md5;

/// `ValidationError {message, path}`.
pub(crate) fn validation(message: impl Into<String>, path: &str) -> ProcedureError {
    Failure::validation(message).at(path).into()
}

/// The MIME type is on the allow-list, `metadata` is an object whose `extension` the MIME
/// database lists for that type, and `md5Hash`, when present, is a digest. Returns the
/// lowercase extension and the `Content-MD5` to bind the PUT to.
pub(crate) fn check_type_and_metadata(
    allowed: &MimeAllowList,
    mime_type: &str,
    metadata: &Json,
) -> Result<(String, Option<String>), ProcedureError> {
    let well_formed = mime_type.split_once('/').is_some_and(|(kind, sub)| {
        !kind.is_empty()
            && !sub.is_empty()
            && mime_type
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/.+-_".contains(c))
    });
    if !well_formed {
        return Err(validation(
            "mimeType must be a MIME type such as image/png (without parameters)",
            "mimeType",
        ));
    }
    if !allowed.allows(mime_type) {
        return Err(validation(
            format!("files of type {mime_type} may not be uploaded"),
            "mimeType",
        ));
    }
    if !metadata.is_object() {
        return Err(validation("metadata must be an object", "metadata"));
    }
    let extension = match metadata.get("extension") {
        Some(Json::String(ext)) => ext.trim().trim_start_matches('.').to_ascii_lowercase(),
        _ => {
            return Err(validation(
                "metadata.extension must be a string",
                "metadata.extension",
            ))
        }
    };
    let listed = !extension.is_empty()
        && mime_guess::from_ext(&extension)
            .iter()
            .any(|listed| listed.essence_str() == mime_type);
    if !listed {
        return Err(validation(
            format!("the extension `{extension}` does not match the type {mime_type}"),
            "metadata.extension",
        ));
    }
    let content_md5 = match metadata.get("md5Hash") {
        None | Some(Json::Null) => None,
        Some(Json::String(digest)) => Some(normalize_content_md5(digest).map_err(|_| {
            validation(
                "metadata.md5Hash must be an MD5 digest in hex or base64",
                "metadata.md5Hash",
            )
        })?),
        Some(_) => {
            return Err(validation(
                "metadata.md5Hash must be a string",
                "metadata.md5Hash",
            ))
        }
    };
    Ok((extension, content_md5))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tag_and_path(outcome: Result<(String, Option<String>), ProcedureError>) -> String {
        match outcome {
            Err(ProcedureError::Failure(failure)) => {
                format!("{} {}", failure.tag(), failure.get("path").unwrap())
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn extensions_must_be_listed_for_the_type() {
        let list = MimeAllowList::default();
        let ok = |mime: &str, ext: &str| {
            check_type_and_metadata(&list, mime, &json!({"extension": ext})).map(|r| r.0)
        };
        assert_eq!(ok("image/png", ".PNG").unwrap(), "png");
        assert_eq!(ok("text/markdown", "md").unwrap(), "md");
        assert_eq!(ok("application/pdf", "pdf").unwrap(), "pdf");
        assert_eq!(
            ok(
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "docx"
            )
            .unwrap(),
            "docx"
        );
        assert_eq!(
            tag_and_path(check_type_and_metadata(
                &list,
                "image/png",
                &json!({"extension": "pdf"})
            )),
            "ValidationError \"metadata.extension\""
        );
        assert_eq!(
            tag_and_path(check_type_and_metadata(
                &list,
                "text/html",
                &json!({"extension": "html"})
            )),
            "ValidationError \"mimeType\""
        );
        assert_eq!(
            tag_and_path(check_type_and_metadata(
                &list,
                "text/plain; charset=utf-8",
                &json!({"extension": "txt"})
            )),
            "ValidationError \"mimeType\""
        );
    }

    #[test]
    fn md5_digests_are_normalized_to_base64() {
        let list = MimeAllowList::default();
        let metadata = json!({"extension": "txt", "md5Hash": "5d41402abc4b2a76b9719d911017c592"});
        let (_, md5) = check_type_and_metadata(&list, "text/plain", &metadata).unwrap();
        assert_eq!(md5.as_deref(), Some("XUFAKrxLKna5cZ2REBfFkg=="));
    }
}
