//! Live history: after a use case commits new events of a request, it
//! announces the request; each subscriber then reads the events it may see
//! from the database. Announcements carry no content, so the database stays
//! the one source of truth (and, across replicas, any transport that
//! carries a request id will do).

use futures_util::Stream;
use tokio::sync::broadcast;

use super::lookup::HistoryEntry;
use super::{RequestRecord, ServiceError, Services, actor};
use crate::domain::actor::Caller;
use crate::domain::policy::Access;
use crate::domain::reference::Reference;
use crate::store;

/// Announcements a slow subscriber may fall behind by before it re-reads.
pub const CHANNEL_CAPACITY: usize = 1024;

impl Services {
    async fn current(&self, id: i64) -> Result<RequestRecord, ServiceError> {
        let model = store::requests::find_by_id(self.db(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        Ok(RequestRecord::try_from(model)?)
    }

    /// Tells subscribers that `request_id` has new events.
    pub(super) fn announce(&self, request_id: i64) {
        // No subscriber is not an error.
        let _ = self.inner.announcements.send(request_id);
    }

    /// The request a subscriber follows and what they may see of it: the
    /// resident with reference and tracking code, or staff by token.
    pub async fn subscription_target(
        &self,
        caller: &Caller,
        client: std::net::IpAddr,
        reference: &str,
        tracking_code: Option<&str>,
    ) -> Result<(RequestRecord, Access), ServiceError> {
        if let Some(code) = tracking_code {
            let record = self.request_for_resident(client, reference, code).await?;
            return Ok((record, Access::Resident));
        }
        let actor = actor(caller)?;
        let reference = Reference::parse(reference)?;
        let record = self.load_visible(self.db(), actor, &reference).await?;
        let access = self.access(caller, &record);
        Ok((record, access))
    }

    /// Events of `request` committed from now on, as the subscriber may see
    /// them at that moment: staff access is decided again for every event
    /// (a reroute or a protected identity changes it), and the stream ends
    /// when the request leaves the caller's reach or the process stops.
    pub async fn follow(
        &self,
        caller: Caller,
        request: RequestRecord,
        access: Access,
    ) -> Result<impl Stream<Item = HistoryEntry> + use<>, ServiceError> {
        let mut announcements = self.inner.announcements.subscribe();
        let mut seen = store::work::last_event_id(self.db(), request.id).await?;
        let services = self.clone();
        Ok(async_stream::stream! {
            let mut request = request;
            let mut access = access;
            loop {
                let next = tokio::select! {
                    biased;
                    () = services.shutting_down() => break,
                    next = announcements.recv() => next,
                };
                match next {
                    Ok(id) if id != request.id => continue,
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => break,
                }
                // A token outlived by the connection no longer opens anything.
                if caller.actor().is_some_and(|a| a.has_expired(chrono::Utc::now().timestamp())) {
                    break;
                }
                if access != Access::Resident {
                    let Ok(current) = services.current(request.id).await else {
                        break;
                    };
                    access = services.access(&caller, &current);
                    request = current;
                    if access == Access::None {
                        break;
                    }
                }
                let Ok(new) = services.history_after(&request, access, &caller, seen).await else {
                    tracing::warn!(request = request.id, "cannot read new events for a subscriber");
                    continue;
                };
                for (id, entry) in new {
                    seen = id;
                    yield entry;
                }
            }
        })
    }
}
