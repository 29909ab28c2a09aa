//! Live updates over WebSocket (graphql-transport-ws).

use async_graphql::{Context, Subscription};
use futures_util::Stream;

use super::error::GqlResult;
use super::types::HistoryEvent;
use super::{caller, client_addr, services};

#[derive(Default)]
pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// Each new event of a request the moment it is committed: for the
    /// resident with reference and tracking code (status changes and
    /// messages), for staff by token (what they may see).
    async fn request_events(
        &self,
        ctx: &Context<'_>,
        reference: String,
        tracking_code: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = HistoryEvent> + use<>> {
        let services = services(ctx)?;
        let (record, access) = services
            .subscription_target(
                caller(ctx),
                client_addr(ctx),
                &reference,
                tracking_code.as_deref(),
            )
            .await
            .gql()?;
        let stream = services
            .follow(caller(ctx).clone(), record, access)
            .await
            .gql()?;
        Ok(futures_util::StreamExt::map(stream, HistoryEvent::new))
    }
}
