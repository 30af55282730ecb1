//! How message text is cut into search tokens, and how a query's words become
//! terms over those tokens.
//!
//! Both stores index the tokens made here and nothing else (SQLite hands them
//! to FTS5's `ascii` tokenizer already split, PostgreSQL gets a `tsvector`
//! literal), so matching is the same on both and owes nothing to a database's
//! locale:
//!
//! - text is lower-cased with Unicode's full case mapping (Cyrillic, Greek,
//!   accented Latin fold like ASCII);
//! - a run of letters and digits of a script written with spaces is one token
//!   (a word), cut to [`MAX_TOKEN_CHARS`];
//! - a run of characters of a script written without spaces (Chinese,
//!   Japanese, Thai, ...; Korean too, whose words carry particles) becomes its
//!   overlapping pairs, `中国人` → `中国 国人`, then its last character alone
//!   (`人`), so that any substring of two or more characters is a phrase of
//!   consecutive pairs and any single character the first character of a
//!   token;
//! - anything else separates tokens.

/// The longest token, in characters; longer words are cut (in text and query
/// alike, so they still match).
pub const MAX_TOKEN_CHARS: usize = 64;

/// One condition of a query; a message matches when it meets all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// A token equal to this word.
    Word(String),
    /// A token starting with this: the query's last word, or a single
    /// character of an unspaced script.
    Prefix(String),
    /// These tokens at consecutive positions: text in an unspaced script.
    Phrase(Vec<String>),
}

impl Term {
    /// Whether a message whose tokens are `tokens` meets this term.
    pub fn matches(&self, tokens: &[String]) -> bool {
        match self {
            Term::Word(word) => tokens.iter().any(|t| t == word),
            Term::Prefix(prefix) => tokens.iter().any(|t| t.starts_with(prefix.as_str())),
            Term::Phrase(phrase) => tokens
                .windows(phrase.len())
                .any(|window| window == phrase.as_slice()),
        }
    }
}

/// A run of the lower-cased text: a word, or characters of an unspaced script.
#[derive(Debug, PartialEq, Eq)]
enum Run {
    Word(String),
    Unspaced(Vec<char>),
}

/// Whether `c` belongs to a script written without spaces between words.
fn unspaced(c: char) -> bool {
    matches!(u32::from(c),
        0x0E00..=0x0EFF      // Thai, Lao
        | 0x1000..=0x109F    // Myanmar
        | 0x1780..=0x17FF    // Khmer
        | 0x3040..=0x30FF    // Hiragana, Katakana
        | 0x31F0..=0x31FF    // Katakana extensions
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0xFF66..=0xFF9F    // half-width Katakana
        | 0x20000..=0x3FFFF) // CJK extensions B and later
}

/// The runs of `text`, in order.
fn runs(text: &str) -> Vec<Run> {
    let mut runs = Vec::new();
    let mut word = String::new();
    let mut chars = Vec::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if unspaced(c) {
            if !word.is_empty() {
                runs.push(Run::Word(std::mem::take(&mut word)));
            }
            chars.push(c);
            continue;
        }
        if !chars.is_empty() {
            runs.push(Run::Unspaced(std::mem::take(&mut chars)));
        }
        if c.is_alphanumeric() {
            if word.chars().count() < MAX_TOKEN_CHARS {
                word.push(c);
            }
        } else if !word.is_empty() {
            runs.push(Run::Word(std::mem::take(&mut word)));
        }
    }
    if !word.is_empty() {
        runs.push(Run::Word(word));
    }
    if !chars.is_empty() {
        runs.push(Run::Unspaced(chars));
    }
    runs
}

/// The overlapping pairs of `chars` (at least two).
fn pairs(chars: &[char]) -> impl Iterator<Item = String> + '_ {
    chars.windows(2).map(|pair| pair.iter().collect())
}

/// The tokens of a message's text, in order: what the stores index.
pub fn tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    for run in runs(text) {
        match run {
            Run::Word(word) => tokens.push(word),
            Run::Unspaced(chars) => {
                tokens.extend(pairs(&chars));
                if let Some(last) = chars.last() {
                    tokens.push(last.to_string());
                }
            }
        }
    }
    tokens
}

/// The terms of a query, and how many words it has (which the caller bounds):
/// each word must match; the last word (when it is one of a spaced script)
/// may be the start of a longer one. No terms when the query holds no letters
/// or digits.
pub(crate) fn terms(query: &str) -> (Vec<Term>, usize) {
    let runs = runs(query);
    let count = runs.len();
    let last = count.saturating_sub(1);
    let mut terms: Vec<Term> = Vec::with_capacity(count);
    for (i, run) in runs.into_iter().enumerate() {
        let term = match run {
            Run::Word(word) if i == last => Term::Prefix(word),
            Run::Word(word) => Term::Word(word),
            Run::Unspaced(chars) if chars.len() == 1 => Term::Prefix(chars.iter().collect()),
            Run::Unspaced(chars) => Term::Phrase(pairs(&chars).collect()),
        };
        if !terms.contains(&term) {
            terms.push(term);
        }
    }
    (terms, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(query: &str, text: &str) -> bool {
        let tokens = tokens(text);
        let (terms, _) = terms(query);
        !terms.is_empty() && terms.iter().all(|t| t.matches(&tokens))
    }

    #[test]
    fn text_becomes_lower_case_words_and_pairs() {
        assert_eq!(tokens("Hello, World!"), ["hello", "world"]);
        assert_eq!(tokens("Привет МИР"), ["привет", "мир"]);
        assert_eq!(tokens("我爱中国"), ["我爱", "爱中", "中国", "国"]);
        assert_eq!(tokens("abc中文"), ["abc", "中文", "文"]);
        assert_eq!(tokens("x".repeat(100).as_str())[0].len(), MAX_TOKEN_CHARS);
    }

    /// Every word must match; only the last may be a prefix.
    #[test]
    fn words_match_whole_but_the_last_by_prefix() {
        assert!(matches("quick fox", "The quick brown fox"));
        assert!(matches("quick fo", "The quick brown fox"));
        assert!(
            !matches("qui fox", "The quick brown fox"),
            "only the last is a prefix"
        );
        assert!(!matches("quick cat", "The quick brown fox"));
        assert!(matches("ПРИВЕТ", "привет, мир"));
        assert!(matches("прив", "Привет, мир"));
        assert!(!matches("мир привет", "привет"));
    }

    /// Text without spaces matches any substring of it, of any length.
    #[test]
    fn unspaced_text_matches_substrings() {
        let text = "我们明天在北京见面吧";
        assert!(matches("北京", text), "a two-character word inside a run");
        assert!(matches("北京见面", text));
        assert!(matches("京", text));
        assert!(matches("吧", text), "the last character");
        assert!(!matches("北面", text), "not consecutive");
        assert!(!matches("上海", text));
        assert!(matches("東京", "明日は東京に行きます"));
        assert!(!matches("中国人", "中国 人民"), "a space ends a run");
    }

    /// Punctuation is no word, and repeated words count once.
    #[test]
    fn queries_without_words_have_no_terms() {
        assert_eq!(terms("  !?  ").0, []);
        assert_eq!(terms("a a b").0.len(), 2);
        assert_eq!(terms("hi 你好 there").1, 3);
    }
}
