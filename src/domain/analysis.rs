//! Turns a resident's free text into the terms the classifier counts:
//! language detection, Snowball stemming (Swedish and English), compound
//! splitting and typo tolerance, both against the catalogue's own
//! vocabulary so that the data file, not code, decides what is a word.

use std::collections::{HashMap, HashSet};

use rust_stemmers::{Algorithm, Stemmer};

use super::Language;
use super::text::fold;

/// Frequent function words, lower-cased with diacritics kept: a resident
/// who types "for" for "för" must not look English, so forms that collide
/// once folded are left out of the detector.
const SV_MARKERS: &[&str] = &[
    "och", "att", "det", "som", "är", "på", "inte", "jag", "vi", "har", "med", "den", "till", "av",
    "om", "kan", "ska", "hur", "vad", "när", "min", "mitt", "mina", "vår", "vårt", "våra", "sig",
    "mig", "från", "efter", "eller", "också", "någon", "något", "ingen", "inget", "varför", "vem",
    "var", "hos", "finns", "sedan", "sen", "igen", "nu", "bara", "får", "ni", "er", "ert", "era",
    "hej", "tack", "blir", "gör", "mycket", "utanför", "vid", "under", "över", "ett", "en", "de",
    "dom", "så", "detta", "denna", "här", "där", "hela", "kommer", "måste",
];

const EN_MARKERS: &[&str] = &[
    "the", "and", "is", "are", "was", "were", "to", "of", "on", "at", "my", "our", "we", "you",
    "it", "its", "it's", "this", "that", "with", "has", "have", "had", "not", "no", "can", "how",
    "what", "when", "who", "where", "why", "there", "been", "from", "by", "be", "do", "does",
    "did", "don't", "dont", "can't", "cant", "i'm", "im", "please", "hello", "hi", "thanks",
    "would", "could", "should", "will", "outside", "into", "again", "about", "which", "they",
    "their", "your", "a", "an", "me", "since", "because", "isn't", "hasn't",
];

