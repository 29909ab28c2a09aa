//! The classifier seam: every routing decision asks a `Classifier`.
//!
//! The model is a multinomial logistic regression over hashed words,
//! stems, word pairs and character n-grams (`features`, `softmax`),
//! trained on the labelled corpus shipped in `corpus/training` and on the
//! catalogue's own words, names and examples, and corrected afterwards by
//! every reroute a person makes.

use std::sync::{Arc, RwLock};

use linear_model::features::{Extractor, FeatureVector};
pub use linear_model::softmax::Training;
pub use linear_model::softmax::fit_temperature;
use linear_model::softmax::{Delta, Example, Weights, softmax_in_place};

use crate::domain::Language;
use crate::domain::analysis::{MAX_ANALYSED_WORDS, subject_word_count};
use crate::domain::catalogue::{Catalogue, CategoryDef, LocalizedList};
use crate::domain::corpus;
use crate::domain::eval::LabelledCase;
use crate::domain::text::tokens;

/// What the model sees of a text.
fn features(extractor: &Extractor, text: &str) -> FeatureVector {
    extractor.features(&tokens(text), MAX_ANALYSED_WORDS)
}

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
    /// How likely the text describes a situation that needs 112 now.
    pub emergency: f64,
    /// The candidates by the text alone, before the resident's pick: what
    /// the words say, which a pick must not talk away (or into) secrecy.
    pub text_only: Vec<Candidate>,
    /// The resident's pick, when it names a category.
    pub hint: Option<String>,
}

impl Classification {
    pub fn best(&self) -> Option<&Candidate> {
        self.candidates.first()
    }
}

pub trait Classifier: Send + Sync {
    fn classify(&self, request: &ClassifyRequest<'_>) -> Classification;

    /// How likely the text describes a situation that needs 112 now (0–1).
    fn emergency(&self, text: &str) -> f64;

    /// A person decided that `text` belongs to `category`; later requests
    /// should benefit at once, without a restart.
    fn learn(&self, text: &str, category: &str);
}

/// Divides the logits before the softmax, so that a confidence of 0.7
/// is right about 7 times in 10 on text the model never saw and
/// `ENVAGIN_TRIAGE_THRESHOLD` means what it says. Fitted by `envagin-eval`
/// on the cross-validated scores of writers held out one at a time (it
/// prints the fit and the calibration error), never on the evaluation
/// split.
pub const CALIBRATED_TEMPERATURE: f32 = 0.76;
/// How often a resident's own pick of category is right, taken as the
/// prior the pick gives: a vague text keeps the pick, a clear text about
/// something else overrules it.
const HINT_RELIABILITY: f64 = 0.7;
/// Below this confidence, or without a single word of subject matter, the
/// text says too little to judge by: the resident's pick decides alone,
/// and without a pick the request waits for a person.
const INFORMATION_FLOOR: f64 = 0.25;
/// How much of the model's opinion survives in a text without subject
/// words ("Hello, can you help me?"): the rest is spread evenly, so such a
/// text stays below any sensible triage threshold.
const SUBJECTLESS_TRUST: f64 = 0.3;
/// A person's correction is taught until the model gives that text to
/// the chosen category with this probability: the same words are then
/// routed as the person said, and similar words move towards it.
const CORRECTION_TARGET: f32 = 0.6;
const CORRECTION_RATE: f32 = 0.5;
const MAX_CORRECTION_STEPS: usize = 20;
/// The municipality's own words for a category weigh more than one
/// resident's text: they are few, and chosen to be distinctive.
const WORD_WEIGHT: f32 = 2.0;
const NAME_WEIGHT: f32 = 2.0;
const EXAMPLE_WEIGHT: f32 = 1.0;
const DESCRIPTION_WEIGHT: f32 = 1.0;
/// Emergencies are a few hundred texts among thousands, and missing one
/// is far worse than a needless line of advice: each counts this many times.
const EMERGENCY_WEIGHT: f32 = 4.0;
const MAX_CANDIDATES: usize = 5;
const EXPLAINED_WORDS: usize = 3;

/// The trained weights with the categories they score: built once per
/// catalogue and corpus, shared by every server of a process.
pub struct TrainedModel {
    categories: Vec<String>,
    weights: Weights,
    /// Two classes: ordinary (0) and a situation that needs 112 now (1).
    emergency: Weights,
}

impl TrainedModel {
    /// The model every server trains: the shipped corpus and the catalogue.
    pub fn shipped(catalogue: &Catalogue) -> Self {
        Self::with_history(catalogue, Vec::new())
    }

