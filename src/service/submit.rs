//! `submitRequest`: validate, classify, route, and store the request with
//! its first events in one transaction before answering (OSL 5 kap 1 §).

use std::net::IpAddr;

use chrono::{DateTime, Datelike, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::ConnectionTrait;
use sha2::{Digest, Sha256};

use super::compute::Urgency;
use super::notify::{SystemEvent, Tidings};
use super::rate_limit::SubmitterKey;
use super::{RequestRecord, ServiceError, Services};
use crate::domain::Channel;
use crate::domain::actor::{Caller, Role};
use crate::domain::catalogue::Catalogue;
use crate::domain::classifier::ClassifyRequest;
use crate::domain::history::{ActorKind, EventKind};
use crate::domain::notification::{Occasion, ReceiptOutcome};
use crate::domain::reference::Reference;
use crate::domain::routing::{Route, emergency_advice, route};
use crate::domain::search;
use crate::domain::status::RequestStatus;
use crate::domain::submission::{Answered, Submission, SubmissionInput};
use crate::domain::tracking::TrackingCode;
use crate::store::attachments::NewAttachment;
use crate::store::entities::{idempotency_keys, requests};
use crate::store::requests::{EventScope, NewEvent};
use crate::store::{self, StoreError};

pub struct SubmitOutcome {
    pub request: RequestRecord,
    /// Shown once; only its hash is stored.
    pub tracking_code: TrackingCode,
    pub referral: Option<String>,
    pub emergency_advice: Option<String>,
}

/// What an idempotency key is remembered by: never the key itself.
struct IdempotencyClaim {
    key_hash: String,
    fingerprint: String,
    pad: Vec<u8>,
}

impl IdempotencyClaim {
    fn new(key: &str, submission: &Submission) -> Self {
        let fingerprint = submission.fingerprint();
        Self {
            key_hash: hex::encode(Sha256::digest(key.as_bytes())),
            pad: [key.as_bytes(), fingerprint.as_bytes()].concat(),
            fingerprint,
        }
    }
}

impl Services {
    /// Registers a request. Residents submit through the web; the contact
    /// centre registers the other channels on a resident's behalf and is
    /// recorded as the registering agent.
    /// Residents are counted, anonymous ones per `client` address and
    /// signed-in ones per subject, and refused beyond the configured
    /// budget; staff are not counted.
    pub async fn submit_request(
        &self,
        caller: &Caller,
        client: IpAddr,
        input: SubmissionInput,
    ) -> Result<SubmitOutcome, ServiceError> {
        let submitter = submitter(caller, input.channel)?;
        if let Some(key) = budget_key(caller, client)
            && self.inner.submit_limiter.reserve(key).is_none()
        {
            // The subject is not logged: an e-ID broker's `sub` may be
            // derived from the personal identity number.
            let now = std::time::Instant::now();
            let refusals = &self.inner.refusals;
            match caller.actor() {
                None => {
                    if let Some(refused) = refusals.anonymous_submissions.count(now) {
                        tracing::warn!(refused, %client, "anonymous submissions over the address's budget: refused (count since the last such line; latest client)")
                    }
                }
                Some(_) => {
                    if let Some(refused) = refusals.resident_submissions.count(now) {
                        tracing::warn!(refused, %client, "signed-in residents' submissions over budget: refused (count since the last such line; latest client)")
                    }
                }
            }
            return Err(ServiceError::RateLimited);
        }
        self.register(submitter, input, Intake::default()).await
    }

    /// Registers a request for `submitter`, who is already authorised.
    pub(super) async fn register(
        &self,
        submitter: Submitter,
        input: SubmissionInput,
        intake: Intake,
    ) -> Result<SubmitOutcome, ServiceError> {
        let now = Utc::now();
        let submission =
            Submission::validate(input, now.date_naive()).map_err(ServiceError::InvalidInput)?;
        self.check_received_at(&submission, now)?;
        let claim = submission
            .idempotency_key
            .as_deref()
            .map(|key| IdempotencyClaim::new(key, &submission));
        if let Some(claim) = &claim
            && let Some(outcome) = store::read(self.db(), || self.replay(self.db(), claim)).await?
        {
            return Ok(outcome);
        }
        let mut route = self.route(&submission).await?;
        if submission.answered_on_contact.is_some() {
            // Answered there and then: classified for the statistics, but
            // no queue will see it (DESIGN.md: RECEIVED → CLOSED).
            route.status = RequestStatus::Closed;
            route.referral = None;
        }
        match self
            .store_new(
                &submission,
                &route,
                &submitter,
                &intake,
                claim.as_ref(),
                now,
            )
            .await
        {
            Ok((request, tracking_code)) => {
                metrics::counter!("envagin_requests_routed_total", "outcome" => request.status.code())
                    .increment(1);
                tracing::info!(
                    reference = %request.reference,
                    status = request.status.code(),
                    queue = %route.queue,
                    confidence = route.confidence,
                    "request registered"
                );
                Ok(SubmitOutcome {
                    request,
                    tracking_code,
                    referral: route.referral,
                    emergency_advice: route.emergency_advice,
                })
            }
            // Another submission with the same key committed first.
            Err(StoreError::Duplicate) => match &claim {
                Some(claim) => self
                    .replay_durable(claim)
                    .await?
                    .ok_or(ServiceError::NotFound),
                None => Err(StoreError::Duplicate.into()),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// Where the classifier sends `submission`, worked out on an analysis
    /// thread (`compute`).
    async fn route(&self, submission: &Submission) -> Result<Route, ServiceError> {
        let text = submission.description.clone();
        let hint = submission.category_hint.clone();
        let language = submission.language;
        self.compute(Urgency::Required, move |services| {
            let classification = services.inner.classifier.classify(&ClassifyRequest {
                text: &text,
                category_hint: hint.as_deref(),
            });
            route(
                services.catalogue(),
                &classification,
                services.inner.settings.thresholds,
                &text,
                language,
            )
        })
        .await
    }

    async fn store_new(
        &self,
        submission: &Submission,
        route: &Route,
        submitter: &Submitter,
        intake: &Intake,
        claim: Option<&IdempotencyClaim>,
        now: DateTime<Utc>,
    ) -> Result<(RequestRecord, TrackingCode), StoreError> {
        let tracking_code = TrackingCode::generate();
        let (ack_days, resolve_days) = self.service_levels(route);
        let mut row = new_row(submission, route, &tracking_code, now);
        row.registered_by = Set(submitter.registered_by.clone());
        row.citizen_sub = Set(submitter.citizen_sub.clone());
        row.personal_number_digest = Set(submission
            .contact
            .personal_number
            .as_ref()
            .map(|p| p.search_digest(&self.inner.settings.search_key)));
        // Förvaltningslagen 22 §: received when it reached the municipality.
        let received = submission.received_at.unwrap_or(now);
        row.received_at = Set(received);
        row.ack_due_at = Set(self.inner.calendar.due_at(received, ack_days));
        row.resolve_due_at = Set(self.inner.calendar.due_at(received, resolve_days));
        if submission.answered_on_contact.is_some() {
            row.first_contact = Set(true);
            row.acknowledged_at = Set(Some(now));
            row.first_response_days = Set(Some(0));
            row.resolution_days = Set(Some(0));
            row.resolved_on_time = Set(Some(true));
        }
        let (row, code) = (&row, &tracking_code);
        let record = self
            .inner
            .writer
            .run(|tx| async move {
                let sequence = store::requests::next_sequence(&tx).await?;
                let mut row = row.clone();
                row.reference = Set(Reference::new(now.year(), sequence).to_string());
                let model = store::requests::insert(&tx, row).await?;
                let scope = EventScope {
                    administration: route.administration.clone(),
                    confidential: route.confidential,
                };
                let events = first_events(
                    route,
                    submitter,
                    submission.answered_on_contact.as_ref(),
                    now,
                );
                store::requests::append_events(&tx, model.id, &scope, events).await?;
                store::requests::index_terms(&tx, model.id, search::terms(&submission.description))
                    .await?;
                let record = RequestRecord::try_from(model)?;
                let code_text = code.to_string();
                let resident = match &submission.answered_on_contact {
                    Some(answered) => Occasion::Closed {
                        message: Some(answered.answer.clone()),
                        automatically: false,
                    },
                    None => self.receipt(&record, route, &code_text, &intake.refused),
                };
                let routed = !matches!(
                    route.status,
                    RequestStatus::Referred | RequestStatus::Closed
                );
                let tidings = Tidings {
                    request: &record,
                    resident: Some(resident),
                    system: routed.then_some(SystemEvent::Routed),
                    message: route.referral.as_deref(),
                    tracking_code: Some(&code_text),
                };
                self.tell(&tx, tidings, now).await?;
                store::attachments::insert(&tx, record.id, &intake.attachments, now).await?;
                if let Some(claim) = claim {
                    let record = idempotency_keys::Model {
                        key_hash: claim.key_hash.clone(),
                        fingerprint: claim.fingerprint.clone(),
                        request_id: record.id,
                        sealed_tracking_code: code.seal(&claim.pad),
                        created_at: now,
                    };
                    store::requests::insert_idempotency(
                        &tx,
                        record,
                        now - self.inner.settings.idempotency_ttl,
                    )
                    .await?;
                }
                Ok::<_, StoreError>((tx, record))
            })
            .await?;
        Ok((record, tracking_code))
    }

    /// The receipt the resident gets with the reference and tracking code.
    fn receipt(
        &self,
        record: &RequestRecord,
        route: &Route,
        tracking_code: &str,
        refused: &[String],
    ) -> Occasion {
        let outcome = match (&route.status, &route.referral) {
            (RequestStatus::Referred, Some(message)) => ReceiptOutcome::Referred {
                message: message.clone(),
            },
            (RequestStatus::Triage, _) => ReceiptOutcome::Triage,
            _ => ReceiptOutcome::Queued {
                administration: self.administration_name(record),
            },
        };
        Occasion::Received {
            tracking_code: Some(tracking_code.to_owned()),
            outcome,
            resolve_due: self.resolve_due_date(record),
            emergency_advice: route.emergency_advice.clone(),
            refused_attachments: refused.to_vec(),
        }
    }

    /// A receipt time given by staff: for channels other than the web, not
    /// in the future and not older than the configured limit.
    fn check_received_at(
        &self,
        submission: &Submission,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        let Some(received) = submission.received_at else {
            return Ok(());
        };
        let problem = if submission.channel == Channel::Web {
            Some("is set by the server for web submissions".to_owned())
        } else if received > now + chrono::Duration::minutes(5) {
            Some("must not be in the future".to_owned())
        } else if received
            < now - chrono::Duration::days(i64::from(self.inner.settings.max_backdating_days))
        {
            Some(format!(
                "must be within the last {} days",
                self.inner.settings.max_backdating_days
            ))
        } else {
            None
        };
        match problem {
            Some(message) => Err(ServiceError::invalid("receivedAt", &message)),
            None => Ok(()),
        }
    }

    /// Forgets idempotency keys past their time to live (housekeeping: an
    /// expired key is already ignored by `submit_request`).
    pub async fn purge_idempotency_keys(&self, now: DateTime<Utc>) -> Result<u64, ServiceError> {
        let cutoff = now - self.inner.settings.idempotency_ttl;
        self.write(|tx| async move {
            let purged = store::requests::purge_idempotency(&tx, cutoff).await?;
            Ok((tx, purged))
        })
        .await
    }

    /// Working days to first response and resolution for a new request.
    fn service_levels(&self, route: &Route) -> (u32, u32) {
        route
            .category
            .as_deref()
            .and_then(|c| self.catalogue().category(c))
            .map_or_else(
                || self.catalogue().triage_service_levels(),
                |c| (c.ack_days, c.resolve_days),
            )
    }

    /// The earlier answer to a retried submission, or `None` if the key is
    /// new (or expired).
    /// The submission that took the key first may still be in the
    /// writer's open group (`store::writer`): read it there, and answer
    /// only once it is durable.
    async fn replay_durable(
        &self,
        claim: &IdempotencyClaim,
    ) -> Result<Option<SubmitOutcome>, ServiceError> {
        self.write(|tx| async move {
            let outcome = self.replay(&tx, claim).await?;
            Ok((tx, outcome))
        })
        .await
    }

    async fn replay(
        &self,
        conn: &impl ConnectionTrait,
        claim: &IdempotencyClaim,
    ) -> Result<Option<SubmitOutcome>, ServiceError> {
        let not_before = Utc::now() - self.inner.settings.idempotency_ttl;
        let Some(record) =
            store::requests::find_idempotency(conn, &claim.key_hash, not_before).await?
        else {
            return Ok(None);
        };
        if record.fingerprint != claim.fingerprint {
            return Err(ServiceError::Conflict {
                message: "this idempotency key was already used for a different submission".into(),
                field: Some("idempotencyKey"),
            });
        }
        let model = store::requests::find_by_id(conn, record.request_id)
            .await?
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "idempotency record for missing request {}",
                    record.request_id
                ))
            })?;
        let tracking_code = TrackingCode::unseal(&record.sealed_tracking_code, &claim.pad)
            .ok_or_else(|| StoreError::Corrupt("sealed tracking code does not open".into()))?;
        let emergency = emergency_advice(
            self.catalogue(),
            &model.description,
            self.inner.classifier.emergency(&model.description),
            parse_language(&model.language),
        );
        let request = RequestRecord::try_from(model)?;
        Ok(Some(SubmitOutcome {
            referral: referral_text(self.catalogue(), &request),
            emergency_advice: emergency,
            request,
            tracking_code,
        }))
    }
}