/// Folded words that carry no subject matter in either language: function
/// words, and the time words every kind of complaint shares.
const STOP_WORDS: &[&str] = &[
    // Swedish
    "hant",
    "hande",
    "hander",
    "och",
    "att",
    "det",
    "som",
    "ar",
    "pa",
    "jag",
    "vi",
    "har",
    "med",
    "den",
    "till",
    "av",
    "om",
    "kan",
    "ska",
    "skulle",
    "hur",
    "vad",
    "nar",
    "min",
    "mitt",
    "mina",
    "var",
    "vart",
    "vara",
    "sig",
    "mig",
    "dig",
    "oss",
    "er",
    "ert",
    "era",
    "fran",
    "efter",
    "eller",
    "ocksa",
    "nagon",
    "nagot",
    "nagra",
    "varfor",
    "vem",
    "vilken",
    "vilket",
    "vilka",
    "hos",
    "finns",
    "fanns",
    "sedan",
    "sen",
    "igen",
    "nu",
    "bara",
    "far",
    "fick",
    "ni",
    "hej",
    "tack",
    "blir",
    "blev",
    "bli",
    "gor",
    "gjorde",
    "gjort",
    "mycket",
    "ett",
    "en",
    "de",
    "dom",
    "sa",
    "detta",
    "denna",
    "dessa",
    "dar",
    "kommer",
    "kom",
    "maste",
    "mvh",
    "halsningar",
    "undrar",
    // What every request is, whatever its subject.
    "sak",
    "saker",
    "arende",
    "arendet",
    "arenden",
    "fragor",
    "fragan",
    "fraga",
    "hallo",
    "vill",
    "ville",
    "inte",
    "ingen",
    "inget",
    "inga",
    "aldrig",
    "alltid",
    "hela",
    "helt",
    "vid",
    "mot",
    "utan",
    "innan",
    "genom",
    "runt",
    "mellan",
    "sina",
    "sin",
    "sitt",
    "han",
    "hon",
    "honom",
    "henne",
    "dem",
    "deras",
    "hans",
    "hennes",
    "man",
    "hade",
    "varit",
    "ha",
    "nog",
    "lite",
    "alla",
    "allt",
    "annan",
    "annat",
    "andra",
    "sjalv",
    "redan",
    "fortfarande",
    "anda",
    "tyvarr",
    "snalla",
    "kanske",
    "eftersom",
    "fast",
    "men",
    "tror",
    "verkar",
    "sag",
    "ser",
    "finnas",
    "ocksa",
    "dag",
    "dagen",
    "dagar",
    "vecka",
    "veckan",
    "veckor",
    "igar",
    "idag",
    "morse",
    "imorse",
    "manad",
    "manaden",
    "ganger",
    "gang",
    "sa",
    "hej",
    "heja",
    "hallo",
    "ok",
    "okej",
    "typ",
    "ju",
    "val",
    "ganska",
    "jatte",
    "riktigt",
    "behover",
    "behovs",
    "hjalp",
    "hjalpa",
    "borde",
    "fler",
    "mer",
    "mera",
    "ut",
    "in",
    "upp",
    "ner",
    "bra",
    "manga",
    "nagonting",
    "ingenting",
    "sjalva",
    "sadan",
    "sadant",
    "sana",
    "hit",
    "dit",
    // English
    "the",
    "and",
    "is",
    "are",
    "was",
    "were",
    "to",
    "of",
    "on",
    "at",
    "my",
    "our",
    "we",
    "you",
    "it",
    "its",
    "this",
    "that",
    "with",
    "has",
    "have",
    "had",
    "can",
    "how",
    "what",
    "when",
    "who",
    "where",
    "why",
    "there",
    "been",
    "being",
    "from",
    "by",
    "be",
    "do",
    "does",
    "did",
    "dont",
    "doesnt",
    "didnt",
    "cant",
    "isnt",
    "wasnt",
    "hasnt",
    "havent",
    "wont",
    "im",
    "ive",
    "please",
    "hello",
    "hi",
    "thanks",
    "would",
    "could",
    "should",
    "will",
    "into",
    "again",
    "about",
    "which",
    "they",
    "their",
    "them",
    "your",
    "a",
    "an",
    "me",
    "for",
    "i",
    "in",
    "so",
    "if",
    "just",
    "also",
    "am",
    "s",
    "t",
    "question",
    "questions",
    "matter",
    "thing",
    "regards",
    "dear",
    "hey",
    "not",
    "no",
    "never",
    "always",
    "all",
    "any",
    "some",
    "every",
    "very",
    "too",
    "still",
    "since",
    "after",
    "before",
    "now",
    "here",
    "get",
    "got",
    "these",
    "those",
    "he",
    "she",
    "his",
    "her",
    "him",
    "us",
    "one",
    "or",
    "but",
    "as",
    "than",
    "then",
    "out",
    "up",
    "over",
    "under",
    "week",
    "weeks",
    "day",
    "days",
    "today",
    "yesterday",
    "month",
    "months",
    "time",
    "times",
    "again",
    "want",
    "like",
    "know",
    "think",
    "seems",
    "really",
    "lot",
    "lots",
    "way",
    "there's",
    "need",
    "needs",
    "help",
    "more",
    "many",
    "much",
    "good",
    "ought",
    "anything",
    "something",
    "happened",
    "happens",
];

/// Detects Swedish or English from function words and Swedish letters;
/// Swedish wins a tie because the municipality answers in Swedish first.
pub fn detect_language(text: &str) -> Language {
    let lower = text.to_lowercase();
    let swedish_letters = lower
        .chars()
        .filter(|c| matches!(c, 'å' | 'ä' | 'ö'))
        .count();
    let (mut sv, mut en) = (swedish_letters.min(3) as i32, 0i32);
    for word in lower.split(|c: char| !(c.is_alphanumeric() || c == '\'')) {
        sv += i32::from(SV_MARKERS.contains(&word));
        en += i32::from(EN_MARKERS.contains(&word));
    }
    if en > sv { Language::En } else { Language::Sv }
}

/// One counted unit of a text: a stem the model knows (or learns), with
/// the resident's own word kept for explanations.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub key: String,
    pub surface: String,
    pub weight: f64,
}

/// Weight of a compound part: two parts together say a little more than
/// one plain word, but not twice as much.
const PART_WEIGHT: f64 = 0.7;
/// A corrected typo is good evidence, yet less certain than a clean word.
const TYPO_WEIGHT: f64 = 0.8;
const MIN_HEAD: usize = 3;
const MIN_TAIL: usize = 4;
const MIN_LONE_TAIL: usize = 5;
/// Shorter words have too many real neighbours ("skotta" is not "skatt").
const MIN_TYPO_LEN: usize = 6;
/// Longer tokens are not words ("lekplatsgungsställningen" has 24 letters).
const MAX_ANALYSED_WORD: usize = 40;

