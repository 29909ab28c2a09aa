//! Start-up: connect and migrate the database, install the catalogue, wire
//! the use cases to the transports, and serve until told to stop.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::delivery::{Deliverer, LogSms, Mailer, WebhookSender};
use crate::domain::calendar::WorkingCalendar;
use crate::domain::catalogue::Catalogue;
use crate::domain::classifier::{LinearClassifier, TrainedModel};
use crate::domain::eval::LabelledCase;
use crate::domain::history_import::{self, Format, History, LineError};
use crate::domain::routing::Thresholds;
use crate::graphql::{self, Limits};
use crate::http::{self, HttpState};
use crate::secrets::{self, SecretSpec};
use crate::service::{
    self, CatalogueSource, MailIntakeSettings, OutboxSettings, Services, Settings,
};
use crate::store::{self, PoolSettings, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read the {what} file {path}: {source}")]
    File {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("catalogue refused: {0}")]
    Catalogue(#[from] service::catalogue::CatalogueInstallError),
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretError),
    #[error(transparent)]
    Knowledge(#[from] service::knowledge::KnowledgeInstallError),
    #[error("cannot load the knowledge base into its index: {0}")]
    KnowledgeIndex(service::ServiceError),
    #[error("cannot train the classifier: {0}")]
    Training(String),
    #[error("cannot load the classifier's corrections: {0}")]
    Corrections(service::ServiceError),
    #[error("authentication set-up: {0}")]
    Auth(#[from] crate::auth::AuthSetupError),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("e-mail set-up: {0}")]
    Mailer(#[from] crate::delivery::email::MailerSetupError),
    #[error("configuration: {0}")]
    Config(String),
    #[error("webhook client: {0}")]
    Webhooks(String),
    #[error("server stopped: {0}")]
    Serve(std::io::Error),
}

/// A ready-to-serve application.
pub struct App {
    pub router: Router,
    pub services: Services,
    pub sockets: Arc<crate::http::OpenSockets>,
}

impl App {
    pub async fn build(config: &Config) -> Result<Self, StartupError> {
        let services = services(config).await?;
        let deliverer = deliverer(config)?;
        tokio::spawn(services.clone().listen_for_replicas());
        crate::jobs::spawn(
            services.clone(),
            Duration::from_secs(config.jobs_interval_secs.max(1)),
        );
        crate::jobs::outbox::spawn(
            services.clone(),
            Arc::new(deliverer),
            Duration::from_millis(config.outbox_poll_ms.max(10)),
        );
        let limits = Limits {
            max_depth: config.graphql_max_depth,
            max_complexity: config.graphql_max_complexity,
            max_aliases: config.graphql_max_aliases,
            introspection: config.graphql_introspection,
            timeout: Duration::from_secs(config.request_timeout_secs.max(1)),
        };
        crate::http::metrics::handle();
        let auth = Authenticator::from_settings(&config.auth_settings()).await?;
        tracing::info!("tokens: {}", auth.describe());
        let state = HttpState {
            schema: graphql::build_schema(services.clone(), &limits),
            services: services.clone(),
            auth,
            max_batch: config.graphql_max_batch,
            trust_forwarded_for: config.trust_forwarded_for,
            graphiql: config.graphiql_enabled(),
            mail_gateway_secret: shared_secret(
                "ENVAGIN_MAIL_GATEWAY_SECRET",
                config.mail_gateway_secret.as_deref(),
            )?,
            metrics_token: shared_secret("ENVAGIN_METRICS_TOKEN", config.metrics_token.as_deref())?,
            sockets: Arc::default(),
            request_timeout: Duration::from_secs(config.request_timeout_secs.max(1)),
            websocket_max_bytes: config.max_body_bytes,
            websocket_init_timeout: Duration::from_secs(config.header_timeout_secs),
            ready_timeout: Duration::from_secs(config.ready_timeout_secs),
        };
        let sockets = state.sockets.clone();
        Ok(Self {
            sockets,
            router: http::router(
                state,
                &http::BodyLimits {
                    api: config.max_body_bytes,
                    mail: config.mail_max_bytes,
                },
            ),
            services,
        })
    }
}

/// The use cases over a migrated database with the catalogue installed,
/// without serving or background work (for commands such as
/// `envagin ingest-email`).
pub async fn services(config: &Config) -> Result<Services, StartupError> {
    let (db, url, pool) = database(config).await?;
    let writer = store::connect_writer(&db, &url, &pool).await?;
    let catalogue = service::install_catalogue(&db, catalogue_source(config)?).await?;
    service::install_knowledge(&db, knowledge_file(config)?, &catalogue).await?;
    // A database that takes no writes (read-only file or mount, a
    // standby, a full disk) would otherwise start and fail every
    // resident's request; better to say so now, before training, and not
    // start.
    store::writer::probe(&db).await?;
    let training =
        service::training::training_texts(&db, &catalogue, config.training_max_texts).await?;
    if training.left_out > 0 {
        tracing::warn!(
            trained_on = training.texts.len(),
            left_out = training.left_out,
            "the classifier trains on the newest stored texts only (ENVAGIN_TRAINING_MAX_TEXTS)"
        );
    }
    let classifier = Box::new(LinearClassifier::new(
        trained_model(&catalogue, training.texts).await?,
    ));
    let calendar = WorkingCalendar::new(config.extra_non_working_days.0.iter().copied());
    let (search_key, origin) = secrets::resolve(&SecretSpec {
        what: "personal-number search key",
        env_var: "ENVAGIN_SEARCH_KEY",
        file_name: "search-key",
        configured: config.search_key.as_deref(),
        data_dir: &config.data_dir,
    })?;
    tracing::info!("personal-number search key {origin}");
    let settings = Settings {
        search_key,
        thresholds: Thresholds {
            triage: config.triage_threshold,
            confidential: config.confidential_threshold,
        },
        lookup_failures: config.lookup_failures,
        lookup_window: Duration::from_secs(config.lookup_window_secs),
        submit_max_per_address: config.submit_max_per_address,
        submit_window: Duration::from_secs(config.submit_window_secs),
        preview_max_per_address: config.preview_max_per_address,
        analysis_threads: config.analysis_threads,
        preview_wait: Duration::from_millis(config.preview_wait_ms),
        retention_days: config.retention_days,
        max_backdating_days: config.max_backdating_days,
        auto_close_days: config.auto_close_days,
        idempotency_ttl: chrono::Duration::hours(i64::from(config.idempotency_ttl_hours)),
        public_url: config.public_url(),
        municipality: config.municipality.clone(),
        webhook_administrations: config.webhooks.0.keys().cloned().collect(),
        outbox: OutboxSettings {
            lease: chrono::Duration::seconds(
                i64::try_from(config.outbox_lease_secs.max(1)).unwrap_or(60),
            ),
            max_attempts: config.outbox_max_attempts.max(1),
            retry_base: Duration::from_secs(config.outbox_retry_base_secs),
            retry_max: Duration::from_secs(config.outbox_retry_max_secs),
        },
        mail: MailIntakeSettings {
            attachment_max_bytes: config.attachment_max_bytes,
            attachment_types: config
                .attachment_types
                .iter()
                .map(|t| t.trim().to_ascii_lowercase())
                .collect(),
        },
    };
    let services = Services::new(db, writer, catalogue, classifier, calendar, settings);
    services.trained_on_corrections(&training.corrections);
    services
        .catch_up_corrections()
        .await
        .map_err(StartupError::Corrections)?;
    services
        .reload_knowledge()
        .await
        .map_err(StartupError::KnowledgeIndex)?;
    Ok(services)
}

impl App {
    /// Serves the application on `listener` until `stop` completes and
    /// every connection has finished (`http::server`).
    pub async fn serve_on(
        self,
        listener: TcpListener,
        header_timeout: Duration,
        stop: impl Future<Output = ()>,
    ) {
        http::server::serve(listener, self.router, header_timeout, stop).await;
    }
}

/// Serves the application until SIGINT or SIGTERM. The port is bound
/// first (`http::starting`): a port in use fails the start at once, and
/// `/health` answers while the rest starts. On a stop it takes no new
/// connections, lets requests in flight finish and subscriptions end, and
/// exits; what is still open after `ENVAGIN_SHUTDOWN_GRACE_SECS` is cut
/// off. A stop during start-up exits at once.
pub async fn serve(config: Config) -> Result<(), StartupError> {
    let started = std::time::Instant::now();
    let stop = stop_signals();
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|source| StartupError::Bind {
            addr: config.addr.to_string(),
            source,
        })?;
    let address = listener.local_addr().map_err(StartupError::Serve)?;
    tracing::info!("listening on http://{address}; /health answers, /ready once started");
    let (signal, signalled) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        stop.await;
        let _ = signal.send(true);
        tracing::info!("shutting down: finishing requests in flight, ending subscriptions");
    });
    let door = http::starting::FrontDoor::default();
    let (opened, services) = tokio::sync::oneshot::channel::<Services>();
    // Stops when the application stops, or when it failed to start.
    let stopped = async move {
        if let Ok(services) = services.await {
            services.shutting_down().await;
        }
    };
    let header_timeout = Duration::from_secs(config.header_timeout_secs);
    let server = tokio::spawn(http::server::serve(
        listener,
        door.router(),
        header_timeout,
        stopped,
    ));
    let app = tokio::select! {
        app = App::build(&config) => app?,
        () = stop_requested(signalled.clone()) => {
            tracing::info!("stopped during start-up");
            return Ok(());
        }
    };
    let (services, sockets) = (app.services.clone(), app.sockets.clone());
    door.open(app.router);
    let _ = opened.send(services.clone());
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "En väg in ready on http://{address} (GraphiQL at /graphql)"
    );
    tokio::spawn({
        let services = services.clone();
        async move {
            stop_requested(signalled).await;
            services.begin_shutdown();
        }
    });
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let drained = async {
        if let Err(e) = server.await {
            tracing::error!(error = %e, "the connection loop ended abnormally");
        }
        sockets.all_closed().await;
    };
    let cut_off = async {
        services.shutting_down().await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        () = drained => {}
        () = cut_off => tracing::warn!(
            grace_secs = grace.as_secs(),
            "stopping with connections still open after the grace period"
        ),
    }
    tracing::info!("stopped");
    Ok(())
}

