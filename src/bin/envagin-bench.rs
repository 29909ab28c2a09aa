//! Load benchmark of a running En väg in server (or several replicas).
//!
//! ```sh
//! # a year of history, straight into the database (server stopped)
//! envagin-bench --database-url sqlite://data/envagin.db?mode=rwc --seed 1000000
//! # then, with the server running on the same database and secrets:
//! envagin-bench --database-url … --clients 64 --duration 30s --baseline \
//!     --scenario submit,status,claim,search,mixed
//! ```
//!
//! Scenarios: `submit` (residents' web form and the contact centre's phone
//! registrations), `status` (reference + tracking code lookups of seeded
//! requests), `claim` (`--handlers` handlers taking the most urgent request
//! and resolving it; every claimed reference is checked for doubles),
//! `search` (contact-centre lookups by reference, personal number, e-mail,
//! phone and words), `mixed` (a day's proportions), and `baseline-submit` /
//! `baseline-status` (a minimal axum handler on the same database: what the
//! stack can do at most). Staff tokens are minted with `--jwt-secret`, which
//! must be the server's `ENVAGIN_JWT_SECRET`; seeded personal numbers are
//! findable only with the server's `ENVAGIN_SEARCH_KEY`.

#[path = "envagin_bench/baseline.rs"]
mod baseline;
#[path = "envagin_bench/load.rs"]
mod load;
#[path = "envagin_bench/report.rs"]
mod report;
#[path = "envagin_bench/seed.rs"]
mod seed;
#[path = "envagin_bench/texts.rs"]
mod texts;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use envagin::auth::{AuthSettings, MintClaims, mint_token};

use load::{Ctx, Handler, Scenario, Stop};
use report::Row;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Load benchmark of En väg in: seeds a history, drives scenarios against
/// running servers, and reports throughput, latency percentiles and errors.
#[derive(Parser)]
#[command(name = "envagin-bench", version)]
struct Args {
    /// A server's base URL; repeat for replicas (requests go round-robin).
    #[arg(long = "target", default_value = "http://127.0.0.1:8080")]
    targets: Vec<String>,
    /// Scenarios to run, in order (repeatable or comma-separated). Default:
    /// all five, unless only seeding.
    #[arg(long = "scenario", value_enum, value_delimiter = ',')]
    scenarios: Vec<Scenario>,
    /// Concurrent clients (claim: `--handlers` instead).
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Handlers taking and resolving requests in `claim`.
    #[arg(long, default_value_t = 16)]
    handlers: usize,
    /// How long each scenario runs, e.g. 30s or 2m.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    duration: Duration,
    /// Run each scenario for this many requests instead of a duration.
    #[arg(long)]
    requests: Option<u64>,
    /// Unmeasured load before each scenario (connections, caches).
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    warmup: Duration,
    /// First write this many requests of history straight into the database.
    #[arg(long)]
    seed: Option<u64>,
    /// Days the seeded history spans, up to now.
    #[arg(long, default_value_t = 365)]
    seed_days: u32,
    /// Seeded requests kept in `--pairs-file` for lookups.
    #[arg(long, default_value_t = 100_000)]
    sample: u64,
    /// Seeded (reference, tracking code, contact data), one a line.
    #[arg(long, default_value = "bench-pairs.tsv")]
    pairs_file: PathBuf,
    /// The server's database: for `--seed` and `--baseline`.
    #[arg(long, env = "ENVAGIN_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// The server's token secret, to mint staff tokens.
    #[arg(long, env = "ENVAGIN_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    #[arg(long, env = "ENVAGIN_JWT_ISSUER", default_value = "envagin")]
    jwt_issuer: String,
    #[arg(long, env = "ENVAGIN_JWT_AUDIENCE", default_value = "envagin")]
    jwt_audience: String,
    /// The server's key for personal-number digests, to seed findable rows.
    #[arg(long, env = "ENVAGIN_SEARCH_KEY", hide_env_values = true)]
    search_key: Option<String>,
    /// Also measure the baseline (minimal axum handler on the same database)
    /// after `submit` and `status`, and report ours as a share of it.
    #[arg(long)]
    baseline: bool,
    /// The baseline's pool: as the server's `ENVAGIN_DB_MAX_CONNECTIONS`.
    #[arg(long, env = "ENVAGIN_DB_MAX_CONNECTIONS", default_value_t = 16)]
    db_max_connections: u32,
    /// The baseline's SQLite sync: as the server's `ENVAGIN_SQLITE_FULL_SYNC`.
    #[arg(long, env = "ENVAGIN_SQLITE_FULL_SYNC", default_value_t = true, action = clap::ArgAction::Set)]
    sqlite_full_sync: bool,
    /// A label for the report (e.g. "SQLite" or "PostgreSQL, 3 replicas").
    #[arg(long, default_value = "")]
    label: String,
    /// Also append the Markdown table to this file.
    #[arg(long)]
    markdown: Option<PathBuf>,
}

fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let invalid = || format!("invalid duration {raw:?}: use e.g. 500ms, 30s, 2m");
    let (digits, unit) = raw
        .find(|c: char| !c.is_ascii_digit())
        .map_or((raw, "s"), |at| raw.split_at(at));
    let n: u64 = digits.parse().map_err(|_| invalid())?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(invalid()),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("envagin-bench: {e}");
            ExitCode::from(2)
        }
    }
}

/// True when no request failed and nothing was claimed twice.
async fn run(args: Args) -> Result<bool, BoxError> {
    if let Some(count) = args.seed {
        let database_url = args
            .database_url
            .clone()
            .ok_or("--seed needs --database-url (or ENVAGIN_DATABASE_URL)")?;
        let search_key = args.search_key.clone().ok_or(
            "--seed needs the server's --search-key (or ENVAGIN_SEARCH_KEY): seeded personal numbers are found by a digest under it",
        )?;
        seed::seed(seed::SeedOptions {
            database_url,
            count,
            search_key: search_key.into_bytes(),
            pairs_file: args.pairs_file.clone(),
            sample: args.sample,
            days: args.seed_days,
        })
        .await?;
    }
    let scenarios: Vec<Scenario> = if args.scenarios.is_empty() {
        if args.seed.is_some() {
            return Ok(true);
        }
        vec![
            Scenario::Submit,
            Scenario::Status,
            Scenario::Claim,
            Scenario::Search,
            Scenario::Mixed,
        ]
    } else {
        args.scenarios.clone()
    };

    let samples = seed::read_samples(&args.pairs_file)?;
    if samples.is_empty() {
        return Err(format!("{} has no seeded requests", args.pairs_file.display()).into());
    }
    let secret = args
        .jwt_secret
        .clone()
        .ok_or("staff tokens need the server's --jwt-secret (or ENVAGIN_JWT_SECRET)")?;
    let auth = AuthSettings {
        jwt_secret: Some(secret.clone()),
        jwks_url: None,
        issuer: args.jwt_issuer.clone(),
        audience: args.jwt_audience.clone(),
        leeway_secs: AuthSettings::DEFAULT_LEEWAY_SECS,
        max_lifetime_secs: AuthSettings::DEFAULT_MAX_LIFETIME_SECS,
        data_dir: PathBuf::from("."),
        jwks_min_refresh: AuthSettings::DEFAULT_JWKS_MIN_REFRESH,
    };
    let mint = |sub: String, name: &str, role: &str, adm: Vec<String>| {
        mint_token(
            secret.as_bytes(),
            &auth,
            &MintClaims {
                sub,
                name: Some(name.to_owned()),
                roles: vec![role.to_owned()],
                adm,
                ttl: Duration::from_secs(12 * 3600),
            },
        )
    };
    let contact_centre = mint(
        "bench-kc".to_owned(),
        "Kontaktcenter Bänk",
        "contact_centre",
        vec![],
    )?;
    let handlers = (0..args.handlers.max(1))
        .map(|h| {
            Ok(Handler {
                token: mint(
                    format!("bench-handler-{h}"),
                    &format!("Handläggare {h}"),
                    "handler",
                    load::HANDLER_QUEUES
                        .iter()
                        .map(|q| (*q).to_owned())
                        .collect(),
                )?,
            })
        })
        .collect::<Result<Vec<_>, BoxError>>()?;
    let targets: Vec<String> = args
        .targets
        .iter()
        .map(|t| format!("{}/graphql", t.trim_end_matches('/')))
        .collect();
    let mut ctx = Ctx::new(
        targets,
        samples,
        contact_centre,
        handlers,
        args.clients.max(args.handlers),
    );

    let wants_baseline = args.baseline
        || scenarios
            .iter()
            .any(|s| matches!(s, Scenario::BaselineSubmit | Scenario::BaselineStatus));
    let baseline = if wants_baseline {
        let url = args
            .database_url
            .as_deref()
            .ok_or("the baseline needs --database-url (or ENVAGIN_DATABASE_URL)")?;
        let running = baseline::start(url, args.db_max_connections, args.sqlite_full_sync).await?;
        ctx.baseline = Some(running.url.clone());
        Some(running)
    } else {
        None
    };
    let ctx = Arc::new(ctx);

    eprintln!(
        "{} target(s): {}; {} clients, {} handlers; {} sample requests",
        ctx.targets.len(),
        ctx.targets.join(", "),
        args.clients,
        args.handlers,
        ctx.samples.len()
    );
    let mut rows: Vec<Row> = Vec::new();
    let mut plan = scenarios.clone();
    if args.baseline {
        for (ours, base) in [
            (Scenario::Submit, Scenario::BaselineSubmit),
            (Scenario::Status, Scenario::BaselineStatus),
        ] {
            if plan.contains(&ours) && !plan.contains(&base) {
                let at = plan.iter().position(|s| *s == ours).expect("present") + 1;
                plan.insert(at, base);
            }
        }
    }
    for scenario in plan {
        let clients = if scenario == Scenario::Claim {
            args.handlers
        } else {
            args.clients
        };
        if !args.warmup.is_zero() {
            eprintln!("{}: warming up {:?} …", scenario.name(), args.warmup);
            load::run(
                &ctx,
                scenario,
                clients,
                Stop::At(Instant::now() + args.warmup),
            )
            .await;
        }
        let stop = match args.requests {
            Some(n) => Stop::Count(AtomicU64::new(n)),
            None => Stop::At(Instant::now() + args.duration),
        };
        eprintln!("{}: {clients} clients …", scenario.name());
        let (mut tally, secs) = load::run(&ctx, scenario, clients, stop).await;
        if scenario == Scenario::Mixed {
            let mut all = report::OpStats::default();
            for stats in tally.0.values() {
                all.merge(stats);
            }
            all.messages.clear();
            tally.0.insert("all operations", all);
        }
        for (op, stats) in &tally.0 {
            let mut row = Row::new(scenario.name(), op, clients, stats, secs);
            if scenario == Scenario::Claim && *op == "claim" {
                row.note = format!(
                    "{} double claims; each claim followed by a resolve",
                    ctx.double_claims.load(Ordering::Relaxed)
                );
            }
            if scenario == Scenario::Claim && ctx.queues_empty.load(Ordering::Relaxed) {
                row.note.push_str("; queues ran empty before the end");
            }
            for message in &stats.messages {
                eprintln!("  {} {op} error: {message}", scenario.name());
            }
            eprintln!(
                "  {op}: {} requests, {:.0}/s, p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {} HTTP + {} GraphQL errors",
                row.requests,
                row.per_second,
                row.p50_ms,
                row.p90_ms,
                row.p99_ms,
                row.max_ms,
                row.http_errors,
                row.graphql_errors
            );
            rows.push(row);
        }
    }
    if let Some(running) = baseline {
        running.stop().await?;
    }

    // Ours as a share of the baseline.
    let rate = |scenario: &str, op: &str| {
        rows.iter()
            .find(|r| r.scenario == scenario && r.op == op)
            .map(|r| r.per_second)
    };
    let ratios = [
        (
            "submit",
            "submit",
            rate("baseline-submit", "baseline insert"),
        ),
        (
            "status",
            "status",
            rate("baseline-status", "baseline select"),
        ),
    ];
    for (scenario, op, base) in ratios {
        if let Some(base) = base
            && let Some(row) = rows
                .iter_mut()
                .find(|r| r.scenario == scenario && r.op == op)
        {
            row.of_baseline = Some(row.per_second / base);
        }
    }

    let table = report::markdown(&rows);
    let heading = format!(
        "{}{} target(s), {} clients, {} handlers, {} each",
        if args.label.is_empty() {
            String::new()
        } else {
            format!("{}: ", args.label)
        },
        ctx.targets.len(),
        args.clients,
        args.handlers,
        args.requests.map_or_else(
            || format!("{} s", args.duration.as_secs()),
            |n| format!("{n} requests")
        ),
    );
    println!("\n{heading}\n\n{table}");
    if let Some(path) = &args.markdown {
        use std::io::Write as _;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        writeln!(file, "\n{heading}\n\n{table}")?;
    }
    let clean = rows
        .iter()
        .all(|r| r.http_errors == 0 && r.graphql_errors == 0)
        && ctx.double_claims.load(Ordering::Relaxed) == 0;
    Ok(clean)
}