/// Words of one text that are analysed. A request says what it is about
/// long before this; every further unknown word costs a compound split and
/// a typo search, which anyone could buy by the thousand with one long text.
pub const MAX_ANALYSED_WORDS: usize = 300;
const MIN_TWO_TYPO_LEN: usize = 9;

pub struct Analyzer {
    sv: Stemmer,
    en: Stemmer,
    vocabulary: HashSet<String>,
    typos: TypoIndex,
}

impl Analyzer {
    /// Learns the vocabulary (stems) from texts written in a known language.
    pub fn new<'a>(texts: impl IntoIterator<Item = (&'a str, Language)>) -> Self {
        let mut analyzer = Self {
            sv: Stemmer::create(Algorithm::Swedish),
            en: Stemmer::create(Algorithm::English),
            vocabulary: HashSet::new(),
            typos: TypoIndex::default(),
        };
        let mut vocabulary = HashSet::new();
        for (text, language) in texts {
            for token in content_tokens(text) {
                vocabulary.insert(analyzer.stem(&token.folded, language));
            }
        }
        vocabulary.retain(|w| w.chars().count() >= 2);
        analyzer.typos = TypoIndex::new(&vocabulary);
        analyzer.vocabulary = vocabulary;
        analyzer
    }

    pub fn knows(&self, stem: &str) -> bool {
        self.vocabulary.contains(stem)
    }

    /// Terms of a text written in a known language (catalogue entries).
    /// Only its first `MAX_ANALYSED_WORDS` words are analysed.
    pub fn terms_in(&self, text: &str, language: Language) -> Vec<Term> {
        content_tokens(text)
            .iter()
            .take(MAX_ANALYSED_WORDS)
            .flat_map(|t| self.token_terms(t, language))
            .collect()
    }

    /// Terms of a resident's text, whose language is detected first.
    pub fn terms(&self, text: &str) -> Vec<Term> {
        self.terms_in(text, detect_language(text))
    }

    fn stem(&self, folded: &str, language: Language) -> String {
        if folded.chars().any(|c| c.is_ascii_digit()) {
            return folded.to_owned();
        }
        match language {
            Language::Sv => self.sv.stem(folded).into_owned(),
            Language::En => self.en.stem(folded).into_owned(),
        }
    }

    fn token_terms(&self, token: &Token, language: Language) -> Vec<Term> {
        let term = |key: String, weight: f64| Term {
            key,
            surface: token.surface.clone(),
            weight,
        };
        let own = self.stem(&token.folded, language);
        let other = self.stem(&token.folded, other_language(language));
        let indefinite = self.stem(without_definite_n(&token.folded), Language::Sv);
        for candidate in [&own, &other, &token.folded, &indefinite] {
            if self.knows(candidate) {
                return vec![term(candidate.clone(), 1.0)];
            }
        }
        if token.proper || token.folded.chars().any(|c| c.is_ascii_digit()) {
            return Vec::new();
        }
        // Compound splitting and typo correction cost grows with the square
        // of the word's length; no real word is this long, and one hostile
        // 10 000-letter "word" must not occupy a core for seconds.
        if token.folded.chars().count() > MAX_ANALYSED_WORD {
            return Vec::new();
        }
        if let Some(parts) = self.split(&token.folded, 0) {
            return parts.into_iter().map(|p| term(p, PART_WEIGHT)).collect();
        }
        if let Some(fixed) = self.correct(&token.folded).or_else(|| self.correct(&own)) {
            return vec![term(fixed, TYPO_WEIGHT)];
        }
        if let Some(tail) = self.known_tail(&token.folded) {
            return vec![term(tail, PART_WEIGHT)];
        }
        // Unknown to the catalogue, but a person's correction may teach it.
        vec![term(own, 1.0)]
    }

    /// Splits a Swedish compound into known stems, head-final: the longest
    /// known tail wins because the last part carries the meaning
    /// ("gatlampan" → gat + lamp, "lekplatsgungan" → lekplats + gung).
    fn split(&self, word: &str, depth: usize) -> Option<Vec<String>> {
        let chars: Vec<char> = word.chars().collect();
        if depth > 2 || chars.len() < MIN_HEAD + MIN_TAIL {
            return None;
        }
        for cut in MIN_HEAD..=chars.len() - MIN_TAIL {
            let tail: String = chars[cut..].iter().collect();
            let Some(tail) = self.known_form(&tail) else {
                continue;
            };
            let head: String = chars[..cut].iter().collect();
            if let Some(head) = self.known_head(&head, depth) {
                return Some(head.into_iter().chain([tail]).collect());
            }
        }
        None
    }

    /// The meaning-bearing last part of a compound whose first part the
    /// catalogue never mentions ("schackföreningen" → förening).
    fn known_tail(&self, word: &str) -> Option<String> {
        let chars: Vec<char> = word.chars().collect();
        (MIN_HEAD..chars.len().saturating_sub(MIN_LONE_TAIL - 1))
            .find_map(|cut| self.known_form(&chars[cut..].iter().collect::<String>()))
    }

    fn known_form(&self, word: &str) -> Option<String> {
        for form in [word, without_definite_n(word)] {
            let stem = self.stem(form, Language::Sv);
            // A tail inflected twice ("platsen") needs a second pass to
            // meet its catalogue stem ("plats" → "plat").
            let again = self.stem(&stem, Language::Sv);
            for candidate in [stem, again] {
                if candidate.chars().count() >= MIN_HEAD && self.knows(&candidate) {
                    return Some(candidate);
                }
            }
        }
        self.knows(word).then(|| word.to_owned())
    }

    /// A compound's head, allowing the Swedish linking "s" ("parkeringsplats").
    fn known_head(&self, head: &str, depth: usize) -> Option<Vec<String>> {
        let unlinked = head
            .strip_suffix('s')
            .filter(|h| h.chars().count() >= MIN_HEAD);
        for form in std::iter::once(head).chain(unlinked) {
            if let Some(known) = self.known_form(form) {
                return Some(vec![known]);
            }
        }
        for form in std::iter::once(head).chain(unlinked) {
            if let Some(parts) = self.split(form, depth + 1) {
                return Some(parts);
            }
        }
        None
    }

    fn correct(&self, word: &str) -> Option<String> {
        let length = word.chars().count();
        if length < MIN_TYPO_LEN {
            return None;
        }
        let allowed = if length >= MIN_TWO_TYPO_LEN { 2 } else { 1 };
        self.typos.closest(word, allowed)
    }
}

