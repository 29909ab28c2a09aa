//! Turns a classification into a routing decision: which status, queue and
//! administration a new request gets, whether it is referred to another
//! authority, and whether the resident must be told to call 112.

use super::Language;
use std::ops::Range;

use super::catalogue::{Catalogue, EmergencyRules, Phrase, Priority};
use super::classifier::Classification;
use super::status::RequestStatus;
use super::text::tokens;

#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub status: RequestStatus,
    pub category: Option<String>,
    pub administration: String,
    pub queue: String,
    pub priority: Priority,
    pub confidential: bool,
    pub confidence: f64,
    pub explanation: String,
    /// Message naming the right authority, in the resident's language.
    pub referral: Option<String>,
    pub emergency_advice: Option<String>,
}

pub fn route(
    catalogue: &Catalogue,
    classification: &Classification,
    threshold: f64,
    text: &str,
    language: Language,
) -> Route {
    let emergency_advice = emergency_advice(catalogue, text, language);
    let confident = classification
        .best()
        .filter(|best| best.confidence >= threshold)
        .and_then(|best| {
            catalogue
                .category(&best.category)
                .map(|c| (c, best.confidence))
        });
    let mut route = match confident {
        Some((category, confidence)) => Route {
            status: if category.referral.is_some() {
                RequestStatus::Referred
            } else {
                RequestStatus::Queued
            },
            category: Some(category.code.clone()),
            administration: category.administration.clone(),
            queue: category.queue.clone(),
            priority: category.priority,
            confidential: catalogue.is_confidential(category),
            confidence,
            explanation: classification.explanation.clone(),
            referral: category
                .referral
                .as_ref()
                .map(|r| r.message.get(language).to_owned()),
            emergency_advice: None,
        },
        None => Route {
            status: RequestStatus::Triage,
            category: None,
            administration: catalogue.triage_administration().to_owned(),
            queue: catalogue.triage_queue().to_owned(),
            priority: Priority::Normal,
            confidential: false,
            confidence: classification.best().map_or(0.0, |b| b.confidence),
            explanation: format!(
                "below confidence threshold {threshold}: {}",
                classification.explanation
            ),
            referral: None,
            emergency_advice: None,
        },
    };
    if emergency_advice.is_some() {
        route.priority = Priority::Urgent;
        route.emergency_advice = emergency_advice;
    }
    route
}

/// The 112 advice, in the resident's language, when the text describes
/// immediate danger.
pub fn emergency_advice(catalogue: &Catalogue, text: &str, language: Language) -> Option<String> {
    let rules = catalogue.emergency();
    describes_danger(rules, text).then(|| rules.advice.get(language).to_owned())
}

fn describes_danger(rules: &EmergencyRules, text: &str) -> bool {
    text.split(['.', '!', '?', ';', ',', '\n'])
        .map(tokens)
        .any(|clause| clause_in_danger(rules, &clause))
}

