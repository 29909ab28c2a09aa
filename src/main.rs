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
    /// Mint a token signed with the local secret, for operators and tests.
    Token(Box<TokenArgs>),
}

#[derive(clap::Args)]
struct TokenArgs {
    /// A role: citizen, handler, contact_centre or admin (repeatable).
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
    /// Lifetime, e.g. 8h, 30m, 2d.
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
        None => match Config::from_env() {
            Ok(config) => config,
            Err(e) => e.exit(),
        },
    };
    init_logging(config.log_format == "json");
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

fn mint(args: &TokenArgs) -> ExitCode {
    use envagin::auth::{MintClaims, local_secret, mint_token};
    use envagin::domain::actor::Role;
    if let Some(unknown) = args.roles.iter().find(|r| Role::from_claim(r).is_none()) {
        eprintln!("unknown role {unknown:?}: use citizen, handler, contact_centre or admin");
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
        Err(e) => {
            eprintln!("cannot mint a token: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(json: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        logs.json().init();
    } else {
        logs.init();
    }
}
