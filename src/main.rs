use std::process::ExitCode;

use clap::{Parser, Subcommand};
use envagin::config::Config;
use tracing_subscriber::EnvFilter;

/// glibc's malloc took a tenth of the server's CPU under load (many small,
/// short-lived allocations across threads: GraphQL values, rows, JSON);
/// mimalloc is built for exactly that and is compiled in from source.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// En väg in: one way in for everything a resident asks of the municipality.
#[derive(Parser)]
#[command(name = "envagin", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default when no command is given).
    Serve(Box<Config>),
    /// Print the GraphQL schema (SDL) that `schema.graphql` must match.
    Schema,
    /// Mint a token signed with the local secret, for operators and tests.
    Token(Box<TokenArgs>),
    /// Read one e-mail (RFC 5322) from standard input and register it: a
    /// new request, or a reply when its subject names the sender's request.
    /// Exit codes follow sendmail's: 75 asks the mail server to retry.
    IngestEmail(Box<Config>),
    /// Add the municipality's own labelled history (past requests and the
    /// category a person gave each) to what the classifier trains on: a
    /// CSV file with `text` and `category` columns, or JSON Lines with the
    /// same fields. Every row is checked first; a file with any bad row
    /// imports nothing. Servers learn it when they next start.
    ImportHistory(Box<ImportArgs>),
}

#[derive(clap::Args)]
struct ImportArgs {
    /// The export: `.csv`, or JSON Lines (`.jsonl`) otherwise.
    file: std::path::PathBuf,
    /// Check the file and report, storing nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    config: Config,
}

#[derive(clap::Args)]
struct TokenArgs {
    /// A role: citizen, handler, contact_centre, admin or service (repeatable).
    #[arg(long = "role", required = true)]
    roles: Vec<String>,
    /// Administration codes the handler works in (repeatable or comma-separated).
    #[arg(long, value_delimiter = ',')]
    adm: Vec<String>,
    /// Subject: the person's stable identifier.
    #[arg(long)]
    sub: String,
    /// Display name.
    #[arg(long)]
    name: Option<String>,
    /// Lifetime, e.g. 8h, 30m, 1d; at most ENVAGIN_TOKEN_MAX_LIFETIME_SECS.
    #[arg(long, default_value = "8h", value_parser = envagin::auth::parse_ttl)]
    ttl: std::time::Duration,
    #[command(flatten)]
    config: Config,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match cli.command {
        Some(Command::Schema) => {
            print!("{}", envagin::graphql::sdl());
            return ExitCode::SUCCESS;
        }
        Some(Command::Serve(config)) => *config,
        Some(Command::Token(args)) => return mint(&args),
        Some(Command::IngestEmail(config)) => return ingest_email(&config),
        Some(Command::ImportHistory(args)) => return import_history(&args),
        None => match Config::from_env() {
            Ok(config) => config,
            Err(e) => e.exit(),
        },
    };
    let logs = init_logging(config.log_format == "json");
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let served = runtime.block_on(envagin::app::serve(config));
    // Work on blocking threads (training the classifier, when stopped
    // during start-up) would otherwise hold the exit until it is done.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    let code = match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    };
    flush_logs(logs);
    code
}

/// Writes out the log lines still queued, waiting for that at most a
/// moment: a stalled log reader must not keep the process from exiting.
fn flush_logs(logs: tracing_appender::non_blocking::WorkerGuard) {
    let (done, flushed) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(logs);
        let _ = done.send(());
    });
    let _ = flushed.recv_timeout(std::time::Duration::from_millis(1500));
}

