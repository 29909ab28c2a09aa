//! Reading a request and its history, and the resident's reply. For the
//! resident holding reference and tracking code, an unknown reference, a
//! wrong code and a malformed code all answer the same `NotFound`, so
//! references cannot be enumerated; only a reference whose check digit is
//! wrong is refused as bad input, without a lookup.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;

use super::notify::{SystemEvent, Tidings};
use super::{RequestRecord, ServiceError, Services};
use crate::domain::actor::Caller;
use crate::domain::history::{ActorKind, EventKind};
use crate::domain::policy::Access;
use crate::domain::reference::Reference;
use crate::domain::status::RequestStatus;
use crate::domain::text::clean;
use crate::domain::tracking::TrackingCode;
use crate::store::attachments::NewAttachment;
use crate::store::entities::{request_events, requests};
use crate::store::requests::NewEvent;
use crate::store::writer::WriteTx;
use crate::store::{self, StoreError};

const MAX_REPLY_CHARS: usize = 5_000;

/// One event of the history, with what the reader may see of it.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub kind: EventKind,
    pub status: Option<RequestStatus>,
    pub public: bool,
    pub message: Option<String>,
    /// Staff only: the internal note and who acted.
    pub note: Option<String>,
    pub actor: Option<EventActor>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct EventActor {
    pub kind: ActorKind,
    pub id: Option<String>,
    pub name: Option<String>,
}

impl Services {
    pub async fn request_for_resident(
        &self,
        client: IpAddr,
        reference: &str,
        tracking_code: &str,
    ) -> Result<RequestRecord, ServiceError> {
        let model = self
            .resident_model(client, reference, tracking_code)
            .await?;
        Ok(RequestRecord::try_from(model)?)
    }

    /// The request behind a reference + tracking code pair. A client with
    /// too many failed pairs is refused for a while, right or wrong.
    async fn resident_model(
        &self,
        client: IpAddr,
        reference: &str,
        tracking_code: &str,
    ) -> Result<requests::Model, ServiceError> {
        // Counted as a failure from before the look-up until it is known
        // to have found its request.
        let attempt = self
            .inner
            .lookup_limiter
            .reserve(client)
            .ok_or(ServiceError::RateLimited)?;
        let found = self.find_by_pair(reference, tracking_code).await;
        if !matches!(found, Err(ServiceError::NotFound)) {
            attempt.refund();
        }
        found
    }

    async fn find_by_pair(
        &self,
        reference: &str,
        tracking_code: &str,
    ) -> Result<requests::Model, ServiceError> {
        let reference = Reference::parse(reference)?;
        let code = TrackingCode::parse(tracking_code).ok_or(ServiceError::NotFound)?;
        let reference = reference.to_string();
        let model = store::read(self.db(), || {
            store::requests::find_by_reference(self.db(), &reference)
        })
        .await?
        .ok_or(ServiceError::NotFound)?;
        // Both sides are SHA-256 digests of a secret: comparing them leaks
        // nothing useful through timing.
        if model.tracking_code_hash != code.hash() {
            return Err(ServiceError::NotFound);
        }
        Ok(model)
    }

    /// The history as `access` may see it: staff with full access see every
    /// event with actor and notes; the resident sees public events with
    /// their messages; status-only readers see public status changes only.
    pub async fn history(
        &self,
        request: &RequestRecord,
        access: Access,
        viewer: &Caller,
    ) -> Result<Vec<HistoryEntry>, ServiceError> {
        Ok(self
            .history_after(request, access, viewer, 0)
            .await?
            .into_iter()
            .map(|(_, entry)| entry)
            .collect())
    }

    /// Events after `after_id`, with their ids, as `access` may see them.
    /// Even with full access to the request now, an event written while a
    /// secret administration owned it shows only its status change, unless
    /// the viewer handles that administration (OSL 8 kap 2 §: a request
    /// moved on from social services does not open their notes).
    pub(super) async fn history_after(
        &self,
        request: &RequestRecord,
        access: Access,
        viewer: &Caller,
        after_id: i64,
    ) -> Result<Vec<(i64, HistoryEntry)>, ServiceError> {
        let public_only = access != Access::Full;
        store::requests::events_after(self.db(), request.id, after_id, public_only)
            .await?
            .into_iter()
            .filter_map(|e| {
                let level = event_access(&e, access, viewer);
                (level != Access::StatusOnly || e.to_status.is_some()).then_some((e, level))
            })
            .map(|(e, level)| Ok((e.id, entry(e, level)?)))
            .collect()
    }

