//! Use cases: one public function per thing a person can do, each in one
//! transaction, each deciding who may do it. Every transport (GraphQL today;
//! web form, Open311 and e-mail later) calls these, so rules live here once.
//!
//! Errors: the domain reports `InvalidInput`, the store `StoreError`; this
//! layer's `ServiceError` is what transports map to an API error code, in
//! one place each (see `graphql::error`).

pub mod catalogue;
mod lookup;
mod submit;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

pub use catalogue::{CatalogueSource, install_catalogue};
pub use lookup::HistoryEntry;
pub use submit::SubmitOutcome;

use crate::domain::catalogue::Catalogue;
use crate::domain::classifier::Classifier;
use crate::domain::status::RequestStatus;
use crate::domain::{Channel, InvalidInput, Language};
use crate::store::StoreError;
use crate::store::entities::requests;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid input: {}", summarise(.0))]
    InvalidInput(Vec<InvalidInput>),
    #[error("not found")]
    NotFound,
    #[error("{message}")]
    Conflict {
        message: String,
        field: Option<&'static str>,
    },
    #[error("internal error")]
    Internal(#[from] StoreError),
}

impl ServiceError {
    fn invalid(field: &str, message: &str) -> Self {
        Self::InvalidInput(vec![InvalidInput::new(field, message)])
    }
}

impl From<InvalidInput> for ServiceError {
    fn from(e: InvalidInput) -> Self {
        Self::InvalidInput(vec![e])
    }
}

impl From<sea_orm::DbErr> for ServiceError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Internal(StoreError::Db(e))
    }
}

fn summarise(errors: &[InvalidInput]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Tunables of the use cases, from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub triage_threshold: f64,
    pub idempotency_ttl: chrono::Duration,
}

/// Everything a use case needs; cheap to clone into every request.
#[derive(Clone)]
pub struct Services {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    catalogue: Catalogue,
    classifier: Box<dyn Classifier>,
    settings: Settings,
}

impl Services {
    pub fn new(
        db: DatabaseConnection,
        catalogue: Catalogue,
        classifier: Box<dyn Classifier>,
        settings: Settings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                catalogue,
                classifier,
                settings,
            }),
        }
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.inner.catalogue
    }

    fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }
}

/// A request as the use cases hand it to transports. Which fields a caller
/// may see is decided where the record is fetched.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub id: i64,
    pub reference: String,
    pub status: RequestStatus,
    pub channel: Channel,
    pub language: Language,
    pub category: Option<String>,
    pub administration: String,
    pub received_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
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
            id: m.id,
            reference: m.reference,
            category: m.category_code,
            administration: m.administration_code,
            received_at: m.received_at,
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
}
