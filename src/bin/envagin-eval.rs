//! Measures the classifier on labelled requests (JSON lines
//! `{"text": …, "category": …}`): category and administration accuracy,
//! accuracy of what is auto-routed, the share sent to triage, the worst
//! confusions, and how those move with the triage threshold.
//!
//! `cargo run --release --bin envagin-eval`

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use envagin::domain::catalogue::Catalogue;
use envagin::domain::classifier::{Classifier, LinearClassifier, TrainedModel, Training};
use envagin::domain::corpus;
use envagin::domain::eval::{EvalReport, LabelledCase, evaluate, parse_jsonl};

/// Which texts one fold tests on (by position and case).
type HeldOut = Box<dyn Fn(usize, &LabelledCase) -> bool>;

const THRESHOLDS: [f64; 9] = [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7];

#[derive(Parser)]
#[command(name = "envagin-eval")]
struct Args {
    /// JSON lines of labelled requests (default: the repository's evaluation split).
    files: Vec<PathBuf>,
    /// Triage threshold to report at (the server's default unless given).
    #[arg(long, env = "ENVAGIN_TRIAGE_THRESHOLD", default_value_t = 0.4)]
    threshold: f64,
    /// Catalogue file instead of the built-in sample.
    #[arg(long, env = "ENVAGIN_CATALOGUE")]
    catalogue: Option<PathBuf>,
    /// Also report k-fold cross-validation on the training corpus.
    #[arg(long)]
    folds: Option<usize>,
    /// Hold out one writer at a time instead of every k-th text.
    #[arg(long)]
    by_writer: bool,
    /// Writers not to test on (still trained on).
    #[arg(long)]
    skip: Vec<String>,
    /// Writers to leave out of training altogether.
    #[arg(long)]
    exclude: Vec<String>,
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    rate: Option<f32>,
    #[arg(long)]
    l2: Option<f32>,
}

fn read_cases(files: &[PathBuf]) -> Result<Vec<LabelledCase>, String> {
    let default = [PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/corpus/evaluation/e1.jsonl"
    ))];
    let files = if files.is_empty() {
        &default[..]
    } else {
        files
    };
    let mut cases = Vec::new();
    for file in files {
        let input =
            std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        cases.extend(parse_jsonl(&input).map_err(|e| format!("{}: {e}", file.display()))?);
    }
    Ok(cases)
}

fn training(args: &Args) -> Training {
    let mut t = Training::default();
    t.epochs = args.epochs.unwrap_or(t.epochs);
    t.learning_rate = args.rate.unwrap_or(t.learning_rate);
    t.l2 = args.l2.unwrap_or(t.l2);
    t
}

fn classifier(args: &Args, catalogue: &Catalogue, corpus: &[LabelledCase]) -> Box<dyn Classifier> {
    Box::new(LinearClassifier::new(Arc::new(TrainedModel::train(
        catalogue,
        corpus,
        &training(args),
    ))))
}

fn print_report(report: &EvalReport) {
    print!("{report}");
    println!("threshold  auto-routed accuracy  triage share");
    for t in report.thresholds(&THRESHOLDS) {
        println!(
            "{:>9.2}  {:>19.1} %  {:>10.1} %",
            t.threshold,
            100.0 * t.auto_routed_accuracy,
            100.0 * t.triage_share
        );
    }
}

fn run(args: &Args) -> Result<(), String> {
    let cases = read_cases(&args.files)?;
    let catalogue = match &args.catalogue {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            Catalogue::parse(&text)
        }
        None => Catalogue::sample(),
    }
    .map_err(|e| e.to_string())?;
    let corpus: Vec<LabelledCase> = corpus::routing()
        .into_iter()
        .filter(|c| !args.exclude.iter().any(|x| c.writer.as_deref() == Some(x)))
        .collect();
    if let Some(k) = args.folds {
        let mut outcomes = Vec::new();
        let writers: Vec<String> = {
            let mut w: Vec<String> = corpus.iter().filter_map(|c| c.writer.clone()).collect();
            w.sort();
            w.dedup();
            w
        };
        let folds: Vec<HeldOut> = if args.by_writer {
            writers
                .iter()
                .map(|w| {
                    let w = w.clone();
                    Box::new(move |_: usize, c: &LabelledCase| c.writer.as_deref() == Some(&w))
                        as HeldOut
                })
                .collect()
        } else {
            (0..k)
                .map(|f| Box::new(move |i: usize, _: &LabelledCase| i % k == f) as HeldOut)
                .collect()
        };
        for held_out in &folds {
            let train: Vec<LabelledCase> = corpus
                .iter()
                .enumerate()
                .filter(|(i, c)| !held_out(*i, c))
                .map(|(_, c)| c.clone())
                .collect();
            let test: Vec<LabelledCase> = corpus
                .iter()
                .enumerate()
                .filter(|(i, c)| {
                    held_out(*i, c) && !args.skip.iter().any(|s| c.writer.as_deref() == Some(s))
                })
                .map(|(_, c)| c.clone())
                .collect();
            let c = classifier(args, &catalogue, &train);
            outcomes.extend(evaluate(c.as_ref(), &catalogue, &test, args.threshold).outcomes);
        }
        println!("== {k}-fold cross-validation on the training corpus");
        print_report(&EvalReport {
            threshold: args.threshold,
            outcomes,
        });
    }
    let started = Instant::now();
    let c = classifier(args, &catalogue, &corpus);
    println!("== trained in {:.2} s", started.elapsed().as_secs_f64());
    print_report(&evaluate(c.as_ref(), &catalogue, &cases, args.threshold));
    Ok(())
}

fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
