//! Finding requests: the contact centre's search and a resident's own list.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::error::GqlResult;
use super::types::{GqlRequestStatus, Request, RequestConnection, connection};
use super::{caller, services};
use crate::service::SearchFilter;

/// Every given criterion must hold. Searching by e-mail or phone never finds
/// a request with protected identity; free text finds only requests whose
/// content the caller may read.
#[derive(InputObject, Default)]
pub struct SearchFilterInput {
    /// The full reference; its check digit is verified.
    pub reference: Option<String>,
    /// Exact personnummer or samordningsnummer (10 or 12 digits).
    pub personal_number: Option<String>,
    /// Case does not matter.
    pub email: Option<String>,
    /// Any common Swedish format.
    pub phone: Option<String>,
    /// Words in the description; inflections and missing å/ä/ö match.
    pub text: Option<String>,
    pub status: Option<GqlRequestStatus>,
    pub administration: Option<String>,
    pub category: Option<String>,
    /// Created at or after.
    pub from: Option<DateTime<Utc>>,
    /// Created before.
    pub to: Option<DateTime<Utc>>,
}

impl From<SearchFilterInput> for SearchFilter {
    fn from(f: SearchFilterInput) -> Self {
        Self {
            reference: f.reference,
            personal_number: f.personal_number,
            email: f.email,
            phone: f.phone,
            text: f.text,
            status: f.status.map(Into::into),
            administration: f.administration,
            category: f.category,
            from: f.from,
            to: f.to,
        }
    }
}

#[derive(Default)]
pub struct LookupQuery;

/// One staff read of a request's personal data.
#[derive(SimpleObject)]
pub struct AccessLogEntry {
    pub actor_sub: String,
    pub actor_name: Option<String>,
    /// The personal-data fields that were read.
    pub fields: Vec<String>,
    pub at: DateTime<Utc>,
}

#[Object]
impl LookupQuery {
    /// The contact centre's lookup (handlers: within their administrations),
    /// newest first. Each request shows what the caller may see of it;
    /// personal identity numbers are masked.
    async fn search_requests(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] filter: SearchFilterInput,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> async_graphql::Result<RequestConnection> {
        let services = services(ctx)?;
        let page = services
            .search_requests(
                caller(ctx),
                filter.into(),
                usize::try_from(first).unwrap_or(0),
                after.as_deref(),
            )
            .await
            .gql()?;
        Ok(connection(page.items, page.has_next_page, |record| {
            Request::for_caller(services, caller(ctx), record, true)
        }))
    }

    /// Who read this request's personal data, oldest first: for handlers of
    /// its administration and for the `admin` role.
    async fn access_log(
        &self,
        ctx: &Context<'_>,
        reference: String,
    ) -> async_graphql::Result<Vec<AccessLogEntry>> {
        let entries = services(ctx)?
            .access_log(caller(ctx), &reference)
            .await
            .gql()?;
        Ok(entries
            .into_iter()
            .map(|e| AccessLogEntry {
                actor_sub: e.actor_sub,
                actor_name: e.actor_name,
                fields: e.fields,
                at: e.at,
            })
            .collect())
    }

    /// A logged-in resident's own requests, newest first.
    async fn my_requests(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> async_graphql::Result<RequestConnection> {
        let page = services(ctx)?
            .my_requests(
                caller(ctx),
                usize::try_from(first).unwrap_or(0),
                after.as_deref(),
            )
            .await
            .gql()?;
        Ok(connection(
            page.items,
            page.has_next_page,
            Request::resident,
        ))
    }
}
