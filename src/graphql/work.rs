//! Staff operations: queues and the life cycle of a request.

use async_graphql::{Context, Object, SimpleObject};

use super::error::GqlResult;
use super::types::{GqlPriority, GqlRequestStatus, PageInfo, Request, RequestEdge, connection};
use super::{caller, client_addr, services};
use crate::service::{QueueQuery, RequestRecord, Services, StatusChange};

#[derive(Default)]
pub struct WorkQuery;

#[derive(Default)]
pub struct WorkMutation;

/// A queue as its handlers see it: a connection of requests, most urgent
/// first (priority, then due time), with counts.
#[derive(SimpleObject)]
pub struct WorkQueue {
    pub code: String,
    pub administration: String,
    pub counts: QueueCounts,
    pub edges: Vec<RequestEdge>,
    pub nodes: Vec<Request>,
    pub page_info: PageInfo,
}

#[derive(SimpleObject)]
pub struct QueueCounts {
    /// Waiting for a person to classify them (the triage queue).
    pub triage: u64,
    pub queued: u64,
    pub in_progress: u64,
    pub waiting_for_citizen: u64,
    pub overdue: u64,
}

/// The request as the caller may see it after acting on it.
fn seen_by(services: &Services, ctx: &Context<'_>, record: RequestRecord) -> Request {
    Request::for_caller(services, caller(ctx), record, false)
}

#[Object]
impl WorkQuery {
    /// A queue of requests to work on (handlers of its administration; the
    /// contact centre for its own queues).
    async fn queue(
        &self,
        ctx: &Context<'_>,
        code: String,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
        #[graphql(desc = "Only these statuses (default: triage, queued, in progress, waiting).")]
        status: Option<Vec<GqlRequestStatus>>,
        #[graphql(default = false, desc = "Only requests past a service level.")] overdue: bool,
    ) -> async_graphql::Result<WorkQueue> {
        let services = services(ctx)?;
        let page = services
            .queue(
                caller(ctx),
                QueueQuery {
                    code: &code,
                    first: usize::try_from(first).unwrap_or(0),
                    after: after.as_deref(),
                    statuses: status
                        .unwrap_or_default()
                        .into_iter()
                        .map(Into::into)
                        .collect(),
                    overdue_only: overdue,
                },
            )
            .await
            .gql()?;
        let list = connection(page.requests, page.has_next_page, |record| {
            Request::for_caller(services, caller(ctx), record, true)
        });
        Ok(WorkQueue {
            code: page.code,
            administration: page.administration,
            counts: QueueCounts {
                triage: page.counts.triage,
                queued: page.counts.queued,
                in_progress: page.counts.in_progress,
                waiting_for_citizen: page.counts.waiting_for_citizen,
                overdue: page.counts.overdue,
            },
            edges: list.edges,
            nodes: list.nodes,
            page_info: list.page_info,
        })
    }

    /// One request by reference, as much of it as the caller may see. A
    /// request the caller may not know of is NOT_FOUND.
    async fn request_by_reference(
        &self,
        ctx: &Context<'_>,
        reference: String,
    ) -> async_graphql::Result<Request> {
        let services = services(ctx)?;
        let record = services
            .staff_request(caller(ctx), &reference)
            .await
            .gql()?;
        Ok(seen_by(services, ctx, record))
    }
}

#[Object]
impl WorkMutation {
    /// Takes the most urgent queued request of `queue`; null when the queue
    /// is empty. Two handlers never get the same request.
    async fn claim_next_request(
        &self,
        ctx: &Context<'_>,
        queue: String,
    ) -> async_graphql::Result<Option<Request>> {
        let services = services(ctx)?;
        let record = services
            .claim_next_request(caller(ctx), &queue)
            .await
            .gql()?;
        Ok(record.map(|r| seen_by(services, ctx, r)))
    }

