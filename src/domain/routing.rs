//! Turns a classification into a routing decision: which status, queue and
//! administration a new request gets, whether it is referred to another
//! authority, and whether the resident must be told to call 112.

use super::Language;
use std::ops::Range;

use super::analysis::{edit_distance, subject_word_count};
use super::catalogue::{Catalogue, EmergencyRules, Phrase, Priority};
use super::classifier::{Candidate, Classification};
use super::language::{OtherLanguage, other_language};
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
    /// Written in a language the classifier does not read.
    pub text_language: Option<OtherLanguage>,
}

/// How sure the classifier must be before a request is routed without a
/// person looking at it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Below this the request waits in triage.
    pub triage: f64,
    /// Routing into a confidential administration (social services,
    /// care), or away from one the text may well belong to, needs this
    /// much: a wrong guess shows a resident's words to handlers who must
    /// not read them.
    pub confidential: f64,
}

impl Thresholds {
    /// Chosen on the cross-validated, calibrated confidence `envagin-eval`
    /// prints: a request is routed alone when it is more likely right than
    /// wrong, and across the confidential boundary only when nine in ten
    /// such guesses are right.
    pub const DEFAULT: Self = Self {
        triage: 0.5,
        confidential: 0.9,
    };
}

pub fn route(
    catalogue: &Catalogue,
    classification: &Classification,
    thresholds: Thresholds,
    text: &str,
    language: Language,
) -> Route {
    let emergency_advice = emergency_advice(catalogue, text, classification.emergency, language);
    let confident = classification
        .best()
        .filter(|best| best.confidence >= thresholds.triage)
        .and_then(|best| {
            catalogue
                .category(&best.category)
                .map(|c| (c, best.confidence))
        });
    let text_language = other_language(text);
    let crossing = match text_language {
        Some(l) => Some(format!(
            "written in {} ({}), which the classifier does not read",
            l.name, l.code
        )),
        None => crossing_doubt(catalogue, classification, thresholds.confidential, text),
    };
    let mut route = match (confident, &crossing) {
        (Some((category, confidence)), None) => Route {
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
            text_language,
        },
        _ => Route {
            status: RequestStatus::Triage,
            category: None,
            administration: catalogue.triage_administration().to_owned(),
            queue: catalogue.triage_queue().to_owned(),
            priority: Priority::Normal,
            // Words that are probably for social services or care stay
            // secret in triage too: the contact centre routes them from the
            // suggestion without reading them.
            confidential: confidential_share(catalogue, classification) >= 0.5,
            confidence: classification.best().map_or(0.0, |b| b.confidence),
            explanation: match crossing {
                Some(why) if confident.is_some() || text_language.is_some() => {
                    format!("{why}: {}", classification.explanation)
                }
                _ => format!(
                    "below confidence threshold {}: {}",
                    thresholds.triage, classification.explanation
                ),
            },
            referral: None,
            emergency_advice: None,
            text_language,
        },
    };
    if emergency_advice.is_some() {
        route.priority = Priority::Urgent;
        route.emergency_advice = emergency_advice;
    }
    route
}

/// How much of the classifier's belief is on confidential categories, by
/// the text alone or with the resident's pick, whichever is more: a pick
/// must not talk a text about social services out of secrecy.
fn confidential_share(catalogue: &Catalogue, classification: &Classification) -> f64 {
    let share = |candidates: &[Candidate]| -> f64 {
        candidates
            .iter()
            .filter(|c| is_confidential(catalogue, &c.category))
            .map(|c| c.confidence)
            .sum()
    };
    share(&classification.candidates).max(share(&classification.text_only))
}

fn is_confidential(catalogue: &Catalogue, code: &str) -> bool {
    catalogue
        .category(code)
        .is_some_and(|c| catalogue.is_confidential(c))
}

/// Subject words a text needs before the classifier alone may route it
/// into a confidential administration: "pengar" or "ring mig" is no reason
/// to show a resident's words to social services.
const MIN_SUBJECT_WORDS_INTO_CONFIDENTIAL: usize = 2;

/// Why the best guess may not be routed on its own although it clears the
/// triage threshold: it would cross the confidential boundary on weak
/// evidence, into a confidential administration or out of one.
fn crossing_doubt(
    catalogue: &Catalogue,
    classification: &Classification,
    strict: f64,
    text: &str,
) -> Option<String> {
    let best = classification.best()?;
    let into = is_confidential(catalogue, &best.category);
    // The resident asking social services or care for help themselves
    // crosses nothing: those are the handlers they chose to tell.
    let their_own_pick = classification.hint.as_deref() == Some(best.category.as_str());
    let share = confidential_share(catalogue, classification);
    // A text without subject words ("det har hänt igen") says nothing a
    // handler could misread as social services' business; its even spread
    // of belief is no evidence either way.
    let says_nothing = subject_word_count(text) == 0;
    if into && their_own_pick || !into && says_nothing {
        None
    } else if into && best.confidence < strict {
        Some(format!(
            "confidential category below its threshold {strict}"
        ))
    } else if into && subject_word_count(text) < MIN_SUBJECT_WORDS_INTO_CONFIDENTIAL {
        Some("too few words to route into a confidential administration".to_owned())
    } else if !into && share > 1.0 - strict {
        Some(format!(
            "{:.0} % likely confidential, too much to route elsewhere",
            100.0 * share
        ))
    } else {
        None
    }
}

