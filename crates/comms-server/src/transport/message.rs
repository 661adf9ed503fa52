//! Builds the MIME message of an [`OutboundEmail`] with lettre: the stable `Message-ID`, the
//! queue-time `Date`, the extra headers, and `multipart/alternative` when there are both parts.

use std::time::{Duration, UNIX_EPOCH};

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::Message;
use shared_server::mail::EmailAddress;

use super::{OutboundEmail, TransportError};

pub(super) fn build(email: &OutboundEmail) -> Result<Message, TransportError> {
    let mut builder = Message::builder()
        .message_id(Some(email.message_id.as_str().to_string()))
        .date(
            UNIX_EPOCH
                + Duration::from_millis(u64::try_from(email.date.unix_millis()).unwrap_or(0)),
        )
        .from(mailbox("from", &email.from)?)
        .subject(email.subject.clone());
    for to in &email.to {
        builder = builder.to(mailbox("to", to)?);
    }
    for cc in &email.cc {
        builder = builder.cc(mailbox("cc", cc)?);
    }
    for bcc in &email.bcc {
        builder = builder.bcc(mailbox("bcc", bcc)?);
    }
    if let Some(reply_to) = &email.reply_to {
        builder = builder.reply_to(mailbox("reply_to", reply_to)?);
    }
    for (name, value) in &email.headers {
        let name = HeaderName::new_from_ascii(name.clone())
            .map_err(|_| TransportError::permanent(format!("header name `{name}` is not valid")))?;
        builder = builder.raw_header(HeaderValue::new(name, value.clone()));
    }
    let message = match (&email.text, &email.html) {
        (Some(text), Some(html)) => builder.multipart(MultiPart::alternative_plain_html(
            text.clone(),
            html.clone(),
        )),
        (Some(text), None) => builder.singlepart(SinglePart::plain(text.clone())),
        (None, Some(html)) => builder.singlepart(SinglePart::html(html.clone())),
        (None, None) => return Err(TransportError::permanent("the message has no body")),
    };
    message.map_err(|e| TransportError::permanent(format!("the message cannot be built: {e}")))
}

fn mailbox(field: &str, address: &EmailAddress) -> Result<Mailbox, TransportError> {
    let parsed = address.address().parse().map_err(|e| {
        TransportError::permanent(format!(
            "{field} address `{}` is refused: {e}",
            address.address()
        ))
    })?;
    Ok(Mailbox::new(address.name().map(str::to_string), parsed))
}
