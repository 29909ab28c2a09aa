//! Configuration: one typed struct, read from `ENVAGIN_*` environment
//! variables (or the same names as command-line flags), with defaults that
//! run out of the box. Every variable is documented in the README.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{ArgAction, Args, Parser};

use crate::auth::AuthSettings;
use crate::domain::routing::Thresholds;
use crate::store;

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(long, env = "ENVAGIN_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Directory for the embedded SQLite database; created if missing.
    #[arg(long, env = "ENVAGIN_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Database URL: `sqlite://…` or `postgres://user:pass@host/db`.
    /// Default: SQLite file `envagin.db` in the data directory.
    #[arg(long, env = "ENVAGIN_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Catalogue file (TOML) to use instead of the built-in sample.
    #[arg(long, env = "ENVAGIN_CATALOGUE")]
    pub catalogue: Option<PathBuf>,

    /// Knowledge-base file (TOML) loaded into an empty database instead of
    /// the built-in sample.
    #[arg(long, env = "ENVAGIN_KNOWLEDGE")]
    pub knowledge: Option<PathBuf>,

    /// Shared HS256 secret for staff and citizen tokens (at least 32
    /// bytes). Unset: a secret is generated into the data directory.
    #[arg(long, env = "ENVAGIN_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// JWKS of the identity provider (https://…, or a file path): tokens
    /// are then verified with its RS256/ES256 keys instead of the secret.
    #[arg(long, env = "ENVAGIN_JWKS_URL")]
    pub jwks_url: Option<String>,

    /// Required `iss` of tokens.
    #[arg(long, env = "ENVAGIN_JWT_ISSUER", default_value = "envagin")]
    pub jwt_issuer: String,

    /// Required `aud` of tokens.
    #[arg(long, env = "ENVAGIN_JWT_AUDIENCE", default_value = "envagin")]
    pub jwt_audience: String,

    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    #[arg(long, env = "ENVAGIN_JWT_LEEWAY_SECS", default_value_t = 30)]
    pub jwt_leeway_secs: u64,

    /// Longest lifetime a token may have, in seconds: `exp` − `iat` (or
    /// `exp` − now without `iat`). Longer-lived tokens are refused, however
    /// validly signed; `envagin token` mints no longer ones.
    #[arg(long, env = "ENVAGIN_TOKEN_MAX_LIFETIME_SECS", default_value_t = AuthSettings::DEFAULT_MAX_LIFETIME_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub token_max_lifetime_secs: u64,

    /// Key for the searchable digest of personal identity numbers (at least
    /// 32 bytes; the same on every server). Unset: generated into the data
    /// directory. Changing it makes stored numbers unfindable.
    #[arg(long, env = "ENVAGIN_SEARCH_KEY", hide_env_values = true)]
    pub search_key: Option<String>,

    /// Classifier confidence below which a request goes to triage (0–1).
    #[arg(long, env = "ENVAGIN_TRIAGE_THRESHOLD", default_value_t = Thresholds::DEFAULT.triage, value_parser = parse_unit_interval)]
    pub triage_threshold: f64,

    /// Confidence needed to route into social services or care, or away
    /// from them when the text may belong there (0–1). Below it the request
    /// waits in triage, its words hidden from the contact centre.
    #[arg(long, env = "ENVAGIN_CONFIDENTIAL_THRESHOLD", default_value_t = Thresholds::DEFAULT.confidential, value_parser = parse_unit_interval)]
    pub confidential_threshold: f64,

    /// Most stored texts the classifier trains on at start-up beside the
    /// shipped corpus: staff corrections, then imported history, newest
    /// first; older ones are left out. Each costs start-up up to half a
    /// millisecond and the server about 4 kB of memory.
    #[arg(long, env = "ENVAGIN_TRAINING_MAX_TEXTS", default_value_t = 10_000)]
    pub training_max_texts: u64,

    /// Local non-working days besides Swedish public holidays, e.g.
    /// `2026-05-15,2026-11-20` (klämdagar), for service-level due dates.
    #[arg(long, env = "ENVAGIN_EXTRA_NON_WORKING_DAYS", default_value = "", value_parser = parse_days)]
    pub extra_non_working_days: ExtraDays,

    /// Failed look-ups (reference + tracking code) one client address may
    /// make per window before it gets RATE_LIMITED; 0 turns the limit off.
    #[arg(long, env = "ENVAGIN_LOOKUP_MAX_FAILURES", default_value_t = 10)]
    pub lookup_failures: usize,

    /// The window of `ENVAGIN_LOOKUP_MAX_FAILURES`, in seconds.
    #[arg(long, env = "ENVAGIN_LOOKUP_WINDOW_SECS", default_value_t = 600)]
    pub lookup_window_secs: u64,

    /// Anonymous submissions (web form, GraphQL and Open311 without a
    /// token) one client address may make per window before it gets
    /// RATE_LIMITED (HTTP 429), and the same budget for each signed-in
    /// resident (`citizen` token, counted per subject); staff are not
    /// counted. 0 turns the limit off. Residents behind one carrier-grade
    /// NAT share an address: keep it generous.
    #[arg(long, env = "ENVAGIN_SUBMIT_MAX_PER_ADDRESS", default_value_t = 60)]
    pub submit_max_per_address: usize,

    /// The window of `ENVAGIN_SUBMIT_MAX_PER_ADDRESS`, in seconds.
    #[arg(long, env = "ENVAGIN_SUBMIT_WINDOW_SECS", default_value_t = 60)]
    pub submit_window_secs: u64,

    /// Anonymous previews (`classify`, `answers`: the web form asks at every
    /// pause in typing) one client address may ask for per minute before it
    /// gets RATE_LIMITED; 0 turns the limit off.
    #[arg(long, env = "ENVAGIN_PREVIEW_MAX_PER_ADDRESS", default_value_t = 300)]
    pub preview_max_per_address: usize,

    /// Threads that classify texts and search the knowledge base, at most
    /// this many at once and never on the threads that answer requests;
    /// 0 (the default) means one fewer than the machine's cores, at least 1.
    #[arg(long, env = "ENVAGIN_ANALYSIS_THREADS", default_value_t = 0)]
    pub analysis_threads: usize,

    /// How long a preview (`classify`, `answers`, `emergencyAdvice`) waits
    /// for an analysis thread before it is refused as busy (RATE_LIMITED);
    /// submissions always wait their turn. 0: previews never wait.
    #[arg(long, env = "ENVAGIN_PREVIEW_WAIT_MS", default_value_t = 1000)]
    pub preview_wait_ms: u64,

    /// Take the client address from the last `X-Forwarded-For` entry (set
    /// by your reverse proxy) instead of the TCP peer.
    #[arg(long, env = "ENVAGIN_TRUST_FORWARDED_FOR", default_value_t = false, action = ArgAction::Set)]
    pub trust_forwarded_for: bool,

    /// Days after a request is closed or referred before its personal data
    /// is purged (per-category `retention_days` in the catalogue overrides).
    #[arg(long, env = "ENVAGIN_RETENTION_DAYS", default_value_t = 365)]
    pub retention_days: u32,

    /// How many days back staff may date when a phone call, visit, e-mail
    /// or letter reached the municipality (`receivedAt`).
    #[arg(long, env = "ENVAGIN_MAX_BACKDATING_DAYS", default_value_t = 30)]
    pub max_backdating_days: u32,

    /// Days a resolved request waits for the resident's reply before it is
    /// closed automatically.
    #[arg(long, env = "ENVAGIN_AUTO_CLOSE_DAYS", default_value_t = 14)]
    pub auto_close_days: u32,

    /// How often the background jobs run, in seconds.
    #[arg(long, env = "ENVAGIN_JOBS_INTERVAL_SECS", default_value_t = 3600)]
    pub jobs_interval_secs: u64,

    /// How long a submission's idempotency key is remembered, in hours.
    #[arg(long, env = "ENVAGIN_IDEMPOTENCY_TTL_HOURS", default_value_t = 24)]
    pub idempotency_ttl_hours: u32,

    /// Most database connections this process opens.
    #[arg(long, env = "ENVAGIN_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,

    /// Seconds to wait for a free database connection before failing.
    #[arg(long, env = "ENVAGIN_DB_ACQUIRE_TIMEOUT_SECS", default_value_t = 10)]
    pub db_acquire_timeout_secs: u64,

    /// Seconds any one HTTP request may take before it is given up and
    /// answered 503 (`INTERNAL`): a stalled database or disk then costs a
    /// resident an error to retry, not a hung page. Live subscriptions are
    /// not limited.
    #[arg(long, env = "ENVAGIN_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,

    /// Seconds `/ready` waits for the database before it answers 503: a
    /// load balancer's probe should hear "not ready" before it gives up.
    #[arg(long, env = "ENVAGIN_READY_TIMEOUT_SECS", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..))]
    pub ready_timeout_secs: u64,

    /// Seconds a connection may take to send a request's headers, and may
    /// stay open idle between requests: a client trickling its headers in
    /// a byte at a time is cut off after this long.
    #[arg(long, env = "ENVAGIN_HEADER_TIMEOUT_SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout_secs: u64,

    /// SQLite: sync every commit to disk before answering (true), or only
    /// at checkpoints (false: faster, but a power cut may lose the last
    /// acknowledged requests; a process crash loses nothing).
    #[arg(long, env = "ENVAGIN_SQLITE_FULL_SYNC", default_value_t = true, action = ArgAction::Set)]
    pub sqlite_full_sync: bool,

    /// SQLite: MiB of the database file read through a memory map (0 turns
    /// it off; SQLite caps it at 2048).
    #[arg(long, env = "ENVAGIN_SQLITE_MMAP_MB", default_value_t = store::DEFAULT_SQLITE_MMAP_MIB)]
    pub sqlite_mmap_mb: u64,

    /// The address residents reach this service at, for links in messages
    /// (e.g. `https://kontakt.exempelby.se`). Default: `http://` + ENVAGIN_ADDR.
    /// An `https://` address turns on HSTS for every answer.
    #[arg(long, env = "ENVAGIN_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// The municipality's name, as residents see it in messages.
    #[arg(long, env = "ENVAGIN_MUNICIPALITY", default_value = "Exempelby kommun")]
    pub municipality: String,

    /// SMTP server for e-mail to residents, e.g.
    /// `smtps://user:pass@smtp.example.se` or `smtp://relay:25?tls=required`.
    /// Unset: messages are written to the log instead of sent.
    #[arg(long, env = "ENVAGIN_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Sender of e-mail to residents.
    #[arg(
        long,
        env = "ENVAGIN_MAIL_FROM",
        default_value = "En väg in <noreply@localhost>"
    )]
    pub mail_from: String,

    /// Reply-To of e-mail to residents: the mailbox your mail gateway feeds
    /// to `/gateway/email`, so that replies reach the request.
    #[arg(long, env = "ENVAGIN_MAIL_REPLY_TO")]
    pub mail_reply_to: Option<String>,

    /// SMS provider for residents who left only a phone number: `log`
    /// (writes them to the log; see README for adding a provider).
    #[arg(long, env = "ENVAGIN_SMS_PROVIDER", default_value = "log", value_parser = ["log"])]
    pub sms_provider: String,

    /// Webhooks of administrations' own systems: `TF=https://…,SOC=https://…`.
    #[arg(long, env = "ENVAGIN_WEBHOOKS", default_value = "", value_parser = parse_webhooks)]
    pub webhooks: Webhooks,

    /// Key that signs webhook bodies (HMAC-SHA256; at least 32 bytes, give
    /// it to the receivers). Unset: generated into the data directory.
    #[arg(long, env = "ENVAGIN_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,

    /// How often an idle outbox sender looks for due messages, in ms.
    #[arg(long, env = "ENVAGIN_OUTBOX_POLL_MS", default_value_t = 1000)]
    pub outbox_poll_ms: u64,

    /// How long a sender holds a message it is delivering before another
    /// replica may take it over, in seconds.
    #[arg(long, env = "ENVAGIN_OUTBOX_LEASE_SECS", default_value_t = 60)]
    pub outbox_lease_secs: u64,

    /// Delivery attempts before a message becomes a dead letter.
    #[arg(long, env = "ENVAGIN_OUTBOX_MAX_ATTEMPTS", default_value_t = 10)]
    pub outbox_max_attempts: u32,

    /// Wait before the first retry, in seconds; doubles at each attempt.
    #[arg(long, env = "ENVAGIN_OUTBOX_RETRY_BASE_SECS", default_value_t = 30)]
    pub outbox_retry_base_secs: u64,

    /// Longest wait between retries, in seconds.
    #[arg(long, env = "ENVAGIN_OUTBOX_RETRY_MAX_SECS", default_value_t = 6 * 3600)]
    pub outbox_retry_max_secs: u64,

    /// Shared secret the mail gateway sends as `Authorization: Bearer …` to
    /// `POST /gateway/email` (at least 32 bytes). Unset: the endpoint is off.
    #[arg(long, env = "ENVAGIN_MAIL_GATEWAY_SECRET", hide_env_values = true)]
    pub mail_gateway_secret: Option<String>,

    /// Secret a metrics scraper sends as `Authorization: Bearer …` to
    /// `GET /metrics` (at least 32 bytes). Unset: only clients on this
    /// machine (loopback) may scrape.
    #[arg(long, env = "ENVAGIN_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Largest inbound e-mail accepted, in bytes.
    #[arg(long, env = "ENVAGIN_MAIL_MAX_BYTES", default_value_t = 25 * 1024 * 1024)]
    pub mail_max_bytes: usize,

    /// Largest attachment kept from an inbound e-mail, in bytes.
    #[arg(long, env = "ENVAGIN_ATTACHMENT_MAX_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub attachment_max_bytes: usize,

    /// Attachment types kept from inbound e-mail; others are refused and
    /// the resident is told.
    #[arg(
        long,
        env = "ENVAGIN_ATTACHMENT_TYPES",
        default_value = "image/jpeg,image/png,image/gif,image/heic,image/webp,application/pdf,text/plain",
        value_delimiter = ','
    )]
    pub attachment_types: Vec<String>,

    /// On SIGTERM, how long requests in flight and subscribers get before
    /// the process exits anyway, in seconds.
    #[arg(long, env = "ENVAGIN_SHUTDOWN_GRACE_SECS", default_value_t = 20)]
    pub shutdown_grace_secs: u64,

    /// Log format: `text` for people, `json` for a log collector.
    #[arg(long, env = "ENVAGIN_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,

    /// Largest accepted request body, in bytes (larger: HTTP 413).
    #[arg(long, env = "ENVAGIN_MAX_BODY_BYTES", default_value_t = 256 * 1024)]
    pub max_body_bytes: usize,

    /// Deepest nesting a GraphQL query may have.
    #[arg(long, env = "ENVAGIN_GRAPHQL_MAX_DEPTH", default_value_t = 16)]
    pub graphql_max_depth: usize,

    /// Most fields one GraphQL operation may select (introspection excluded).
    #[arg(long, env = "ENVAGIN_GRAPHQL_MAX_COMPLEXITY", default_value_t = 200)]
    pub graphql_max_complexity: usize,

    /// Most aliased fields one GraphQL request may contain.
    #[arg(long, env = "ENVAGIN_GRAPHQL_MAX_ALIASES", default_value_t = 30)]
    pub graphql_max_aliases: usize,

    /// Most operations in one batched GraphQL request.
    #[arg(long, env = "ENVAGIN_GRAPHQL_MAX_BATCH", default_value_t = 10)]
    pub graphql_max_batch: usize,

    /// Whether the schema can be introspected (GraphiQL needs it).
    #[arg(long, env = "ENVAGIN_GRAPHQL_INTROSPECTION", default_value_t = true, action = ArgAction::Set)]
    pub graphql_introspection: bool,

    /// Whether `GET /graphql` serves GraphiQL. It loads its scripts from a
    /// public CDN into the origin the staff pages run on, so it is off by
    /// default when the public URL is https (production), on otherwise.
    #[arg(long, env = "ENVAGIN_GRAPHIQL", action = ArgAction::Set)]
    pub graphiql: Option<bool>,
}

