//! GraphQL transport: parse, call a use case, map errors. No rules live
//! here; resolvers are one call into `service` each.

pub mod error;
mod knowledge;
mod limits;
mod lookup;
mod parse_cache;
mod stats;
mod subscription;
mod types;
mod work;

use std::num::NonZeroUsize;

use async_graphql::{Context, MergedObject, Object, Schema};

use crate::domain::actor::Caller;
use crate::service::Services;
use error::GqlResult;
use types::{CatalogueView, CategorySuggestion, Request, SubmitRequestInput, SubmitRequestPayload};

pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

pub use subscription::SubscriptionRoot;

#[derive(MergedObject, Default)]
pub struct QueryRoot(
    CatalogueQuery,
    RequestQuery,
    work::WorkQuery,
    lookup::LookupQuery,
    stats::StatsQuery,
    knowledge::KnowledgeQuery,
);

#[derive(MergedObject, Default)]
pub struct MutationRoot(
    SubmitMutation,
    work::WorkMutation,
    knowledge::KnowledgeMutation,
);

/// Limits that keep one client from exhausting the server.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_aliases: usize,
    pub introspection: bool,
    /// How long one query or mutation may run, over HTTP or WebSocket.
    pub timeout: std::time::Duration,
}

const MAX_DIRECTIVES_PER_FIELD: usize = 4;
const MAX_RECURSIVE_DEPTH: usize = 32;
/// Distinct query texts kept parsed.
const PARSED_QUERIES: NonZeroUsize = NonZeroUsize::new(256).expect("not zero");

pub fn build_schema(services: Services, limits: &Limits) -> AppSchema {
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot,
    )
    .data(services)
    .limit_depth(limits.max_depth)
    .limit_complexity(limits.max_complexity)
    .limit_recursive_depth(MAX_RECURSIVE_DEPTH)
    .limit_directives(MAX_DIRECTIVES_PER_FIELD)
    .extension(limits::Deadline(limits.timeout))
    .extension(crate::http::metrics::GraphqlMetrics)
    // Last, so that it stands in for the parser alone.
    .extension(parse_cache::ParseCache::new(
        PARSED_QUERIES,
        limits.max_aliases,
    ));
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    builder.finish()
}

/// The SDL checked in as `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot,
    )
    .finish()
    .sdl()
}

fn services<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Services> {
    ctx.data::<Services>()
}

static ANONYMOUS: Caller = Caller::Anonymous;

/// The client's network address, set per HTTP request.
#[derive(Clone, Copy)]
pub struct ClientAddr(pub std::net::IpAddr);

fn client_addr(ctx: &Context<'_>) -> std::net::IpAddr {
    ctx.data_opt::<ClientAddr>()
        .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.0)
}

/// Who is calling: set per HTTP request from the bearer token.
fn caller<'a>(ctx: &Context<'a>) -> &'a Caller {
    ctx.data_opt::<Caller>().unwrap_or(&ANONYMOUS)
}

const DEFAULT_SUGGESTIONS: usize = 3;

/// What a field that classifies or searches a free text weighs in the
/// complexity limit, against 1 for a plain field: with the default limit
/// of 200 an operation may ask for a handful, not hundreds.
pub(crate) const COSTLY_FIELD: usize = 40;
const MAX_SUGGESTIONS: usize = 10;

#[derive(Default)]
pub struct CatalogueQuery;

#[Object]
impl CatalogueQuery {
    /// Administrations and categories, for the web form. Public.
    async fn catalogue(&self) -> CatalogueView {
        CatalogueView
    }

    /// Preview of how a text would be classified: the best categories with
    /// confidence, best first. Public; anonymous callers have a budget per
    /// address (`ENVAGIN_PREVIEW_MAX_PER_ADDRESS`).
    /// The advice to call 112 when a text being typed describes danger
    /// now, in the given language (`sv` by default); null otherwise. The web
    /// form asks while the resident types. Public, with the same budget as
    /// `classify`.
    #[graphql(complexity = "COSTLY_FIELD")]
    async fn emergency_advice(
        &self,
        ctx: &Context<'_>,
        text: String,
        language: Option<String>,
    ) -> async_graphql::Result<Option<String>> {
        let language = types::language_or_default(language)?;
        let services = services(ctx)?;
        services
            .preview_budget(caller(ctx), client_addr(ctx))
            .gql()?;
        services.emergency_preview(&text, language).await.gql()
    }

    #[graphql(complexity = "COSTLY_FIELD + child_complexity")]
    async fn classify(
        &self,
        ctx: &Context<'_>,
        text: String,
        category_hint: Option<String>,
        #[graphql(default = 3, validator(minimum = 1, maximum = 10))] first: i32,
    ) -> async_graphql::Result<Vec<CategorySuggestion>> {
        let first = usize::try_from(first)
            .unwrap_or(DEFAULT_SUGGESTIONS)
            .min(MAX_SUGGESTIONS);
        let services = services(ctx)?;
        services
            .preview_budget(caller(ctx), client_addr(ctx))
            .gql()?;
        let candidates = services
            .classify_preview(&text, category_hint, first)
            .await
            .gql()?;
        Ok(candidates
            .into_iter()
            .map(|c| CategorySuggestion {
                category: c.category,
                confidence: c.confidence,
            })
            .collect())
    }
}

#[derive(Default)]
pub struct RequestQuery;

#[Object]
impl RequestQuery {
    /// The resident's view of their request. Unknown reference and wrong
    /// tracking code both answer NOT_FOUND.
    async fn request(
        &self,
        ctx: &Context<'_>,
        reference: String,
        tracking_code: String,
    ) -> async_graphql::Result<Request> {
        let record = services(ctx)?
            .request_for_resident(client_addr(ctx), &reference, &tracking_code)
            .await
            .gql()?;
        Ok(Request::resident(record))
    }
}

#[derive(Default)]
pub struct SubmitMutation;

#[Object]
impl SubmitMutation {
    /// Registers a request. It is stored durably before this answers.
    #[graphql(complexity = "COSTLY_FIELD + child_complexity")]
    async fn submit_request(
        &self,
        ctx: &Context<'_>,
        input: SubmitRequestInput,
    ) -> async_graphql::Result<SubmitRequestPayload> {
        let outcome = services(ctx)?
            .submit_request(caller(ctx), client_addr(ctx), input.into())
            .await
            .gql()?;
        Ok(SubmitRequestPayload {
            request: Request::resident(outcome.request),
            tracking_code: outcome.tracking_code.to_string(),
            referral: outcome.referral,
            emergency_advice: outcome.emergency_advice,
        })
    }
}
