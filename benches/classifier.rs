//! How long the classifier takes: training at start-up, one classification
//! of a 500-character request (median and 99th percentile), and the same
//! after 10,000 corrections; and how much memory the weights take.
//! Run with `cargo bench --bench classifier`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use envagin::domain::catalogue::Catalogue;
use envagin::domain::classifier::{Classifier, ClassifyRequest, LinearClassifier, TrainedModel};
use hdrhistogram::Histogram;

const REQUEST: &str = "Hej! Jag skriver för att gatlampan utanför vårt hus på Björkvägen har \
varit släckt i över två veckor nu. Det är becksvart på kvällarna och barnen går hem från \
fritids i mörkret, vilket känns otryggt. Dessutom har snöröjningen missat vår återvändsgränd \
två gånger och det är väldigt halt vid busshållplatsen. Kan ni skicka någon som lagar lampan \
och sandar gångvägen? Tack på förhand, och hör gärna av er om ni behöver mer information! \
Jag bor här med min familj sedan många år och har aldrig haft problem med belysningen förut.";

const CORRECTIONS: usize = 10_000;
const ROUNDS: u64 = 5_000;

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

fn timings(classifier: &LinearClassifier) -> Result<String, String> {
    let text: String = REQUEST.chars().take(500).collect();
    let request = ClassifyRequest {
        text: &text,
        category_hint: None,
    };
    let mut histogram = Histogram::<u64>::new(3).map_err(|e| e.to_string())?;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        black_box(classifier.classify(black_box(&request)));
        histogram
            .record(start.elapsed().as_micros() as u64)
            .map_err(|e| e.to_string())?;
    }
    Ok(format!(
        "p50 {} µs, p99 {} µs",
        histogram.value_at_quantile(0.5),
        histogram.value_at_quantile(0.99)
    ))
}

fn main() -> Result<(), String> {
    let catalogue = Catalogue::sample().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let model = Arc::new(TrainedModel::shipped(&catalogue));
    println!("train on corpus + catalogue: {:?}", start.elapsed());
    println!(
        "weights in memory: {:.1} MB",
        model.size_in_bytes() as f64 / 1e6
    );
    let classifier = LinearClassifier::new(model.clone());
    println!("classify 500 chars: {}", timings(&classifier)?);
    let start = Instant::now();
    for (text, code) in corrections(&catalogue) {
        classifier.learn(&text, &code);
    }
    println!("learn {CORRECTIONS} corrections: {:?}", start.elapsed());
    println!(
        "classify 500 chars after {CORRECTIONS} corrections: {}",
        timings(&classifier)?
    );
    Ok(())
}
