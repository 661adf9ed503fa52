//! The signed upload descriptor of slices.md §1.5 step 3: what `files_initiateUpload` promised,
//! stored with the upload session and verified again by `files_completeUpload`, so that a row
//! altered in the database (or a descriptor from another deployment) never becomes a file.
//!
//! signature = `hmac-sha256=` + hex(HMAC-SHA256(`UPLOAD_SIGNING_SECRET`, canonical JSON)), where
//! the canonical JSON has every object's keys sorted and no whitespace.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use sha2::Sha256;

use super::ObjectKey;
use crate::entities::{FileId, FolderId, OrganizationId, UserId};
use crate::time::Timestamp;

type HmacSha256 = Hmac<Sha256>;

/// The prefix of every upload signature.
const SIGNATURE_PREFIX: &str = "hmac-sha256=";

/// `{fileId, fileKey, organizationId, userId, folderId, fileName, fileSize, mimeType, metadata,
/// expiresAt}` (slices.md §1.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UploadDescriptor {
    pub file_id: FileId,
    pub file_key: ObjectKey,
    pub organization_id: OrganizationId,
    pub user_id: UserId,
    pub folder_id: Option<FolderId>,
    pub file_name: String,
    pub file_size: i64,
    pub mime_type: String,
    pub metadata: Json,
    pub expires_at: Timestamp,
}

/// `value` as canonical JSON: object keys sorted (recursively), no whitespace.
pub fn canonical_json(value: &Json) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Json, out: &mut String) {
    match value {
        Json::Object(map) => {
            let mut entries: Vec<(&String, &Json)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Json::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        leaf => out.push_str(&leaf.to_string()),
    }
}

/// Signs and verifies descriptors with the upload signing secret.
#[derive(Clone)]
pub struct DescriptorSigner {
    mac: HmacSha256,
}

impl std::fmt::Debug for DescriptorSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DescriptorSigner(***)")
    }
}

impl DescriptorSigner {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            mac: HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length"),
        }
    }

    /// `hmac-sha256=<64 lowercase hex>` over the canonical JSON of `descriptor`.
    pub fn sign(&self, descriptor: &Json) -> String {
        let mut mac = self.mac.clone();
        mac.update(canonical_json(descriptor).as_bytes());
        format!(
            "{SIGNATURE_PREFIX}{}",
            hex::encode(mac.finalize().into_bytes())
        )
    }

    /// Whether `signature` is this secret's signature of `descriptor` (constant-time).
    pub fn verify(&self, descriptor: &Json, signature: &str) -> bool {
        let Some(digest) = signature
            .strip_prefix(SIGNATURE_PREFIX)
            .and_then(|hex| hex::decode(hex).ok())
        else {
            return false;
        };
        let mut mac = self.mac.clone();
        mac.update(canonical_json(descriptor).as_bytes());
        mac.verify_slice(&digest).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_recursively_without_whitespace() {
        let value = json!({"b": 1, "a": {"d": [1, {"z": true, "y": null}], "c": "x y"}});
        assert_eq!(
            canonical_json(&value),
            r#"{"a":{"c":"x y","d":[1,{"y":null,"z":true}]},"b":1}"#
        );
    }

    #[test]
    fn signatures_verify_only_the_signed_descriptor_and_secret() {
        let signer = DescriptorSigner::new(b"0123456789abcdef0123456789abcdef");
        let descriptor = json!({"fileSize": 5, "fileName": "a.txt"});
        let signature = signer.sign(&descriptor);
        assert!(signature.starts_with("hmac-sha256="));
        assert_eq!(signature.len(), "hmac-sha256=".len() + 64);
        // Key order does not matter: the canonical form is signed.
        assert!(signer.verify(&json!({"fileName": "a.txt", "fileSize": 5}), &signature));
        assert!(!signer.verify(&json!({"fileName": "a.txt", "fileSize": 6}), &signature));
        let other = DescriptorSigner::new(b"another secret of thirty-two bytes!");
        assert!(!other.verify(&descriptor, &signature));
        assert!(!signer.verify(&descriptor, "hmac-sha256=zz"));
        assert!(!signer.verify(&descriptor, &signature.replace("hmac-sha256=", "sha256=")));
    }
}