/// Snowball leaves the Swedish definite "-n" on words in "-a"
/// ("lampan", "gatan"); dropping it finds the catalogue's "lampa".
fn without_definite_n(word: &str) -> &str {
    match word.strip_suffix('n') {
        Some(rest) if rest.ends_with(['a', 'e', 'o']) => rest,
        _ => word,
    }
}

fn other_language(language: Language) -> Language {
    match language {
        Language::Sv => Language::En,
        Language::En => Language::Sv,
    }
}

struct Token {
    folded: String,
    surface: String,
    /// Capitalised inside a sentence: most likely a street or place name,
    /// which must not be read as a compound ("Tallvägen" is no road matter).
    proper: bool,
}

/// A Swedish or English function word (folded), as listed for stop words.
pub fn is_function_word(folded: &str) -> bool {
    STOP_WORDS.contains(&folded)
}

/// How many words of a text carry subject matter (not function words,
/// greetings or the time words every complaint shares).
pub fn subject_word_count(text: &str) -> usize {
    content_tokens(text).len()
}

/// Words with subject matter: split on anything but letters and digits,
/// without stop words and single letters.
fn content_tokens(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut sentence_start = true;
    for piece in text.split_inclusive(|c: char| !c.is_alphanumeric()) {
        let word = piece.trim_end_matches(|c: char| !c.is_alphanumeric());
        let folded = fold(word);
        if folded.chars().count() >= 2 && !STOP_WORDS.contains(&folded.as_str()) {
            tokens.push(Token {
                proper: !sentence_start && word.chars().next().is_some_and(char::is_uppercase),
                folded,
                surface: word.to_lowercase(),
            });
        }
        if !word.is_empty() || piece.contains(['.', '!', '?', '\n']) {
            sentence_start = piece.contains(['.', '!', '?', '\n']);
        }
    }
    tokens
}

/// Symmetric-delete index: every vocabulary word and its one- and
/// two-letter deletions, so a misspelt word is looked up by its own
/// deletions instead of being compared with the whole vocabulary.
#[derive(Default)]
struct TypoIndex {
    words: Vec<String>,
    deletions: HashMap<String, Vec<u32>>,
}

impl TypoIndex {
    fn new(vocabulary: &HashSet<String>) -> Self {
        let mut words: Vec<String> = vocabulary
            .iter()
            .filter(|w| w.chars().count() >= MIN_TYPO_LEN - 1)
            .cloned()
            .collect();
        words.sort();
        let mut deletions: HashMap<String, Vec<u32>> = HashMap::new();
        for (i, word) in words.iter().enumerate() {
            for variant in deletion_variants(word, 2) {
                deletions.entry(variant).or_default().push(i as u32);
            }
        }
        Self { words, deletions }
    }

