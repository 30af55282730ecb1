//! What a display name, a status and a group description may be (§13):
//! trimmed, at most a number of characters (not bytes), and, like a group
//! name, no control or format characters that let a text pose as another or
//! reorder what is shown around it. A description may also hold line breaks.
//! The empty string is allowed: it clears the field.

use koi_core::{ErrorCode, KoiError};

use super::group_name::refused;

/// The longest display name, in characters.
pub(super) const DISPLAY_NAME_CHARS: usize = 64;
/// The longest status, in characters.
pub(super) const STATUS_CHARS: usize = 140;
/// The longest group description, in characters.
pub(super) const DESCRIPTION_CHARS: usize = 500;

/// Whether line breaks are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lines {
    One,
    Many,
}

/// `raw` trimmed, or `too_large` past `max` characters, `bad_request` for a
/// refused character.
pub(super) fn checked_text(
    field: &str,
    raw: &str,
    max: usize,
    lines: Lines,
) -> Result<String, KoiError> {
    let text = raw.trim();
    if text.chars().count() > max {
        return Err(KoiError::new(
            ErrorCode::TooLarge,
            format!("{field} is over {max} characters"),
        ));
    }
    let allowed = |c: char| lines == Lines::Many && c == '\n';
    if let Some(c) = text.chars().find(|c| refused(*c) && !allowed(*c)) {
        return Err(KoiError::bad_request(format!(
            "{field} may not hold U+{:04X} (control or format character)",
            u32::from(c)
        )));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_characters_and_refuses_format_characters() {
        let name = |raw: &str| checked_text("display_name", raw, DISPLAY_NAME_CHARS, Lines::One);
        assert_eq!(name("  Ünïcode 🐟 ").unwrap(), "Ünïcode 🐟");
        assert_eq!(name("").unwrap(), "", "empty clears");
        assert!(name(&"é".repeat(64)).is_ok(), "64 characters, 128 bytes");
        assert_eq!(name(&"é".repeat(65)).unwrap_err().code, ErrorCode::TooLarge);
        for bad in ["evil\u{202E}gpj", "zero\u{200B}width", "two\nlines"] {
            assert_eq!(
                name(bad).unwrap_err().code,
                ErrorCode::BadRequest,
                "{bad:?}"
            );
        }
        let about = checked_text("description", "line 1\nline 2", 500, Lines::Many).unwrap();
        assert_eq!(about, "line 1\nline 2");
        assert!(checked_text("description", "tab\there", 500, Lines::Many).is_err());
    }
}
