//! `GET /metrics` in Prometheus text format. Counters and latency
//! histograms are recorded as requests pass; queue depths, overdue counts
//! and database pool use are read at scrape time, so they are always true.

use std::sync::OnceLock;
use std::time::Instant;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery,
};
use async_graphql::parser::types::{ExecutableDocument, Selection};
use async_graphql::{Response, ServerResult, Variables};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response as HttpResponse};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use super::HttpState;

/// Latency buckets in seconds: a lookup is milliseconds, a slow query
/// seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The process-wide recorder: metrics macros write to one global recorder.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        let recorder = match builder.set_buckets(&BUCKETS) {
            Ok(with_buckets) => with_buckets.build_recorder(),
            Err(_) => PrometheusBuilder::new().build_recorder(),
        };
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics may be incomplete");
        }
        handle
    })
}

/// Counts HTTP requests by route and status, and times them.
pub async fn track_http(request: Request, next: Next) -> HttpResponse {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("envagin_http_requests_total", "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("envagin_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Who may scrape: the holder of `ENVAGIN_METRICS_TOKEN` when one is set,
/// else only a client on this machine. The figures tell queue by queue how
/// much waits where; on the public listener without this, anyone could
/// watch them move.
fn may_scrape(state: &HttpState, request: &Request) -> bool {
    match &state.metrics_token {
        Some(expected) => super::presents(request.headers(), expected),
        None => request
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .is_some_and(|peer| peer.0.ip().is_loopback()),
    }
}

pub async fn render(State(state): State<HttpState>, request: Request) -> HttpResponse {
    if !may_scrape(&state, &request) {
        return (
            StatusCode::FORBIDDEN,
            "metrics are for the operator: scrape from this machine, or set ENVAGIN_METRICS_TOKEN and send it as a bearer token\n",
        )
            .into_response();
    }
    match state.services.operational_gauges().await {
        Ok(gauges) => {
            for q in gauges.queues {
                for (status, n) in [
                    ("triage", q.counts.triage),
                    ("queued", q.counts.queued),
                    ("in_progress", q.counts.in_progress),
                    ("waiting_for_citizen", q.counts.waiting_for_citizen),
                ] {
                    metrics::gauge!("envagin_queue_requests", "queue" => q.code.clone(), "status" => status)
                        .set(n as f64);
                }
                metrics::gauge!("envagin_queue_overdue", "queue" => q.code)
                    .set(q.counts.overdue as f64);
            }
            metrics::gauge!("envagin_db_pool_connections").set(f64::from(gauges.pool_size));
            metrics::gauge!("envagin_db_pool_idle").set(gauges.pool_idle as f64);
        }
        Err(e) => tracing::warn!(error = %e, "cannot read queue depths for /metrics"),
    }
    // Deliveries and failures per channel show as 0 before the first one,
    // so that an alert on them has a series to watch.
    for channel in ["EMAIL", "SMS", "WEBHOOK"] {
        metrics::counter!("envagin_notifications_sent_total", "channel" => channel).increment(0);
        metrics::counter!("envagin_notifications_failed_total", "channel" => channel).increment(0);
    }
    match state.services.outbox_backlog().await {
        Ok(backlog) => {
            metrics::gauge!("envagin_outbox_pending").set(backlog.pending as f64);
            metrics::gauge!("envagin_outbox_dead").set(backlog.dead as f64);
        }
        Err(e) => tracing::warn!(error = %e, "cannot read the outbox backlog for /metrics"),
    }
    let handle = handle();
    handle.run_upkeep();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}

/// Counts GraphQL operations by their root fields and outcome (`ok` or the
/// first error's code), and times them.
pub struct GraphqlMetrics;

impl ExtensionFactory for GraphqlMetrics {
    fn create(&self) -> std::sync::Arc<dyn Extension> {
        std::sync::Arc::new(GraphqlMetricsExtension::default())
    }
}

/// One per GraphQL request: remembers the root fields from the parsed
/// document for the label.
#[derive(Default)]
struct GraphqlMetricsExtension {
    operation: std::sync::Mutex<Option<String>>,
}

#[async_graphql::async_trait::async_trait]
impl Extension for GraphqlMetricsExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        if let Ok(mut operation) = self.operation.lock() {
            *operation = root_fields(&document);
        }
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let started = Instant::now();
        let response = next.run(ctx, operation_name).await;
        let operation = self
            .operation
            .lock()
            .ok()
            .and_then(|o| o.clone())
            .unwrap_or_else(|| "unknown".to_owned());
        let outcome = response
            .errors
            .first()
            .and_then(|e| e.extensions.as_ref())
            .and_then(|ext| ext.get("code"))
            .map_or_else(
                || "ok".to_owned(),
                |code| code.to_string().trim_matches('"').to_owned(),
            );
        metrics::counter!("envagin_graphql_operations_total", "operation" => operation.clone(), "outcome" => outcome)
            .increment(1);
        metrics::histogram!("envagin_graphql_operation_duration_seconds", "operation" => operation)
            .record(started.elapsed().as_secs_f64());
        response
    }
}

/// The root fields of the document's operations by schema name (never
/// aliases or operation names, which clients choose freely and would make
/// the label unbounded), e.g. `submitRequest`.
fn root_fields(document: &ExecutableDocument) -> Option<String> {
    let mut names: Vec<String> = document
        .operations
        .iter()
        .flat_map(|(_, op)| op.node.selection_set.node.items.iter())
        .filter_map(|item| match &item.node {
            Selection::Field(field) => Some(field.node.name.node.to_string()),
            _ => None,
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    (!names.is_empty()).then(|| names.join(","))
}
