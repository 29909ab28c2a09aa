//! E-mail as a channel: a message to the municipality's mailbox becomes a
//! request with channel `EMAIL`, or, when its subject names one of the
//! sender's own requests, a reply on it. Bounces and auto-replies are
//! dropped: answering them would start a mail loop.

use super::submit::{Intake, Submitter};
use super::{ServiceError, Services};
use crate::domain::Channel;
use crate::domain::contact::normalise_email;
use crate::domain::inbound_email::{self, InboundAttachment, InboundEmail};
use crate::domain::reference::Reference;
use crate::domain::status::RequestStatus;
use crate::domain::submission::{ContactInput, MAX_DESCRIPTION_CHARS, SubmissionInput};
use crate::domain::text::clean;
use crate::store;
use crate::store::attachments::NewAttachment;
use crate::store::entities::requests;

/// Most files kept from one message.
const MAX_ATTACHMENTS: usize = 10;
/// Longest reply kept from an e-mail; the rest is cut, never refused (the
/// resident is not there to shorten it).
const MAX_REPLY_CHARS: usize = 5_000;

/// What became of an inbound e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestOutcome {
    Created { reference: String },
    Replied { reference: String },
    Ignored { reason: String },
}

/// Which attachments an inbound e-mail may bring.
#[derive(Debug, Clone)]
pub struct MailIntakeSettings {
    pub attachment_max_bytes: usize,
    /// Lower-case MIME types, e.g. `image/jpeg`.
    pub attachment_types: Vec<String>,
}

impl Services {
    pub async fn ingest_email(&self, raw: &[u8]) -> Result<IngestOutcome, ServiceError> {
        let email = inbound_email::parse(raw)
            .map_err(|e| ServiceError::invalid("message", &e.to_string()))?;
        if email.auto_submitted {
            tracing::info!(message_id = ?email.message_id, "ignored an automatic e-mail (bounce or auto-reply)");
            return Ok(IngestOutcome::Ignored {
                reason: "automatic message (bounce or auto-reply)".into(),
            });
        }
        let intake = self.sort_attachments(&email.attachments);
        if let Some(request) = self.reply_target(&email).await? {
            let body = reply_text(&email, &intake);
            let updated = self
                .record_reply(request.id, body, &intake.attachments)
                .await?;
            tracing::info!(reference = %updated.reference, "e-mail recorded as the resident's reply");
            return Ok(IngestOutcome::Replied {
                reference: updated.reference,
            });
        }
        let Some(input) = submission(&email, &intake) else {
            return Ok(IngestOutcome::Ignored {
                reason: "the message has no text and no attachment".into(),
            });
        };
        let submitter = Submitter {
            registered_by: None,
            registered_by_name: None,
            citizen_sub: None,
        };
        let outcome = self.register(submitter, input, intake).await?;
        Ok(IngestOutcome::Created {
            reference: outcome.request.reference,
        })
    }

    /// The sender's own open request named in the subject, if any. A
    /// reference alone proves nothing (it is printed on letters): the
    /// sender must be the address the request was made from.
    async fn reply_target(
        &self,
        email: &InboundEmail,
    ) -> Result<Option<requests::Model>, ServiceError> {
        let Ok(sender) = normalise_email(&email.from_address) else {
            return Ok(None);
        };
        for candidate in inbound_email::reference_candidates(&email.subject) {
            let Ok(reference) = Reference::parse(&candidate) else {
                continue;
            };
            let Some(model) =
                store::requests::find_by_reference(self.db(), &reference.to_string()).await?
            else {
                continue;
            };
            let open = model.status != RequestStatus::Closed.code();
            if open && model.contact_email.as_deref() == Some(sender.as_str()) {
                return Ok(Some(model));
            }
        }
        Ok(None)
    }

    /// Keeps the files within the configured size and types; the others
    /// are listed for the resident's receipt.
    fn sort_attachments(&self, files: &[InboundAttachment]) -> Intake {
        let limits = &self.inner.settings.mail;
        let mut intake = Intake::default();
        for file in files {
            let refusal = if intake.attachments.len() >= MAX_ATTACHMENTS {
                Some(format!(
                    "högst {MAX_ATTACHMENTS} bilagor per meddelande / at most {MAX_ATTACHMENTS} attachments per message"
                ))
            } else if !limits.attachment_types.contains(&file.content_type) {
                Some(format!(
                    "filtypen {} tas inte emot / this file type is not accepted",
                    file.content_type
                ))
            } else if file.bytes.len() > limits.attachment_max_bytes {
                Some(format!(
                    "större än {} MB / larger than {} MB",
                    limits.attachment_max_bytes / (1024 * 1024),
                    limits.attachment_max_bytes / (1024 * 1024)
                ))
            } else {
                None
            };
            match refusal {
                Some(reason) => intake.refused.push(format!("{}: {reason}", file.filename)),
                None => intake.attachments.push(NewAttachment {
                    filename: file.filename.clone(),
                    content_type: file.content_type.clone(),
                    content: file.bytes.clone(),
                }),
            }
        }
        intake
    }
}

/// The request an e-mail makes, or `None` when it says nothing at all.
fn submission(email: &InboundEmail, intake: &Intake) -> Option<SubmissionInput> {
    let text = [email.subject.as_str(), email.text.as_str()]
        .into_iter()
        .map(clean)
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    let description = if !text.is_empty() {
        truncate(&text, MAX_DESCRIPTION_CHARS)
    } else if !intake.attachments.is_empty() || !intake.refused.is_empty() {
        "(E-post med bilagor utan text / e-mail with attachments and no text)".to_owned()
    } else {
        return None;
    };
    Some(SubmissionInput {
        language: Some(
            crate::domain::analysis::detect_language(&description)
                .code()
                .to_owned(),
        ),
        description,
        channel: Channel::Email,
        contact: Some(ContactInput {
            name: email.from_name.clone(),
            email: Some(email.from_address.clone()),
            ..ContactInput::default()
        }),
        // A gateway that retries a message it could not hand over creates
        // one request, not two; another message reusing the Message-ID
        // gets a key of its own.
        idempotency_key: email.retry_key(),
        ..SubmissionInput::default()
    })
}

fn reply_text(email: &InboundEmail, intake: &Intake) -> String {
    let mut text = clean(&email.text);
    if text.is_empty() {
        text = "(E-post utan text / e-mail without text)".to_owned();
    }
    if !intake.refused.is_empty() {
        text.push_str("\n\n[Bilagor som inte togs emot / attachments not accepted: ");
        text.push_str(&intake.refused.join("; "));
        text.push(']');
    }
    truncate(&text, MAX_REPLY_CHARS)
}

/// At most `max` characters, cut on a character boundary and marked.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}
