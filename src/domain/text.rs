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
