//! GDPR storage limitation: personal data of requests closed or referred
//! longer ago than the retention period is purged; the reference, category,
//! dates and status history stay for statistics.

use chrono::{DateTime, Utc};

use super::{ServiceError, Services};
use crate::domain::history::{ActorKind, EventKind};
use crate::store;
use crate::store::requests::{EventScope, NewEvent};
use crate::store::retention::Categories;

/// What replaces free text once purged.
pub const PURGED_MARKER: &str = "[Personuppgifter gallrade / personal data purged]";
const BATCH: u64 = 500;

impl Services {
    /// Purges everything due at `now`; returns how many requests.
    pub async fn purge_expired(&self, now: DateTime<Utc>) -> Result<usize, ServiceError> {
        let overrides: Vec<(String, u32)> = self
            .catalogue()
            .categories()
            .iter()
            .filter_map(|c| c.retention_days.map(|days| (c.code.clone(), days)))
            .collect();
        let codes: Vec<String> = overrides.iter().map(|(code, _)| code.clone()).collect();
        let default_days = self.inner.settings.retention_days;
        let mut purged = self
            .purge_pass(Categories::AllBut(&codes), default_days, now)
            .await?;
        for (code, days) in &overrides {
            purged += self.purge_pass(Categories::Only(code), *days, now).await?;
        }
        if purged > 0 {
            tracing::info!(
                requests = purged,
                "purged personal data past the retention period"
            );
        }
        Ok(purged)
    }

    async fn purge_pass(
        &self,
        categories: Categories<'_>,
        days: u32,
        now: DateTime<Utc>,
    ) -> Result<usize, ServiceError> {
        let cutoff = now - chrono::Duration::days(i64::from(days));
        let mut total = 0;
        loop {
            let purged = self
                .write(|tx| async move {
                    let ids = store::retention::due(&tx, categories, cutoff, BATCH).await?;
                    if ids.is_empty() {
                        return Ok((tx, 0));
                    }
                    store::retention::purge(&tx, &ids, PURGED_MARKER, now).await?;
                    store::outbox::purge_for_requests(&tx, &ids).await?;
                    store::attachments::purge_for_requests(&tx, &ids).await?;
                    // The purge event carries no content: it is nobody's secret.
                    let scope = EventScope {
                        administration: String::new(),
                        confidential: false,
                    };
                    for id in &ids {
                        store::requests::append_events(&tx, *id, &scope, vec![purged_event(now)])
                            .await?;
                    }
                    Ok((tx, ids.len()))
                })
                .await?;
            if purged == 0 {
                return Ok(total);
            }
            total += purged;
        }
    }
}

fn purged_event(at: DateTime<Utc>) -> NewEvent {
    NewEvent {
        kind: EventKind::PersonalDataPurged.code(),
        from_status: None,
        to_status: None,
        actor_kind: ActorKind::System.code(),
        actor_id: None,
        actor_name: None,
        public: false,
        message: None,
        note: None,
        detail: None,
        at,
    }
}