/// Completes once SIGINT or SIGTERM has arrived.
async fn stop_requested(mut signalled: tokio::sync::watch::Receiver<bool>) {
    // The sender lives as long as the signal task, which only ends after
    // sending; an error here means it is gone, and nobody can stop us.
    if signalled.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The digest the mail gateway's secret is checked against.
/// The digest of a secret another system presents as a bearer token
/// (`http::presents`); refused at start-up when too short to be one.
fn shared_secret(name: &str, secret: Option<&str>) -> Result<Option<Vec<u8>>, StartupError> {
    use sha2::{Digest, Sha256};
    match secret {
        None => Ok(None),
        Some(secret) if secret.len() < 32 => Err(StartupError::Config(format!(
            "{name} must be at least 32 bytes"
        ))),
        Some(secret) => {
            tracing::info!("{name} is set");
            Ok(Some(Sha256::digest(secret.as_bytes()).to_vec()))
        }
    }
}

/// The doors messages leave through, as configured.
fn deliverer(config: &Config) -> Result<Deliverer, StartupError> {
    let mailer = Mailer::new(
        config.smtp_url.as_deref(),
        &config.mail_from,
        config.mail_reply_to.as_deref(),
    )?;
    tracing::info!("{}", mailer.describe());
    let webhooks = if config.webhooks.0.is_empty() {
        WebhookSender::new(BTreeMap::new(), Vec::new())
    } else {
        let (secret, origin) = secrets::resolve(&SecretSpec {
            what: "webhook signing key",
            env_var: "ENVAGIN_WEBHOOK_SECRET",
            file_name: "webhook-secret",
            configured: config.webhook_secret.as_deref(),
            data_dir: &config.data_dir,
        })?;
        tracing::info!(
            administrations = ?config.webhooks.0.keys().collect::<Vec<_>>(),
            "webhooks on; signing key {origin}"
        );
        WebhookSender::new(config.webhooks.0.clone(), secret)
    }
    .map_err(|e| StartupError::Webhooks(e.to_string()))?;
    Ok(Deliverer {
        mailer,
        sms: Box::new(LogSms),
        webhooks,
    })
}

/// The operator's knowledge-base file, if one is configured.
fn knowledge_file(config: &Config) -> Result<Option<(String, String)>, StartupError> {
    config
        .knowledge
        .as_deref()
        .map(|path| read_file("knowledge-base", path))
        .transpose()
}

/// The migrated database: its pool, URL and pool settings.
async fn database(
    config: &Config,
) -> Result<(DatabaseConnection, String, PoolSettings), StartupError> {
    if config.uses_data_dir() {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| StartupError::DataDir {
            path: config.data_dir.display().to_string(),
            source,
        })?;
    }
    let url = config.database_url();
    let pool = PoolSettings {
        max_connections: config.db_max_connections,
        acquire_timeout: Duration::from_secs(config.db_acquire_timeout_secs),
        sqlite_full_sync: config.sqlite_full_sync,
        sqlite_mmap_mib: config.sqlite_mmap_mb,
    };
    let db = store::connect(&url, &pool).await?;
    store::migrate(&db).await?;
    tracing::info!(database = %redact(&url), "database ready and migrated");
    Ok((db, url, pool))
}

