//! What kind of file `/file` sends: its content type by extension, and the
//! message kind that follows from it.

/// The content type of a file name, by its extension.
pub fn mime_of(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("svg") => "image/svg+xml",
        Some("txt" | "md" | "log") => "text/plain",
        Some("pdf") => "application/pdf",
        Some("json") => "application/json",
        Some("zip") => "application/zip",
        _ => "application/octet-stream",
    }
}

/// The message kind for a file of type `mime`: images show as images.
pub fn kind_of(mime: &str) -> &'static str {
    match mime {
        "image/gif" => "gif",
        m if m.starts_with("image/") => "image",
        _ => "file",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_sent_as_images() {
        assert_eq!(kind_of(mime_of("Cat.JPG")), "image");
        assert_eq!(kind_of(mime_of("a.gif")), "gif");
        assert_eq!(kind_of(mime_of("notes")), "file");
    }
}
