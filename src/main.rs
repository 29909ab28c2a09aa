use std::process::ExitCode;

use clap::{Parser, Subcommand};
use envagin::config::Config;
use tracing_subscriber::EnvFilter;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match cli.command {
        Some(Command::Schema) => {
            print!("{}", envagin::graphql::sdl());
            return ExitCode::SUCCESS;
        }
        Some(Command::Serve(config)) => *config,
        None => match Config::from_env() {
            Ok(config) => config,
            Err(e) => e.exit(),
        },
    };
    init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(envagin::app::serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
}