fn mint(args: &TokenArgs) -> ExitCode {
    use envagin::auth::{MintClaims, local_secret, mint_token};
    use envagin::domain::actor::Role;
    if let Some(unknown) = args.roles.iter().find(|r| Role::from_claim(r).is_none()) {
        eprintln!(
            "unknown role {unknown:?}: use citizen, handler, contact_centre, admin or service"
        );
        return ExitCode::FAILURE;
    }
    let settings = args.config.auth_settings();
    let claims = MintClaims {
        sub: args.sub.clone(),
        name: args.name.clone(),
        roles: args.roles.clone(),
        adm: args.adm.clone(),
        ttl: args.ttl,
    };
    let secret = match local_secret(&settings) {
        Ok(secret) => secret,
        Err(e) => {
            eprintln!("cannot read the local signing secret: {e}");
            return ExitCode::FAILURE;
        }
    };
    match mint_token(&secret, &settings, &claims) {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(envagin::auth::AuthError::LifetimeTooLong) => {
            eprintln!(
                "cannot mint a token valid for {} s: the server accepts at most {} s \
                 (ENVAGIN_TOKEN_MAX_LIFETIME_SECS)",
                args.ttl.as_secs(),
                settings.max_lifetime_secs
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("cannot mint a token: {e}");
            ExitCode::FAILURE
        }
    }
}

/// sendmail's exit codes, so that a mail server piping to us knows whether
/// to bounce (data error) or to try again later (temporary failure).
const EX_DATAERR: u8 = 65;
const EX_NOINPUT: u8 = 66;
const EX_TEMPFAIL: u8 = 75;

fn ingest_email(config: &Config) -> ExitCode {
    use std::io::Read;
    init_logging_to_stderr();
    let mut raw = Vec::new();
    if let Err(e) = std::io::stdin()
        .take(config.mail_max_bytes as u64 + 1)
        .read_to_end(&mut raw)
    {
        eprintln!("cannot read the message from standard input: {e}");
        return ExitCode::from(EX_TEMPFAIL);
    }
    if raw.len() > config.mail_max_bytes {
        eprintln!(
            "the message is larger than ENVAGIN_MAIL_MAX_BYTES ({} bytes)",
            config.mail_max_bytes
        );
        return ExitCode::from(EX_DATAERR);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::from(EX_TEMPFAIL);
        }
    };
    let outcome = runtime.block_on(async {
        let services = envagin::app::services(config)
            .await
            .map_err(|e| (EX_TEMPFAIL, e.to_string()))?;
        services.ingest_email(&raw).await.map_err(|e| match e {
            // Permanent conditions: a retry would meet them again (as the
            // gateway's 400 and 409).
            envagin::service::ServiceError::InvalidInput(_)
            | envagin::service::ServiceError::Conflict {
                field: Some("idempotencyKey"),
                ..
            } => (EX_DATAERR, e.to_string()),
            other => (EX_TEMPFAIL, other.to_string()),
        })
    });
    match outcome {
        Ok(outcome) => {
            use envagin::service::IngestOutcome::*;
            match outcome {
                Created { reference } => println!("created {reference}"),
                Replied { reference } => println!("replied {reference}"),
                Ignored { reason } => println!("ignored: {reason}"),
            }
            ExitCode::SUCCESS
        }
        Err((code, message)) => {
            eprintln!("{message}");
            ExitCode::from(code)
        }
    }
}

/// Tells the operator when servers will not train on everything stored.
fn report_training_cap(stored: u64, max_texts: u64) {
    if stored > max_texts {
        println!(
            "{stored} imported texts are stored in all; servers train on the newest \
             {max_texts} (staff corrections first): raise ENVAGIN_TRAINING_MAX_TEXTS to use more, \
             at up to half a millisecond of start-up and about 4 kB of memory per text"
        );
    }
}

/// Problems listed before the rest are only counted.
const SHOWN_PROBLEMS: usize = 50;

fn import_history(args: &ImportArgs) -> ExitCode {
    init_logging_to_stderr();
    let name = args.file.display().to_string();
    let content = match std::fs::read_to_string(&args.file) {
        Ok(content) => content,
        Err(e) => {
            eprintln!("cannot read {name}: {e}");
            return ExitCode::from(EX_NOINPUT);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(envagin::app::import_history(
        &args.config,
        &name,
        &content,
        args.dry_run,
    ));
    match outcome {
        Ok(report) => {
            let history = &report.history;
            println!(
                "{name}: {} texts to learn from; {} in confidential categories left out \
                 (their words must not reach other administrations through the model)",
                history.texts.len(),
                history.confidential
            );
            match report.imported {
                None => println!("dry run: nothing stored"),
                Some(imported) => {
                    println!(
                        "stored {} new, {} already stored (by an earlier import, or repeated in this file); \
                         servers learn them when they next start",
                        imported.new, imported.already
                    );
                    report_training_cap(imported.stored, args.config.training_max_texts);
                }
            }
            ExitCode::SUCCESS
        }
        Err(envagin::app::ImportError::Rows(problems)) => {
            for problem in problems.iter().take(SHOWN_PROBLEMS) {
                eprintln!("{name}: {problem}");
            }
            if problems.len() > SHOWN_PROBLEMS {
                eprintln!("… and {} more", problems.len() - SHOWN_PROBLEMS);
            }
            eprintln!("{name}: {} problems; nothing was imported", problems.len());
            ExitCode::from(EX_DATAERR)
        }
        Err(e) => {
            eprintln!("{e}; nothing was imported");
            ExitCode::FAILURE
        }
    }
}

/// Commands that print their answer on standard output log elsewhere.
fn init_logging_to_stderr() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .log_internal_errors(false)
        .init();
}

/// The server's log, on standard output through a queue drained by a
/// thread of its own (tracing-appender): a log reader that stalls (a full
/// pipe, a hung collector) must not stop requests, probes and the stop
/// signal, which all log; when the queue is full, lines are dropped.
fn init_logging(json: bool) -> tracing_appender::non_blocking::WorkerGuard {
    use std::io::IsTerminal;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn"));
    let ansi = std::io::stdout().is_terminal();
    let (writer, guard) = tracing_appender::non_blocking(std::io::stdout());
    // A log that cannot be written (a full disk under the log file) must
    // not take the service down with it: by default the subscriber then
    // reports on stderr with `eprintln!`, which panics when stderr fails
    // too.
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .log_internal_errors(false)
        .with_ansi(ansi);
    if json {
        logs.json().init();
    } else {
        logs.init();
    }
    guard
}
