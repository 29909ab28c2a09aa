//! Measures a classifier against labelled requests, so that changes to the
//! model or the catalogue, and the choice of triage threshold, rest on
//! figures rather than on impressions.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Deserialize;

use super::Language;
use super::catalogue::Catalogue;
use super::classifier::{Classification, Classifier, ClassifyRequest};
use super::routing::{Thresholds, route};

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LabelledCase {
    pub text: String,
    /// Empty for texts that only measure language recognition.
    #[serde(default)]
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

/// The classifier's verdict on one case, kept so that any thresholds can
/// be applied afterwards without classifying again.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub case: LabelledCase,
    pub classification: Classification,
}

impl Outcome {
    pub fn predicted(&self) -> &str {
        self.classification
            .best()
            .map_or("", |b| b.category.as_str())
    }

    pub fn correct(&self) -> bool {
        self.case.category == self.predicted()
    }

    /// The best candidate's confidence, and whether it was right.
    pub fn confidence_and_right(&self) -> (f64, bool) {
        let confidence = self.classification.best().map_or(0.0, |b| b.confidence);
        (confidence, self.correct())
    }

    fn language(&self) -> Language {
        match self.case.language.as_deref() {
            Some("en") => Language::En,
            _ => Language::Sv,
        }
    }
}

pub fn classify_all(classifier: &dyn Classifier, cases: &[LabelledCase]) -> Vec<Outcome> {
    cases
        .iter()
        .map(|case| Outcome {
            classification: classifier.classify(&ClassifyRequest {
                text: &case.text,
                category_hint: None,
            }),
            case: case.clone(),
        })
        .collect()
}

/// What routing did with a set of labelled requests at some thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub thresholds: Thresholds,
    pub cases: usize,
    /// Best guess right, whether or not it was routed.
    pub category_accuracy: f64,
    pub administration_accuracy: f64,
    /// Share of all requests left for a person to classify.
    pub triage_share: f64,
    /// Share of routed requests that went to the right category.
    pub auto_routed_accuracy: f64,
    /// Routed requests that crossed the confidential boundary (social
    /// services and care on one side, everything else on the other).
    pub crossings: usize,
    /// The crossings as (expected → routed) pairs, most frequent first.
    pub crossing_pairs: Vec<((String, String), usize)>,
    pub emergencies: usize,
    pub emergency_recall: f64,
    /// Share of ordinary requests that were told to call 112.
    pub false_alarms: f64,
    /// Category accuracy per language label of the cases.
    pub by_language: BTreeMap<String, (usize, f64)>,
}

fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

pub fn figures(catalogue: &Catalogue, outcomes: &[Outcome], thresholds: Thresholds) -> Figures {
    let administration = |code: &str| catalogue.category(code).map(|c| c.administration.as_str());
    let confidential = |code: &str| {
        catalogue
            .category(code)
            .is_some_and(|c| catalogue.is_confidential(c))
    };
    let (mut routed, mut routed_right) = (0, 0);
    let mut crossing_pairs: HashMap<(String, String), usize> = HashMap::new();
    let (mut emergencies, mut caught, mut alarms) = (0, 0, 0);
    let mut by_language: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for o in outcomes {
        let route = route(
            catalogue,
            &o.classification,
            thresholds,
            &o.case.text,
            o.language(),
        );
        if let Some(category) = &route.category {
            routed += 1;
            routed_right += usize::from(*category == o.case.category);
            if confidential(category) != confidential(&o.case.category) {
                *crossing_pairs
                    .entry((o.case.category.clone(), category.clone()))
                    .or_default() += 1;
            }
        }
        let alarmed = route.emergency_advice.is_some();
        if o.case.emergency {
            emergencies += 1;
            caught += usize::from(alarmed);
        } else {
            alarms += usize::from(alarmed);
        }
        let language = o.case.language.clone().unwrap_or_else(|| "?".into());
        let entry = by_language.entry(language).or_default();
        entry.0 += 1;
        entry.1 += usize::from(o.correct());
    }
    let right = outcomes.iter().filter(|o| o.correct()).count();
    let same_administration = outcomes
        .iter()
        .filter(|o| {
            administration(o.predicted()).is_some()
                && administration(o.predicted()) == administration(&o.case.category)
        })
        .count();
    Figures {
        thresholds,
        cases: outcomes.len(),
        category_accuracy: share(right, outcomes.len()),
        administration_accuracy: share(same_administration, outcomes.len()),
        triage_share: share(outcomes.len() - routed, outcomes.len()),
        auto_routed_accuracy: share(routed_right, routed),
        crossings: crossing_pairs.values().sum(),
        crossing_pairs: most_frequent_first(crossing_pairs, |n| *n),
        emergencies,
        emergency_recall: share(caught, emergencies),
        false_alarms: share(alarms, outcomes.len() - emergencies),
        by_language: by_language
            .into_iter()
            .map(|(l, (n, right))| (l, (n, share(right, n))))
            .collect(),
    }
}