/// Likelihood from the emergency model above which the resident is told
/// to call 112. Low on purpose: a needless line of advice costs a reader a
/// second, a missed emergency costs a life. Chosen by cross-validation on
/// the training corpus (printed by `envagin-eval`) for recall first.
pub const EMERGENCY_ALARM: f64 = 0.2;

/// The 112 advice, in the resident's language, when the text describes
/// immediate danger: by the catalogue's danger phrases, or by the emergency
/// model's `likelihood` (which also knows situations no phrase lists).
pub fn emergency_advice(
    catalogue: &Catalogue,
    text: &str,
    likelihood: f64,
    language: Language,
) -> Option<String> {
    let rules = catalogue.emergency();
    (likelihood >= EMERGENCY_ALARM || describes_danger(rules, text))
        .then(|| rules.advice.get(language).to_owned())
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
                token == word
                    || (swedish && swedish_form_of(token, word, i == 0))
                    || typo_of(token, word)
            })
        })
        .map(|start| start..start + phrase.len())
        .collect()
}

/// Words this long are still recognised with one letter wrong, missing or
/// extra ("medvetslos", "brinnner"); shorter ones have real neighbours.
const MIN_TYPO_WORD: usize = 6;

fn typo_of(token: &str, word: &str) -> bool {
    // Cheap checks first: this runs for every word of a long text against
    // every listed word.
    let (t, w) = (token.len(), word.len());
    t.abs_diff(w) <= 2
        && token.as_bytes().first() == word.as_bytes().first()
        && word.chars().count() >= MIN_TYPO_WORD
        && edit_distance(token, word) == 1
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

    const THRESHOLDS: Thresholds = Thresholds {
        triage: 0.5,
        confidential: 0.8,
    };

    fn ranked(candidates: &[(&str, f64)]) -> Classification {
        Classification {
            candidates: candidates
                .iter()
                .map(|(category, confidence)| Candidate {
                    category: (*category).into(),
                    confidence: *confidence,
                })
                .collect(),
            explanation: "test".into(),
            emergency: 0.0,
            text_only: Vec::new(),
            hint: None,
        }
    }

    #[test]
    fn crossing_the_confidential_boundary_needs_the_stricter_threshold() {
        let c = Catalogue::sample().unwrap();
        // (candidates, routed to, confidential)
        type Case<'a> = (&'a [(&'a str, f64)], Option<&'a str>, bool);
        let cases: [Case; 6] = [
            (
                &[("financial_assistance", 0.9)],
                Some("financial_assistance"),
                true,
            ),
            (&[("financial_assistance", 0.7)], None, true),
            (&[("home_care", 0.6), ("street_lighting", 0.3)], None, true),
            (
                &[("street_lighting", 0.7), ("domestic_violence", 0.25)],
                None,
                false,
            ),
            (
                &[("street_lighting", 0.7), ("domestic_violence", 0.15)],
                Some("street_lighting"),
                false,
            ),
            (&[("street_lighting", 0.45), ("library", 0.4)], None, false),
        ];
        let sure = ranked(&[("financial_assistance", 0.95)]);
        let one_word = route(&c, &sure, THRESHOLDS, "pengar", Language::Sv);
        assert_eq!(
            one_word.status,
            RequestStatus::Triage,
            "one word is no reason to cross"
        );
        for (candidates, routed, confidential) in cases {
            let text = "gatlampan vid förskolan";
            let r = route(&c, &ranked(candidates), THRESHOLDS, text, Language::Sv);
            assert_eq!(r.category.as_deref(), routed, "{candidates:?}");
            assert_eq!(r.confidential, confidential, "{candidates:?}");
            let queued = routed.is_some();
            assert_eq!(r.status == RequestStatus::Triage, !queued, "{candidates:?}");
        }
    }

    fn classified(category: &str, confidence: f64) -> Classification {
        Classification {
            candidates: vec![Candidate {
                category: category.into(),
                confidence,
            }],
            explanation: "test".into(),
            emergency: 0.0,
            text_only: Vec::new(),
            hint: None,
        }
    }

    #[test]
    fn a_confident_classification_is_queued_with_the_category_service_levels() {
        let c = Catalogue::sample().unwrap();
        let r = route(
            &c,
            &classified("street_lighting", 0.8),
            THRESHOLDS,
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
            THRESHOLDS,
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
            THRESHOLDS,
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
            THRESHOLDS,
            "Det brinner i parken!",
            Language::Sv,
        );
        assert_eq!(r.status, RequestStatus::Queued);
        assert_eq!(r.priority, Priority::Urgent);
        assert!(r.emergency_advice.unwrap().contains("112"));
    }

    fn alarms(text: &str) -> bool {
        let c = Catalogue::sample().unwrap();
        emergency_advice(&c, text, 0.0, Language::Sv).is_some()
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
            "MEDVETSLÖS MAN I TRAPPAN",
            "han ar medvetslos och andas knappt",
            "the house is burnning and there's someone inside",
            "my toddler swallowed dishwasher tablets",
            "Min son vill ta livet av sig, han står på bron nu",
            "ledningen ligger på marken och gnistrar",
            "Det b\u{200b}rinner i soprummet",
            "ＴＨＥＲＥ ＩＳ ＳＭＯＫＥ pouring out of the school",
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