/// Why `envagin import-history` imported nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error("{} problems in the file", .0.len())]
    Rows(Vec<LineError>),
    #[error("cannot store the history: {0}")]
    Store(#[from] service::ServiceError),
}

/// What `envagin import-history` found and did.
#[derive(Debug)]
pub struct ImportReport {
    pub history: History,
    /// `None` on a dry run.
    pub imported: Option<service::training::Imported>,
}

/// Checks an export of labelled past requests against the catalogue in
/// force and, unless `dry_run`, stores its texts for the classifier to
/// train on at the next start (`domain::history_import`).
pub async fn import_history(
    config: &Config,
    file_name: &str,
    content: &str,
    dry_run: bool,
) -> Result<ImportReport, ImportError> {
    let (db, _, _) = database(config).await?;
    let catalogue = service::install_catalogue(&db, catalogue_source(config)?)
        .await
        .map_err(StartupError::from)?;
    let history = history_import::read(content, Format::of_path(file_name), &catalogue)
        .map_err(ImportError::Rows)?;
    let imported = if dry_run {
        None
    } else {
        Some(service::training::import_history(&db, &history.texts, file_name).await?)
    };
    Ok(ImportReport { history, imported })
}

/// The classifier trained on the shipped corpus, the operator's imported
/// history and staff corrections, and this catalogue. It takes about a second for the sample,
/// off the async workers; a process that starts many servers on the same
/// catalogue and history (the tests) trains once.
async fn trained_model(
    catalogue: &Catalogue,
    history: Vec<LabelledCase>,
) -> Result<Arc<TrainedModel>, StartupError> {
    use std::hash::{DefaultHasher, Hash, Hasher};
    static MODELS: tokio::sync::Mutex<BTreeMap<u64, Arc<TrainedModel>>> =
        tokio::sync::Mutex::const_new(BTreeMap::new());
    let mut hasher = DefaultHasher::new();
    format!("{:?}", catalogue.categories()).hash(&mut hasher);
    for case in &history {
        (&case.text, &case.category).hash(&mut hasher);
    }
    let key = hasher.finish();
    let mut models = MODELS.lock().await;
    if let Some(model) = models.get(&key) {
        return Ok(model.clone());
    }
    let started = std::time::Instant::now();
    let owned = catalogue.clone();
    let added = history.len();
    let model = tokio::task::spawn_blocking(move || TrainedModel::with_history(&owned, history))
        .await
        .map_err(|e| StartupError::Training(e.to_string()))?;
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        added,
        "classifier trained on the corpus, the imported history, staff corrections and the catalogue"
    );
    let model = Arc::new(model);
    models.insert(key, model.clone());
    Ok(model)
}

