//! Measures a classifier against labelled requests, so that changes to the
//! model or the catalogue, and the choice of triage threshold, rest on
//! figures rather than on impressions.

use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;

use super::catalogue::Catalogue;
use super::classifier::{Classifier, ClassifyRequest};

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LabelledCase {
    pub text: String,
    pub category: String,
    /// Whether the text describes a situation that needs 112 now.
    #[serde(default)]
    pub emergency: bool,
    /// "sv", "en" or another ISO 639-1 code, when the writer said.
    #[serde(default)]
    pub language: Option<String>,
    /// Who wrote it: cross-validation holds out one writer at a time.
    #[serde(default)]
    pub writer: Option<String>,
}

/// One case per non-blank line, as `{"text": …, "category": …}`.
pub fn parse_jsonl(input: &str) -> Result<Vec<LabelledCase>, String> {
    input
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

/// The classifier's verdict on one case, kept so that any threshold can be
/// applied afterwards without classifying again.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub text: String,
    pub expected: String,
    pub predicted: String,
    pub confidence: f64,
    pub same_administration: bool,
}

impl Outcome {
    pub fn correct(&self) -> bool {
        self.expected == self.predicted
    }
}

#[derive(Debug, Clone)]
pub struct EvalReport {
    pub threshold: f64,
    pub outcomes: Vec<Outcome>,
}

/// Figures at one threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThresholdFigures {
    pub threshold: f64,
    /// Share of auto-routed requests that went to the right category.
    pub auto_routed_accuracy: f64,
    /// Share of all requests left for a person to classify.
    pub triage_share: f64,
}

pub fn evaluate(
    classifier: &dyn Classifier,
    catalogue: &Catalogue,
    cases: &[LabelledCase],
    threshold: f64,
) -> EvalReport {
    let administration = |code: &str| catalogue.category(code).map(|c| c.administration.clone());
    let outcomes = cases
        .iter()
        .map(|case| {
            let c = classifier.classify(&ClassifyRequest {
                text: &case.text,
                category_hint: None,
            });
            let (predicted, confidence) = c
                .best()
                .map_or((String::new(), 0.0), |b| (b.category.clone(), b.confidence));
            let same_administration = administration(&predicted).is_some()
                && administration(&predicted) == administration(&case.category);
            Outcome {
                text: case.text.clone(),
                expected: case.category.clone(),
                predicted,
                confidence,
                same_administration,
            }
        })
        .collect();
    EvalReport {
        threshold,
        outcomes,
    }
}

fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

impl EvalReport {
    pub fn category_accuracy(&self) -> f64 {
        let right = self.outcomes.iter().filter(|o| o.correct()).count();
        share(right, self.outcomes.len())
    }

    pub fn administration_accuracy(&self) -> f64 {
        let right = self
            .outcomes
            .iter()
            .filter(|o| o.same_administration)
            .count();
        share(right, self.outcomes.len())
    }

    pub fn at(&self, threshold: f64) -> ThresholdFigures {
        let auto: Vec<&Outcome> = self
            .outcomes
            .iter()
            .filter(|o| o.confidence >= threshold)
            .collect();
        let right = auto.iter().filter(|o| o.correct()).count();
        ThresholdFigures {
            threshold,
            auto_routed_accuracy: share(right, auto.len()),
            triage_share: share(self.outcomes.len() - auto.len(), self.outcomes.len()),
        }
    }

    /// Figures for each candidate threshold, for choosing the default.
    pub fn thresholds(&self, thresholds: &[f64]) -> Vec<ThresholdFigures> {
        thresholds.iter().map(|t| self.at(*t)).collect()
    }

    /// Wrong (expected → predicted) pairs, most frequent first, with the
    /// texts that fell into them.
    pub fn confusions(&self) -> Vec<((String, String), Vec<&str>)> {
        let mut pairs: HashMap<(String, String), Vec<&str>> = HashMap::new();
        for o in self.outcomes.iter().filter(|o| !o.correct()) {
            pairs
                .entry((o.expected.clone(), o.predicted.clone()))
                .or_default()
                .push(&o.text);
        }
        let mut pairs: Vec<_> = pairs.into_iter().collect();
        pairs.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
        pairs
    }
}

const SHOWN_CONFUSIONS: usize = 10;

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.at(self.threshold);
        writeln!(f, "cases: {}", self.outcomes.len())?;
        writeln!(
            f,
            "category accuracy: {:.1} %",
            100.0 * self.category_accuracy()
        )?;
        writeln!(
            f,
            "administration accuracy: {:.1} %",
            100.0 * self.administration_accuracy()
        )?;
        writeln!(
            f,
            "auto-routed accuracy (confidence >= {}): {:.1} %",
            self.threshold,
            100.0 * at.auto_routed_accuracy
        )?;
        writeln!(f, "triage share: {:.1} %", 100.0 * at.triage_share)?;
        writeln!(f, "worst confusions (expected → predicted):")?;
        for ((expected, predicted), texts) in self.confusions().iter().take(SHOWN_CONFUSIONS) {
            writeln!(f, "  {expected} → {predicted}: {}", texts.len())?;
            for text in texts.iter().take(2) {
                writeln!(f, "      \"{text}\"")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::classifier::{Candidate, Classification};

    struct Always(&'static str, f64);

    impl Classifier for Always {
        fn classify(&self, _: &ClassifyRequest<'_>) -> Classification {
            Classification {
                candidates: vec![Candidate {
                    category: self.0.into(),
                    confidence: self.1,
                }],
                explanation: String::new(),
            }
        }
        fn learn(&self, _: &str, _: &str) {}
    }

    fn cases() -> Vec<LabelledCase> {
        parse_jsonl(
            "{\"text\": \"gatlampan\", \"category\": \"street_lighting\"}\n\n\
             {\"text\": \"snö\", \"category\": \"snow_and_ice\"}\n\
             {\"text\": \"bok\", \"category\": \"library\"}\n",
        )
        .unwrap()
    }

    #[test]
    fn a_jsonl_file_parses_and_blank_lines_are_skipped() {
        assert_eq!(cases().len(), 3);
        assert_eq!(cases()[1].category, "snow_and_ice");
    }

    #[test]
    fn a_broken_line_is_named_in_the_error() {
        let err = parse_jsonl("{\"text\": \"a\", \"category\": \"b\"}\n{oops").unwrap_err();
        assert!(err.starts_with("line 2"), "{err}");
    }

    #[test]
    fn accuracy_counts_categories_and_administrations_separately() {
        let catalogue = Catalogue::sample().unwrap();
        let report = evaluate(&Always("street_lighting", 0.9), &catalogue, &cases(), 0.5);
        assert!((report.category_accuracy() - 1.0 / 3.0).abs() < 1e-9);
        assert!((report.administration_accuracy() - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(report.confusions().len(), 2);
    }

    #[test]
    fn requests_below_the_threshold_count_as_triage() {
        let catalogue = Catalogue::sample().unwrap();
        let report = evaluate(&Always("street_lighting", 0.4), &catalogue, &cases(), 0.5);
        let figures = report.thresholds(&[0.3, 0.5]);
        assert_eq!(figures[0].triage_share, 0.0);
        assert_eq!(figures[1].triage_share, 1.0);
        assert!(report.to_string().contains("triage share: 100.0 %"));
    }
}
