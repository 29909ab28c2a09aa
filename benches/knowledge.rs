//! Prints how long one `answers` lookup takes on a knowledge base of 1,000
//! articles (the sample, repeated with each copy's words varied), for the
//! queries a resident types while filling in the form.
//! Run with `cargo bench --bench knowledge`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use envagin::domain::Language;
use envagin::domain::knowledge::{IndexedArticle, KnowledgeIndex, SAMPLE, parse_collection};

const ARTICLES: usize = 1_000;
const QUERIES: [&str; 6] = [
    "när har återvinningscentralen öppet",
    "nar har atervinningscentralen oppet",
    "behöver jag bygglov för en friggebod på 15 kvadrat",
    "gatlampan utanför mitt hus lyser inte",
    "when is the recycling centre open",
    "min granne spelar hög musik varje natt och jag kan inte sova",
];
const ROUNDS: usize = 500;

fn main() {
    let sample = parse_collection(SAMPLE).expect("the sample parses");
    let copies: Vec<(i64, Language, String, String, Vec<String>)> = (0..ARTICLES)
        .map(|i| {
            let a = &sample[i % sample.len()];
            let language = Language::parse(&a.language).unwrap_or_default();
            let variant = i / sample.len();
            (
                i as i64,
                language,
                format!("{} (del {variant})", a.title),
                format!(
                    "{}\n\nOmråde {variant}: Exempelby distrikt {variant}.",
                    a.body
                ),
                a.keywords.clone(),
            )
        })
        .collect();
    let indexed: Vec<IndexedArticle<'_>> = copies
        .iter()
        .map(|(id, language, title, body, keywords)| IndexedArticle {
            id: *id,
            language: *language,
            title,
            body,
            keywords,
        })
        .collect();
    let started = Instant::now();
    let index = KnowledgeIndex::new(&indexed);
    println!(
        "index of {} articles built in {:?}",
        index.len(),
        started.elapsed()
    );

    let mut timings: Vec<Duration> = Vec::with_capacity(ROUNDS * QUERIES.len());
    for _ in 0..ROUNDS {
        for query in QUERIES {
            let started = Instant::now();
            black_box(index.answers(black_box(query), None, 3));
            timings.push(started.elapsed());
        }
    }
    timings.sort();
    let at = |q: f64| timings[((timings.len() as f64 * q) as usize).min(timings.len() - 1)];
    println!(
        "answers on {ARTICLES} articles: p50 {:?}, p99 {:?}, max {:?} ({} lookups)",
        at(0.5),
        at(0.99),
        timings[timings.len() - 1],
        timings.len()
    );
}
