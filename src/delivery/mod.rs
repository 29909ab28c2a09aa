//! The doors messages leave through: e-mail over SMTP, SMS through a
//! provider, and signed webhooks to administrations' systems. The outbox
//! sender (`jobs::outbox`) hands each message to `Deliverer::deliver` and
//! retries what fails transiently.

pub mod email;
pub mod sms;
pub mod webhook;

pub use email::Mailer;
pub use sms::{LogSms, SmsProvider};
pub use webhook::WebhookSender;

/// Why a message did not go out.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DeliveryError {
    /// Worth trying again later (server busy, network down).
    #[error("{0}")]
    Transient(String),
    /// Will never succeed (no such mailbox, malformed address).
    #[error("{0}")]
    Permanent(String),
}

/// One message as it leaves.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    pub message_id: &'a str,
    /// `EMAIL`, `SMS` or `WEBHOOK`.
    pub channel: &'a str,
    pub recipient: &'a str,
    pub occasion: &'a str,
    pub subject: Option<&'a str>,
    pub text: &'a str,
    pub html: Option<&'a str>,
}

/// Every door, chosen by the message's channel.
pub struct Deliverer {
    pub mailer: Mailer,
    pub sms: Box<dyn SmsProvider>,
    pub webhooks: WebhookSender,
}

impl Deliverer {
    pub async fn deliver(&self, message: &Outgoing<'_>) -> Result<(), DeliveryError> {
        match message.channel {
            "EMAIL" => self.mailer.send(message).await,
            "SMS" => self.sms.send(message).await,
            "WEBHOOK" => self.webhooks.send(message).await,
            other => Err(DeliveryError::Permanent(format!("unknown channel {other}"))),
        }
    }
}
