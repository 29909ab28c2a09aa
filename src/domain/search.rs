//! Search terms: how a description is indexed and a free-text query
//! analysed, the same way on both sides. A query term matches every indexed
//! term it is a prefix of (a range scan on the term index), which covers
//! what the Snowball stemmer leaves: "gatlampa" finds "gatlampan",
//! "snorojning" finds "snöröjningen".

use std::collections::BTreeSet;

use rust_stemmers::{Algorithm, Stemmer};

use super::text::fold;

/// Longest stored term; longer words are cut (they are still distinctive).
pub const MAX_TERM_CHARS: usize = 64;

/// Shortest query term: shorter prefixes match too much to be useful.
pub const MIN_QUERY_CHARS: usize = 3;

/// Words too common to narrow a search.
const STOP_WORDS: &[&str] = &[
    "och", "att", "det", "som", "en", "ett", "i", "på", "pa", "är", "ar", "av", "för", "for",
    "med", "till", "den", "har", "de", "inte", "om", "jag", "vi", "du", "min", "mitt", "mina",
    "vid", "så", "sa", "the", "a", "an", "and", "of", "to", "is", "in", "on", "at", "it", "my",
    "we", "for", "with",
];

/// The distinct terms of a text: lower-cased, stemmed with the Swedish
/// Snowball stemmer (residents write Swedish first), then folded to ASCII so
/// a missing å/ä/ö still matches.
pub fn terms(text: &str) -> BTreeSet<String> {
    let stemmer = Stemmer::create(Algorithm::Swedish);
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2 && !STOP_WORDS.contains(w))
        .map(|w| {
            fold(&stemmer.stem(w))
                .chars()
                .take(MAX_TERM_CHARS)
                .collect::<String>()
        })
        .filter(|t| !t.is_empty() && !STOP_WORDS.contains(&t.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finds(indexed: &str, query: &str) -> bool {
        let indexed = terms(indexed);
        terms(query)
            .iter()
            .all(|q| indexed.iter().any(|t| t.starts_with(q.as_str())))
    }

    #[test]
    fn inflected_forms_find_each_other() {
        for query in ["gatlampan", "Gatlampa", "gatlampor", "trasiga"] {
            assert!(finds("Gatlampan utanför huset är trasig", query), "{query}");
        }
        assert!(!finds("Gatlampan utanför huset är trasig", "soptunna"));
    }

    #[test]
    fn missing_diacritics_still_match() {
        assert_eq!(terms("snöröjningen"), terms("snorojningen"));
        assert!(finds("Ingen snöröjning på gatan", "snorojning"));
    }

    #[test]
    fn common_words_are_not_terms() {
        assert!(terms("och det är i").is_empty());
    }
}
