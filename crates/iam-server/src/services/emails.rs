//! The emails the auth API sends, as `Mailer` messages with comms' built-in templates
//! (slices.md §5.2: `verify-email` and `reset-password`, variables `userName` and `url`), and
//! the absolute links they carry (`specs/better-auth-api.md` §3.3, §3.13).

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::json;
use shared_server::entities::User;
use shared_server::mail::{MailError, OutgoingEmail};

/// Characters JavaScript's `encodeURIComponent` leaves alone: `A-Z a-z 0-9 - _ . ! ~ * ' ( )`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// JavaScript's `encodeURIComponent`.
pub fn encode_uri_component(text: &str) -> String {
    utf8_percent_encode(text, URI_COMPONENT).to_string()
}

/// `<auth URL>/verify-email?token=<jwt>&callbackURL=<encoded callbackURL or "/">`.
pub fn verification_link(auth_url: &str, jwt: &str, callback_url: Option<&str>) -> String {
    format!(
        "{auth_url}/verify-email?token={}&callbackURL={}",
        encode_uri_component(jwt),
        encode_uri_component(callback_url.unwrap_or("/"))
    )
}

/// `<auth URL>/reset-password/<token>?callbackURL=<encoded redirectTo, or empty>`.
pub fn reset_link(auth_url: &str, token: &str, redirect_to: Option<&str>) -> String {
    format!(
        "{auth_url}/reset-password/{}?callbackURL={}",
        encode_uri_component(token),
        redirect_to.map(encode_uri_component).unwrap_or_default()
    )
}

/// The `verify-email` message to `to` (the user's address, or the new one of an email change).
pub fn verification_email(user: &User, to: &str, url: &str) -> Result<OutgoingEmail, MailError> {
    OutgoingEmail::builder()
        .template("verify-email", json!({ "userName": user.name, "url": url }))
        .to(to)
        .user(user.id.clone())
        .build()
}

/// The `reset-password` message to the user.
pub fn reset_password_email(user: &User, url: &str) -> Result<OutgoingEmail, MailError> {
    OutgoingEmail::builder()
        .template(
            "reset-password",
            json!({ "userName": user.name, "url": url }),
        )
        .to(user.email.as_str())
        .user(user.id.clone())
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_encode_like_javascript() {
        assert_eq!(encode_uri_component("/a b?c=d&e"), "%2Fa%20b%3Fc%3Dd%26e");
        assert_eq!(encode_uri_component("x-_.!~*'()"), "x-_.!~*'()");
        assert_eq!(
            verification_link("http://h/api/v1/auth", "a.b.c", None),
            "http://h/api/v1/auth/verify-email?token=a.b.c&callbackURL=%2F"
        );
        assert_eq!(
            reset_link("http://h/api/v1/auth", "TOKEN", Some("/reset")),
            "http://h/api/v1/auth/reset-password/TOKEN?callbackURL=%2Freset"
        );
        assert_eq!(
            reset_link("http://h/api/v1/auth", "TOKEN", None),
            "http://h/api/v1/auth/reset-password/TOKEN?callbackURL="
        );
    }
}