    /// The shipped model with the operator's own labelled history added
    /// to the routing examples.
    pub fn with_history(catalogue: &Catalogue, history: Vec<LabelledCase>) -> Self {
        let mut routing = corpus::routing();
        routing.extend(history);
        Self::train(
            catalogue,
            &routing,
            &corpus::training(),
            (&Training::default(), &Training::for_emergencies()),
        )
    }

    /// Bytes the weights take in memory.
    pub fn size_in_bytes(&self) -> usize {
        self.weights.size_in_bytes() + self.emergency.size_in_bytes()
    }

    /// Learns categories from `routing` and the catalogue, and 112
    /// situations from the `emergency` flags of `emergencies`, each model
    /// with its own settings.
    pub fn train(
        catalogue: &Catalogue,
        routing: &[LabelledCase],
        emergencies: &[LabelledCase],
        (training, emergency_training): (&Training, &Training),
    ) -> Self {
        let extractor = Extractor::default();
        let categories: Vec<String> = catalogue
            .categories()
            .iter()
            .map(|c| c.code.clone())
            .collect();
        let class_of = |code: &str| categories.iter().position(|c| c == code);
        let mut examples = Vec::new();
        for (class, category) in catalogue.categories().iter().enumerate() {
            for (text, weight) in weighted_texts(category) {
                examples.push(Example {
                    features: features(&extractor, text),
                    class,
                    weight,
                });
            }
        }
        for case in routing {
            if let Some(class) = class_of(&case.category) {
                examples.push(Example {
                    features: features(&extractor, &case.text),
                    class,
                    weight: 1.0,
                });
            }
        }
        examples.retain(|e| !e.features.is_empty());
        // The 112 model is learned beside the category model, on a second
        // core where there is one: start-up waits for the slower only.
        let (weights, emergency) = std::thread::scope(|scope| {
            let emergency = scope.spawn(|| {
                let extractor = Extractor::default();
                let flagged: Vec<Example> = emergencies
                    .iter()
                    .map(|case| Example {
                        features: features(&extractor, &case.text),
                        class: usize::from(case.emergency),
                        weight: if case.emergency {
                            EMERGENCY_WEIGHT
                        } else {
                            1.0
                        },
                    })
                    .filter(|e| !e.features.is_empty())
                    .collect();
                Weights::train(&flagged, 2, emergency_training)
            });
            let weights = Weights::train(&examples, categories.len(), training);
            (weights, emergency.join())
        });
        Self {
            categories,
            weights,
            emergency: emergency.unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        }
    }
}

fn localized(list: &LocalizedList) -> impl Iterator<Item = (&str, Language)> {
    let sv = list.sv.iter().map(|t| (t.as_str(), Language::Sv));
    sv.chain(list.en.iter().map(|t| (t.as_str(), Language::En)))
}

/// The catalogue's own texts about a category, as training examples.
fn weighted_texts(category: &CategoryDef) -> Vec<(&str, f32)> {
    let mut texts = vec![
        (category.name.sv.as_str(), NAME_WEIGHT),
        (category.name.en.as_str(), NAME_WEIGHT),
    ];
    if let Some(d) = &category.description {
        texts.push((d.sv.as_str(), DESCRIPTION_WEIGHT));
        texts.push((d.en.as_str(), DESCRIPTION_WEIGHT));
    }
    texts.extend(localized(&category.words).map(|(t, _)| (t, WORD_WEIGHT)));
    texts.extend(localized(&category.examples).map(|(t, _)| (t, EXAMPLE_WEIGHT)));
    texts
}

pub struct LinearClassifier {
    extractor: Extractor,
    model: Arc<TrainedModel>,
    corrections: RwLock<Delta>,
    temperature: f32,
}

impl LinearClassifier {
    pub fn new(model: Arc<TrainedModel>) -> Self {
        Self {
            extractor: Extractor::default(),
            model,
            corrections: RwLock::new(Delta::default()),
            temperature: CALIBRATED_TEMPERATURE,
        }
    }

    /// The same model with another temperature, for fitting it.
    pub fn with_temperature(self, temperature: f32) -> Self {
        Self {
            temperature,
            ..self
        }
    }

    /// The model's raw class scores for a text, corrections included, in
    /// the catalogue's order of categories.
    pub fn scores(&self, text: &str) -> Vec<f32> {
        let x = features(&self.extractor, text);
        match self.corrections.read() {
            Ok(corrections) => self.model.weights.logits(&x, &corrections),
            Err(_) => Vec::new(),
        }
    }