fn parse_language(code: &str) -> crate::domain::Language {
    crate::domain::Language::parse(code).unwrap_or_default()
}

fn referral_text(catalogue: &Catalogue, request: &RequestRecord) -> Option<String> {
    if request.status != RequestStatus::Referred {
        return None;
    }
    let category = catalogue.category(request.category.as_deref()?)?;
    Some(
        category
            .referral
            .as_ref()?
            .message
            .get(request.language)
            .to_owned(),
    )
}

/// Who submits, as recorded on the request and its first event.
pub(super) struct Submitter {
    pub registered_by: Option<String>,
    pub registered_by_name: Option<String>,
    pub citizen_sub: Option<String>,
}

/// What came with a request besides its fields: files accepted, and those
/// refused with the reason the resident is told.
#[derive(Default)]
pub(super) struct Intake {
    pub attachments: Vec<NewAttachment>,
    pub refused: Vec<String>,
}

/// Whose budget a submission draws on: an anonymous resident's address, a
/// signed-in resident's subject (a token is no licence to flood the
/// queues), or nobody's for staff registering on a resident's behalf.
pub(super) fn budget_key(caller: &Caller, client: IpAddr) -> Option<SubmitterKey> {
    match caller.actor() {
        None => Some(SubmitterKey::Address(client)),
        Some(actor) if actor.is_staff() => None,
        Some(actor) => Some(SubmitterKey::Subject(actor.sub.clone())),
    }
}

