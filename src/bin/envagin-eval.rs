//! Measures routing on labelled requests the model never trained on, and
//! prints the tables the README's "Classification and routing" section
//! quotes:
//!
//! 1. the evaluation split (`corpus/evaluation`), written by a writer who
//!    wrote no training text: category, administration, triage share,
//!    auto-routed accuracy, confidential crossings, 112 recall and false
//!    alarms, per language and per category, and the worst confusions;
//! 2. cross-validation on the training corpus, holding out one writer at a
//!    time (routing) and every fifth text (112 detection);
//! 3. a learning curve: the evaluation split after 0, 10, 50 and 200 staff
//!    reroutes of requests from a writer the model did not train on.
//!
//! `cargo run --release --bin envagin-eval [-- FILE.jsonl …]`

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use envagin::domain::Language;
use envagin::domain::catalogue::Catalogue;
use envagin::domain::classifier::{
    CALIBRATED_TEMPERATURE, Classifier, LinearClassifier, TrainedModel, Training, fit_temperature,
};
use envagin::domain::corpus;
use envagin::domain::eval::{
    LabelledCase, Outcome, by_category, calibration, classify_all, confusions, figures, parse_jsonl,
};
use envagin::domain::language::other_language;
use envagin::domain::routing::{Thresholds, emergency_advice};
use linear_model::softmax::softmax_in_place;

const TRIAGE_THRESHOLDS: [f64; 7] = [0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7];
const CONFIDENTIAL_THRESHOLDS: [f64; 6] = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95];
const LEARNING_STEPS: [usize; 4] = [0, 10, 50, 200];
/// The writers whose texts play the part of live traffic in the learning
/// curve: the model is trained without them, and staff reroute the ones
/// it gets wrong. Three, so that there are over 200 such reroutes.
const TRAFFIC_WRITERS: [&str; 3] = ["w7", "w8", "w9"];
const SHOWN: usize = 10;

#[derive(Parser)]
#[command(name = "envagin-eval")]
struct Args {
    /// JSON lines of labelled requests (default: the repository's evaluation split).
    files: Vec<PathBuf>,
    #[arg(long, env = "ENVAGIN_TRIAGE_THRESHOLD", default_value_t = Thresholds::DEFAULT.triage)]
    threshold: f64,
    #[arg(long, env = "ENVAGIN_CONFIDENTIAL_THRESHOLD", default_value_t = Thresholds::DEFAULT.confidential)]
    confidential_threshold: f64,
    /// Catalogue file instead of the built-in sample.
    #[arg(long, env = "ENVAGIN_CATALOGUE")]
    catalogue: Option<PathBuf>,
    /// Only the evaluation split: no cross-validation, no learning curve.
    #[arg(long)]
    quick: bool,
    /// Only the 112 cross-validation, for choosing the 112 model's settings.
    #[arg(long)]
    emergencies_only: bool,
    /// Training settings, for choosing them by cross-validation.
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    rate: Option<f32>,
    #[arg(long)]
    l2: Option<f32>,
    /// Regularisation of the 112 model, for choosing it by cross-validation.
    #[arg(long)]
    emergency_l2: Option<f32>,
    #[arg(long)]
    emergency_epochs: Option<usize>,
    /// Divides the model's scores before the softmax (default: the fitted one).
    #[arg(long, default_value_t = CALIBRATED_TEMPERATURE)]
    temperature: f32,
}

impl Args {
    fn thresholds(&self) -> Thresholds {
        Thresholds {
            triage: self.threshold,
            confidential: self.confidential_threshold,
        }
    }

    fn training(&self) -> Training {
        let mut t = Training::default();
        t.epochs = self.epochs.unwrap_or(t.epochs);
        t.learning_rate = self.rate.unwrap_or(t.learning_rate);
        t.l2 = self.l2.unwrap_or(t.l2);
        t
    }

    fn emergency_training(&self) -> Training {
        let mut t = Training::for_emergencies();
        t.epochs = self.emergency_epochs.unwrap_or(t.epochs);
        t.l2 = self.emergency_l2.unwrap_or(t.l2);
        t
    }

    fn classifier(
        &self,
        catalogue: &Catalogue,
        routing: &[LabelledCase],
        emergencies: &[LabelledCase],
    ) -> LinearClassifier {
        LinearClassifier::new(Arc::new(TrainedModel::train(
            catalogue,
            routing,
            emergencies,
            (&self.training(), &self.emergency_training()),
        )))
        .with_temperature(self.temperature)
    }
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

fn catalogue(args: &Args) -> Result<Catalogue, String> {
    match &args.catalogue {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            Catalogue::parse(&text)
        }
        None => Catalogue::sample(),
    }
    .map_err(|e| e.to_string())
}