    /// The best candidates, best first.
    fn ranked(&self, probabilities: Vec<f64>) -> Vec<Candidate> {
        let mut ranked: Vec<(usize, f64)> = probabilities.into_iter().enumerate().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(MAX_CANDIDATES);
        ranked
            .into_iter()
            .map(|(class, confidence)| Candidate {
                category: self.model.categories[class].clone(),
                confidence,
            })
            .collect()
    }

    fn class_of(&self, code: &str) -> Option<usize> {
        self.model.categories.iter().position(|c| c == code)
    }

    fn probabilities(&self, x: &FeatureVector) -> Option<Vec<f64>> {
        let corrections = self.corrections.read().ok()?;
        let mut logits = self.model.weights.logits(x, &corrections);
        logits.iter_mut().for_each(|l| *l /= self.temperature);
        softmax_in_place(&mut logits);
        Some(logits.into_iter().map(f64::from).collect())
    }

    /// The resident's words that pointed most strongly at `class`.
    fn deciding_words(&self, text: &str, class: usize) -> Vec<String> {
        let Ok(corrections) = self.corrections.read() else {
            return Vec::new();
        };
        let mut lifts: Vec<(f32, String)> = Vec::new();
        for word in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() > 2)
            .take(MAX_ANALYSED_WORDS)
        {
            if lifts.iter().any(|(_, w)| w.eq_ignore_ascii_case(word)) {
                continue;
            }
            let x = features(&self.extractor, word);
            let logits = self.model.weights.logits(&x, &corrections);
            let mean = logits.iter().sum::<f32>() / logits.len().max(1) as f32;
            let lift = logits[class] - mean;
            if lift > 1.0 {
                lifts.push((lift, word.to_lowercase()));
            }
        }
        lifts.sort_by(|a, b| b.0.total_cmp(&a.0));
        lifts
            .into_iter()
            .take(EXPLAINED_WORDS)
            .map(|(_, w)| w)
            .collect()
    }

    fn explain(&self, text: &str, best: usize, hint: Option<usize>, by_hint: bool) -> String {
        let code = &self.model.categories[best];
        let words = self.deciding_words(text, best);
        let because = if words.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
            format!("{} → {code}", quoted.join(", "))
        };
        match hint.map(|h| &self.model.categories[h]) {
            Some(h) if h == code && (by_hint || because.is_empty()) => {
                format!("resident chose {code}; the text says too little to judge by")
            }
            Some(h) if h == code => format!("{because} (resident chose {code})"),
            Some(h) => format!("{because} (overrules the resident's choice {h})"),
            None if because.is_empty() => "no telling words found".to_owned(),
            None => because,
        }
    }
}

fn shrunk(probabilities: Vec<f64>) -> Vec<f64> {
    let even = 1.0 / probabilities.len().max(1) as f64;
    probabilities
        .into_iter()
        .map(|p| SUBJECTLESS_TRUST * p + (1.0 - SUBJECTLESS_TRUST) * even)
        .collect()
}

/// The resident's pick as a prior: posterior ∝ text likelihood × prior,
/// with the pick right `HINT_RELIABILITY` of the time.
fn with_hint(probabilities: &[f64], hint: usize) -> Vec<f64> {
    let others = (probabilities.len().max(2) - 1) as f64;
    let boost = HINT_RELIABILITY * others / (1.0 - HINT_RELIABILITY);
    let weighted: Vec<f64> = probabilities
        .iter()
        .enumerate()
        .map(|(k, p)| if k == hint { p * boost } else { *p })
        .collect();
    let total: f64 = weighted.iter().sum();
    weighted.into_iter().map(|p| p / total).collect()
}

impl Classifier for LinearClassifier {
    fn classify(&self, request: &ClassifyRequest<'_>) -> Classification {
        let x = features(&self.extractor, request.text);
        let Some(unhinted) = self.probabilities(&x) else {
            return unclassified("the model is unavailable");
        };
        let hint = request.category_hint.and_then(|h| self.class_of(h));
        let subjectless = subject_word_count(request.text) == 0;
        let unhinted = if subjectless {
            shrunk(unhinted)
        } else {
            unhinted
        };
        let says_little =
            subjectless || unhinted.iter().copied().fold(0.0, f64::max) < INFORMATION_FLOOR;
        let text_only = unhinted.clone();
        let mut posterior = match hint {
            Some(h) => with_hint(&unhinted, h),
            None => unhinted,
        };
        let by_hint = match hint {
            Some(h) if says_little => {
                posterior[h] = posterior[h].max(HINT_RELIABILITY);
                true
            }
            _ => false,
        };
        let ranked = self.ranked(posterior);
        let Some(best) = ranked.first().and_then(|c| self.class_of(&c.category)) else {
            return unclassified("the catalogue has no categories");
        };
        Classification {
            emergency: self.emergency(request.text),
            explanation: self.explain(request.text, best, hint, by_hint),
            candidates: ranked,
            text_only: self.ranked(text_only),
            hint: hint.map(|h| self.model.categories[h].clone()),
        }
    }