    /// The nearest word within `allowed` edits; ties go to the
    /// alphabetically first so that the result never depends on hashing.
    fn closest(&self, word: &str, allowed: usize) -> Option<String> {
        let mut best: Option<(usize, &String)> = None;
        for variant in deletion_variants(word, allowed) {
            for &i in self.deletions.get(&variant).into_iter().flatten() {
                let candidate = &self.words[i as usize];
                let distance = edit_distance(word, candidate);
                if distance == 0 || distance > allowed {
                    continue;
                }
                if best.is_none_or(|(d, w)| (distance, candidate) < (d, w)) {
                    best = Some((distance, candidate));
                }
            }
        }
        best.map(|(_, w)| w.clone())
    }
}

fn deletion_variants(word: &str, depth: usize) -> HashSet<String> {
    let mut all = HashSet::from([word.to_owned()]);
    let mut frontier = vec![word.to_owned()];
    for _ in 0..depth {
        let mut next = Vec::new();
        for w in &frontier {
            let chars: Vec<char> = w.chars().collect();
            for skip in 0..chars.len() {
                let shorter: String = chars
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != skip)
                    .map(|(_, c)| c)
                    .collect();
                if all.insert(shorter.clone()) {
                    next.push(shorter);
                }
            }
        }
        frontier = next;
    }
    all
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions
/// and swapped neighbours each cost one, the typos people actually make.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for (i, row) in d.chunks_mut(width).enumerate() {
        row[0] = i;
    }
    for (j, cell) in d.iter_mut().take(width).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyzer() -> Analyzer {
        Analyzer::new([
            (
                "gata gatan lampa trasig snöröjning vatten läcka lek plats",
                Language::Sv,
            ),
            ("street light broken pothole", Language::En),
        ])
    }

    fn keys(text: &str) -> Vec<String> {
        analyzer().terms(text).into_iter().map(|t| t.key).collect()
    }

    #[test]
    fn a_word_longer_than_any_real_word_is_neither_split_nor_corrected() {
        // Splitting and correcting cost grows with the square of the length:
        // a hostile 10 000-letter token must be dropped, not analysed.
        let hostile = "gatlampa".repeat(1_250);
        assert_eq!(keys(&hostile), Vec::<String>::new());
        assert!(!keys("gatlampan").is_empty(), "real compounds still split");
    }

    #[test]
    fn only_the_first_words_of_a_long_text_are_analysed() {
        // Thousands of unknown words would each cost a split and a typo
        // search: the analysis stops after MAX_ANALYSED_WORDS.
        let hostile = "qzxvbn ".repeat(MAX_ANALYSED_WORDS * 10);
        assert_eq!(keys(&hostile).len(), MAX_ANALYSED_WORDS);
        let late = format!("{}gatlampan", "qzxvbn ".repeat(MAX_ANALYSED_WORDS));
        assert!(!keys(&late).iter().any(|k| k == "lamp"));
    }

    #[test]
    fn swedish_text_is_detected_as_swedish_even_without_diacritics() {
        assert_eq!(detect_language("Gatlampan är trasig"), Language::Sv);
        assert_eq!(
            detect_language("det ar ingen som har plogat var gata"),
            Language::Sv
        );
    }

    #[test]
    fn english_text_is_detected_as_english() {
        assert_eq!(
            detect_language("The street light outside my house is broken"),
            Language::En
        );
    }

    #[test]
    fn compound_words_split_into_known_parts() {
        assert_eq!(keys("gatlampan"), vec!["gat", "lamp"]);
        assert_eq!(keys("vattenläckan"), vec!["vatt", "lack"]);
        assert_eq!(keys("lekplatsen"), vec!["lek", "plat"]);
    }

    #[test]
    fn missing_diacritics_give_the_same_terms() {
        assert_eq!(keys("snöröjningen"), keys("snorojningen"));
    }

    #[test]
    fn a_typo_in_a_longer_word_is_corrected_to_the_vocabulary() {
        assert_eq!(keys("snörjöning"), keys("snöröjning"));
        assert_eq!(keys("pothloe"), keys("pothole"));
    }

    #[test]
    fn short_unknown_words_are_not_forced_onto_the_vocabulary() {
        assert_eq!(keys("lamm"), vec!["lamm"]);
    }

    #[test]
    fn edit_distance_counts_a_swap_as_one() {
        assert_eq!(edit_distance("gata", "gaat"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
