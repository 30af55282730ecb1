//! What a group name may be: trimmed, 1 to 128 characters, and no control or
//! format characters (bidi overrides and isolates, zero-width spaces, the
//! byte-order mark, …), which let a name pose as another or reorder the text
//! shown around it. The format characters that writing needs stay allowed:
//! the zero-width joiner and non-joiner (emoji such as 👨‍👩‍👧 and 🏳️‍🌈, and
//! Persian or Indic text) and the tag characters of subdivision flags (🏴󠁧󠁢󠁳󠁣󠁴󠁿).

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
    // Joiners, and the tags of subdivision flags: format characters that
    // neither hide nor reorder text.
    if matches!(c, '\u{200C}' | '\u{200D}' | '\u{E0020}'..='\u{E007F}') {
        return false;
    }
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
        for emoji in [
            "family \u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}",
            "pride \u{1F3F3}\u{FE0F}\u{200D}\u{1F308}",
            "scotland \u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}",
            "\u{0645}\u{06CC}\u{200C}\u{062E}\u{0648}\u{0627}\u{0647}\u{0645}",
        ] {
            assert_eq!(group_name(emoji).unwrap(), emoji, "{emoji:?}");
        }
        assert!(group_name(&"x".repeat(129)).is_err());
        assert!(group_name(&"x".repeat(128)).is_ok());
    }
}