fn print_details(catalogue: &Catalogue, outcomes: &[Outcome], thresholds: Thresholds) {
    println!("\ntriage  confidential  triage share  auto-routed correct  crossings");
    for triage in TRIAGE_THRESHOLDS {
        for confidential in CONFIDENTIAL_THRESHOLDS {
            let f = figures(
                catalogue,
                outcomes,
                Thresholds {
                    triage,
                    confidential,
                },
            );
            println!(
                "{triage:>6.2}  {confidential:>12.2}  {:>10.1} %  {:>17.1} %  {:>9}",
                100.0 * f.triage_share,
                100.0 * f.auto_routed_accuracy,
                f.crossings
            );
        }
    }
    println!("\nweakest categories:");
    for (category, n, accuracy) in by_category(outcomes).iter().take(SHOWN) {
        println!("  {category:<26} {n:>4}  {:>5.1} %", 100.0 * accuracy);
    }
    println!("\nworst confusions (expected → predicted):");
    for ((expected, predicted), texts) in confusions(outcomes).iter().take(SHOWN) {
        println!("  {expected} → {predicted}: {}", texts.len());
    }
    println!("\nconfidential crossings at the thresholds above (expected → routed):");
    for ((expected, routed), n) in figures(catalogue, outcomes, thresholds)
        .crossing_pairs
        .iter()
        .take(SHOWN)
    {
        println!("  {expected} → {routed}: {n}");
    }
    let points: Vec<_> = outcomes.iter().map(Outcome::confidence_and_right).collect();
    print!("\n{}", calibration(&points));
}

/// The best class's confidence for each held-out text's raw scores
/// divided by `temperature`, and whether it was the right class.
fn at_temperature(scored: &[(Vec<f32>, usize)], temperature: f32) -> Vec<(f64, bool)> {
    scored
        .iter()
        .map(|(logits, class)| {
            let mut p: Vec<f32> = logits.iter().map(|l| l / temperature).collect();
            softmax_in_place(&mut p);
            let best = (0..p.len())
                .max_by(|a, b| p[*a].total_cmp(&p[*b]))
                .unwrap_or(0);
            (f64::from(p[best]), best == *class)
        })
        .collect()
}

/// Fits the temperature on the held-out writers' scores and shows the
/// calibration error before and after.
fn print_fit(scored: &[(Vec<f32>, usize)]) {
    let fitted = fit_temperature(scored);
    let error = |t: f32| 100.0 * calibration(&at_temperature(scored, t)).expected_error;
    println!(
        "\ntemperature fitted on these held-out scores: {fitted:.2} (shipped {CALIBRATED_TEMPERATURE:.2}); \
         calibration error of the model's scores: {:.1} points at 1.00, {:.1} at {fitted:.2}",
        error(1.0),
        error(fitted)
    );
}

/// Routing by writer held out.
fn cross_validate_routing(args: &Args, catalogue: &Catalogue) {
    let routing = corpus::routing();
    let mut writers: Vec<String> = routing.iter().filter_map(|c| c.writer.clone()).collect();
    writers.sort();
    writers.dedup();
    let mut outcomes = Vec::new();
    let mut scored = Vec::new();
    let class_of = |code: &str| catalogue.categories().iter().position(|c| c.code == code);
    for writer in &writers {
        let (test, train): (Vec<LabelledCase>, Vec<LabelledCase>) = routing
            .iter()
            .cloned()
            .partition(|c| c.writer.as_deref() == Some(writer));
        let c = args.classifier(catalogue, &train, &train);
        outcomes.extend(classify_all(&c, &test));
        for case in test {
            if let Some(class) = class_of(&case.category) {
                scored.push((c.scores(&case.text), class));
            }
        }
    }
    println!(
        "\n== Cross-validation, one writer held out at a time ({} writers, {} texts)",
        writers.len(),
        outcomes.len()
    );
    print!("{}", figures(catalogue, &outcomes, args.thresholds()));
    print_details(catalogue, &outcomes, args.thresholds());
    print_fit(&scored);
}

/// 112 detection by every fifth text held out.
fn cross_validate_emergencies(args: &Args, catalogue: &Catalogue) {
    let all = corpus::training();
    const FOLDS: usize = 5;
    // (labelled an emergency, model likelihood, the catalogue's phrases fire)
    let mut verdicts: Vec<(bool, f64, bool)> = Vec::new();
    for fold in 0..FOLDS {
        let in_fold = |i: usize| i % FOLDS == fold;
        let train: Vec<LabelledCase> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| !in_fold(*i))
            .map(|(_, c)| c.clone())
            .collect();
        let c = args.classifier(catalogue, &[], &train);
        verdicts.extend(
            all.iter()
                .enumerate()
                .filter(|(i, _)| in_fold(*i))
                .map(|(_, case)| {
                    let phrases = emergency_advice(catalogue, &case.text, 0.0, Language::Sv);
                    (case.emergency, c.emergency(&case.text), phrases.is_some())
                }),
        );
    }
    let emergencies = verdicts.iter().filter(|v| v.0).count();
    let ordinary = (verdicts.len() - emergencies).max(1) as f64;
    println!(
        "\n== 112 detection, {FOLDS}-fold cross-validation ({} texts, {emergencies} emergencies)",
        verdicts.len()
    );
    println!("alarm at  model: recall  false alarms  with phrases: recall  false alarms");
    for alarm in [0.05, 0.1, 0.2, 0.3, 0.4, 0.5] {
        let count = |emergency: bool, phrases: bool| {
            verdicts
                .iter()
                .filter(|v| v.0 == emergency && (v.1 >= alarm || (phrases && v.2)))
                .count() as f64
        };
        println!(
            "{alarm:>8.2}  {:>11.1} %  {:>10.1} %  {:>18.1} %  {:>10.1} %",
            100.0 * count(true, false) / emergencies.max(1) as f64,
            100.0 * count(false, false) / ordinary,
            100.0 * count(true, true) / emergencies.max(1) as f64,
            100.0 * count(false, true) / ordinary,
        );
    }
}

