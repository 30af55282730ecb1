//! What a group name may be: trimmed, 1 to 128 characters, and no control or
//! format characters (bidi overrides and isolates, zero-width spaces and
//! joiners, the byte-order mark, …), which let a name pose as another or
//! reorder the text shown around it.

use koi_core::KoiError;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// The longest group name, in characters.
const MAX_NAME_CHARS: usize = 128;

/// The name to store, or `bad_request`.
pub(super) fn group_name(raw: &str) -> Result<String, KoiError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(KoiError::bad_request(
            "a group needs a name of 1 to 128 characters",
        ));
    }
    if let Some(c) = name.chars().find(|c| refused(*c)) {
        return Err(KoiError::bad_request(format!(
            "a group name may not hold U+{:04X} (control or format character)",
            u32::from(c)
        )));
    }
    Ok(name.to_owned())
}

/// Whether `c` may not appear in a name or short text shown to others.
pub(super) fn refused(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::Unassigned
            | GeneralCategory::PrivateUse
            | GeneralCategory::Surrogate
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_refuses_format_characters() {
        assert_eq!(group_name("  Koi fans 🐟 ").unwrap(), "Koi fans 🐟");
        assert_eq!(group_name("Café Ünïcode").unwrap(), "Café Ünïcode");
        for bad in [
            "evil\u{202E}gpj.exe",
            "zero\u{200B}width",
            "rlm\u{200F}",
            "iso\u{2066}late\u{2069}",
            "\u{FEFF}bom",
            "tab\there",
            "",
            "   ",
        ] {
            assert!(group_name(bad).is_err(), "{bad:?}");
        }
        assert!(group_name(&"x".repeat(129)).is_err());
        assert!(group_name(&"x".repeat(128)).is_ok());
    }
}
