//! Webhooks to administrations' own case-management systems: the JSON body
//! signed with HMAC-SHA256 over `"<timestamp>.<body>"`, as documented in
//! the README so that a receiver can verify it and refuse replays.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;

use super::{DeliveryError, Outgoing};
use crate::domain::notification::sign_webhook;

pub const SIGNATURE_HEADER: &str = "X-Envagin-Signature";
pub const DELIVERY_HEADER: &str = "X-Envagin-Delivery";
pub const EVENT_HEADER: &str = "X-Envagin-Event";

pub struct WebhookSender {
    client: reqwest::Client,
    urls: BTreeMap<String, String>,
    secret: Vec<u8>,
}

impl WebhookSender {
    pub fn new(urls: BTreeMap<String, String>, secret: Vec<u8>) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            client,
            urls,
            secret,
        })
    }

    /// `recipient` is the administration code; its URL is looked up now, so
    /// that an operator's change of URL applies to messages still waiting.
    pub async fn send(&self, message: &Outgoing<'_>) -> Result<(), DeliveryError> {
        let url = self.urls.get(message.recipient).ok_or_else(|| {
            DeliveryError::Permanent(format!(
                "no webhook is configured for administration {}",
                message.recipient
            ))
        })?;
        let body = message.text.as_bytes().to_vec();
        let signature = sign_webhook(&self.secret, Utc::now().timestamp(), &body);
        let response = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(DELIVERY_HEADER, message.message_id)
            .header(EVENT_HEADER, message.occasion)
            .body(body)
            .send()
            .await
            .map_err(|e| DeliveryError::Transient(format!("webhook {url}: {e}")))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            // A receiver that is down or overloaded recovers; one that
            // refuses may be fixed by its operator: retry both until the
            // attempts run out.
            Err(DeliveryError::Transient(format!(
                "webhook {url} answered {status}"
            )))
        }
    }
}
