//! Measures the classifier on labelled requests (JSON lines
//! `{"text": …, "category": …}`): category and administration accuracy,
//! accuracy of what is auto-routed, the share sent to triage, the worst
//! confusions, and how those move with the triage threshold.
//!
//! `cargo run --release --bin envagin-eval -- ../shared/devset.jsonl`

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use envagin::domain::catalogue::Catalogue;
use envagin::domain::classifier::BayesClassifier;
use envagin::domain::eval::{evaluate, parse_jsonl};

const THRESHOLDS: [f64; 9] = [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7];

#[derive(Parser)]
#[command(name = "envagin-eval")]
struct Args {
    /// JSON lines of labelled requests.
    file: PathBuf,
    /// Triage threshold to report at (the server's default unless given).
    #[arg(long, env = "ENVAGIN_TRIAGE_THRESHOLD", default_value_t = 0.4)]
    threshold: f64,
    /// Catalogue file instead of the built-in sample.
    #[arg(long, env = "ENVAGIN_CATALOGUE")]
    catalogue: Option<PathBuf>,
}

fn run(args: &Args) -> Result<(), String> {
    let input =
        std::fs::read_to_string(&args.file).map_err(|e| format!("{}: {e}", args.file.display()))?;
    let cases = parse_jsonl(&input).map_err(|e| format!("{}: {e}", args.file.display()))?;
    let catalogue = match &args.catalogue {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            Catalogue::parse(&text)
        }
        None => Catalogue::sample(),
    }
    .map_err(|e| e.to_string())?;
    let classifier = BayesClassifier::new(&catalogue);
    let report = evaluate(&classifier, &catalogue, &cases, args.threshold);
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
