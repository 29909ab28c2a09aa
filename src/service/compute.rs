//! Work on a request's text (classifying it, looking for 112 words,
//! searching the knowledge base) costs real CPU, and anyone may ask for it
//! at every pause in typing. Done on the async workers, a flood of such
//! asks starved everything else they serve: `/health` went unanswered for
//! seconds and the SQLite writer's pool timed out. So text work runs on the
//! blocking pool, at most `analysis_threads` at once, and a preview that
//! cannot start within `preview_wait` is refused as busy instead of
//! queueing without end. A submission waits for its turn: it is a resident's
//! request, not a courtesy.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::{ServiceError, Services};

/// How long a piece of text work may wait for a thread.
#[derive(Debug, Clone, Copy)]
pub(super) enum Urgency {
    /// A preview for the form or a staff page: refused as busy after the
    /// configured wait.
    Preview,
    /// Part of registering a request, or a staff member's figures: waits
    /// as long as it takes.
    Required,
}

/// The threads text work may use, and how long a preview waits for one.
pub(super) struct ComputePool {
    permits: Arc<Semaphore>,
    preview_wait: Duration,
}

impl ComputePool {
    /// `threads` 0 means one fewer than the machine has cores (at least
    /// one), so that one core stays free for everything else.
    pub(super) fn new(threads: usize, preview_wait: Duration) -> Self {
        let threads = if threads == 0 {
            std::thread::available_parallelism()
                .map_or(1, |n| n.get().saturating_sub(1))
                .max(1)
        } else {
            threads
        };
        Self {
            permits: Arc::new(Semaphore::new(threads)),
            preview_wait,
        }
    }
}

impl Services {
    /// Runs `work` on a blocking thread once one of the pool's threads is
    /// free.
    pub(super) async fn compute<T, F>(&self, urgency: Urgency, work: F) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: FnOnce(&Services) -> T + Send + 'static,
    {
        let pool = &self.inner.compute;
        let permits = Arc::clone(&pool.permits);
        let permit = match urgency {
            Urgency::Required => permits.acquire_owned().await.ok(),
            Urgency::Preview if pool.preview_wait.is_zero() => permits.try_acquire_owned().ok(),
            Urgency::Preview => tokio::time::timeout(pool.preview_wait, permits.acquire_owned())
                .await
                .ok()
                .and_then(Result::ok),
        };
        let Some(permit) = permit else {
            if let Some(refused) = self.inner.refusals.busy.count(std::time::Instant::now()) {
                tracing::warn!(
                    refused,
                    "text analysis busy: previews refused (count since the last such line)"
                );
            }
            return Err(ServiceError::Busy);
        };
        let services = self.clone();
        let done = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(&services)
        })
        .await;
        match done {
            Ok(value) => Ok(value),
            // A bug: let it reach the panic handler as if it had happened
            // here, where it answers 500 and is logged.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Only when the runtime is shutting down.
            Err(_) => Err(ServiceError::Busy),
        }
    }
}
