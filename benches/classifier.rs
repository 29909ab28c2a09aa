//! Prints how long one classification of a 500-character request takes and
//! how long a rebuild from the catalogue plus 10,000 corrections takes.
//! Run with `cargo bench --bench classifier`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use envagin::domain::catalogue::Catalogue;
use envagin::domain::classifier::{BayesClassifier, Classifier, ClassifyRequest};

const REQUEST: &str = "Hej! Jag skriver för att gatlampan utanför vårt hus på Björkvägen har \
varit släckt i över två veckor nu. Det är becksvart på kvällarna och barnen går hem från \
fritids i mörkret, vilket känns otryggt. Dessutom har snöröjningen missat vår återvändsgränd \
två gånger och det är väldigt halt vid busshållplatsen. Kan ni skicka någon som lagar lampan \
och sandar gångvägen? Tack på förhand, och hör gärna av er om ni behöver mer information! \
Jag bor här med min familj sedan många år och har aldrig haft problem med belysningen förut.";

const CORRECTIONS: usize = 10_000;
const ROUNDS: u32 = 2_000;

fn corrections(catalogue: &Catalogue) -> Vec<(String, String)> {
    let examples: Vec<(String, String)> = catalogue
        .categories()
        .iter()
        .flat_map(|c| c.examples.all().map(|e| (e.clone(), c.code.clone())))
        .collect();
    (0..CORRECTIONS)
        .map(|i| {
            let (text, code) = &examples[i % examples.len()];
            (format!("{text} ärende {i}"), code.clone())
        })
        .collect()
}

fn per_classification(classifier: &BayesClassifier) -> Duration {
    let text: String = REQUEST.chars().take(500).collect();
    let request = ClassifyRequest {
        text: &text,
        category_hint: None,
    };
    let start = Instant::now();
    for _ in 0..ROUNDS {
        black_box(classifier.classify(black_box(&request)));
    }
    start.elapsed() / ROUNDS
}

fn rebuild(catalogue: &Catalogue, corrections: &[(String, String)]) -> (BayesClassifier, Duration) {
    let start = Instant::now();
    let classifier = BayesClassifier::new(catalogue);
    for (text, code) in corrections {
        classifier.learn(text, code);
    }
    let elapsed = start.elapsed();
    (classifier, elapsed)
}

fn main() -> Result<(), String> {
    let catalogue = Catalogue::sample().map_err(|e| e.to_string())?;
    let corrections = corrections(&catalogue);
    let fresh = BayesClassifier::new(&catalogue);
    println!(
        "classify 500 chars, catalogue only: {:?} per request",
        per_classification(&fresh)
    );
    let (rebuilt, elapsed) = rebuild(&catalogue, &corrections);
    println!("rebuild from catalogue + {CORRECTIONS} corrections: {elapsed:?}");
    println!(
        "classify 500 chars, after {CORRECTIONS} corrections: {:?} per request",
        per_classification(&rebuilt)
    );
    Ok(())
}
