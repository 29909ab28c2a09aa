//! SMS to residents who left only a phone number. Providers differ per
//! municipality (procured contracts), so this is a seam: implement
//! `SmsProvider` for yours and select it in `app.rs` by
//! `ENVAGIN_SMS_PROVIDER` (see README, "Adding an SMS provider").

use futures_util::future::BoxFuture;

use super::{DeliveryError, Outgoing};

pub trait SmsProvider: Send + Sync {
    /// Sends `message.text` to `message.recipient` (an E.164 number).
    /// Must be safe to call again with the same `message_id` after a crash
    /// (at-least-once): pass the id on if the provider deduplicates.
    fn send<'a>(&'a self, message: &'a Outgoing<'a>) -> BoxFuture<'a, Result<(), DeliveryError>>;
}

/// Writes the SMS to the log instead of sending it, so that the product
/// runs out of the box. The number is not logged: the message id finds
/// it in the outbox.
pub struct LogSms;

impl SmsProvider for LogSms {
    fn send<'a>(&'a self, message: &'a Outgoing<'a>) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(async move {
            tracing::info!(
                message_id = message.message_id,
                occasion = message.occasion,
                text = message.text,
                "SMS not sent: no SMS provider configured (ENVAGIN_SMS_PROVIDER=log)"
            );
            Ok(())
        })
    }
}
