//! The classifier seam: every routing decision asks a `Classifier`. The
//! implementation here is a multinomial naive Bayes model over stems,
//! learned from the catalogue's words, names, descriptions and example
//! phrases, and from every correction a person makes afterwards.

use std::collections::HashMap;
use std::sync::RwLock;

use super::Language;
use super::analysis::{Analyzer, Term};
use super::catalogue::{Catalogue, CategoryDef, LocalizedList};

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

/// Catalogue words are chosen to be distinctive, so they count more than
/// a word that merely occurs in an example sentence.
const WORD_WEIGHT: f64 = 2.0;
const EXAMPLE_WEIGHT: f64 = 1.0;
const NAME_WEIGHT: f64 = 2.0;
const DESCRIPTION_WEIGHT: f64 = 1.0;
/// A person's correction is real traffic in the resident's own words; a
/// few identical corrections must outweigh the catalogue for that phrasing.
const CORRECTION_WEIGHT: f64 = 3.0;
/// Additive smoothing: small, because the catalogue is small and clean.
const SMOOTHING: f64 = 0.1;
/// Log-odds the resident's own pick adds: enough to decide a vague text,
/// too little to overrule a text that clearly says something else.
const HINT_BOOST: f64 = 4.0;
/// Scales log-likelihoods into confidences; chosen with NONE_MARGIN by
/// measurement on labelled requests (see `eval`).
const TEMPERATURE: f64 = 0.8;
/// Log-likelihood a category must gain over the catalogue-wide average
/// before it draws probability away from "none of them": vague text and
/// gibberish stay below the triage threshold.
const NONE_MARGIN: f64 = 2.0;
const MAX_CANDIDATES: usize = 5;
const EXPLAINED_WORDS: usize = 3;

pub struct BayesClassifier {
    analyzer: Analyzer,
    categories: Vec<String>,
    model: RwLock<Model>,
}

impl BayesClassifier {
    pub fn new(catalogue: &Catalogue) -> Self {
        let analyzer = Analyzer::new(catalogue.categories().iter().flat_map(category_texts));
        let categories: Vec<String> = catalogue
            .categories()
            .iter()
            .map(|c| c.code.clone())
            .collect();
        let mut model = Model::new(categories.len());
        for (class, category) in catalogue.categories().iter().enumerate() {
            for (text, language, weight) in weighted_texts(category) {
                model.add(class, &analyzer.terms_in(text, language), weight);
            }
        }
        Self {
            analyzer,
            categories,
            model: RwLock::new(model),
        }
    }

    fn class_of(&self, code: &str) -> Option<usize> {
        self.categories.iter().position(|c| c == code)
    }
}

fn localized(list: &LocalizedList) -> impl Iterator<Item = (&str, Language)> {
    let sv = list.sv.iter().map(|t| (t.as_str(), Language::Sv));
    sv.chain(list.en.iter().map(|t| (t.as_str(), Language::En)))
}

fn weighted_texts(category: &CategoryDef) -> Vec<(&str, Language, f64)> {
    let mut texts = vec![
        (category.name.sv.as_str(), Language::Sv, NAME_WEIGHT),
        (category.name.en.as_str(), Language::En, NAME_WEIGHT),
    ];
    if let Some(d) = &category.description {
        texts.push((d.sv.as_str(), Language::Sv, DESCRIPTION_WEIGHT));
        texts.push((d.en.as_str(), Language::En, DESCRIPTION_WEIGHT));
    }
    texts.extend(localized(&category.words).map(|(t, l)| (t, l, WORD_WEIGHT)));
    texts.extend(localized(&category.examples).map(|(t, l)| (t, l, EXAMPLE_WEIGHT)));
    texts
}

fn category_texts(category: &CategoryDef) -> Vec<(&str, Language)> {
    weighted_texts(category)
        .into_iter()
        .map(|(t, l, _)| (t, l))
        .collect()
}

impl Classifier for BayesClassifier {
    fn learn(&self, text: &str, category: &str) {
        let Some(class) = self.class_of(category) else {
            return;
        };
        let terms = self.analyzer.terms(text);
        if let Ok(mut model) = self.model.write() {
            model.add(class, &terms, CORRECTION_WEIGHT);
        }
    }

    fn classify(&self, request: &ClassifyRequest<'_>) -> Classification {
        let terms = self.analyzer.terms(request.text);
        let hint = request.category_hint.and_then(|h| self.class_of(h));
        let Ok(model) = self.model.read() else {
            return unclassified("the model is unavailable");
        };
        let evidence = model.evidence(&terms);
        let posterior = posterior(&evidence, hint);
        let mut ranked: Vec<(usize, f64)> = posterior.into_iter().enumerate().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(MAX_CANDIDATES);
        let Some(&(best, _)) = ranked.first() else {
            return unclassified("the catalogue has no categories");
        };
        let explanation = self.explain(&model, &terms, best, hint);
        Classification {
            candidates: ranked
                .into_iter()
                .map(|(class, confidence)| Candidate {
                    category: self.categories[class].clone(),
                    confidence,
                })
                .collect(),
            explanation,
        }
    }
}

