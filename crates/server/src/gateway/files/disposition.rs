//! How a stored file is presented to a browser (§15): only raster images,
//! audio and video may be shown inline; everything else (HTML, SVG, scripts,
//! documents, anything unknown) is an attachment, so that no upload ever runs
//! as a page on the chat's origin.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// The raster image types shown inline; SVG is not one (it can hold script).
const INLINE_IMAGES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

/// Bytes kept as is in `filename*` (RFC 5987 `attr-char`); the rest are
/// percent-encoded.
const ATTR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// The essence of a media type: lowercase, without parameters.
fn essence(mime: &str) -> String {
    mime.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Whether a file of type `mime` may be displayed inline.
pub(super) fn inline(mime: &str) -> bool {
    let mime = essence(mime);
    INLINE_IMAGES.contains(&mime.as_str())
        || mime.strip_prefix("audio/").is_some_and(|s| !s.is_empty())
        || mime.strip_prefix("video/").is_some_and(|s| !s.is_empty())
}

/// The `Content-Disposition` value for file `name` of type `mime` (RFC 6266):
/// an ASCII `filename` for old clients and the exact name in
/// `filename*=UTF-8''…`.
pub(super) fn content_disposition(mime: &str, name: &str) -> String {
    let kind = if inline(mime) { "inline" } else { "attachment" };
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let exact = utf8_percent_encode(name, ATTR);
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{exact}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_raster_images_audio_and_video_are_inline() {
        for mime in [
            "image/png",
            "IMAGE/JPEG",
            "image/gif; x=y",
            "image/webp",
            "audio/ogg",
            "video/mp4",
        ] {
            assert!(inline(mime), "{mime}");
        }
        for mime in [
            "text/html",
            "image/svg+xml",
            "application/xhtml+xml",
            "text/javascript",
            "application/pdf",
            "application/octet-stream",
            "audio/",
            "image/pngx",
            "",
        ] {
            assert!(!inline(mime), "{mime}");
        }
    }

    #[test]
    fn names_are_encoded_safely() {
        assert_eq!(
            content_disposition("text/html", "a\"b\\c\r\nd.html"),
            "attachment; filename=\"a_b_c__d.html\"; filename*=UTF-8''a%22b%5Cc%0D%0Ad.html"
        );
        assert_eq!(
            content_disposition("image/png", "koi pond ü.png"),
            "inline; filename=\"koi pond _.png\"; filename*=UTF-8''koi%20pond%20%C3%BC.png"
        );
    }
}
