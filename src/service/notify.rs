//! What residents and the administrations' own systems are told. Each use
//! case that changes a request writes its messages to the outbox in the
//! same transaction, so a change is never told without having happened,
//! nor happens without being told; `jobs::outbox` delivers them.

use chrono::{DateTime, Utc};
use chrono_tz::Europe::Stockholm;
use rand::RngExt;

use serde_json::json;

use super::{RequestRecord, Services};
use crate::domain::history::EventKind;
use crate::domain::notification::{LetterContext, Occasion, compose, compose_in_both};
use crate::domain::status::RequestStatus;
use crate::store::StoreError;
use crate::store::outbox::{self, NewNotification};
use crate::store::writer::WriteTx;

pub const EMAIL: &str = "EMAIL";
pub const SMS: &str = "SMS";
pub const WEBHOOK: &str = "WEBHOOK";

/// Why an administration's system hears from us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemEvent {
    /// The request arrived in the administration (new, or rerouted to it).
    Routed,
    StatusChanged,
    /// A message to the resident without a status change.
    Commented,
    /// The resident wrote back.
    Replied,
}

impl SystemEvent {
    pub fn code(self) -> &'static str {
        match self {
            Self::Routed => "request.routed",
            Self::StatusChanged => "request.status_changed",
            Self::Commented => "request.commented",
            Self::Replied => "request.replied",
        }
    }
}

/// One change, as those outside hear of it.
pub(super) struct Tidings<'a> {
    pub request: &'a RequestRecord,
    pub resident: Option<Occasion>,
    pub system: Option<SystemEvent>,
    /// What the event said to the resident, for the system's copy.
    pub message: Option<&'a str>,
    pub tracking_code: Option<&'a str>,
}

impl Services {
    /// Writes the messages of one change into the outbox of `tx`.
    pub(super) async fn tell(
        &self,
        tx: &WriteTx,
        tidings: Tidings<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut rows = Vec::new();
        if let Some(occasion) = &tidings.resident {
            rows.extend(self.letter(tidings.request, occasion, tidings.tracking_code));
        }
        if let Some(event) = tidings.system {
            rows.extend(self.webhook(tidings.request, event, tidings.message, now));
        }
        if rows.is_empty() {
            return Ok(());
        }
        outbox::insert(tx, rows, now).await?;
        self.inner.outbox_ready.notify_one();
        Ok(())
    }

    /// An e-mail when the resident left an address, else an SMS when they
    /// left a phone number; nothing under protected identity.
    fn letter(
        &self,
        request: &RequestRecord,
        occasion: &Occasion,
        tracking_code: Option<&str>,
    ) -> Option<NewNotification> {
        if request.protected_identity {
            return None;
        }
        let (channel, recipient) = match (&request.contact_email, &request.contact_phone) {
            (Some(email), _) => (EMAIL, email.clone()),
            (None, Some(phone)) => (SMS, phone.clone()),
            (None, None) => return None,
        };
        let status_url = self.status_url(&request.reference, tracking_code);
        let context = LetterContext {
            reference: &request.reference,
            language: request.language,
            municipality: &self.inner.settings.municipality,
            status_url: &status_url,
        };
        // Written in a language we do not answer in: both of ours.
        let letter = if request.text_language.is_some() {
            compose_in_both(occasion, &context)
        } else {
            compose(occasion, &context)
        };
        let (subject, body_text, body_html) = if channel == EMAIL {
            (Some(letter.subject), letter.text, Some(letter.html))
        } else {
            // A text shows on a locked phone: for social services and care,
            // only what kind of news there is.
            let sms = if request.confidential {
                letter.sms_discreet
            } else {
                letter.sms
            };
            (None, sms, None)
        };
        Some(NewNotification {
            message_id: new_message_id(),
            request_id: request.id,
            channel,
            recipient,
            occasion: occasion_code(occasion),
            subject,
            body_text,
            body_html,
        })
    }

    fn status_url(&self, reference: &str, tracking_code: Option<&str>) -> String {
        let base = self.inner.settings.public_url.trim_end_matches('/');
        match tracking_code {
            Some(code) => format!("{base}/status?reference={reference}&code={code}"),
            None => format!("{base}/status?reference={reference}"),
        }
    }

    /// The administration's system gets the request as it now is, when the
    /// operator configured a webhook for it.
    fn webhook(
        &self,
        request: &RequestRecord,
        event: SystemEvent,
        message: Option<&str>,
        now: DateTime<Utc>,
    ) -> Option<NewNotification> {
        if !self
            .inner
            .settings
            .webhook_administrations
            .contains(&request.administration)
        {
            return None;
        }
        let message_id = new_message_id();
        let body = webhook_body(&message_id, request, event, message, now);
        Some(NewNotification {
            message_id,
            request_id: request.id,
            channel: WEBHOOK,
            recipient: request.administration.clone(),
            occasion: event.code(),
            subject: None,
            body_text: body,
            body_html: None,
        })
    }

