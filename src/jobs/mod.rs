//! Background work that runs beside the API in every server process. Each
//! job claims its rows with `FOR UPDATE SKIP LOCKED` in short transactions,
//! so running on several replicas never does anything twice.

pub mod outbox;

use std::time::Duration;

use chrono::Utc;

use crate::service::Services;

/// Starts the jobs; they run until the process ends.
pub fn spawn(services: Services, every: Duration) {
    tokio::spawn(run(services, every));
}

async fn run(services: Services, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(e) = services.close_resolved(Utc::now()).await {
            tracing::error!(error = %e, "closing resolved requests failed; retrying at the next interval");
        }
        if let Err(e) = services.purge_expired(Utc::now()).await {
            tracing::error!(error = %e, "retention purge failed; retrying at the next interval");
        }
        if let Err(e) = services.purge_idempotency_keys(Utc::now()).await {
            tracing::error!(error = %e, "purging expired idempotency keys failed; retrying at the next interval");
        }
    }
}