impl BayesClassifier {
    fn explain(&self, model: &Model, terms: &[Term], best: usize, hint: Option<usize>) -> String {
        let code = &self.categories[best];
        let words = model.deciding_words(terms, best);
        let because = if words.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
            format!("{} → {code}", quoted.join(", "))
        };
        match hint.map(|h| &self.categories[h]) {
            Some(h) if h == code && because.is_empty() => format!("resident chose {code}"),
            Some(h) if h == code => format!("{because} (resident chose {code})"),
            Some(h) => format!("{because} (overrules the resident's choice {h})"),
            None if because.is_empty() => "no catalogue words found".to_owned(),
            None => because,
        }
    }
}

fn unclassified(why: &str) -> Classification {
    Classification {
        candidates: Vec::new(),
        explanation: why.to_owned(),
    }
}

/// What the text says about each category: summed log-likelihoods, and
/// the same for the catalogue-wide average as the reference point.
struct Evidence {
    per_class: Vec<f64>,
    background: f64,
}

/// Probabilities over the categories plus an implicit "none of them",
/// which keeps weak evidence from looking like certainty.
fn posterior(evidence: &Evidence, hint: Option<usize>) -> Vec<f64> {
    let scores: Vec<f64> = evidence
        .per_class
        .iter()
        .enumerate()
        .map(|(class, s)| {
            let boost = if Some(class) == hint { HINT_BOOST } else { 0.0 };
            (s - evidence.background + boost) / TEMPERATURE
        })
        .collect();
    let none = NONE_MARGIN / TEMPERATURE;
    let top = scores.iter().copied().fold(none, f64::max);
    let exp: Vec<f64> = scores.iter().map(|s| (s - top).exp()).collect();
    let total = exp.iter().sum::<f64>() + (none - top).exp();
    exp.into_iter().map(|e| e / total).collect()
}

/// Term counts per category, in tenths so that sums are exact integers:
/// replaying the same corrections in any order rebuilds the same model.
struct Model {
    index: HashMap<String, usize>,
    /// Row per term, column per category.
    counts: Vec<Vec<u64>>,
    totals: Vec<u64>,
}

fn tenths(weight: f64) -> u64 {
    (weight * 10.0).round().max(0.0) as u64
}

impl Model {
    fn new(classes: usize) -> Self {
        Self {
            index: HashMap::new(),
            counts: Vec::new(),
            totals: vec![0; classes],
        }
    }

    fn add(&mut self, class: usize, terms: &[Term], weight: f64) {
        let classes = self.totals.len();
        for term in terms {
            let row = *self.index.entry(term.key.clone()).or_insert_with(|| {
                self.counts.push(vec![0; classes]);
                self.counts.len() - 1
            });
            let amount = tenths(weight * term.weight);
            self.counts[row][class] += amount;
            self.totals[class] += amount;
        }
    }

    fn log_likelihoods(&self, row: usize) -> Vec<f64> {
        let vocabulary = self.counts.len() as f64;
        self.counts[row]
            .iter()
            .zip(&self.totals)
            .map(|(n, total)| {
                let (n, total) = (*n as f64 / 10.0, *total as f64 / 10.0);
                ((n + SMOOTHING) / (total + SMOOTHING * vocabulary)).ln()
            })
            .collect()
    }

    fn evidence(&self, terms: &[Term]) -> Evidence {
        let mut evidence = Evidence {
            per_class: vec![0.0; self.totals.len()],
            background: 0.0,
        };
        for term in terms {
            let Some(&row) = self.index.get(&term.key) else {
                continue;
            };
            let logs = self.log_likelihoods(row);
            for (sum, l) in evidence.per_class.iter_mut().zip(&logs) {
                *sum += term.weight * l;
            }
            evidence.background += term.weight * mean_probability(&logs).ln();
        }
        evidence
    }

    /// The resident's words that pointed most strongly at `class`.
    fn deciding_words(&self, terms: &[Term], class: usize) -> Vec<String> {
        let mut lifts: Vec<(f64, &str)> = terms
            .iter()
            .filter_map(|t| {
                let logs = self.log_likelihoods(*self.index.get(&t.key)?);
                let lift = logs[class] - mean_probability(&logs).ln();
                (lift > 1.0).then_some((lift * t.weight, t.surface.as_str()))
            })
            .collect();
        lifts.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut words: Vec<String> = Vec::new();
        for (_, surface) in lifts {
            if !words.iter().any(|w| w == surface) && words.len() < EXPLAINED_WORDS {
                words.push(surface.to_owned());
            }
        }
        words
    }
}

