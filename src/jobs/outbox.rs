//! The outbox sender: runs in every replica without a leader. Each pass
//! leases a batch of due messages (rows locked with SKIP LOCKED while
//! leasing, so replicas take different ones), delivers them, and goes on at
//! once while there is more, or waits to be woken or for the poll interval.

use std::sync::Arc;
use std::time::Duration;

use rand::RngExt;

use crate::delivery::Deliverer;
use crate::service::Services;

const BATCH: u64 = 32;

/// How long a woken sender waits for more messages before its pass; a
/// resident does not notice 25 ms on a receipt.
const GATHER: Duration = Duration::from_millis(25);

pub fn spawn(services: Services, deliverer: Arc<Deliverer>, poll: Duration) {
    tokio::spawn(run(services, deliverer, poll));
}

async fn run(services: Services, deliverer: Arc<Deliverer>, poll: Duration) {
    let sender = sender_id();
    tracing::info!(sender = %sender, "outbox sender started");
    loop {
        match services.deliver_due(&deliverer, &sender, BATCH).await {
            Ok(pass) if pass.claimed as u64 == BATCH => continue,
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "outbox pass failed; retrying after the poll interval");
            }
        }
        services.outbox_wait(poll).await;
        // Let the messages of a busy moment gather into one batch: each
        // pass costs two write transactions however few it carries.
        tokio::time::sleep(GATHER).await;
    }
}

/// Which process holds a lease, for the operator reading the outbox.
fn sender_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "envagin".to_owned());
    format!(
        "{host}:{}:{:06x}",
        std::process::id(),
        rand::rng().random::<u32>() & 0xff_ffff
    )
}
