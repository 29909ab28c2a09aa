//! Text normalisation shared by validation, the classifier and search.

use unicode_normalization::UnicodeNormalization;

/// NFC-normalises, drops control characters other than line breaks and tabs,
/// and trims. Residents paste from everywhere; stored text must be clean.
pub fn clean(raw: &str) -> String {
    let composed: String = raw
        .nfc()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect();
    composed.trim().to_owned()
}

/// Lower-cases and folds Swedish and common Latin diacritics to ASCII, so
/// that "snöröjning" and "snorojning" compare equal.
pub fn fold(raw: &str) -> String {
    raw.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Folded word tokens of a text.
pub fn tokens(raw: &str) -> Vec<String> {
    fold(raw)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_makes_missing_swedish_letters_match() {
        assert_eq!(fold("Snöröjningen på Åsgatan"), "snorojningen pa asgatan");
        assert_eq!(fold("VATTENLÄCKA"), "vattenlacka");
    }

    #[test]
    fn cleaning_trims_and_drops_control_characters_but_keeps_lines() {
        assert_eq!(clean("  hej\u{0007}\nvärlden \u{0000} "), "hej\nvärlden");
    }

    #[test]
    fn tokens_split_on_punctuation() {
        assert_eq!(tokens("Gatlampan, trasig!"), vec!["gatlampan", "trasig"]);
    }
}

/// The words of a text, folded, ready for catalogue-word lookups.
pub struct Words {
    tokens: Vec<String>,
    /// Tokens joined by single spaces and padded, for phrase lookups.
    joined: String,
}

impl Words {
    pub fn of(text: &str) -> Self {
        let tokens = tokens(text);
        let joined = format!(" {} ", tokens.join(" "));
        Self { tokens, joined }
    }

    /// Whether a folded catalogue word (or phrase) occurs. Words of four
    /// letters or more also match inside longer tokens, which covers Swedish
    /// inflection and compounds ("gatlampan", "snöröjningen") until the real
    /// classifier brings stemming. Phrases match whole words only.
    pub fn contains(&self, folded_word: &str) -> bool {
        if folded_word.contains(' ') {
            return self.joined.contains(&format!(" {folded_word} "));
        }
        let long_enough = folded_word.chars().count() >= 4;
        self.tokens
            .iter()
            .any(|t| t == folded_word || (long_enough && t.contains(folded_word)))
    }
}

#[cfg(test)]
mod word_tests {
    use super::*;

    #[test]
    fn longer_words_match_inside_compounds_and_short_ones_only_whole() {
        let words = Words::of("Gatlampan vid förskolan är släckt");
        assert!(words.contains("lampa"));
        assert!(words.contains("forskola"));
        assert!(words.contains("vid"));
        assert!(!words.contains("ska"));
    }

    #[test]
    fn phrases_match_whole_words_only() {
        let words = Words::of("Det finns inget vatten i kranen");
        assert!(words.contains("inget vatten"));
        assert!(!words.contains("nget vatt"));
    }
}
