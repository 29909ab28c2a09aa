//! Turns a classification into a routing decision: which status, queue and
//! administration a new request gets, whether it is referred to another
//! authority, and whether the resident must be told to call 112.

use super::Language;
use super::catalogue::{Catalogue, Priority};
use super::classifier::Classification;
use super::status::RequestStatus;
use super::text::{Words, fold};

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
    let words = Words::of(text);
    catalogue
        .emergency()
        .words
        .all()
        .any(|w| words.contains(&fold(w)))
        .then(|| catalogue.emergency().advice.get(language).to_owned())
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
}