fn catalogue_source(config: &Config) -> Result<CatalogueSource, StartupError> {
    let Some(path) = &config.catalogue else {
        return Ok(CatalogueSource::Sample);
    };
    let (path, content) = read_file("catalogue", path)?;
    Ok(CatalogueSource::File { path, content })
}

/// A file the operator pointed at: its name for the log, and its text.
fn read_file(what: &'static str, path: &std::path::Path) -> Result<(String, String), StartupError> {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(content) => Ok((name, content)),
        Err(source) => Err(StartupError::File {
            what,
            path: name,
            source,
        }),
    }
}

/// The URL without its password, for logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Listens for SIGINT and SIGTERM from the moment it is called (not from
/// the first poll: a signal in between would be lost, or kill the process
/// as if no handler were installed); the future completes at the first.
fn stop_signals() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let listeners = {
        use tokio::signal::unix::{SignalKind, signal};
        [
            ("SIGINT", SignalKind::interrupt()),
            ("SIGTERM", SignalKind::terminate()),
        ]
        .map(|(name, kind)| {
            signal(kind)
                .inspect_err(|e| tracing::warn!(error = %e, "cannot listen for {name}"))
                .ok()
        })
    };
    async move {
        #[cfg(unix)]
        {
            let [interrupt, terminate] = listeners;
            let received = |listener: Option<tokio::signal::unix::Signal>| async move {
                match listener {
                    Some(mut listener) => {
                        listener.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = received(interrupt) => {},
                () = received(terminate) => {},
            }
        }
        #[cfg(not(unix))]
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_the_log() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/envagin"),
            "postgres://app:***@db:5432/envagin"
        );
        assert_eq!(
            redact("sqlite://data/envagin.db?mode=rwc"),
            "sqlite://data/envagin.db?mode=rwc"
        );
    }
}