    /// Zero for a text without subject words ("han", "och", "nu"): the
    /// model has nothing to judge by, and the catalogue's phrases still
    /// apply.
    fn emergency(&self, text: &str) -> f64 {
        if subject_word_count(text) == 0 {
            return 0.0;
        }
        let mut p = self
            .model
            .emergency
            .logits(&features(&self.extractor, text), &Delta::default());
        softmax_in_place(&mut p);
        f64::from(p[1])
    }

    fn learn(&self, text: &str, category: &str) {
        let Some(class) = self.class_of(category) else {
            return;
        };
        let x = features(&self.extractor, text);
        if let Ok(mut corrections) = self.corrections.write() {
            self.model.weights.correct(
                &mut corrections,
                &x,
                class,
                CORRECTION_RATE,
                (CORRECTION_TARGET, MAX_CORRECTION_STEPS),
            );
        }
    }
}

fn unclassified(why: &str) -> Classification {
    Classification {
        candidates: Vec::new(),
        explanation: why.to_owned(),
        emergency: 0.0,
        text_only: Vec::new(),
        hint: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::OnceLock;

    /// Trained once for all tests here: the same model every server gets.
    fn classifier() -> LinearClassifier {
        static MODEL: OnceLock<Arc<TrainedModel>> = OnceLock::new();
        let model = MODEL.get_or_init(|| {
            let catalogue = Catalogue::sample().unwrap();
            Arc::new(TrainedModel::shipped(&catalogue))
        });
        LinearClassifier::new(model.clone())
    }

    fn classify_with(c: &LinearClassifier, text: &str, hint: Option<&str>) -> Classification {
        c.classify(&ClassifyRequest {
            text,
            category_hint: hint,
        })
    }

    fn best(text: &str) -> (String, f64) {
        best_with(&classifier(), text)
    }

    fn best_with(c: &LinearClassifier, text: &str) -> (String, f64) {
        let c = classify_with(c, text, None);
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
    fn the_residents_pick_stands_when_the_text_says_nothing() {
        let c = classifier();
        for text in ["it happened again", "hej, en fråga", "Det har hänt igen!!"] {
            let hinted = classify_with(&c, text, Some("library"));
            assert_eq!(hinted.best().unwrap().category, "library", "{text}");
            assert!(hinted.best().unwrap().confidence >= 0.5, "{text}");
            assert!(hinted.explanation.contains("resident chose library"));
        }
    }

    #[test]
    fn an_unknown_pick_is_ignored() {
        let c = classifier();
        let text = "hej, en fråga om gatlampan";
        assert_eq!(
            classify_with(&c, text, Some("no_such_category")),
            classify_with(&c, text, None)
        );
    }

    #[test]
    fn gibberish_and_very_vague_text_get_low_confidence() {
        // Well below the triage threshold (0.5): none of these is routed.
        assert!(best("asdf qwerty zxcvb").1 < 0.4);
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
    fn replaying_the_same_corrections_in_order_gives_the_same_result() {
        let corrections = [
            ("Fontänen på torget är avstängd", "parks_and_playgrounds"),
            (
                "Ljudet från fläkten på taket stör",
                "environment_and_health",
            ),
            ("Fontänen på torget sprutar inte", "parks_and_playgrounds"),
        ];
        let (first, second) = (classifier(), classifier());
        for c in [&first, &second] {
            for (text, category) in corrections {
                c.learn(text, category);
            }
        }
        for text in ["fontänen är trasig", "fläkten låter", "gatlampan"] {
            assert_eq!(
                classify_with(&first, text, None),
                classify_with(&second, text, None)
            );
        }
    }

    #[test]
    fn one_correction_routes_the_same_words_as_the_person_said() {
        let c = classifier();
        let text = "Fönsterluckan på förrådet slår i vinden";
        c.learn(text, "library");
        assert_eq!(best_with(&c, text).0, "library");
    }

    #[test]
    fn a_correction_to_an_unknown_category_is_ignored() {
        let c = classifier();
        c.learn("gatlampan", "no_such_category");
        assert_eq!(best("gatlampan").0, "street_lighting");
    }
}
