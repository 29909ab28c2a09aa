//! A handler's view of a queue: most urgent first (priority, then due time),
//! with counts, filtered by status or overdue, paged by an opaque keyset
//! cursor so that page N costs the same as page 1 on a million rows.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use super::{RequestRecord, ServiceError, Services, actor};
use crate::domain::actor::Caller;
use crate::domain::status::RequestStatus;
use crate::store;
use crate::store::work::{OPEN, QueueCounts, QueueFilter, QueuePosition};

pub const MAX_PAGE: usize = 100;

pub struct QueueQuery<'a> {
    pub code: &'a str,
    pub first: usize,
    pub after: Option<&'a str>,
    /// Empty: every open status (triage, queued, in progress, waiting).
    pub statuses: Vec<RequestStatus>,
    pub overdue_only: bool,
}

pub struct QueuePage {
    pub code: String,
    pub administration: String,
    pub counts: QueueCounts,
    pub requests: Vec<(String, RequestRecord)>,
    pub has_next_page: bool,
    pub now: DateTime<Utc>,
}

impl Services {
    pub async fn queue(
        &self,
        caller: &Caller,
        query: QueueQuery<'_>,
    ) -> Result<QueuePage, ServiceError> {
        let actor = actor(caller)?;
        self.require_queue_worker(actor, query.code)?;
        let administration = self
            .catalogue()
            .queue_owner(query.code)
            .map(|a| a.code.clone())
            .ok_or(ServiceError::NotFound)?;
        if query.first == 0 || query.first > MAX_PAGE {
            return Err(ServiceError::invalid(
                "first",
                &format!("must be between 1 and {MAX_PAGE}"),
            ));
        }
        let after = query.after.map(decode_cursor).transpose()?;
        let statuses = if query.statuses.is_empty() {
            OPEN.to_vec()
        } else {
            query.statuses
        };
        let now = Utc::now();
        let filter = QueueFilter {
            queue: query.code,
            statuses: &statuses,
            overdue_only: query.overdue_only,
            now,
        };
        let limit = u64::try_from(query.first + 1).unwrap_or(u64::MAX);
        let mut rows = store::work::queue_page(self.db(), &filter, after.as_ref(), limit).await?;
        let has_next_page = rows.len() > query.first;
        rows.truncate(query.first);
        let counts = store::work::queue_counts(self.db(), query.code, now).await?;
        let requests = rows
            .into_iter()
            .map(|m| {
                let record = RequestRecord::try_from(m)?;
                Ok((encode_cursor(&record), record))
            })
            .collect::<Result<Vec<_>, ServiceError>>()?;
        Ok(QueuePage {
            code: query.code.to_owned(),
            administration,
            counts,
            requests,
            has_next_page,
            now,
        })
    }
}

fn encode_cursor(r: &RequestRecord) -> String {
    let raw = format!(
        "{}|{}|{}",
        r.priority.rank(),
        r.resolve_due_at.to_rfc3339(),
        r.id
    );
    URL_SAFE_NO_PAD.encode(raw)
}

fn decode_cursor(cursor: &str) -> Result<QueuePosition, ServiceError> {
    let invalid = || ServiceError::invalid("after", "is not a cursor from this queue");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let raw = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = raw.split('|');
    let (Some(priority), Some(due), Some(id), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    Ok(QueuePosition {
        priority: priority.parse().map_err(|_| invalid())?,
        resolve_due_at: DateTime::parse_from_rfc3339(due)
            .map_err(|_| invalid())?
            .with_timezone(&Utc),
        id: id.parse().map_err(|_| invalid())?,
    })
}

/// Figures an operator watches, read when /metrics is scraped.
pub struct OperationalGauges {
    pub queues: Vec<QueueGauge>,
    pub pool_size: u32,
    pub pool_idle: usize,
}

pub struct QueueGauge {
    pub code: String,
    pub counts: QueueCounts,
}

impl Services {
    pub async fn operational_gauges(&self) -> Result<OperationalGauges, ServiceError> {
        let now = Utc::now();
        let mut queues = Vec::new();
        // A live count of a confidential queue shows each arrival as it
        // happens, one request at a time (DESIGN.md: never cells so small);
        // their handlers watch those queues in the service itself.
        let confidential = crate::domain::disclosure::Marked::of(self.catalogue()).administrations;
        for adm in self
            .catalogue()
            .administrations()
            .iter()
            .filter(|adm| !confidential.contains(&adm.code))
        {
            for queue in &adm.queues {
                let counts = store::work::queue_counts(self.db(), &queue.code, now).await?;
                queues.push(QueueGauge {
                    code: queue.code.clone(),
                    counts,
                });
            }
        }
        let (pool_size, pool_idle) = store::pool_use(self.db());
        Ok(OperationalGauges {
            queues,
            pool_size,
            pool_idle,
        })
    }
}