fn submitter(caller: &Caller, channel: Channel) -> Result<Submitter, ServiceError> {
    let actor = caller.actor();
    if channel != Channel::Web {
        let actor = actor.ok_or(ServiceError::Unauthenticated)?;
        if !actor.has(Role::ContactCentre) {
            return Err(ServiceError::forbidden(
                "only the contact centre registers requests from other channels than WEB",
            ));
        }
        return Ok(Submitter {
            registered_by: Some(actor.sub.clone()),
            registered_by_name: actor.name.clone(),
            citizen_sub: None,
        });
    }
    Ok(Submitter {
        registered_by: None,
        registered_by_name: None,
        citizen_sub: actor
            .filter(|a| a.has(Role::Citizen))
            .map(|a| a.sub.clone()),
    })
}

fn new_row(
    s: &Submission,
    route: &Route,
    tracking_code: &TrackingCode,
    now: DateTime<Utc>,
) -> requests::ActiveModel {
    requests::ActiveModel {
        tracking_code_hash: Set(tracking_code.hash()),
        status: Set(route.status.code().to_owned()),
        channel: Set(s.channel.code().to_owned()),
        language: Set(s.language.code().to_owned()),
        description: Set(s.description.clone()),
        text_language: Set(route.text_language.map(|l| l.code.to_owned())),
        category_code: Set(route.category.clone()),
        administration_code: Set(route.administration.clone()),
        queue_code: Set(route.queue.clone()),
        priority: Set(route.priority.rank()),
        confidential: Set(route.confidential),
        protected_identity: Set(s.protected_identity),
        classification_confidence: Set(route.confidence),
        classification_explanation: Set(route.explanation.clone()),
        location_latitude: Set(s.location.latitude),
        location_longitude: Set(s.location.longitude),
        location_address: Set(s.location.address.clone()),
        contact_name: Set(s.contact.name.clone()),
        contact_email: Set(s.contact.email.clone()),
        contact_phone: Set(s.contact.phone.clone()),
        personal_number: Set(s
            .contact
            .personal_number
            .as_ref()
            .map(|p| p.canonical().to_owned())),
        assignee_sub: Set(None),
        assignee_name: Set(None),
        triaged: Set(route.status == RequestStatus::Triage),
        closed_at: Set(matches!(
            route.status,
            RequestStatus::Referred | RequestStatus::Closed
        )
        .then_some(now)),
        duplicate_of: Set(None),
        version: Set(1),
        acknowledged_at: Set(None),
        received_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

fn first_events(
    route: &Route,
    submitter: &Submitter,
    answered: Option<&Answered>,
    now: DateTime<Utc>,
) -> Vec<NewEvent> {
    let routed_kind = match route.status {
        RequestStatus::Closed => EventKind::StatusChanged,
        RequestStatus::Referred => EventKind::Referred,
        RequestStatus::Triage => EventKind::Triaged,
        _ => EventKind::Routed,
    };
    let mut events = vec![
        NewEvent {
            kind: EventKind::Submitted.code(),
            from_status: None,
            to_status: Some(RequestStatus::Received.code()),
            actor_kind: if submitter.registered_by.is_some() {
                ActorKind::Staff.code()
            } else {
                ActorKind::Resident.code()
            },
            actor_id: submitter
                .registered_by
                .clone()
                .or_else(|| submitter.citizen_sub.clone()),
            actor_name: submitter.registered_by_name.clone(),
            public: true,
            message: None,
            note: None,
            detail: None,
            at: now,
        },
        NewEvent {
            kind: routed_kind.code(),
            from_status: Some(RequestStatus::Received.code()),
            to_status: Some(route.status.code()),
            actor_kind: ActorKind::System.code(),
            actor_id: None,
            actor_name: None,
            public: true,
            message: route.referral.clone(),
            note: Some(route.explanation.clone()),
            detail: None,
            at: now,
        },
    ];
    if let (Some(answered), Some(last)) = (answered, events.last_mut()) {
        // The agent who answered closed it; what they said is the message.
        last.actor_kind = ActorKind::Staff.code();
        last.actor_id = submitter.registered_by.clone();
        last.actor_name = submitter.registered_by_name.clone();
        last.message = Some(answered.answer.clone());
        last.note = Some("answered at first contact".to_owned());
        last.detail = Some(
            serde_json::json!({ "firstContact": true, "articles": answered.articles }).to_string(),
        );
    }
    events
}
