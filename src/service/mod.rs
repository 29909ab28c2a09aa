//! Use cases: one public function per thing a person can do, each in one
//! transaction, each deciding who may do it. Every transport (GraphQL today;
//! web form, Open311 and e-mail later) calls these, so rules live here once.
//!
//! Errors: the domain reports `InvalidInput`, the store `StoreError`; this
//! layer's `ServiceError` is what transports map to an API error code, in
//! one place each (see `graphql::error`).

mod access_log;
mod attachments;
mod auto_close;
pub mod catalogue;
mod compute;
mod email;
mod events;
pub mod knowledge;
mod lookup;
mod notify;
pub mod open311;
mod outbox;
mod queue;
mod rate_limit;
mod retention;
mod search;
mod stats;
mod submit;
mod sync;
pub mod training;
mod work;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

pub use access_log::{AccessLogEntry, AccessRecorder};
pub use attachments::{AttachmentFile, AttachmentInfo};
pub use catalogue::{CatalogueSource, install_catalogue};
pub use email::{IngestOutcome, MailIntakeSettings};
pub use knowledge::{ArticleRecord, ArticleVersion, install_knowledge};
pub use lookup::HistoryEntry;
pub use notify::SystemEvent;
pub use outbox::{OutboxBacklog, OutboxPass};
pub use queue::{QueuePage, QueueQuery};
pub use retention::PURGED_MARKER;
pub use search::{RequestPage, SearchFilter};
pub use stats::{Cell, Percentiles, Stats};
pub use submit::SubmitOutcome;
pub use work::StatusChange;

use crate::domain::actor::{Actor, Caller};
use crate::domain::calendar::WorkingCalendar;
use crate::domain::catalogue::{Catalogue, Priority};
use crate::domain::classifier::Classifier;
use crate::domain::policy::{self, Access, RequestFacts};
use crate::domain::status::RequestStatus;
use crate::domain::{Channel, InvalidInput, Language};
use crate::store::entities::requests;
use crate::store::writer::{Transient, WriteTx};
use crate::store::{self, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid input: {}", summarise(.0))]
    InvalidInput(Vec<InvalidInput>),
    #[error("authentication required")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("too many failed attempts: try again later")]
    RateLimited,
    /// Too much text work is waiting already (`compute`): nothing was done.
    #[error("the server is busy: try again in a moment")]
    Busy,
    #[error("{message}")]
    Conflict {
        message: String,
        field: Option<&'static str>,
    },
    /// Its text is for the log only: transports answer `INTERNAL` without it.
    #[error("internal error: {0}")]
    Internal(#[from] StoreError),
}

impl Transient for ServiceError {
    fn is_transient(&self) -> bool {
        matches!(self, Self::Internal(e) if e.is_transient())
    }

    fn is_storage_fault(&self) -> bool {
        matches!(self, Self::Internal(e) if e.is_storage_fault())
    }
}

impl store::ConnectionLost for ServiceError {
    fn connection_lost(&self) -> bool {
        matches!(self, Self::Internal(e) if e.connection_lost())
    }
}

impl ServiceError {
    fn invalid(field: &str, message: &str) -> Self {
        Self::InvalidInput(vec![InvalidInput::new(field, message)])
    }

    fn forbidden(message: &str) -> Self {
        Self::Forbidden(message.to_owned())
    }

    fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict {
            message: message.into(),
            field: None,
        }
    }
}

/// The verified actor, or `Unauthenticated`.
fn actor(caller: &Caller) -> Result<&Actor, ServiceError> {
    caller.actor().ok_or(ServiceError::Unauthenticated)
}

impl From<InvalidInput> for ServiceError {
    fn from(e: InvalidInput) -> Self {
        Self::InvalidInput(vec![e])
    }
}

impl From<sea_orm::DbErr> for ServiceError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Internal(StoreError::from(e))
    }
}

fn summarise(errors: &[InvalidInput]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Warnings a flood repeats, one throttle each (`rate_limit::Repeats`).
struct Refusals {
    previews: rate_limit::Repeats,
    busy: rate_limit::Repeats,
    anonymous_submissions: rate_limit::Repeats,
    resident_submissions: rate_limit::Repeats,
}

impl Default for Refusals {
    fn default() -> Self {
        let minute = || rate_limit::Repeats::new(std::time::Duration::from_secs(60));
        Self {
            previews: minute(),
            busy: minute(),
            anonymous_submissions: minute(),
            resident_submissions: minute(),
        }
    }
}

/// Tunables of the use cases, from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub thresholds: crate::domain::routing::Thresholds,
    pub idempotency_ttl: chrono::Duration,
    /// Key of the searchable personal-number digest.
    pub search_key: Vec<u8>,
    /// Failed resident look-ups allowed per client address and window.
    pub lookup_failures: usize,
    pub lookup_window: std::time::Duration,
    pub submit_max_per_address: usize,
    pub submit_window: std::time::Duration,
    /// Anonymous classify and answers previews per client address a minute.
    pub preview_max_per_address: usize,
    /// Threads text work (classifying, knowledge search) may use at once;
    /// 0: one fewer than the cores.
    pub analysis_threads: usize,
    /// How long a preview waits for one of them before it is refused.
    pub preview_wait: std::time::Duration,
    /// Days after closing before personal data is purged.
    pub retention_days: u32,
    /// How far back staff may date a request's receipt.
    pub max_backdating_days: u32,
    /// Days a resolved request waits for a reply before closing.
    pub auto_close_days: u32,
    /// Where residents reach the service, for links in messages.
    pub public_url: String,
    pub municipality: String,
    /// Administrations whose systems get webhooks.
    pub webhook_administrations: std::collections::BTreeSet<String>,
    pub outbox: OutboxSettings,
    pub mail: MailIntakeSettings,
}