    /// The status a duplicate follows: its master's.
    pub async fn followed_status(
        &self,
        request: &RequestRecord,
    ) -> Result<RequestStatus, ServiceError> {
        let Some(master_id) = request
            .duplicate_of
            .filter(|_| request.status == RequestStatus::Duplicate)
        else {
            return Ok(request.status);
        };
        let master = store::requests::find_by_id(self.db(), master_id)
            .await?
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "request {} duplicates missing {master_id}",
                    request.id
                ))
            })?;
        Ok(RequestRecord::try_from(master)?.status)
    }

    /// The resident writes back. A request waiting for them, or resolved,
    /// goes back to its handler (reopen); a closed one takes no more.
    pub async fn reply_as_citizen(
        &self,
        client: IpAddr,
        reference: &str,
        tracking_code: &str,
        body: &str,
    ) -> Result<RequestRecord, ServiceError> {
        let body = clean(body);
        if body.is_empty() || body.chars().count() > MAX_REPLY_CHARS {
            return Err(ServiceError::invalid(
                "body",
                &format!("must be 1 to {MAX_REPLY_CHARS} characters"),
            ));
        }
        let model = self
            .resident_model(client, reference, tracking_code)
            .await?;
        self.record_reply(model.id, body, &[]).await
    }

    /// Stores a reply of the resident on request `id`, reopening it where
    /// the life cycle allows; for the status page and for e-mail alike.
    pub(super) async fn record_reply(
        &self,
        id: i64,
        body: String,
        attachments: &[NewAttachment],
    ) -> Result<RequestRecord, ServiceError> {
        let now = Utc::now();
        let body = &body;
        self.write_announcing(|tx| async move {
            // Re-read inside the write transaction: the status decides the move.
            let record = RequestRecord::try_from(
                store::requests::find_by_id(&tx, id)
                    .await?
                    .ok_or(ServiceError::NotFound)?,
            )?;
            if record.status == RequestStatus::Closed {
                return Err(ServiceError::conflict(
                    "the request is closed; please submit a new request",
                ));
            }
            let reopen = matches!(
                record.status,
                RequestStatus::WaitingForCitizen | RequestStatus::Resolved
            );
            let updated = if reopen {
                let changes = requests::ActiveModel {
                    status: Set(RequestStatus::InProgress.code().to_owned()),
                    ..Default::default()
                };
                let model =
                    store::work::update_versioned(&tx, record.id, record.version, changes, now)
                        .await?
                        .ok_or_else(|| {
                            ServiceError::conflict(
                                "the request changed meanwhile: please try again",
                            )
                        })?;
                RequestRecord::try_from(model)?
            } else {
                record.clone()
            };
            let event = NewEvent {
                kind: EventKind::CitizenReply.code(),
                from_status: reopen.then(|| record.status.code()),
                to_status: reopen.then(|| RequestStatus::InProgress.code()),
                actor_kind: ActorKind::Resident.code(),
                actor_id: None,
                actor_name: None,
                public: true,
                message: Some(body.clone()),
                note: None,
                detail: None,
                at: now,
            };
            store::requests::append_events(&tx, record.id, &record.event_scope(), vec![event])
                .await?;
            self.tell(
                &tx,
                Tidings {
                    request: &updated,
                    resident: None,
                    system: Some(SystemEvent::Replied),
                    message: None,
                    tracking_code: None,
                },
                now,
            )
            .await?;
            store::attachments::insert(&tx, record.id, attachments, now).await?;
            let forwarded = self.forward_to_original(&tx, &record, body, now).await?;
            let touched: Vec<i64> = std::iter::once(record.id).chain(forwarded).collect();
            Ok((tx, (updated, touched)))
        })
        .await
    }

    /// A reply to a merged request reaches the original's handlers, as an
    /// internal note (the original's resident is someone else).
    async fn forward_to_original(
        &self,
        tx: &WriteTx,
        record: &RequestRecord,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, ServiceError> {
        let Some(original_id) = record
            .duplicate_of
            .filter(|_| record.status == RequestStatus::Duplicate)
        else {
            return Ok(None);
        };
        let original = RequestRecord::try_from(
            store::requests::find_by_id(tx, original_id)
                .await?
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("duplicate of missing request {original_id}"))
                })?,
        )?;
        let note = NewEvent {
            kind: EventKind::CitizenReply.code(),
            from_status: None,
            to_status: None,
            actor_kind: ActorKind::Resident.code(),
            actor_id: None,
            actor_name: None,
            public: false,
            message: None,
            note: Some(format!("reply on duplicate {}: {body}", record.reference)),
            detail: None,
            at: now,
        };
        store::requests::append_events(tx, original.id, &original.event_scope(), vec![note])
            .await?;
        Ok(Some(original.id))
    }
}

/// What `viewer` may see of one event, given their access to the request.
fn event_access(e: &request_events::Model, access: Access, viewer: &Caller) -> Access {
    let secret_elsewhere = e.confidential
        && !viewer.actor().is_some_and(|a| {
            e.administration_code
                .as_deref()
                .is_some_and(|adm| a.handles(adm))
        });
    if access == Access::Full && secret_elsewhere {
        Access::StatusOnly
    } else {
        access
    }
}

fn entry(e: request_events::Model, access: Access) -> Result<HistoryEntry, ServiceError> {
    let corrupt = || StoreError::Corrupt(format!("event {}: unknown kind, status or actor", e.id));
    let status = match e.to_status.as_deref() {
        Some(code) => Some(RequestStatus::from_code(code).ok_or_else(corrupt)?),
        None => None,
    };
    let full = access == Access::Full;
    let actor = if full {
        Some(EventActor {
            kind: ActorKind::from_code(&e.actor_kind).ok_or_else(corrupt)?,
            id: e.actor_id,
            name: e.actor_name,
        })
    } else {
        None
    };
    Ok(HistoryEntry {
        kind: EventKind::from_code(&e.kind).ok_or_else(corrupt)?,
        status,
        public: e.public,
        message: e
            .message
            .filter(|_| matches!(access, Access::Full | Access::Resident)),
        note: e.note.filter(|_| full),
        actor,
        at: e.created_at,
    })
}

impl Services {
    /// Staff read one request by reference: `NotFound` for a request the
    /// caller may not know of.
    pub async fn staff_request(
        &self,
        caller: &crate::domain::actor::Caller,
        reference: &str,
    ) -> Result<RequestRecord, ServiceError> {
        let actor = super::actor(caller)?;
        let reference = Reference::parse(reference)?;
        self.load_visible(self.db(), actor, &reference).await
    }
}