/// How well the best candidate's confidence predicts being right: cases
/// in bins of confidence, each with its mean confidence and accuracy.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// (lowest confidence of the bin, cases, mean confidence, accuracy)
    pub bins: Vec<(f64, usize, f64, f64)>,
    /// The cases' average distance between confidence and accuracy.
    pub expected_error: f64,
}

const CALIBRATION_BINS: usize = 10;

/// Calibration of (confidence, was right) pairs.
pub fn calibration(points: &[(f64, bool)]) -> Calibration {
    let mut sums = [(0usize, 0.0f64, 0usize); CALIBRATION_BINS];
    for &(confidence, right) in points {
        let bin = ((confidence * CALIBRATION_BINS as f64) as usize).min(CALIBRATION_BINS - 1);
        sums[bin].0 += 1;
        sums[bin].1 += confidence;
        sums[bin].2 += usize::from(right);
    }
    let bins: Vec<(f64, usize, f64, f64)> = sums
        .iter()
        .enumerate()
        .filter(|(_, (n, _, _))| *n > 0)
        .map(|(i, (n, confidence, right))| {
            let low = i as f64 / CALIBRATION_BINS as f64;
            (low, *n, confidence / *n as f64, share(*right, *n))
        })
        .collect();
    let expected_error = bins
        .iter()
        .map(|(_, n, confidence, accuracy)| share(*n, points.len()) * (confidence - accuracy).abs())
        .sum();
    Calibration {
        bins,
        expected_error,
    }
}

impl fmt::Display for Calibration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "confidence   cases  mean confidence  right")?;
        for (low, n, confidence, accuracy) in &self.bins {
            writeln!(
                f,
                "{low:>4.1}–{:<4.1}  {n:>6}  {:>13.1} %  {:>5.1} %",
                low + 1.0 / CALIBRATION_BINS as f64,
                100.0 * confidence,
                100.0 * accuracy
            )?;
        }
        writeln!(
            f,
            "expected calibration error {:.1} points",
            100.0 * self.expected_error
        )
    }
}

/// Wrong (expected → predicted) pairs, most frequent first, with the
/// texts that fell into them.
pub fn confusions(outcomes: &[Outcome]) -> Vec<((String, String), Vec<&str>)> {
    let mut pairs: HashMap<(String, String), Vec<&str>> = HashMap::new();
    for o in outcomes.iter().filter(|o| !o.correct()) {
        pairs
            .entry((o.case.category.clone(), o.predicted().to_owned()))
            .or_default()
            .push(&o.case.text);
    }
    most_frequent_first(pairs, Vec::len)
}

fn most_frequent_first<T>(
    pairs: HashMap<(String, String), T>,
    count: impl Fn(&T) -> usize,
) -> Vec<((String, String), T)> {
    let mut pairs: Vec<_> = pairs.into_iter().collect();
    pairs.sort_by(|a, b| count(&b.1).cmp(&count(&a.1)).then_with(|| a.0.cmp(&b.0)));
    pairs
}