/// How the outbox is delivered.
#[derive(Debug, Clone)]
pub struct OutboxSettings {
    pub lease: chrono::Duration,
    pub max_attempts: u32,
    pub retry_base: std::time::Duration,
    pub retry_max: std::time::Duration,
}

/// Everything a use case needs; cheap to clone into every request.
#[derive(Clone)]
pub struct Services {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    /// Where write transactions begin. SQLite has one writer: use cases
    /// take turns on it, first come first served (polling SQLite's lock
    /// with growing sleeps gave claims a p99 of over a second under 16
    /// concurrent handlers), and share commits (`store::writer`).
    writer: store::writer::Writer,
    catalogue: Catalogue,
    classifier: Box<dyn Classifier>,
    calendar: WorkingCalendar,
    lookup_limiter: rate_limit::AddressLimiter,
    /// Residents' submissions: anonymous ones per client address, signed-in
    /// ones per subject.
    submit_limiter: rate_limit::Limiter<rate_limit::SubmitterKey>,
    /// Residents' classify and answers previews, counted as submissions are.
    preview_limiter: rate_limit::Limiter<rate_limit::SubmitterKey>,
    compute: compute::ComputePool,
    /// Refused previews and submissions, logged once a minute.
    refusals: Refusals,
    /// Request ids with newly committed events, for live subscriptions.
    announcements: tokio::sync::broadcast::Sender<i64>,
    /// Wakes this process's outbox sender when a message is written.
    outbox_ready: tokio::sync::Notify,
    /// The published knowledge base and its search index.
    knowledge: std::sync::RwLock<Arc<knowledge::KnowledgeSnapshot>>,
    /// Set when the process is stopping: live subscriptions end.
    shutdown: tokio::sync::watch::Sender<bool>,
    /// Corrections the classifier has learned, so none is learned twice.
    applied_corrections: std::sync::Mutex<std::collections::HashSet<i64>>,
    settings: Settings,
}

impl Services {
    pub fn new(
        db: DatabaseConnection,
        writer: Option<store::writer::SqliteWriter>,
        catalogue: Catalogue,
        classifier: Box<dyn Classifier>,
        calendar: WorkingCalendar,
        settings: Settings,
    ) -> Self {
        let writer = store::writer::Writer::new(db.clone(), writer);
        Self {
            inner: Arc::new(Inner {
                writer,
                db,
                catalogue,
                classifier,
                calendar,
                lookup_limiter: rate_limit::AddressLimiter::new(
                    settings.lookup_failures,
                    settings.lookup_window,
                ),
                submit_limiter: rate_limit::Limiter::new(
                    settings.submit_max_per_address,
                    settings.submit_window,
                ),
                preview_limiter: rate_limit::Limiter::new(
                    settings.preview_max_per_address,
                    std::time::Duration::from_secs(60),
                ),
                refusals: Refusals::default(),
                compute: compute::ComputePool::new(
                    settings.analysis_threads,
                    settings.preview_wait,
                ),
                announcements: tokio::sync::broadcast::channel(events::CHANNEL_CAPACITY).0,
                applied_corrections: std::sync::Mutex::default(),
                outbox_ready: tokio::sync::Notify::new(),
                shutdown: tokio::sync::watch::channel(false).0,
                knowledge: std::sync::RwLock::new(Arc::new(knowledge::KnowledgeSnapshot::empty())),
                settings,
            }),
        }
    }

    /// What `caller` may read of `request`.
    pub fn access(&self, caller: &Caller, request: &RequestRecord) -> Access {
        caller.actor().map_or(Access::None, |actor| {
            policy::access(
                actor,
                request.facts(),
                self.catalogue().triage_administration(),
            )
        })
    }

    /// Whether `actor` works the queues of `administration`.
    fn works_in(&self, actor: &Actor, administration: &str) -> bool {
        policy::works_in(
            actor,
            administration,
            self.catalogue().triage_administration(),
        )
    }

    /// The process is stopping: live work (subscriptions) ends cleanly.
    pub fn begin_shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    /// Resolves once the process has begun to stop.
    pub async fn shutting_down(&self) {
        let mut stopping = self.inner.shutdown.subscribe();
        // An error means the sender is gone, which is a stop too.
        let _ = stopping.wait_for(|stopping| *stopping).await;
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.inner.catalogue
    }