#[derive(Parser)]
struct EnvOnly {
    #[command(flatten)]
    config: Config,
}

impl Config {
    /// The configuration from the environment alone.
    pub fn from_env() -> Result<Self, clap::Error> {
        EnvOnly::try_parse_from(["envagin"]).map(|e| e.config)
    }

    pub fn auth_settings(&self) -> AuthSettings {
        AuthSettings {
            jwt_secret: self.jwt_secret.clone(),
            jwks_url: self.jwks_url.clone(),
            issuer: self.jwt_issuer.clone(),
            audience: self.jwt_audience.clone(),
            leeway_secs: self.jwt_leeway_secs,
            max_lifetime_secs: self.token_max_lifetime_secs,
            data_dir: self.data_dir.clone(),
            jwks_min_refresh: std::time::Duration::from_secs(60),
        }
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("envagin.db").display()
            )
        })
    }

    /// Whether GraphiQL is served (see `graphiql`).
    pub fn graphiql_enabled(&self) -> bool {
        self.graphiql
            .unwrap_or_else(|| !self.public_url().starts_with("https://"))
    }

    /// Where residents reach this service, without a trailing slash.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.addr))
            .trim_end_matches('/')
            .to_owned()
    }

    /// Whether the database is the embedded SQLite file in the data
    /// directory, which must then exist before connecting.
    pub fn uses_data_dir(&self) -> bool {
        self.database_url.is_none()
    }
}

/// Webhook URL per administration code.
#[derive(Debug, Clone, Default)]
pub struct Webhooks(pub std::collections::BTreeMap<String, String>);

fn parse_webhooks(raw: &str) -> Result<Webhooks, String> {
    let mut map = std::collections::BTreeMap::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (code, url) = entry
            .split_once('=')
            .ok_or_else(|| format!("{entry}: expected CODE=URL"))?;
        let url = url.trim();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(format!(
                "{entry}: the URL must start with https:// or http://"
            ));
        }
        map.insert(code.trim().to_owned(), url.to_owned());
    }
    Ok(Webhooks(map))
}

/// Configured local non-working days.
#[derive(Debug, Clone, Default)]
pub struct ExtraDays(pub Vec<chrono::NaiveDate>);

fn parse_days(raw: &str) -> Result<ExtraDays, String> {
    crate::domain::calendar::parse_extra_days(raw).map(ExtraDays)
}

fn parse_unit_interval(raw: &str) -> Result<f64, String> {
    let value: f64 = raw.parse().map_err(|_| format!("{raw} is not a number"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{raw} is not between 0 and 1"))
    }
}
