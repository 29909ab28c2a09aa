//! Text normalisation shared by validation, the classifier and search.

use unicode_normalization::UnicodeNormalization;

/// NFC-normalises, drops control characters other than line breaks and tabs,
/// and trims. Residents paste from everywhere; stored text must be clean.
pub fn clean(raw: &str) -> String {
    // Controls go before composing: one between a letter and its accent
    // would otherwise keep them apart until the next cleaning (found by
    // the property below: "e\0\u{308}").
    let composed: String = raw
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .nfc()
        .collect();
    composed.trim().to_owned()
}

/// Lower-cases and folds Swedish and common Latin diacritics to ASCII, so
/// that "snöröjning" and "snorojning" compare equal. Compatibility forms
/// (full-width "ｂｒａｎｄ", ligatures) become their plain letters and
/// invisible characters go, so that neither can hide a word from the
/// classifier or a danger phrase from the 112 check.
pub fn fold(raw: &str) -> String {
    let lower: String = raw.chars().flat_map(char::to_lowercase).collect();
    lower
        .nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c) && !is_invisible(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Format characters that render as nothing: zero-width spaces and joiners,
/// the soft hyphen, bidirectional controls, the byte-order mark.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}'
    )
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
    fn full_width_letters_and_invisible_characters_cannot_hide_a_word() {
        assert_eq!(fold("ＢＲＡＮＤ i köket"), "brand i koket");
        assert_eq!(fold("br\u{200b}and, e\u{ad}ld"), "brand, eld");
        assert_eq!(
            tokens("\u{feff}Det b\u{200d}rinner"),
            vec!["det", "brinner"]
        );
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

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_control_character_between_a_letter_and_its_accent_does_not_keep_them_apart() {
        assert_eq!(clean("e\0\u{308}"), "\u{eb}");
    }

    proptest! {
        #[test]
        fn cleaning_twice_changes_nothing_more(raw in "\\PC{0,40}|[\\x00-\\x1f e\u{301}\u{308}a ]{0,20}") {
            let once = clean(&raw);
            prop_assert_eq!(clean(&once), once);
        }

        #[test]
        fn cleaned_text_has_no_control_characters_but_line_breaks_and_tabs(raw in any::<String>()) {
            let cleaned = clean(&raw);
            prop_assert!(cleaned.chars().all(|c| !c.is_control() || c == '\n' || c == '\t'));
            prop_assert_eq!(cleaned.trim(), cleaned.as_str());
        }

        #[test]
        fn folding_is_idempotent_and_tokens_are_folded_words(raw in "\\PC{0,40}") {
            let folded = fold(&raw);
            prop_assert_eq!(fold(&folded), folded);
            for token in tokens(&raw) {
                prop_assert!(!token.is_empty());
                prop_assert!(token.chars().all(char::is_alphanumeric));
                prop_assert_eq!(fold(&token), token);
            }
        }
    }
}