    /// The municipality's name as residents see it.
    pub fn municipality(&self) -> &str {
        &self.inner.settings.municipality
    }

    /// Where residents reach the service (`ENVAGIN_PUBLIC_URL`).
    pub fn public_url(&self) -> &str {
        &self.inner.settings.public_url
    }

    fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    /// A use case's writes, in one transaction: `work` gets it and hands it
    /// back to be committed. Nothing is durable, and so nothing may be
    /// acknowledged, before this returns. `work` may run more than once
    /// (see `Writer::run`): it only reads and writes through the
    /// transaction.
    async fn write<T, W, F>(&self, work: W) -> Result<T, ServiceError>
    where
        W: FnMut(WriteTx) -> F,
        F: Future<Output = Result<(WriteTx, T), ServiceError>>,
    {
        self.inner.writer.run(work).await
    }
}

/// A request as the use cases hand it to transports. Which fields a caller
/// may see is decided by `Services::access` and enforced per field by the
/// transport.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub id: i64,
    pub reference: String,
    pub status: RequestStatus,
    pub channel: Channel,
    pub language: Language,
    pub description: String,
    /// ISO 639-3 code when the text is neither Swedish nor English.
    pub text_language: Option<String>,
    pub category: Option<String>,
    pub administration: String,
    pub queue: String,
    pub priority: Priority,
    pub confidential: bool,
    pub protected_identity: bool,
    pub classification_confidence: f64,
    pub classification_explanation: String,
    pub location_latitude: Option<f64>,
    pub location_longitude: Option<f64>,
    pub location_address: Option<String>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub personal_number: Option<String>,
    pub registered_by: Option<String>,
    pub assignee_sub: Option<String>,
    pub assignee_name: Option<String>,
    pub duplicate_of: Option<i64>,
    pub version: i32,
    pub received_at: DateTime<Utc>,
    pub ack_due_at: DateTime<Utc>,
    pub resolve_due_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl RequestRecord {
    pub(crate) fn facts(&self) -> RequestFacts<'_> {
        RequestFacts {
            administration: &self.administration,
            confidential: self.confidential,
            protected_identity: self.protected_identity,
            registered_by: self.registered_by.as_deref(),
        }
    }

    /// Whose the events written now are.
    pub(crate) fn event_scope(&self) -> crate::store::requests::EventScope {
        crate::store::requests::EventScope {
            administration: self.administration.clone(),
            confidential: self.confidential,
        }
    }

    /// Past its service level while the municipality has the next move.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        matches!(
            self.status,
            RequestStatus::Queued | RequestStatus::InProgress
        ) && (self.resolve_due_at < now
            || (self.acknowledged_at.is_none() && self.ack_due_at < now))
    }
}

impl TryFrom<requests::Model> for RequestRecord {
    type Error = StoreError;

    fn try_from(m: requests::Model) -> Result<Self, StoreError> {
        let corrupt = |what: &str, value: &str| {
            StoreError::Corrupt(format!("request {}: {what} {value}", m.id))
        };
        Ok(Self {
            status: RequestStatus::from_code(&m.status)
                .ok_or_else(|| corrupt("status", &m.status))?,
            channel: Channel::from_code(&m.channel)
                .ok_or_else(|| corrupt("channel", &m.channel))?,
            language: Language::parse(&m.language).map_err(|_| corrupt("language", &m.language))?,
            priority: Priority::from_rank(m.priority)
                .ok_or_else(|| corrupt("priority", &m.priority.to_string()))?,
            id: m.id,
            reference: m.reference,
            description: m.description,
            text_language: m.text_language,
            category: m.category_code,
            administration: m.administration_code,
            queue: m.queue_code,
            confidential: m.confidential,
            protected_identity: m.protected_identity,
            classification_confidence: m.classification_confidence,
            classification_explanation: m.classification_explanation,
            location_latitude: m.location_latitude,
            location_longitude: m.location_longitude,
            location_address: m.location_address,
            contact_name: m.contact_name,
            contact_email: m.contact_email,
            contact_phone: m.contact_phone,
            personal_number: m.personal_number,
            registered_by: m.registered_by,
            assignee_sub: m.assignee_sub,
            assignee_name: m.assignee_name,
            duplicate_of: m.duplicate_of,
            version: m.version,
            received_at: m.received_at,
            ack_due_at: m.ack_due_at,
            resolve_due_at: m.resolve_due_at,
            acknowledged_at: m.acknowledged_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

impl Services {
    /// Whether the database answers; for the readiness probe.
    pub async fn ping(&self) -> Result<(), StoreError> {
        crate::store::ping(self.db()).await
    }

    /// Whether writes are being stored (see `Writer::check`).
    pub async fn check_writes(&self) -> Result<(), StoreError> {
        self.inner.writer.check().await
    }
}
