//! Working a request: claim, release, status changes, reroute, duplicates,
//! comments and priority. Each use case loads the request inside its write
//! transaction, checks who may act and whether the life cycle allows it,
//! writes the change with an optimistic version check, and appends its event
//! in the same transaction.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::ConnectionTrait;
use serde_json::json;

use super::notify::{Tidings, system_event_of_change};
use super::{RequestRecord, ServiceError, Services, actor};
use crate::domain::actor::{Actor, Caller};
use crate::domain::catalogue::{CategoryDef, Priority};
use crate::domain::history::{ActorKind, EventKind};
use crate::domain::policy::{self, Access};
use crate::domain::reference::Reference;
use crate::domain::status::RequestStatus;
use crate::domain::text::clean;
use crate::store;
use crate::store::entities::{classifier_corrections, requests};
use crate::store::requests::NewEvent;
use crate::store::writer::WriteTx;

const MAX_TEXT_CHARS: usize = 5_000;

/// A person's decision to move a request to another status.
pub struct StatusChange {
    pub status: RequestStatus,
    pub message_to_citizen: Option<String>,
    pub reason: Option<String>,
    pub expected_version: Option<i32>,
}

/// One change to a request and the event that records it.
struct Change {
    kind: EventKind,
    to: Option<RequestStatus>,
    public: bool,
    message: Option<String>,
    note: Option<String>,
    detail: Option<serde_json::Value>,
    updates: requests::ActiveModel,
}

impl Change {
    fn new(kind: EventKind, to: Option<RequestStatus>) -> Self {
        Self {
            kind,
            to,
            public: true,
            message: None,
            note: None,
            detail: None,
            updates: requests::ActiveModel::default(),
        }
    }
}

/// Text a person must write (a message or a reason): cleaned and bounded.
fn required_text(raw: Option<&str>, field: &str) -> Result<String, ServiceError> {
    optional_text(raw, field)?.ok_or_else(|| ServiceError::invalid(field, "is required here"))
}

