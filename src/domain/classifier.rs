//! The classifier seam: every routing decision asks a `Classifier`. The
//! keyword classifier here is the foundation's simple implementation,
//! learned from the catalogue's vocabulary; a statistical one replaces it
//! behind the same trait.

use super::catalogue::Catalogue;
use std::collections::HashMap;
use std::sync::RwLock;

use super::text::{Words, fold, tokens};

pub struct ClassifyRequest<'a> {
    pub text: &'a str,
    pub category_hint: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub category: String,
    pub confidence: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// Best candidates first; empty when nothing matched.
    pub candidates: Vec<Candidate>,
    /// Why the best candidate won, in words a contact-centre agent reads.
    pub explanation: String,
}

impl Classification {
    pub fn best(&self) -> Option<&Candidate> {
        self.candidates.first()
    }
}

pub trait Classifier: Send + Sync {
    fn classify(&self, request: &ClassifyRequest<'_>) -> Classification;

    /// A person decided that `text` belongs to `category`; later requests
    /// should benefit at once, without a restart.
    fn learn(&self, text: &str, category: &str);
}

/// Confidence given to a text a person has already classified.
const LEARNED_CONFIDENCE: f64 = 0.95;

/// Confidence given to a valid category the resident picked themselves.
const HINT_CONFIDENCE: f64 = 0.9;

pub struct KeywordClassifier {
    categories: Vec<(String, Vec<String>)>,
    /// Corrections by people, keyed by the text's folded words: the same
    /// text arriving again goes where a person last sent it.
    learned: RwLock<HashMap<String, String>>,
}

fn learned_key(text: &str) -> String {
    tokens(text).join(" ")
}

impl KeywordClassifier {
    pub fn new(catalogue: &Catalogue) -> Self {
        let categories = catalogue
            .categories()
            .iter()
            .map(|c| {
                let mut words: Vec<String> = c.words.all().map(|w| fold(w.trim())).collect();
                words.sort();
                words.dedup();
                words.retain(|w| !w.is_empty());
                (c.code.clone(), words)
            })
            .collect();
        Self {
            categories,
            learned: RwLock::default(),
        }
    }

    fn matches(&self, text: &str) -> Vec<(String, Vec<String>)> {
        let text_words = Words::of(text);
        let mut matches: Vec<(String, Vec<String>)> = self
            .categories
            .iter()
            .map(|(code, words)| {
                let hits = words
                    .iter()
                    .filter(|w| text_words.contains(w))
                    .cloned()
                    .collect();
                (code.clone(), hits)
            })
            .filter(|(_, hits): &(String, Vec<String>)| !hits.is_empty())
            .collect();
        matches.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
        matches
    }
}

impl Classifier for KeywordClassifier {
    fn learn(&self, text: &str, category: &str) {
        if let Ok(mut learned) = self.learned.write() {
            learned.insert(learned_key(text), category.to_owned());
        }
    }

    fn classify(&self, request: &ClassifyRequest<'_>) -> Classification {
        let learned = self
            .learned
            .read()
            .ok()
            .and_then(|l| l.get(&learned_key(request.text)).cloned());
        if let Some(category) = learned {
            return Classification {
                explanation: format!("a person classified this text as {category} before"),
                candidates: vec![Candidate {
                    category,
                    confidence: LEARNED_CONFIDENCE,
                }],
            };
        }
        let matches = self.matches(request.text);
        let total: usize = matches.iter().map(|(_, hits)| hits.len()).sum();
        let mut candidates: Vec<Candidate> = matches
            .iter()
            .map(|(code, hits)| Candidate {
                category: code.clone(),
                confidence: keyword_confidence(hits.len(), total),
            })
            .collect();
        let hint = request
            .category_hint
            .and_then(|h| self.categories.iter().find(|(code, _)| code == h));
        if let Some((code, _)) = hint {
            candidates.retain(|c| &c.category != code);
            candidates.insert(
                0,
                Candidate {
                    category: code.clone(),
                    confidence: HINT_CONFIDENCE,
                },
            );
            return Classification {
                candidates,
                explanation: format!("resident chose {code}"),
            };
        }
        let explanation = match matches.first() {
            Some((code, hits)) => {
                let words: Vec<String> = hits.iter().take(3).map(|w| format!("\"{w}\"")).collect();
                format!("{} → {code}", words.join(", "))
            }
            None => "no catalogue words found".to_owned(),
        };
        Classification {
            candidates,
            explanation,
        }
    }
}

/// The share of all matched words that point at this category, damped when
/// there is little evidence at all: one lone word gives at most 0.5.
fn keyword_confidence(hits: usize, total: usize) -> f64 {
    let share = hits as f64 / total as f64;
    let strength = 1.0 - 0.5f64.powi(hits as i32);
    share * strength
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(text: &str, hint: Option<&str>) -> Classification {
        let catalogue = Catalogue::sample().unwrap();
        KeywordClassifier::new(&catalogue).classify(&ClassifyRequest {
            text,
            category_hint: hint,
        })
    }

    #[test]
    fn a_broken_street_light_goes_to_street_lighting() {
        let c = classify("Gatlampan utanför mitt hus är trasig och lyser inte", None);
        assert_eq!(c.best().unwrap().category, "street_lighting");
        assert!(c.explanation.contains("street_lighting"));
    }

    #[test]
    fn missing_swedish_letters_still_match() {
        let c = classify("Ingen snorojning har gjorts pa var gata", None);
        assert_eq!(c.best().unwrap().category, "snow_and_ice");
    }

    #[test]
    fn a_valid_hint_leads_and_an_unknown_one_is_ignored() {
        let c = classify("hej", Some("library"));
        assert_eq!(c.best().unwrap().category, "library");
        assert_eq!(c.best().unwrap().confidence, HINT_CONFIDENCE);
        let c = classify("hej", Some("no_such_category"));
        assert!(c.best().is_none());
    }

    #[test]
    fn a_correction_by_a_person_routes_the_same_text_at_once() {
        let catalogue = Catalogue::sample().unwrap();
        let classifier = KeywordClassifier::new(&catalogue);
        let request = ClassifyRequest {
            text: "Det luktar konstigt i trapphuset",
            category_hint: None,
        };
        classifier.learn(
            "det luktar KONSTIGT i trapphuset!",
            "environment_and_health",
        );
        let c = classifier.classify(&request);
        assert_eq!(c.best().unwrap().category, "environment_and_health");
        assert!(c.explanation.contains("a person"));
    }

    #[test]
    fn more_evidence_gives_more_confidence() {
        assert!(keyword_confidence(1, 1) < keyword_confidence(3, 3));
        assert!(keyword_confidence(2, 4) < keyword_confidence(2, 2));
        assert!(keyword_confidence(10, 10) <= 1.0);
    }
}
