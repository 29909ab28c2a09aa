//! Resolved requests the resident did not answer are closed after a while
//! (DESIGN.md: RESOLVED → CLOSED automatically after a configurable number
//! of days), so that queues and statistics show finished work as finished.

use chrono::{DateTime, Utc};

use super::notify::{SystemEvent, Tidings};
use super::{RequestRecord, ServiceError, Services};
use crate::domain::history::{ActorKind, EventKind};
use crate::domain::notification::Occasion;
use crate::domain::status::RequestStatus;
use crate::store;
use crate::store::requests::NewEvent;

const BATCH: u64 = 500;

impl Services {
    /// Closes every request resolved longer ago than the configured days;
    /// returns how many.
    pub async fn close_resolved(&self, now: DateTime<Utc>) -> Result<usize, ServiceError> {
        let cutoff = now - chrono::Duration::days(i64::from(self.inner.settings.auto_close_days));
        let mut closed = 0;
        loop {
            let count = self
                .write(|tx| async move {
                    let due = store::auto_close::due(&tx, cutoff, BATCH).await?;
                    let count = due.len();
                    for model in due {
                        let mut record = RequestRecord::try_from(model)?;
                        store::auto_close::close(&tx, record.id, now).await?;
                        record.status = RequestStatus::Closed;
                        self.tell(
                            &tx,
                            Tidings {
                                request: &record,
                                resident: Some(Occasion::Closed {
                                    message: None,
                                    automatically: true,
                                }),
                                system: Some(SystemEvent::StatusChanged),
                                message: None,
                                tracking_code: None,
                            },
                            now,
                        )
                        .await?;
                        store::requests::append_events(
                            &tx,
                            record.id,
                            &record.event_scope(),
                            vec![closing_event(now)],
                        )
                        .await?;
                    }
                    Ok((tx, count))
                })
                .await?;
            if count == 0 {
                break;
            }
            closed += count;
        }
        if closed > 0 {
            tracing::info!(
                requests = closed,
                "closed resolved requests the residents did not answer"
            );
        }
        Ok(closed)
    }
}

fn closing_event(at: DateTime<Utc>) -> NewEvent {
    NewEvent {
        kind: EventKind::StatusChanged.code(),
        from_status: Some(RequestStatus::Resolved.code()),
        to_status: Some(RequestStatus::Closed.code()),
        actor_kind: ActorKind::System.code(),
        actor_id: None,
        actor_name: None,
        public: true,
        message: None,
        note: Some("closed automatically: no reply after resolution".to_owned()),
        detail: None,
        at,
    }
}