fn optional_text(raw: Option<&str>, field: &str) -> Result<Option<String>, ServiceError> {
    let Some(text) = raw.map(clean).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(ServiceError::invalid(
            field,
            &format!("must be at most {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok(Some(text))
}

fn transition(record: &RequestRecord, to: RequestStatus) -> Result<(), ServiceError> {
    if record.status.can_move_to(to) {
        Ok(())
    } else {
        Err(ServiceError::conflict(format!(
            "a request in status {} cannot move to {}",
            record.status.code(),
            to.code()
        )))
    }
}

fn check_version(record: &RequestRecord, expected: Option<i32>) -> Result<(), ServiceError> {
    match expected {
        Some(v) if v != record.version => Err(ServiceError::Conflict {
            message: format!(
                "the request was changed by someone else (version {} now, {v} expected): reload it",
                record.version
            ),
            field: Some("expectedVersion"),
        }),
        _ => Ok(()),
    }
}

impl Services {
    pub async fn claim_next_request(
        &self,
        caller: &Caller,
        queue: &str,
    ) -> Result<Option<RequestRecord>, ServiceError> {
        let actor = actor(caller)?;
        self.require_queue_worker(actor, queue)?;
        self.write_announcing(|tx| async move {
            let Some(model) = store::work::next_in_queue(&tx, queue).await? else {
                return Ok((tx, (None, Vec::new())));
            };
            let record = RequestRecord::try_from(model)?;
            let claimed = self
                .apply(&tx, actor, &record, claim(actor), Utc::now())
                .await?;
            Ok((tx, (Some(claimed), vec![record.id])))
        })
        .await
    }

    pub async fn claim_request(
        &self,
        caller: &Caller,
        reference: &str,
        expected_version: Option<i32>,
    ) -> Result<RequestRecord, ServiceError> {
        self.work_on(caller, reference, expected_version, |_, actor, record| {
            transition(record, RequestStatus::InProgress)?;
            if record.status != RequestStatus::Queued {
                return Err(ServiceError::conflict(
                    "only a queued request can be claimed",
                ));
            }
            Ok(claim(actor))
        })
        .await
    }

    pub async fn release_request(
        &self,
        caller: &Caller,
        reference: &str,
        expected_version: Option<i32>,
    ) -> Result<RequestRecord, ServiceError> {
        self.work_on(caller, reference, expected_version, |_, _, record| {
            if record.status != RequestStatus::InProgress {
                return Err(ServiceError::conflict(
                    "only a request in progress can be released",
                ));
            }
            Ok(release(EventKind::Released))
        })
        .await
    }

    pub async fn set_status(
        &self,
        caller: &Caller,
        reference: &str,
        change: StatusChange,
    ) -> Result<RequestRecord, ServiceError> {
        self.work_on(
            caller,
            reference,
            change.expected_version,
            |services, actor, record| {
                let message =
                    optional_text(change.message_to_citizen.as_deref(), "messageToCitizen")?;
                let reason = optional_text(change.reason.as_deref(), "reason")?;
                transition(record, change.status)?;
                services.status_change(actor, record, change.status, message, reason)
            },
        )
        .await
    }

    pub async fn reroute_request(
        &self,
        caller: &Caller,
        reference: &str,
        category: &str,
        reason: Option<&str>,
        expected_version: Option<i32>,
    ) -> Result<RequestRecord, ServiceError> {
        let actor = actor(caller)?;
        let reference = Reference::parse(reference)?;
        let reason = required_text(reason, "reason")?;
        let target = self.catalogue().category(category).ok_or_else(|| {
            ServiceError::invalid("category", "is not a category of the catalogue")
        })?;
        let now = Utc::now();
        let reason = &reason;
        let (updated, correction) = self
            .write_announcing(|tx| async move {
                let record = self.load_visible(&tx, actor, &reference).await?;
                let change =
                    self.reroute_change(actor, &record, target, reason, expected_version)?;
                let updated = self.apply(&tx, actor, &record, change, now).await?;
                // A request that stays confidential teaches the classifier
                // nothing: the public classify preview would answer
                // differently for its words, and so reveal them.
                if updated.confidential {
                    return Ok((tx, ((updated, None), vec![record.id])));
                }
                let correction = store::work::record_correction(
                    &tx,
                    classifier_corrections::ActiveModel {
                        request_id: Set(record.id),
                        text: Set(record.description.clone()),
                        from_category: Set(record.category.clone()),
                        to_category: Set(target.code.clone()),
                        created_by: Set(actor.sub.clone()),
                        created_at: Set(now),
                        ..Default::default()
                    },
                )
                .await?;
                self.announce_correction(&tx, correction).await?;
                Ok((tx, ((updated, Some(correction)), vec![record.id])))
            })
            .await?;
        // Learned here at once; other replicas learn it from the announcement.
        if let Some(correction) = correction {
            self.learn_correction(correction, &updated.description, category);
        }
        Ok(updated)
    }

    /// What rerouting `record` to `target` changes, if the caller may and
    /// the life cycle allows it.
    fn reroute_change(
        &self,
        actor: &Actor,
        record: &RequestRecord,
        target: &CategoryDef,
        reason: &str,
        expected_version: Option<i32>,
    ) -> Result<Change, ServiceError> {
        let category = target.code.as_str();
        check_version(record, expected_version)?;
        if !policy::may_reroute(
            actor,
            record.facts(),
            self.catalogue().triage_administration(),
        ) {
            return Err(ServiceError::forbidden(
                "only the owning administration or the contact centre may reroute",
            ));
        }
        let new_status = if target.referral.is_some() {
            RequestStatus::Referred
        } else {
            RequestStatus::Queued
        };
        let reroutable = matches!(
            record.status,
            RequestStatus::Triage
                | RequestStatus::Queued
                | RequestStatus::InProgress
                | RequestStatus::Referred
        );
        if !reroutable || !record.status.can_move_to(new_status) {
            return Err(ServiceError::conflict(format!(
                "a request in status {} cannot be rerouted to {category}",
                record.status.code()
            )));
        }
        if record.category.as_deref() == Some(category) && record.status != RequestStatus::Referred
        {
            return Err(ServiceError::conflict(format!(
                "the request is already in {category}"
            )));
        }
        let (ack_days, resolve_days) = (target.ack_days, target.resolve_days);
        let mut change = Change::new(EventKind::Rerouted, Some(new_status));
        change.message = target
            .referral
            .as_ref()
            .map(|r| r.message.get(record.language).to_owned());
        change.note = Some(reason.to_owned());
        change.detail = Some(json!({
            "fromCategory": record.category, "toCategory": category,
            "fromQueue": record.queue, "toQueue": target.queue,
        }));
        change.updates = requests::ActiveModel {
            category_code: Set(Some(target.code.clone())),
            administration_code: Set(target.administration.clone()),
            queue_code: Set(target.queue.clone()),
            priority: Set(target.priority.rank().max(record.priority.rank())),
            confidential: Set(policy::confidential_after_reroute(
                actor,
                record.facts(),
                self.catalogue().is_confidential(target),
                self.catalogue().triage_administration(),
            )),
            assignee_sub: Set(None),
            assignee_name: Set(None),
            rerouted: Set(true),
            ack_due_at: Set(self.inner.calendar.due_at(record.received_at, ack_days)),
            resolve_due_at: Set(self.inner.calendar.due_at(record.received_at, resolve_days)),
            ..Default::default()
        };
        Ok(change)
    }

    pub async fn mark_duplicate(
        &self,
        caller: &Caller,
        reference: &str,
        of: &str,
        expected_version: Option<i32>,
    ) -> Result<RequestRecord, ServiceError> {
        let actor = actor(caller)?;
        let duplicate_ref = Reference::parse(reference)?;
        let master_ref = Reference::parse(of).map_err(|mut e| {
            e.field = "of".into();
            ServiceError::from(e)
        })?;
        if duplicate_ref == master_ref {
            return Err(ServiceError::invalid(
                "of",
                "a request cannot duplicate itself",
            ));
        }
        self.write_announcing(|tx| async move {
            // Both rows locked, in id order, so two opposite merges cannot both
            // succeed and leave each request waiting for the other.
            let record = self.load_visible(&tx, actor, &duplicate_ref).await?;
            let master = self.load_visible(&tx, actor, &master_ref).await?;
            store::work::lock_rows(&tx, &[record.id, master.id]).await?;
            let (record, master) = (
                self.reload(&tx, record.id).await?,
                self.reload(&tx, master.id).await?,
            );
            if !self.works_in(actor, &record.administration) {
                return Err(ServiceError::forbidden(
                    "you do not work in this request's administration",
                ));
            }
            // Merging shows the duplicate's resident the original's status:
            // only for an original the caller reads in full.
            if self.access(caller, &master) != Access::Full {
                return Err(ServiceError::forbidden(
                    "you may merge only into a request you may read",
                ));
            }
            check_version(&record, expected_version)?;
            if master.status == RequestStatus::Duplicate {
                return Err(ServiceError::conflict(format!(
                    "{} is itself a duplicate: mark it a duplicate of the original instead",
                    master.reference
                )));
            }
            transition(&record, RequestStatus::Duplicate)?;
            let mut change = release(EventKind::MarkedDuplicate);
            change.to = Some(RequestStatus::Duplicate);
            change.note = Some(format!("duplicate of {}", master.reference));
            change.detail = Some(json!({ "duplicateOf": master.reference }));
            change.updates.duplicate_of = Set(Some(master.id));
            let updated = self.apply(&tx, actor, &record, change, Utc::now()).await?;
            Ok((tx, (updated, vec![record.id])))
        })
        .await
    }

    async fn reload(
        &self,
        conn: &impl ConnectionTrait,
        id: i64,
    ) -> Result<RequestRecord, ServiceError> {
        let model = store::requests::find_by_id(conn, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        Ok(RequestRecord::try_from(model)?)
    }

    pub async fn add_comment(
        &self,
        caller: &Caller,
        reference: &str,
        body: &str,
        internal: bool,
    ) -> Result<RequestRecord, ServiceError> {
        let actor = actor(caller)?;
        let reference = Reference::parse(reference)?;
        let body = &required_text(Some(body), "body")?;
        let now = Utc::now();
        self.write_announcing(|tx| async move {
            let record = self.load_visible(&tx, actor, &reference).await?;
            if self.access(caller, &record) != Access::Full {
                return Err(ServiceError::forbidden("you may not write in this request"));
            }
            // A note for the file is for anyone who reads the request in full;
            // speaking to the resident is for those who handle it.
            if !internal && !self.works_in(actor, &record.administration) {
                return Err(ServiceError::forbidden(
                    "only the administration handling the request writes to the resident",
                ));
            }
            if record.status == RequestStatus::Closed && !internal {
                return Err(ServiceError::conflict(
                    "the request is closed: no more messages to the resident",
                ));
            }
            let mut comment = Change::new(EventKind::Comment, None);
            comment.public = !internal;
            if internal {
                comment.note = Some(body.clone());
            } else {
                comment.message = Some(body.clone());
            }
            let message = comment.message.clone();
            let event = staff_event(actor, record.status, comment, now);
            store::requests::append_events(&tx, record.id, &record.event_scope(), vec![event])
                .await?;
            let tidings = Tidings {
                request: &record,
                resident: self.occasion_of_change(
                    &record,
                    &record,
                    EventKind::Comment,
                    message.as_deref(),
                ),
                system: system_event_of_change(
                    &record,
                    &record,
                    EventKind::Comment,
                    message.is_some(),
                ),
                message: message.as_deref(),
                tracking_code: None,
            };
            self.tell(&tx, tidings, now).await?;
            if !internal && record.acknowledged_at.is_none() {
                let days = self.working_days(record.received_at, now);
                store::work::acknowledge(&tx, record.id, now, days).await?;
            }
            let id = record.id;
            Ok((tx, (record, vec![id])))
        })
        .await
    }

    pub async fn set_priority(
        &self,
        caller: &Caller,
        reference: &str,
        priority: Priority,
        reason: Option<&str>,
        expected_version: Option<i32>,
    ) -> Result<RequestRecord, ServiceError> {
        self.work_on(caller, reference, expected_version, |_, _, record| {
            let reason = required_text(reason, "reason")?;
            if record.priority == priority {
                return Err(ServiceError::conflict(
                    "the request already has that priority",
                ));
            }
            let mut change = Change::new(EventKind::PriorityChanged, None);
            change.public = false;
            change.note = Some(reason);
            change.detail = Some(json!({ "from": record.priority.rank(), "to": priority.rank() }));
            change.updates.priority = Set(priority.rank());
            Ok(change)
        })
        .await
    }

    /// Skyddade personuppgifter: from now on the request shows and sends no
    /// personal data to anyone but the owning administration's handlers.
    pub async fn set_protected_identity(
        &self,
        caller: &Caller,
        reference: &str,
        protected: bool,
        reason: Option<&str>,
        expected_version: Option<i32>,
    ) -> Result<RequestRecord, ServiceError> {
        self.work_on(caller, reference, expected_version, |_, actor, record| {
            let reason = required_text(reason, "reason")?;
            if !actor.handles(&record.administration) {
                return Err(ServiceError::forbidden(
                    "only the owning administration's handlers decide this",
                ));
            }
            if record.protected_identity == protected {
                return Err(ServiceError::conflict("the request is already marked so"));
            }
            let mut change = Change::new(EventKind::ProtectionChanged, None);
            change.public = false;
            change.note = Some(reason);
            change.detail = Some(json!({ "protectedIdentity": protected }));
            change.updates.protected_identity = Set(protected);
            Ok(change)
        })
        .await
    }

    /// The shared shape of the staff use cases on one request.
    async fn work_on<F>(
        &self,
        caller: &Caller,
        reference: &str,
        expected_version: Option<i32>,
        decide: F,
    ) -> Result<RequestRecord, ServiceError>
    where
        F: Fn(&Self, &Actor, &RequestRecord) -> Result<Change, ServiceError>,
    {
        let actor = actor(caller)?;
        let reference = Reference::parse(reference)?;
        let (reference, decide) = (&reference, &decide);
        self.write_announcing(|tx| async move {
            let record = self.load_visible(&tx, actor, reference).await?;
            if !self.works_in(actor, &record.administration) {
                return Err(ServiceError::forbidden(
                    "you do not work in this request's administration",
                ));
            }
            check_version(&record, expected_version)?;
            let change = decide(self, actor, &record)?;
            let updated = self.apply(&tx, actor, &record, change, Utc::now()).await?;
            Ok((tx, (updated, vec![record.id])))
        })
        .await
    }

    /// The request, if the caller may know it exists at all; a request of
    /// another administration is `NotFound`, not `Forbidden`, so that its
    /// existence does not leak.
    pub(super) async fn load_visible(
        &self,
        conn: &impl ConnectionTrait,
        actor: &Actor,
        reference: &Reference,
    ) -> Result<RequestRecord, ServiceError> {
        let model = store::requests::find_by_reference(conn, &reference.to_string())
            .await?
            .ok_or(ServiceError::NotFound)?;
        let record = RequestRecord::try_from(model)?;
        match policy::access(
            actor,
            record.facts(),
            self.catalogue().triage_administration(),
        ) {
            Access::None => Err(ServiceError::NotFound),
            _ => Ok(record),
        }
    }

    pub(super) fn require_queue_worker(
        &self,
        actor: &Actor,
        queue: &str,
    ) -> Result<(), ServiceError> {
        let owner = self
            .catalogue()
            .queue_owner(queue)
            .ok_or(ServiceError::NotFound)?;
        if self.works_in(actor, &owner.code) {
            Ok(())
        } else {
            Err(ServiceError::forbidden(
                "you do not work in this queue's administration",
            ))
        }
    }

    async fn apply(
        &self,
        tx: &WriteTx,
        actor: &Actor,
        record: &RequestRecord,
        mut change: Change,
        now: DateTime<Utc>,
    ) -> Result<RequestRecord, ServiceError> {
        if let Some(to) = change.to {
            change.updates.status = Set(to.code().to_owned());
        }
        if record.acknowledged_at.is_none() && (change.to.is_some() || change.message.is_some()) {
            change.updates.acknowledged_at = Set(Some(now));
            change.updates.first_response_days =
                Set(Some(self.working_days(record.received_at, now)));
        }
        if let Some(to) = change.to {
            self.track_outcome(record, to, &mut change.updates, now);
        }
        let updates = std::mem::take(&mut change.updates);
        let updated = store::work::update_versioned(tx, record.id, record.version, updates, now)
            .await?
            .ok_or_else(|| {
                ServiceError::conflict(
                    "the request was changed by someone else meanwhile: reload it",
                )
            })?;
        let updated = RequestRecord::try_from(updated)?;
        let kind = change.kind;
        let message = change.message.clone();
        let event = staff_event(actor, record.status, change, now);
        store::requests::append_events(tx, record.id, &record.event_scope(), vec![event]).await?;
        let tidings = Tidings {
            request: &updated,
            resident: self.occasion_of_change(record, &updated, kind, message.as_deref()),
            system: system_event_of_change(record, &updated, kind, message.is_some()),
            message: message.as_deref(),
            tracking_code: None,
        };
        self.tell(tx, tidings, now).await?;
        Ok(updated)
    }

    /// Keeps the facts statistics and retention need: when the request was
    /// resolved (and whether in time) and when it left the municipality's
    /// hands (closed or referred).
    fn track_outcome(
        &self,
        record: &RequestRecord,
        to: RequestStatus,
        updates: &mut requests::ActiveModel,
        now: DateTime<Utc>,
    ) {
        use RequestStatus::*;
        let first_resolution = to == Resolved || (to == Closed && record.status != Resolved);
        if first_resolution {
            updates.resolution_days = Set(Some(self.working_days(record.received_at, now)));
            updates.resolved_on_time = Set(Some(now <= record.resolve_due_at));
        }
        if matches!(to, Closed | Referred | Duplicate) {
            updates.closed_at = Set(Some(now));
        } else if matches!(record.status, Referred | Duplicate) {
            // Back in the municipality's hands: new personal data may come,
            // and the retention clock starts again when it is finished.
            updates.closed_at = Set(None);
            updates.purged_at = Set(None);
        }
    }

    fn working_days(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i32 {
        i32::try_from(self.inner.calendar.working_days_between(from, to)).unwrap_or(i32::MAX)
    }

    fn status_change(
        &self,
        actor: &Actor,
        record: &RequestRecord,
        to: RequestStatus,
        message: Option<String>,
        reason: Option<String>,
    ) -> Result<Change, ServiceError> {
        use RequestStatus::*;
        let mut change = match (record.status, to) {
            (Queued, InProgress) => claim(actor),
            (InProgress, Queued) => release(EventKind::Released),
            (Duplicate, Queued) => {
                let mut change = Change::new(EventKind::StatusChanged, Some(Queued));
                change.updates.duplicate_of = Set(None);
                change.note = Some(required_text(reason.as_deref(), "reason")?);
                change
            }
            (Triage, Queued) | (Queued, Queued) | (Referred, Queued) => {
                return Err(ServiceError::invalid(
                    "status",
                    "choose the category with rerouteRequest to queue this request",
                ));
            }
            (_, Duplicate) => {
                return Err(ServiceError::invalid(
                    "status",
                    "use markDuplicate to merge requests",
                ));
            }
            (Queued, Triage) => {
                let mut change = release(EventKind::StatusChanged);
                change.to = Some(Triage);
                change.updates.category_code = Set(None);
                change.updates.administration_code =
                    Set(self.catalogue().triage_administration().to_owned());
                change.updates.queue_code = Set(self.catalogue().triage_queue().to_owned());
                // Confidentiality stays as it was: a request from a
                // confidential administration is no less secret for being
                // sent back, and the contact centre routes it from
                // status-level facts (policy::access).
                change
            }
            (WaitingForCitizen | Resolved, InProgress) => {
                let mut change = Change::new(EventKind::StatusChanged, Some(InProgress));
                if record.assignee_sub.is_none() {
                    change.updates.assignee_sub = Set(Some(actor.sub.clone()));
                    change.updates.assignee_name = Set(actor.name.clone());
                }
                change
            }
            (_, to) => {
                let mut change = Change::new(EventKind::StatusChanged, Some(to));
                if matches!(to, Referred | Closed) {
                    change.updates.assignee_sub = Set(None);
                    change.updates.assignee_name = Set(None);
                }
                change
            }
        };
        let message_required =
            to.requires_message() || (record.status == WaitingForCitizen && to == Closed);
        let reason_required = record.status == Triage && to == Closed;
        if message_required {
            change.message = Some(message.ok_or_else(|| {
                ServiceError::invalid(
                    "messageToCitizen",
                    "a message to the resident is required for this status",
                )
            })?);
        } else {
            change.message = change.message.or(message);
        }
        if reason_required && reason.is_none() {
            return Err(ServiceError::invalid(
                "reason",
                "a reason is required to close a request from triage",
            ));
        }
        if change.note.is_none() {
            change.note = reason;
        }
        Ok(change)
    }
}

fn claim(actor: &Actor) -> Change {
    let mut change = Change::new(EventKind::Claimed, Some(RequestStatus::InProgress));
    change.updates.assignee_sub = Set(Some(actor.sub.clone()));
    change.updates.assignee_name = Set(actor.name.clone());
    change
}

fn release(kind: EventKind) -> Change {
    let mut change = Change::new(kind, Some(RequestStatus::Queued));
    change.updates.assignee_sub = Set(None);
    change.updates.assignee_name = Set(None);
    change
}

/// The history event of `change`, made by `actor`; `from` is the status
/// before a status change.
fn staff_event(actor: &Actor, from: RequestStatus, change: Change, at: DateTime<Utc>) -> NewEvent {
    NewEvent {
        kind: change.kind.code(),
        from_status: change.to.map(|_| from.code()),
        to_status: change.to.map(RequestStatus::code),
        actor_kind: ActorKind::Staff.code(),
        actor_id: Some(actor.sub.clone()),
        actor_name: actor.name.clone(),
        public: change.public,
        message: change.message,
        note: change.note,
        detail: change.detail.map(|d| d.to_string()),
        at,
    }
}