    async fn claim_request(
        &self,
        ctx: &Context<'_>,
        reference: String,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Request> {
        let services = services(ctx)?;
        let record = services
            .claim_request(caller(ctx), &reference, expected_version)
            .await
            .gql()?;
        Ok(seen_by(services, ctx, record))
    }

    /// Puts a request in progress back in its queue.
    async fn release_request(
        &self,
        ctx: &Context<'_>,
        reference: String,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Request> {
        let services = services(ctx)?;
        let record = services
            .release_request(caller(ctx), &reference, expected_version)
            .await
            .gql()?;
        Ok(seen_by(services, ctx, record))
    }

    /// Moves a request along its life cycle. WAITING_FOR_CITIZEN, RESOLVED
    /// and REFERRED need `messageToCitizen`; closing from triage needs a
    /// `reason` (internal).
    async fn set_status(
        &self,
        ctx: &Context<'_>,
        reference: String,
        status: GqlRequestStatus,
        message_to_citizen: Option<String>,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Request> {
        let services = services(ctx)?;
        let change = StatusChange {
            status: status.into(),
            message_to_citizen,
            reason,
            expected_version,
        };
        let record = services
            .set_status(caller(ctx), &reference, change)
            .await
            .gql()?;
        Ok(seen_by(services, ctx, record))
    }

    /// Moves a request to another category and its queue (or refers it, for
    /// another authority's category). The classifier learns from it.
    async fn reroute_request(
        &self,
        ctx: &Context<'_>,
        reference: String,
        category: String,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Request> {
        let services = services(ctx)?;
        let record = services
            .reroute_request(
                caller(ctx),
                &reference,
                &category,
                reason.as_deref(),
                expected_version,
            )
            .await
            .gql()?;
        Ok(seen_by(services, ctx, record))
    }

    /// A note in the history: internal (default), or a message the resident
    /// sees.
    async fn add_comment(
        &self,
        ctx: &Context<'_>,
        reference: String,
        body: String,
        #[graphql(default = true)] internal: bool,
    ) -> async_graphql::Result<Request> {
        let services = services(ctx)?;
        let record = services
            .add_comment(caller(ctx), &reference, &body, internal)
            .await
            .gql()?;
        Ok(seen_by(services, ctx, record))
    }

    /// The resident writes back, with reference and tracking code. A request
    /// waiting for them or resolved goes back to its handler.
    async fn reply_as_citizen(
        &self,
        ctx: &Context<'_>,
        reference: String,
        tracking_code: String,
        body: String,
    ) -> async_graphql::Result<Request> {
        let record = services(ctx)?
            .reply_as_citizen(client_addr(ctx), &reference, &tracking_code, &body)
            .await
            .gql()?;
        Ok(Request::resident(record))
    }

    /// Merges a request into `of`; it then follows that request's status.
    async fn mark_duplicate(
        &self,
        ctx: &Context<'_>,
        reference: String,
        of: String,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Request> {
        let services = services(ctx)?;
        let record = services
            .mark_duplicate(caller(ctx), &reference, &of, expected_version)
            .await
            .gql()?;
        Ok(seen_by(services, ctx, record))
    }

    /// Marks (or unmarks) the resident's protected identity (skyddade
    /// personuppgifter), with a reason. Owning administration's handlers.
    async fn set_protected_identity(
        &self,
        ctx: &Context<'_>,
        reference: String,
        protected: bool,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Request> {
        let services = services(ctx)?;
        let record = services
            .set_protected_identity(
                caller(ctx),
                &reference,
                protected,
                reason.as_deref(),
                expected_version,
            )
            .await
            .gql()?;
        Ok(seen_by(services, ctx, record))
    }

    /// Raises (or lowers) a request's priority, with a reason.
    async fn set_priority(
        &self,
        ctx: &Context<'_>,
        reference: String,
        priority: GqlPriority,
        reason: Option<String>,
        expected_version: Option<i32>,
    ) -> async_graphql::Result<Request> {
        let services = services(ctx)?;
        let record = services
            .set_priority(
                caller(ctx),
                &reference,
                priority.into(),
                reason.as_deref(),
                expected_version,
            )
            .await
            .gql()?;
        Ok(seen_by(services, ctx, record))
    }
}