/// Staff reroute the requests of an unseen writer that the model got
/// wrong, in the order they arrive; the evaluation split is measured after
/// each batch.
fn learning_curve(args: &Args, catalogue: &Catalogue, cases: &[LabelledCase]) {
    let (traffic, train): (Vec<LabelledCase>, Vec<LabelledCase>) =
        corpus::routing().into_iter().partition(|c| {
            c.writer
                .as_deref()
                .is_some_and(|w| TRAFFIC_WRITERS.contains(&w))
        });
    let c = args.classifier(catalogue, &train, &corpus::training());
    println!(
        "\n== Learning curve: model without {}; their misrouted requests rerouted by staff",
        TRAFFIC_WRITERS.join(", ")
    );
    println!(
        "learned at once (as a server does between starts), and retrained with them (as at the next start)"
    );
    println!(
        "reroutes  category  auto-routed correct  triage | retrained: category  auto-routed correct  triage"
    );
    let mut rerouted: Vec<LabelledCase> = Vec::new();
    let mut arriving = traffic.iter();
    for step in LEARNING_STEPS {
        while rerouted.len() < step {
            let Some(next) = arriving.next() else { break };
            let outcome = &classify_all(&c, std::slice::from_ref(next))[0];
            if !outcome.correct() {
                c.learn(&next.text, &next.category);
                rerouted.push(next.clone());
            }
        }
        let online = figures(catalogue, &classify_all(&c, cases), args.thresholds());
        let retrained = args.classifier(
            catalogue,
            &[train.as_slice(), rerouted.as_slice()].concat(),
            &corpus::training(),
        );
        let retrained = figures(
            catalogue,
            &classify_all(&retrained, cases),
            args.thresholds(),
        );
        println!(
            "{:>8}  {:>6.1} %  {:>17.1} %  {:>4.1} % | {:>17.1} %  {:>19.1} %  {:>4.1} %",
            rerouted.len(),
            100.0 * online.category_accuracy,
            100.0 * online.auto_routed_accuracy,
            100.0 * online.triage_share,
            100.0 * retrained.category_accuracy,
            100.0 * retrained.auto_routed_accuracy,
            100.0 * retrained.triage_share
        );
    }
}

/// Requests in languages the model was not trained on must be recognised
/// (and wait for a person); Swedish and English ones must not be taken
/// for another language.
fn languages(cases: &[LabelledCase]) -> Result<(), String> {
    let others = read_cases(&[PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/corpus/evaluation/languages.jsonl"
    ))])?;
    println!("\n== Other languages ({} texts)", others.len());
    let mut codes: Vec<String> = others.iter().filter_map(|c| c.language.clone()).collect();
    codes.sort();
    codes.dedup();
    for code in codes {
        let of: Vec<&LabelledCase> = others
            .iter()
            .filter(|c| c.language.as_deref() == Some(&code))
            .collect();
        let found = of
            .iter()
            .filter(|c| other_language(&c.text).is_some())
            .count();
        println!(
            "  {code}: {found}/{} recognised as not Swedish or English",
            of.len()
        );
    }
    let training = corpus::training();
    let mistaken = |set: &[LabelledCase]| {
        set.iter()
            .filter(|c| other_language(&c.text).is_some())
            .count()
    };
    println!(
        "  Swedish/English taken for another language: {} of {} evaluation texts, {} of {} training texts",
        mistaken(cases),
        cases.len(),
        mistaken(&training),
        training.len()
    );
    Ok(())
}

fn run(args: &Args) -> Result<(), String> {
    let cases = read_cases(&args.files)?;
    let catalogue = catalogue(args)?;
    if args.emergencies_only {
        cross_validate_emergencies(args, &catalogue);
        return Ok(());
    }
    let started = Instant::now();
    let c = args.classifier(&catalogue, &corpus::routing(), &corpus::training());
    println!(
        "== Evaluation split: {} texts by writers who wrote no training text (trained in {:.1} s)",
        cases.len(),
        started.elapsed().as_secs_f64()
    );
    let outcomes = classify_all(&c, &cases);
    print!("{}", figures(&catalogue, &outcomes, args.thresholds()));
    print_details(&catalogue, &outcomes, args.thresholds());
    languages(&cases)?;
    if !args.quick {
        cross_validate_routing(args, &catalogue);
        cross_validate_emergencies(args, &catalogue);
        learning_curve(args, &catalogue, &cases);
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