fn mean_probability(logs: &[f64]) -> f64 {
    logs.iter().map(|l| l.exp()).sum::<f64>() / logs.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classifier() -> BayesClassifier {
        BayesClassifier::new(&Catalogue::sample().unwrap())
    }

    fn classify_with(c: &BayesClassifier, text: &str, hint: Option<&str>) -> Classification {
        c.classify(&ClassifyRequest {
            text,
            category_hint: hint,
        })
    }

    fn best(text: &str) -> (String, f64) {
        let c = classify_with(&classifier(), text, None);
        let b = c.best().unwrap();
        (b.category.clone(), b.confidence)
    }

    #[test]
    fn a_broken_street_light_goes_to_street_lighting_and_says_why() {
        let c = classify_with(
            &classifier(),
            "Gatlampan utanför mitt hus är trasig och lyser inte",
            None,
        );
        assert_eq!(c.best().unwrap().category, "street_lighting");
        assert!(c.explanation.contains("\"gatlampan\""), "{}", c.explanation);
        assert!(c.explanation.contains("→ street_lighting"));
    }

    #[test]
    fn compound_words_are_understood() {
        assert_eq!(
            best("Vattenläckan på vår gata är stor nu").0,
            "water_and_sewage"
        );
        assert_eq!(best("snöröjningen har inte kommit").0, "snow_and_ice");
        assert_eq!(best("lekplatsgungan är sönder").0, "parks_and_playgrounds");
    }

    #[test]
    fn missing_diacritics_still_match() {
        assert_eq!(
            best("Ingen snorojning har gjorts pa var gata").0,
            "snow_and_ice"
        );
        assert_eq!(best("sophamtningen har missat oss").0, "waste_collection");
    }

    #[test]
    fn typos_in_longer_words_still_match() {
        assert_eq!(best("gatlamppan blinkar hela natten").0, "street_lighting");
        assert_eq!(best("när komer sophämtnigen").0, "waste_collection");
    }

    #[test]
    fn english_requests_are_classified_too() {
        assert_eq!(
            best("The streetlight on my road is out").0,
            "street_lighting"
        );
        assert_eq!(
            best("my bin wasn't emptied this week").0,
            "waste_collection"
        );
    }

    #[test]
    fn another_authoritys_matter_goes_to_its_referral_category() {
        assert_eq!(
            best("kan ni boka en tid åt mig på min vårdcentral").0,
            "ext_healthcare"
        );
        assert_eq!(best("jag har frågor om deklarationen").0, "ext_tax_agency");
        assert_eq!(
            best("Det är stora hål i vägbanan på E20").0,
            "ext_state_roads"
        );
    }

    #[test]
    fn a_clear_text_overrules_a_wrong_hint() {
        let c = classify_with(
            &classifier(),
            "the street light outside is broken",
            Some("waste_collection"),
        );
        assert_eq!(c.best().unwrap().category, "street_lighting");
        assert!(c.explanation.contains("overrules"), "{}", c.explanation);
    }

    #[test]
    fn a_hint_decides_a_vague_text_and_an_unknown_hint_is_ignored() {
        let c = classifier();
        let hinted = classify_with(&c, "hej, en fråga", Some("library"));
        assert_eq!(hinted.best().unwrap().category, "library");
        assert!(hinted.best().unwrap().confidence >= 0.5);
        let unknown = classify_with(&c, "hej, en fråga", Some("no_such_category"));
        assert!(unknown.best().unwrap().confidence < 0.3);
    }

    #[test]
    fn gibberish_and_very_vague_text_get_low_confidence() {
        assert!(best("asdf qwerty zxcvb").1 < 0.2);
        assert!(best("hej, jag har en fråga").1 < 0.4);
        assert!(best("Hello, can you help me?").1 < 0.4);
    }

    #[test]
    fn a_clear_request_gets_high_confidence() {
        assert!(best("Det är ett djupt potthål i asfalten på Storgatan").1 > 0.8);
    }

    #[test]
    fn a_few_corrections_change_the_outcome_for_that_phrasing() {
        let c = classifier();
        let text = "Det luktar konstigt i trapphuset från grannens lägenhet";
        for _ in 0..3 {
            c.learn(text, "complaints_and_feedback");
        }
        let after = classify_with(&c, text, None);
        assert_eq!(after.best().unwrap().category, "complaints_and_feedback");
    }

    #[test]
    fn rebuilding_from_the_catalogue_and_corrections_gives_the_same_result() {
        let corrections = [
            ("Fontänen på torget är avstängd", "parks_and_playgrounds"),
            (
                "Ljudet från fläkten på taket stör",
                "environment_and_health",
            ),
            ("Fontänen på torget sprutar inte", "parks_and_playgrounds"),
        ];
        let (first, second) = (classifier(), classifier());
        for (text, category) in corrections {
            first.learn(text, category);
        }
        for (text, category) in corrections.iter().rev() {
            second.learn(text, category);
        }
        for text in ["fontänen är trasig", "fläkten låter", "gatlampan"] {
            assert_eq!(
                classify_with(&first, text, None),
                classify_with(&second, text, None)
            );
        }
    }

    #[test]
    fn a_correction_to_an_unknown_category_is_ignored() {
        let c = classifier();
        c.learn("gatlampan", "no_such_category");
        assert_eq!(best("gatlampan").0, "street_lighting");
    }
}
