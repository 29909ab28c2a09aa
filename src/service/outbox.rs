//! Delivering the outbox: claim due messages with a lease, send them
//! outside any transaction, record the outcome. At-least-once: a sender
//! that dies after sending but before recording leaves the message to be
//! sent again, with the same message id, when its lease runs out.

use chrono::{DateTime, Utc};
use rand::RngExt;

use super::{ServiceError, Services};
use crate::delivery::{Deliverer, DeliveryError, Outgoing};
use crate::domain::notification::retry_delay;
use crate::store::entities::notifications;
use crate::store::outbox::{self, LeaseToken};

/// What one pass of the sender did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct OutboxPass {
    pub claimed: usize,
    pub sent: usize,
    pub retrying: usize,
    pub dead: usize,
}

/// How many messages and how many of them gave up, for the operator.
#[derive(Debug, Clone, Copy)]
pub struct OutboxBacklog {
    pub pending: u64,
    pub dead: u64,
}

impl Services {
    /// Claims up to `batch` due messages for `sender` and delivers them.
    pub async fn deliver_due(
        &self,
        deliverer: &Deliverer,
        sender: &str,
        batch: u64,
    ) -> Result<OutboxPass, ServiceError> {
        let now = Utc::now();
        let leased = self.lease_due(sender, batch, now).await?;
        let mut pass = OutboxPass {
            claimed: leased.len(),
            ..OutboxPass::default()
        };
        // Sent in order (a resident's receipt before the question that
        // follows it), recorded together: one write transaction per batch
        // instead of one per message, so a storm of receipts does not take
        // the writer's turns from the submissions that cause it.
        let mut results = Vec::with_capacity(leased.len());
        for message in &leased {
            results.push(deliverer.deliver(&outgoing(message)).await);
        }
        self.record_deliveries(&leased, results, sender, &mut pass)
            .await?;
        Ok(pass)
    }

    async fn lease_due(
        &self,
        sender: &str,
        batch: u64,
        now: DateTime<Utc>,
    ) -> Result<Vec<notifications::Model>, ServiceError> {
        let mut due = self
            .write(|tx| async move {
                let due = outbox::due(&tx, now, batch).await?;
                if !due.is_empty() {
                    let ids: Vec<i64> = due.iter().map(|n| n.id).collect();
                    outbox::lease(&tx, &ids, sender, now + self.inner.settings.outbox.lease)
                        .await?;
                }
                Ok((tx, due))
            })
            .await?;
        for message in &mut due {
            message.attempts += 1;
        }
        Ok(due)
    }

    async fn record_deliveries(
        &self,
        messages: &[notifications::Model],
        results: Vec<Result<(), DeliveryError>>,
        sender: &str,
        pass: &mut OutboxPass,
    ) -> Result<(), ServiceError> {
        if messages.is_empty() {
            return Ok(());
        }
        let now = Utc::now();
        let results = &results;
        let recorded = self
            .write(|tx| async move {
                let mut recorded = Vec::with_capacity(messages.len());
                for (message, result) in messages.iter().zip(results) {
                    let lease = LeaseToken {
                        id: message.id,
                        sender,
                        attempt: message.attempts,
                    };
                    let recording = match result {
                        Ok(()) => (outbox::mark_sent(&tx, &lease, now).await?, false),
                        Err(error) => {
                            let retry_at = self.retry_at(message.attempts, error, now);
                            let taken =
                                outbox::mark_failed(&tx, &lease, &error.to_string(), retry_at)
                                    .await?;
                            (taken, retry_at.is_none())
                        }
                    };
                    recorded.push(recording);
                }
                Ok((tx, recorded))
            })
            .await?;
        for ((message, result), (taken, gave_up)) in messages.iter().zip(results).zip(recorded) {
            match (result, gave_up) {
                (Ok(()), _) => pass.sent += 1,
                (Err(_), false) => pass.retrying += 1,
                (Err(_), true) => pass.dead += 1,
            }
            log_delivery(message, result, taken);
        }
        Ok(())
    }

    /// When to try again, or `None` to give up.
    fn retry_at(
        &self,
        attempts: i32,
        error: &DeliveryError,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let settings = &self.inner.settings.outbox;
        let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
        if matches!(error, DeliveryError::Permanent(_)) || attempts >= settings.max_attempts {
            return None;
        }
        let jitter = rand::rng().random::<f64>();
        let delay = retry_delay(attempts, settings.retry_base, settings.retry_max, jitter);
        Some(now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(6)))
    }

    pub async fn outbox_backlog(&self) -> Result<OutboxBacklog, ServiceError> {
        Ok(OutboxBacklog {
            pending: outbox::count(self.db(), outbox::PENDING).await?,
            dead: outbox::count(self.db(), outbox::DEAD).await?,
        })
    }

    /// Wakes when this process wrote a message, or after `idle`.
    pub async fn outbox_wait(&self, idle: std::time::Duration) {
        let _ = tokio::time::timeout(idle, self.inner.outbox_ready.notified()).await;
    }
}

fn outgoing(message: &notifications::Model) -> Outgoing<'_> {
    Outgoing {
        message_id: &message.message_id,
        channel: &message.channel,
        recipient: &message.recipient,
        occasion: &message.occasion,
        subject: message.subject.as_deref(),
        text: message.body_text.as_deref().unwrap_or_default(),
        html: message.body_html.as_deref(),
    }
}

fn log_delivery(
    message: &notifications::Model,
    result: &Result<(), DeliveryError>,
    recorded: bool,
) {
    let channel = message.channel.clone();
    match result {
        Ok(()) => {
            metrics::counter!("envagin_notifications_sent_total", "channel" => channel)
                .increment(1);
            tracing::info!(
                message_id = %message.message_id,
                channel = %message.channel,
                occasion = %message.occasion,
                attempt = message.attempts,
                "notification delivered"
            );
        }
        Err(error) => {
            metrics::counter!("envagin_notifications_failed_total", "channel" => channel)
                .increment(1);
            tracing::warn!(
                message_id = %message.message_id,
                channel = %message.channel,
                occasion = %message.occasion,
                attempt = message.attempts,
                error = %error,
                "notification not delivered"
            );
        }
    }
    if !recorded {
        tracing::warn!(
            message_id = %message.message_id,
            "the lease on this notification passed to another sender before the outcome was recorded; it may be delivered twice (receivers deduplicate by message id)"
        );
    }
}