/// Danger is judged per clause, so that "brandövning förra veckan, nu
/// brinner det i förrådet" still alarms while "I was injured last year"
/// does not.
fn clause_in_danger(rules: &EmergencyRules, clause: &[String]) -> bool {
    if !phrase_spans(rules.not_now_phrases(), clause).is_empty() {
        return false;
    }
    let harmless = phrase_spans(rules.harmless_phrases(), clause);
    phrase_spans(rules.danger_phrases(), clause)
        .iter()
        .any(|span| !harmless.iter().any(|h| overlaps(h, span)))
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

/// Where any phrase of the list occurs in the clause, as token ranges.
fn phrase_spans(list: &[Phrase], clause: &[String]) -> Vec<Range<usize>> {
    list.iter()
        .flat_map(|(phrase, swedish)| spans_of(phrase, clause, *swedish))
        .collect()
}

fn spans_of(phrase: &[String], clause: &[String], swedish: bool) -> Vec<Range<usize>> {
    if phrase.is_empty() || phrase.len() > clause.len() {
        return Vec::new();
    }
    (0..=clause.len() - phrase.len())
        .filter(|&start| {
            phrase.iter().enumerate().all(|(i, word)| {
                let token = &clause[start + i];
                token == word || (swedish && swedish_form_of(token, word, i == 0))
            })
        })
        .map(|start| start..start + phrase.len())
        .collect()
}

/// Swedish inflection endings a listed word may carry ("branden", "knivar").
const SWEDISH_ENDINGS: &[&str] = &[
    "", "a", "e", "n", "s", "t", "en", "et", "er", "ar", "or", "na", "an", "de", "te", "ade",
    "ens", "ets", "arna", "erna", "orna", "ande",
];
/// Shorter words are too ambiguous to be recognised inside compounds.
const MIN_COMPOUND_TAIL: usize = 5;

/// An inflected form of `word`, or (for the first word of a phrase and a
/// long enough word) the tail of a compound: "husbranden" is a "brand",
/// "brandövningen" is not, because Swedish compounds end in their head.
fn swedish_form_of(token: &str, word: &str, may_compound: bool) -> bool {
    token.match_indices(word).any(|(at, _)| {
        let ending = &token[at + word.len()..];
        let compound = at > 0;
        SWEDISH_ENDINGS.contains(&ending)
            && (!compound || (may_compound && word.chars().count() >= MIN_COMPOUND_TAIL))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::classifier::{Candidate, Classification};

    fn classified(category: &str, confidence: f64) -> Classification {
        Classification {
            candidates: vec![Candidate {
                category: category.into(),
                confidence,
            }],
            explanation: "test".into(),
        }
    }

    #[test]
    fn a_confident_classification_is_queued_with_the_category_service_levels() {
        let c = Catalogue::sample().unwrap();
        let r = route(
            &c,
            &classified("street_lighting", 0.8),
            0.5,
            "lampa",
            Language::Sv,
        );
        assert_eq!(r.status, RequestStatus::Queued);
        assert_eq!((r.administration.as_str(), r.queue.as_str()), ("TF", "TF"));
        assert!(r.referral.is_none() && r.emergency_advice.is_none());
    }

    #[test]
    fn an_unsure_classification_waits_in_triage() {
        let c = Catalogue::sample().unwrap();
        let r = route(
            &c,
            &classified("street_lighting", 0.3),
            0.5,
            "lampa",
            Language::Sv,
        );
        assert_eq!(r.status, RequestStatus::Triage);
        assert_eq!(r.queue, "TRIAGE");
        assert_eq!(r.category, None);
    }

    #[test]
    fn another_authoritys_matter_is_referred_in_the_residents_language() {
        let c = Catalogue::sample().unwrap();
        let r = route(
            &c,
            &classified("ext_tax_agency", 0.9),
            0.5,
            "tax",
            Language::En,
        );
        assert_eq!(r.status, RequestStatus::Referred);
        let expected = c
            .category("ext_tax_agency")
            .unwrap()
            .referral
            .as_ref()
            .unwrap()
            .message
            .en
            .clone();
        assert_eq!(r.referral.as_deref(), Some(expected.as_str()));
    }

    #[test]
    fn danger_to_life_is_routed_and_tells_the_resident_to_call_112() {
        let c = Catalogue::sample().unwrap();
        let r = route(
            &c,
            &classified("parks_and_playgrounds", 0.9),
            0.5,
            "Det brinner i parken!",
            Language::Sv,
        );
        assert_eq!(r.status, RequestStatus::Queued);
        assert_eq!(r.priority, Priority::Urgent);
        assert!(r.emergency_advice.unwrap().contains("112"));
    }

    fn alarms(text: &str) -> bool {
        let c = Catalogue::sample().unwrap();
        emergency_advice(&c, text, Language::Sv).is_some()
    }

    #[test]
    fn immediate_danger_in_swedish_or_english_gives_the_112_advice() {
        for text in [
            "Det brinner i soprummet och det kommer rök ur fönstret",
            "villabranden på Ekvägen sprider sig",
            "En man ligger medvetslös på trottoaren",
            "Grannen hotar mig med kniv",
            "Det luktar gas i hela trapphuset",
            "Ett barn är i fara just nu vid ån",
            "Vattenledningen har brustit och gatan svämmar över",
            "There is smoke pouring out of the school",
            "someone is seriously injured after a fall",
            "my neighbour is threatening me with a knife",
            "strong smell of gas in the stairwell",
            "a water main burst and is flooding the street",
        ] {
            assert!(alarms(text), "{text}");
        }
    }

    #[test]
    fn harmless_or_past_mentions_of_danger_do_not_alarm() {
        for text in [
            "The fire drill at the school was noisy",
            "Brandövningen på skolan var högljudd",
            "Brandlarmet testades i morse och tjöt länge",
            "I was injured last year on the broken pavement",
            "Får man ha gasolgrill på balkongen?",
            "Brandvarnaren i förrådet piper, batteriet är slut",
            "Det är fuktskadad vägg i badrummet",
            "Gatlampan är trasig",
        ] {
            assert!(!alarms(text), "{text}");
        }
    }

    #[test]
    fn danger_after_a_harmless_clause_still_alarms() {
        assert!(alarms(
            "Vi hade brandövning förra veckan. Nu brinner det på riktigt i källaren!"
        ));
    }
}
