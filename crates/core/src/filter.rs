use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::KoiError;

/// What the filter does with a text that contains a listed word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FilterAction {
    /// Replace each listed word by `*` of the same length (in characters).
    #[default]
    Mask,
    /// Refuse the message with `bad_request`.
    Reject,
}

/// The result of filtering a text.
#[derive(Debug, PartialEq, Eq)]
pub enum FilterOutcome {
    /// No listed word: the text is unchanged.
    Clean,
    /// The text with every listed word masked.
    Masked(String),
}

/// The sensitive-word filter: every listed word found case-insensitively in one
/// pass over the text, whatever the number of words (Aho-Corasick).
///
/// Case folding uses Unicode lowercase on both the words and the text; the text is
/// folded once, keeping for each folded byte the character it came from, so that
/// masking replaces exactly the original characters.
#[derive(Debug, Clone)]
pub struct WordFilter {
    matcher: Option<AhoCorasick>,
    action: FilterAction,
    words: usize,
}

impl WordFilter {
    /// A filter for `words` (empty words are ignored) taking `action`.
    pub fn new<S: AsRef<str>>(words: &[S], action: FilterAction) -> Self {
        let folded: Vec<String> = words
            .iter()
            .map(|w| w.as_ref().to_lowercase())
            .filter(|w| !w.is_empty())
            .collect();
        let matcher = (!folded.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&folded)
                .expect("word list builds")
        });
        Self {
            matcher,
            action,
            words: folded.len(),
        }
    }

    /// A filter that passes everything.
    pub fn empty() -> Self {
        Self::new::<&str>(&[], FilterAction::Mask)
    }

    /// How many words are listed.
    pub fn len(&self) -> usize {
        self.words
    }

    /// Whether no word is listed.
    pub fn is_empty(&self) -> bool {
        self.words == 0
    }

    /// Applies the filter to `text`: unchanged, masked, or refused.
    pub fn apply(&self, text: &str) -> Result<FilterOutcome, KoiError> {
        let Some(matcher) = &self.matcher else {
            return Ok(FilterOutcome::Clean);
        };
        // Fold the text, remembering which original character each byte came from.
        let mut folded = String::with_capacity(text.len());
        let mut origin: Vec<usize> = Vec::with_capacity(text.len());
        for (index, ch) in text.chars().enumerate() {
            for lower in ch.to_lowercase() {
                folded.push(lower);
                origin.extend(std::iter::repeat_n(index, lower.len_utf8()));
            }
        }
        let mut masked: Option<Vec<bool>> = None;
        for m in matcher.find_iter(&folded) {
            if self.action == FilterAction::Reject {
                return Err(KoiError::bad_request("the text contains a filtered word"));
            }
            let mask = masked.get_or_insert_with(|| vec![false; text.chars().count()]);
            let (first, last) = (origin[m.start()], origin[m.end() - 1]);
            mask[first..=last].fill(true);
        }
        Ok(match masked {
            None => FilterOutcome::Clean,
            Some(mask) => FilterOutcome::Masked(
                text.chars()
                    .zip(mask)
                    .map(|(ch, hide)| if hide { '*' } else { ch })
                    .collect(),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_case_insensitively_with_same_length() {
        let filter = WordFilter::new(&["darn", "Heck", "Ärger"], FilterAction::Mask);
        assert_eq!(
            filter.apply("Oh DARN it, heck! ärger").unwrap(),
            FilterOutcome::Masked("Oh **** it, ****! *****".into())
        );
        assert_eq!(filter.apply("fine").unwrap(), FilterOutcome::Clean);
    }

    #[test]
    fn rejects_when_configured() {
        let filter = WordFilter::new(&["darn"], FilterAction::Reject);
        assert!(filter.apply("darn").is_err());
        assert!(filter.apply("ok").is_ok());
    }

    #[test]
    fn ten_thousand_words_in_one_pass() {
        let words: Vec<String> = (0..10_000).map(|i| format!("bad{i:05}word")).collect();
        let filter = WordFilter::new(&words, FilterAction::Mask);
        assert_eq!(filter.len(), 10_000);
        assert_eq!(
            filter.apply("x BAD09999WORD y bad00000word").unwrap(),
            FilterOutcome::Masked(format!("x {} y {}", "*".repeat(12), "*".repeat(12)))
        );
    }
}
