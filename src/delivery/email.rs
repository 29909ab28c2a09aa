//! E-mail to residents over SMTP (lettre), or to the log when no SMTP
//! server is configured so that the product runs out of the box.

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{DeliveryError, Outgoing};

pub enum Mailer {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
        reply_to: Option<Mailbox>,
    },
    Log,
}

#[derive(Debug, thiserror::Error)]
pub enum MailerSetupError {
    #[error("ENVAGIN_SMTP_URL is not a usable SMTP URL: {0}")]
    Url(String),
    #[error("{var} is not a valid mailbox ({value}): {reason}")]
    Mailbox {
        var: &'static str,
        value: String,
        reason: String,
    },
}

/// Replies and out-of-office answers to our messages must not loop back as
/// new requests (RFC 3834).
const AUTO_SUBMITTED: HeaderName = HeaderName::new_from_ascii_str("Auto-Submitted");

impl Mailer {
    pub fn new(
        smtp_url: Option<&str>,
        from: &str,
        reply_to: Option<&str>,
    ) -> Result<Self, MailerSetupError> {
        let Some(url) = smtp_url else {
            return Ok(Self::Log);
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailerSetupError::Url(e.to_string()))?
            .timeout(Some(std::time::Duration::from_secs(30)))
            .build();
        Ok(Self::Smtp {
            transport,
            from: mailbox("ENVAGIN_MAIL_FROM", from)?,
            reply_to: reply_to
                .map(|r| mailbox("ENVAGIN_MAIL_REPLY_TO", r))
                .transpose()?,
        })
    }

    pub fn describe(&self) -> &'static str {
        match self {
            Self::Smtp { .. } => "e-mail is sent over SMTP",
            Self::Log => "e-mail is written to the log (set ENVAGIN_SMTP_URL to send it)",
        }
    }

    pub async fn send(&self, message: &Outgoing<'_>) -> Result<(), DeliveryError> {
        match self {
            Self::Log => {
                tracing::info!(
                    message_id = message.message_id,
                    occasion = message.occasion,
                    subject = message.subject.unwrap_or_default(),
                    text = message.text,
                    "e-mail not sent: no SMTP server configured (ENVAGIN_SMTP_URL)"
                );
                Ok(())
            }
            Self::Smtp {
                transport,
                from,
                reply_to,
            } => {
                let email = build(message, from, reply_to.as_ref())?;
                transport.send(email).await.map(|_| ()).map_err(|e| {
                    if e.is_permanent() {
                        DeliveryError::Permanent(e.to_string())
                    } else {
                        DeliveryError::Transient(e.to_string())
                    }
                })
            }
        }
    }
}

fn mailbox(var: &'static str, value: &str) -> Result<Mailbox, MailerSetupError> {
    value.parse().map_err(
        |e: lettre::address::AddressError| MailerSetupError::Mailbox {
            var,
            value: value.to_owned(),
            reason: e.to_string(),
        },
    )
}

fn build(
    message: &Outgoing<'_>,
    from: &Mailbox,
    reply_to: Option<&Mailbox>,
) -> Result<Message, DeliveryError> {
    let to: Mailbox = message
        .recipient
        .parse()
        .map_err(|e| DeliveryError::Permanent(format!("recipient address: {e}")))?;
    // The same Message-ID on every attempt lets mail clients drop duplicates.
    let domain = from.email.domain();
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(message.subject.unwrap_or_default())
        .message_id(Some(format!("<{}@{domain}>", message.message_id)))
        .raw_header(HeaderValue::new(
            AUTO_SUBMITTED,
            "auto-generated".to_owned(),
        ));
    if let Some(reply_to) = reply_to {
        builder = builder.reply_to(reply_to.clone());
    }
    let body = match message.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            message.text.to_owned(),
            html.to_owned(),
        )),
        None => builder.body(message.text.to_owned()),
    };
    body.map_err(|e| DeliveryError::Permanent(format!("cannot build the message: {e}")))
}