/// Category accuracy per expected category, worst first.
pub fn by_category(outcomes: &[Outcome]) -> Vec<(String, usize, f64)> {
    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for o in outcomes {
        let entry = counts.entry(&o.case.category).or_default();
        entry.0 += 1;
        entry.1 += usize::from(o.correct());
    }
    let mut rows: Vec<(String, usize, f64)> = counts
        .into_iter()
        .map(|(c, (n, right))| (c.to_owned(), n, share(right, n)))
        .collect();
    rows.sort_by(|a, b| a.2.total_cmp(&b.2).then_with(|| a.0.cmp(&b.0)));
    rows
}

impl fmt::Display for Figures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct = |x: f64| format!("{:.1} %", 100.0 * x);
        writeln!(f, "cases                    {}", self.cases)?;
        writeln!(
            f,
            "category                 {}",
            pct(self.category_accuracy)
        )?;
        writeln!(
            f,
            "administration           {}",
            pct(self.administration_accuracy)
        )?;
        writeln!(
            f,
            "triage                   {}   (threshold {}, confidential {})",
            pct(self.triage_share),
            self.thresholds.triage,
            self.thresholds.confidential
        )?;
        writeln!(
            f,
            "auto-routed correct      {}",
            pct(self.auto_routed_accuracy)
        )?;
        writeln!(f, "confidential crossings   {}", self.crossings)?;
        if self.emergencies > 0 {
            writeln!(
                f,
                "emergency recall         {}   ({} emergencies)",
                pct(self.emergency_recall),
                self.emergencies
            )?;
            writeln!(f, "false 112 alarms         {}", pct(self.false_alarms))?;
        }
        for (language, (n, accuracy)) in &self.by_language {
            writeln!(f, "category, {language:<3} ({n:>4})    {}", pct(*accuracy))?;
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
                emergency: 0.0,
                text_only: Vec::new(),
                hint: None,
            }
        }
        fn emergency(&self, _: &str) -> f64 {
            0.0
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

    const AT: Thresholds = Thresholds {
        triage: 0.5,
        confidential: 0.8,
    };

    #[test]
    fn accuracy_counts_categories_and_administrations_separately() {
        let catalogue = Catalogue::sample().unwrap();
        let outcomes = classify_all(&Always("street_lighting", 0.9), &cases());
        let f = figures(&catalogue, &outcomes, AT);
        assert!((f.category_accuracy - 1.0 / 3.0).abs() < 1e-9);
        assert!((f.administration_accuracy - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(confusions(&outcomes).len(), 2);
        assert_eq!(by_category(&outcomes)[0].2, 0.0);
    }

    #[test]
    fn requests_below_the_threshold_count_as_triage() {
        let catalogue = Catalogue::sample().unwrap();
        let outcomes = classify_all(&Always("street_lighting", 0.4), &cases());
        let low = Thresholds { triage: 0.3, ..AT };
        assert_eq!(figures(&catalogue, &outcomes, low).triage_share, 0.0);
        let f = figures(&catalogue, &outcomes, AT);
        assert_eq!(f.triage_share, 1.0);
        assert!(
            f.to_string().contains("triage                   100.0 %"),
            "{f}"
        );
    }

    #[test]
    fn calibration_compares_confidence_with_how_often_it_was_right() {
        let outcomes = classify_all(&Always("street_lighting", 0.95), &cases());
        let points: Vec<_> = outcomes.iter().map(Outcome::confidence_and_right).collect();
        let c = calibration(&points);
        let [(low, n, confidence, accuracy)] = c.bins[..] else {
            panic!("{:?}", c.bins);
        };
        assert_eq!((low, n, accuracy), (0.9, 3, 1.0 / 3.0));
        assert!((confidence - 0.95).abs() < 1e-9);
        assert!((c.expected_error - (0.95 - 1.0 / 3.0)).abs() < 1e-9);
        assert!(c.to_string().contains("0.9–1.0"), "{c}");
    }

    #[test]
    fn a_routed_request_on_the_wrong_side_of_the_confidential_boundary_is_a_crossing() {
        let catalogue = Catalogue::sample().unwrap();
        let mut cases = cases();
        for case in &mut cases {
            case.text = format!("{} vid förskolan", case.text);
        }
        let outcomes = classify_all(&Always("financial_assistance", 0.95), &cases);
        assert_eq!(figures(&catalogue, &outcomes, AT).crossings, 3);
    }
}