    /// The resident's day the request is expected to be answered by.
    pub(super) fn resolve_due_date(&self, request: &RequestRecord) -> chrono::NaiveDate {
        request
            .resolve_due_at
            .with_timezone(&Stockholm)
            .date_naive()
    }

    pub(super) fn administration_name(&self, request: &RequestRecord) -> String {
        self.catalogue()
            .administration(&request.administration)
            .map_or_else(
                || request.administration.clone(),
                |a| a.name.get(request.language).to_owned(),
            )
    }

    /// What a staff change tells the resident, if anything.
    pub(super) fn occasion_of_change(
        &self,
        before: &RequestRecord,
        after: &RequestRecord,
        kind: EventKind,
        message: Option<&str>,
    ) -> Option<Occasion> {
        let message = message.map(str::to_owned);
        let status_changed = before.status != after.status;
        match (after.status, kind) {
            (RequestStatus::WaitingForCitizen, _) if status_changed => {
                Some(Occasion::Question { message: message? })
            }
            (RequestStatus::Resolved, _) if status_changed => {
                Some(Occasion::Resolved { message: message? })
            }
            (RequestStatus::Referred, _) if status_changed => {
                Some(Occasion::Referred { message: message? })
            }
            (RequestStatus::Closed, _) if status_changed => Some(Occasion::Closed {
                message,
                automatically: false,
            }),
            (RequestStatus::Queued, EventKind::Rerouted)
                if before.status == RequestStatus::Triage
                    || before.administration != after.administration =>
            {
                Some(Occasion::Routed {
                    administration: self.administration_name(after),
                    resolve_due: self.resolve_due_date(after),
                })
            }
            (_, EventKind::Comment) => message.map(|message| Occasion::Message { message }),
            _ => None,
        }
    }
}

/// What a staff change tells the administration's system, if anything.
pub(super) fn system_event_of_change(
    before: &RequestRecord,
    after: &RequestRecord,
    kind: EventKind,
    public_message: bool,
) -> Option<SystemEvent> {
    if kind == EventKind::Rerouted && before.administration != after.administration {
        Some(SystemEvent::Routed)
    } else if before.status != after.status {
        Some(SystemEvent::StatusChanged)
    } else if kind == EventKind::Comment && public_message {
        Some(SystemEvent::Commented)
    } else {
        None
    }
}

fn occasion_code(occasion: &Occasion) -> &'static str {
    match occasion {
        Occasion::Received { .. } => "RECEIVED",
        Occasion::Routed { .. } => "ROUTED",
        Occasion::Question { .. } => "QUESTION",
        Occasion::Message { .. } => "MESSAGE",
        Occasion::Resolved { .. } => "RESOLVED",
        Occasion::Referred { .. } => "REFERRED",
        Occasion::Closed { .. } => "CLOSED",
    }
}

/// Random, and stable across retries of the same message.
fn new_message_id() -> String {
    format!("{:032x}", rand::rng().random::<u128>())
}

/// The JSON an administration's system receives. Personal identity numbers
/// never leave; under protected identity no personal data does.
fn webhook_body(
    message_id: &str,
    r: &RequestRecord,
    event: SystemEvent,
    message: Option<&str>,
    now: DateTime<Utc>,
) -> String {
    let contact = (!r.protected_identity).then(
        || json!({ "name": r.contact_name, "email": r.contact_email, "phone": r.contact_phone }),
    );
    let location = (!r.protected_identity).then(|| {
        json!({
            "latitude": r.location_latitude,
            "longitude": r.location_longitude,
            "address": r.location_address,
        })
    });
    json!({
        "id": message_id,
        "type": event.code(),
        "occurredAt": now,
        "messageToCitizen": message.map(crate::domain::notification::mask_personal_numbers),
        "request": {
            "reference": r.reference,
            "status": r.status.code(),
            "category": r.category,
            "administration": r.administration,
            "queue": r.queue,
            "priority": r.priority.code(),
            "channel": r.channel.code(),
            "language": r.language.code(),
            "description": crate::domain::notification::mask_personal_numbers(&r.description),
            "location": location,
            "contact": contact,
            "protectedIdentity": r.protected_identity,
            "receivedAt": r.received_at,
            "ackDueAt": r.ack_due_at,
            "resolveDueAt": r.resolve_due_at,
            "updatedAt": r.updated_at,
        },
    })
    .to_string()
}
