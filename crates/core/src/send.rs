use koi_proto::Send;

use crate::{ErrorCode, KoiError};

/// The largest `text`, in bytes.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;
/// The largest `meta`, in bytes.
pub const MAX_META_BYTES: usize = 4 * 1024;
/// The kinds a client may send; `system` and `recalled` are made by the server only.
pub const SENDABLE_KINDS: &[&str] = &["text", "image", "file", "emoji", "gif", "custom"];

/// Checks the shape and bounds of a `send`, before anything is looked up.
pub fn validate_send(send: &Send) -> Result<(), KoiError> {
    match (&send.to, &send.conv) {
        (Some(_), None) | (None, Some(_)) => {}
        _ => {
            return Err(KoiError::bad_request(
                "send needs exactly one of `to` and `conv`",
            ));
        }
    }
    if !SENDABLE_KINDS.contains(&send.kind.as_str()) {
        return Err(KoiError::bad_request(format!(
            "kind {:?} is not one of {}",
            send.kind,
            SENDABLE_KINDS.join(", ")
        )));
    }
    if send.text.as_ref().is_some_and(|t| t.len() > MAX_TEXT_BYTES) {
        return Err(KoiError::new(ErrorCode::TooLarge, "text is over 16 KiB"));
    }
    if send.meta.as_ref().is_some_and(|m| m.len() > MAX_META_BYTES) {
        return Err(KoiError::new(ErrorCode::TooLarge, "meta is over 4 KiB"));
    }
    // NUL is no character a person types, and PostgreSQL cannot store it.
    if [&send.text, &send.meta]
        .into_iter()
        .flatten()
        .any(|t| t.contains('\0'))
    {
        return Err(KoiError::bad_request("text and meta may not contain NUL"));
    }
    if send.client_msg_id.len() > 128 {
        return Err(KoiError::bad_request("client_msg_id is over 128 bytes"));
    }
    let has = |field: &Option<String>| field.as_deref().is_some_and(|t| !t.is_empty());
    let has_file = send.file.as_ref().is_some_and(|f| !f.file_id.is_empty());
    match send.kind.as_str() {
        // `file` is optional in the protocol (§5): an image or a gif may be a
        // link in `text` or a client's own reference in `meta`. Only a
        // message carrying nothing at all is refused.
        "image" | "file" | "gif" if !(has_file || has(&send.text) || has(&send.meta)) => {
            Err(KoiError::bad_request(format!(
                "a {} message needs `file`, `text` or `meta`",
                send.kind
            )))
        }
        "text" | "emoji" if send.text.as_deref().is_none_or(str::is_empty) => Err(
            KoiError::bad_request(format!("a {} message needs `text`", send.kind)),
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> Send {
        Send {
            to: Some("bob".into()),
            client_msg_id: "c1".into(),
            kind: "text".into(),
            text: Some(t.into()),
            ..Default::default()
        }
    }

    #[test]
    fn bounds_and_shapes() {
        assert!(validate_send(&text("hi")).is_ok());
        assert_eq!(
            validate_send(&text(&"x".repeat(MAX_TEXT_BYTES + 1)))
                .unwrap_err()
                .code,
            ErrorCode::TooLarge
        );
        let mut both = text("hi");
        both.conv = Some("d:a:b".into());
        assert_eq!(
            validate_send(&both).unwrap_err().code,
            ErrorCode::BadRequest
        );
        let mut system = text("hi");
        system.kind = "system".into();
        assert_eq!(
            validate_send(&system).unwrap_err().code,
            ErrorCode::BadRequest
        );
        let mut image = text("");
        image.kind = "image".into();
        assert_eq!(
            validate_send(&image).unwrap_err().code,
            ErrorCode::BadRequest,
            "an image of nothing"
        );
        let mut linked = text("https://example.com/cat.gif");
        linked.kind = "gif".into();
        assert!(validate_send(&linked).is_ok(), "a gif by its link");
        let mut referenced = text("");
        referenced.kind = "image".into();
        referenced.meta = Some(r#"{"url":"https://example.com/a.png"}"#.into());
        assert!(
            validate_send(&referenced).is_ok(),
            "an image by a client's own reference"
        );
    }
}
