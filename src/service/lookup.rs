//! "Where is my request?" for the resident holding reference and tracking
//! code. Unknown reference, wrong code and malformed code all answer the
//! same `NotFound`, so references cannot be enumerated; only a reference
//! whose check digit is wrong is refused as bad input, without a lookup.

use chrono::{DateTime, Utc};

use super::{RequestRecord, ServiceError, Services};
use crate::domain::history::EventKind;
use crate::domain::reference::Reference;
use crate::domain::status::RequestStatus;
use crate::domain::tracking::TrackingCode;
use crate::store::{self, StoreError};

/// One event of the history as the resident sees it: no actor, no internal
/// notes.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub kind: EventKind,
    pub status: Option<RequestStatus>,
    pub message: Option<String>,
    pub at: DateTime<Utc>,
}

impl Services {
    pub async fn request_for_resident(
        &self,
        reference: &str,
        tracking_code: &str,
    ) -> Result<RequestRecord, ServiceError> {
        let reference = Reference::parse(reference)?;
        let code = TrackingCode::parse(tracking_code).ok_or(ServiceError::NotFound)?;
        let model = store::requests::find_by_reference(self.db(), &reference.to_string())
            .await?
            .ok_or(ServiceError::NotFound)?;
        // Both sides are SHA-256 digests of a secret: comparing them leaks
        // nothing useful through timing.
        if model.tracking_code_hash != code.hash() {
            return Err(ServiceError::NotFound);
        }
        Ok(RequestRecord::try_from(model)?)
    }

    /// The public history of a request the caller was already allowed to see.
    pub async fn resident_history(
        &self,
        request: &RequestRecord,
    ) -> Result<Vec<HistoryEntry>, ServiceError> {
        store::requests::public_events(self.db(), request.id)
            .await?
            .into_iter()
            .map(|e| {
                let corrupt =
                    || StoreError::Corrupt(format!("event {}: unknown kind or status", e.id));
                Ok(HistoryEntry {
                    kind: EventKind::from_code(&e.kind).ok_or_else(corrupt)?,
                    status: match e.to_status.as_deref() {
                        Some(code) => Some(RequestStatus::from_code(code).ok_or_else(corrupt)?),
                        None => None,
                    },
                    message: e.message,
                    at: e.created_at,
                })
            })
            .collect()
    }
}
