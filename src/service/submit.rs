//! `submitRequest`: validate, classify, route, and store the request with
//! its first events in one transaction before answering (OSL 5 kap 1 §).

use chrono::{DateTime, Datelike, Utc};
use sea_orm::ActiveValue::Set;
use sha2::{Digest, Sha256};

use super::{RequestRecord, ServiceError, Services};
use crate::domain::catalogue::Catalogue;
use crate::domain::classifier::ClassifyRequest;
use crate::domain::history::{ActorKind, EventKind};
use crate::domain::reference::Reference;
use crate::domain::routing::{Route, emergency_advice, route};
use crate::domain::status::RequestStatus;
use crate::domain::submission::{Submission, SubmissionInput};
use crate::domain::tracking::TrackingCode;
use crate::store::entities::{idempotency_keys, requests};
use crate::store::requests::NewEvent;
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
    pub async fn submit_request(
        &self,
        input: SubmissionInput,
    ) -> Result<SubmitOutcome, ServiceError> {
        let now = Utc::now();
        let submission =
            Submission::validate(input, now.date_naive()).map_err(ServiceError::InvalidInput)?;
        let claim = submission
            .idempotency_key
            .as_deref()
            .map(|key| IdempotencyClaim::new(key, &submission));
        if let Some(claim) = &claim
            && let Some(outcome) = self.replay(claim).await?
        {
            return Ok(outcome);
        }
        let classification = self.inner.classifier.classify(&ClassifyRequest {
            text: &submission.description,
            category_hint: submission.category_hint.as_deref(),
        });
        let route = route(
            self.catalogue(),
            &classification,
            self.inner.settings.triage_threshold,
            &submission.description,
            submission.language,
        );
        match self
            .store_new(&submission, &route, claim.as_ref(), now)
            .await
        {
            Ok((request, tracking_code)) => {
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
                Some(claim) => self.replay(claim).await?.ok_or(ServiceError::NotFound),
                None => Err(StoreError::Duplicate.into()),
            },
            Err(e) => Err(e.into()),
        }
    }

    async fn store_new(
        &self,
        submission: &Submission,
        route: &Route,
        claim: Option<&IdempotencyClaim>,
        now: DateTime<Utc>,
    ) -> Result<(RequestRecord, TrackingCode), StoreError> {
        let tracking_code = TrackingCode::generate();
        let tx = store::begin_write(self.db()).await?;
        let sequence = store::requests::next_sequence(&tx).await?;
        let reference = Reference::new(now.year(), sequence);
        let model = store::requests::insert(
            &tx,
            new_row(submission, route, &reference, &tracking_code, now),
        )
        .await?;
        store::requests::append_events(&tx, model.id, first_events(route, now)).await?;
        if let Some(claim) = claim {
            let record = idempotency_keys::Model {
                key_hash: claim.key_hash.clone(),
                fingerprint: claim.fingerprint.clone(),
                request_id: model.id,
                sealed_tracking_code: tracking_code.seal(&claim.pad),
                created_at: now,
            };
            store::requests::insert_idempotency(
                &tx,
                record,
                now - self.inner.settings.idempotency_ttl,
            )
            .await?;
        }
        tx.commit().await?;
        Ok((RequestRecord::try_from(model)?, tracking_code))
    }

    /// The earlier answer to a retried submission, or `None` if the key is
    /// new (or expired).
    async fn replay(
        &self,
        claim: &IdempotencyClaim,
    ) -> Result<Option<SubmitOutcome>, ServiceError> {
        let not_before = Utc::now() - self.inner.settings.idempotency_ttl;
        let Some(record) =
            store::requests::find_idempotency(self.db(), &claim.key_hash, not_before).await?
        else {
            return Ok(None);
        };
        if record.fingerprint != claim.fingerprint {
            return Err(ServiceError::Conflict {
                message: "this idempotency key was already used for a different submission".into(),
                field: Some("idempotencyKey"),
            });
        }
        let model = store::requests::find_by_id(self.db(), record.request_id)
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

fn new_row(
    s: &Submission,
    route: &Route,
    reference: &Reference,
    tracking_code: &TrackingCode,
    now: DateTime<Utc>,
) -> requests::ActiveModel {
    requests::ActiveModel {
        reference: Set(reference.to_string()),
        tracking_code_hash: Set(tracking_code.hash()),
        status: Set(route.status.code().to_owned()),
        channel: Set(s.channel.code().to_owned()),
        language: Set(s.language.code().to_owned()),
        description: Set(s.description.clone()),
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
        registered_by: Set(None),
        citizen_sub: Set(None),
        received_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

fn first_events(route: &Route, now: DateTime<Utc>) -> Vec<NewEvent> {
    let routed_kind = match route.status {
        RequestStatus::Referred => EventKind::Referred,
        RequestStatus::Triage => EventKind::Triaged,
        _ => EventKind::Routed,
    };
    vec![
        NewEvent {
            kind: EventKind::Submitted.code(),
            from_status: None,
            to_status: Some(RequestStatus::Received.code()),
            actor_kind: ActorKind::Resident.code(),
            actor_id: None,
            public: true,
            message: None,
            at: now,
        },
        NewEvent {
            kind: routed_kind.code(),
            from_status: Some(RequestStatus::Received.code()),
            to_status: Some(route.status.code()),
            actor_kind: ActorKind::System.code(),
            actor_id: None,
            public: true,
            message: route.referral.clone(),
            at: now,
        },
    ]
}
