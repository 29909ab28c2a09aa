//! HTTP transport: the GraphQL endpoint, GraphiQL, health and readiness,
//! and the protections every request passes through (body size, batch
//! size, panics turned into a plain 500).

use std::any::Any;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::http::GraphiQLSource;
use async_graphql::{BatchRequest, BatchResponse, ParseRequestError};
use async_graphql_axum::{GraphQLBatchRequest, GraphQLProtocol, GraphQLResponse, GraphQLWebSocket};
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, State, WebSocketUpgrade};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

mod attachments;
pub mod gateway;
pub mod metrics;
pub mod open311;
pub mod server;
pub mod starting;

use crate::auth::{Authenticator, bearer_token};
use crate::domain::actor::Caller;
use crate::graphql::error::{BAD_USER_INPUT, RATE_LIMITED, ensure_codes};
use crate::graphql::{AppSchema, ClientAddr};
use crate::service::{AccessRecorder, Services};

#[derive(Clone)]
pub struct HttpState {
    pub schema: AppSchema,
    pub services: Services,
    pub auth: Authenticator,
    pub max_batch: usize,
    pub trust_forwarded_for: bool,
    /// Whether `GET /graphql` serves GraphiQL (`Config::graphiql`).
    pub graphiql: bool,
    /// SHA-256 of the mail gateway's shared secret; `None`: gateway off.
    pub mail_gateway_secret: Option<Vec<u8>>,
    /// Open WebSocket connections, so that a stopping server can let them
    /// say goodbye before it exits.
    pub sockets: Arc<OpenSockets>,
    /// How long one request may take (`Config::request_timeout_secs`).
    pub request_timeout: std::time::Duration,
    /// Largest WebSocket message, as large as an HTTP request body may be:
    /// without it one message of 15 MB was taken and parsed.
    pub websocket_max_bytes: usize,
    /// How long a WebSocket may stay open without `connection_init`.
    pub websocket_init_timeout: std::time::Duration,
    /// How long `/ready` waits for the database before answering 503.
    pub ready_timeout: std::time::Duration,
    /// SHA-256 of the metrics scraper's secret; `None`: loopback only.
    pub metrics_token: Option<Vec<u8>>,
}

/// Whether the request carries the bearer secret whose digest is
/// `expected`. Digests of equal length are compared: the comparison's
/// timing says nothing about the secret.
pub fn presents(headers: &HeaderMap, expected: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .map(|t| Sha256::digest(t.as_bytes()).to_vec())
        .as_deref()
        == Some(expected)
}

/// Counts open WebSocket connections; a graceful stop waits for none.
#[derive(Default)]
pub struct OpenSockets {
    open: std::sync::atomic::AtomicUsize,
    closed: tokio::sync::Notify,
}

impl OpenSockets {
    fn opened(self: &Arc<Self>) -> SocketGuard {
        self.open.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        SocketGuard(self.clone())
    }

    /// Resolves when no WebSocket connection is open.
    pub async fn all_closed(&self) {
        loop {
            let closed = self.closed.notified();
            if self.open.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                return;
            }
            closed.await;
        }
    }
}

struct SocketGuard(Arc<OpenSockets>);

impl Drop for SocketGuard {
    fn drop(&mut self) {
        self.0
            .open
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        self.0.closed.notify_waiters();
    }
}

/// The client's address: the TCP peer, or behind a trusted reverse proxy
/// the last `X-Forwarded-For` entry (the one that proxy added).
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<HttpState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &HttpState,
    ) -> Result<Self, Self::Rejection> {
        let forwarded = state
            .trust_forwarded_for
            .then(|| parts.headers.get("x-forwarded-for"))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|ip| ip.trim().parse().ok());
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(Self(
            forwarded.or(peer).unwrap_or(IpAddr::from([0, 0, 0, 0])),
        ))
    }
}

/// Body limits: `api` for everything but the mail gateway, which takes
/// whole e-mails with attachments.
pub struct BodyLimits {
    pub api: usize,
    pub mail: usize,
}

/// HSTS: a browser that once reached the service over https never again
/// tries plain http (where a tracking code or a staff session could be read
/// or a page altered on the way), for a year, subdomains included.
const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000; includeSubDomains";

pub fn router(state: HttpState, limits: &BodyLimits) -> Router {
    let endpoint = if state.graphiql {
        get(graphiql).post(graphql)
    } else {
        post(graphql)
    };
    // Only when residents are told an https address: over plain http the
    // header would be ignored, and on a test or intranet set-up without TLS
    // it must not pin browsers to an https that does not exist.
    let https = state
        .services
        .public_url()
        .get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"));
    let api = Router::new()
        .route("/graphql", endpoint)
        .route("/graphql/ws", get(graphql_ws))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics::render))
        .route("/attachments/{id}", get(attachments::download))
        .merge(open311::routes())
        .merge(crate::web::routes())
        .with_state(state.clone())
        .layer(RequestBodyLimitLayer::new(limits.api));
    let timeout = state.request_timeout;
    let router = Router::new()
        .merge(api)
        .merge(gateway::router(state, limits.mail))
        .layer(middleware::from_fn_with_state(timeout, deadline))
        .layer(middleware::from_fn(metrics::track_http))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(middleware::map_request(drop_unusable_request_id));
    // Outermost, so that every answer carries it: errors, 404s and the
    // plain 500 of a panic included.
    if https {
        router.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
        ))
    } else {
        router
    }
}

async fn graphql(
    State(state): State<HttpState>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    request: GraphQLBatchRequest<BadRequest>,
) -> Response {
    if !is_json(&headers) {
        return client_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the GraphQL request as Content-Type: application/json",
        );
    }
    let caller = match caller(&state.auth, &headers).await {
        Ok(caller) => caller,
        Err(response) => return *response,
    };
    let recorder = Arc::new(AccessRecorder::default());
    let batch = request
        .into_inner()
        .data(caller.clone())
        .data(recorder.clone())
        .data(ClientAddr(client));
    if let BatchRequest::Batch(requests) = &batch
        && requests.len() > state.max_batch
    {
        return client_error(
            StatusCode::BAD_REQUEST,
            &format!("a batch may hold at most {} operations", state.max_batch),
        );
    }
    let mut response = state.schema.execute_batch(batch).await;
    // Personal data read in this call is on the record before it leaves.
    if let Err(e) = state.services.record_access(&caller, &recorder).await {
        tracing::error!(error = %e, "cannot write the personal-data access log; answer withheld");
        return internal_error();
    }
    match &mut response {
        BatchResponse::Single(r) => ensure_codes(r),
        BatchResponse::Batch(rs) => rs.iter_mut().for_each(ensure_codes),
    }
    let refused = matches!(&response, BatchResponse::Single(r) if is_rate_limited(r));
    let mut answer = GraphQLResponse::from(response).into_response();
    if refused {
        // What proxies, clients and operators' dashboards understand.
        *answer.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    }
    answer
}

/// A single operation refused for its address's budget, and nothing else.
fn is_rate_limited(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| {
            e.extensions
                .as_ref()
                .and_then(|ext| ext.get("code"))
                .is_some_and(|code| *code == async_graphql::Value::from(RATE_LIMITED))
        })
}

/// Only JSON bodies are executed: a browser may send a form or text/plain
/// body to any site without asking (a "simple request"), so accepting those
/// would let other web pages submit in a resident's name (CSRF).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| {
            let media = media.trim();
            media.eq_ignore_ascii_case("application/json")
                || media.eq_ignore_ascii_case("application/graphql-response+json")
        })
}

/// The caller of a request: anonymous without a token; a token that does
/// not verify is refused outright (401) rather than treated as anonymous, so
/// a client with an expired token learns it at once.
async fn caller(auth: &Authenticator, headers: &HeaderMap) -> Result<Caller, Box<Response>> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(Caller::Anonymous);
    };
    let token = value.to_str().ok().and_then(bearer_token).ok_or_else(|| {
        Box::new(unauthenticated(
            "the Authorization header must be \"Bearer <token>\"",
        ))
    })?;
    match auth.authenticate(token).await {
        Ok(actor) => Ok(Caller::Authenticated(actor)),
        Err(e) => {
            tracing::info!(error = %e, "token refused");
            Err(Box::new(unauthenticated(&e.to_string())))
        }
    }
}

fn unauthenticated(message: &str) -> Response {
    let body =
        json!({ "errors": [{ "message": message, "extensions": { "code": "UNAUTHENTICATED" } }] });
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        Json(body),
    )
        .into_response()
}

async fn graphiql() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .title("En väg in")
            .finish(),
    )
}

/// Subscriptions over WebSocket (graphql-transport-ws, and the older
/// graphql-ws). Staff send `{"Authorization": "Bearer <token>"}` as the
/// connection_init payload; a token that does not verify closes the
/// connection.
async fn graphql_ws(
    State(state): State<HttpState>,
    ClientIp(client): ClientIp,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(state.websocket_max_bytes)
        .max_frame_size(state.websocket_max_bytes)
        .on_upgrade(move |socket| async move {
            let _open = state.sockets.opened();
            let auth = state.auth.clone();
            let (initialised, init_seen) = tokio::sync::oneshot::channel::<()>();
            let session = GraphQLWebSocket::new(socket, state.schema.clone(), protocol)
                .on_connection_init(move |payload| async move {
                    let caller = socket_caller(&auth, &payload).await?;
                    let mut data = async_graphql::Data::default();
                    data.insert(caller);
                    data.insert(ClientAddr(client));
                    let _ = initialised.send(());
                    Ok(data)
                })
                .serve();
            // A client that opens a socket and never says `connection_init`
            // holds it as a slow client holds its headers, and is closed
            // after the same time (graphql-transport-ws leaves the wait
            // to the server).
            let init_wait = state.websocket_init_timeout;
            let never_initialised = async move {
                if tokio::time::timeout(init_wait, init_seen).await.is_ok() {
                    std::future::pending::<()>().await;
                }
            };
            // On a stop, subscriptions end first (their `complete` goes
            // out); a moment later the connection itself is closed.
            let stopping = async {
                state.services.shutting_down().await;
                tokio::time::sleep(SOCKET_FAREWELL).await;
            };
            tokio::select! {
                () = session => {}
                () = stopping => {}
                () = never_initialised => {
                    tracing::debug!(%client, "WebSocket closed: no connection_init in time");
                }
            }
        })
}

async fn socket_caller(
    auth: &Authenticator,
    payload: &serde_json::Value,
) -> async_graphql::Result<Caller> {
    let header = ["Authorization", "authorization"]
        .iter()
        .find_map(|k| payload.get(*k).and_then(|v| v.as_str()));
    let Some(header) = header else {
        return Ok(Caller::Anonymous);
    };
    let token = bearer_token(header).ok_or("the Authorization value must be \"Bearer <token>\"")?;
    match auth.authenticate(token).await {
        Ok(actor) => Ok(Caller::Authenticated(actor)),
        Err(e) => Err(e.to_string().into()),
    }
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn ready(State(state): State<HttpState>) -> Response {
    let checks = async {
        match state.services.ping().await {
            Err(e) => ("database unreachable", Err(e.to_string())),
            Ok(()) => (
                "writes are failing",
                state
                    .services
                    .check_writes()
                    .await
                    .map_err(|e| e.to_string()),
            ),
        }
    };
    // A load balancer's probe gives up after a few seconds; the answer
    // must come before that, not after the database's acquire timeout.
    let (reason, result) = tokio::time::timeout(state.ready_timeout, checks)
        .await
        .unwrap_or_else(|_| {
            (
                "database did not answer in time",
                Err(format!("no answer within {:?}", state.ready_timeout)),
            )
        });
    match result {
        Ok(()) => Json(json!({ "status": "ready" })).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed: {reason}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "reason": reason })),
            )
                .into_response()
        }
    }
}

/// Every log line of a request carries its id (from `X-Request-Id`, or
/// generated), so an operator can follow one request through the log and
/// match it with the client's report.
fn request_span(request: &axum::http::Request<Body>) -> tracing::Span {
    let id = request
        .headers()
        .get(X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path())
}

/// A client's request id goes into every log line: only short, plain ids
/// are kept (no log injection, no personal data smuggled in); others are
/// replaced by a generated one.
async fn drop_unusable_request_id(
    mut request: axum::http::Request<Body>,
) -> axum::http::Request<Body> {
    let usable = request.headers().get(X_REQUEST_ID).is_some_and(|v| {
        v.len() <= 64
            && v.as_bytes()
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    });
    if !usable {
        request.headers_mut().remove(X_REQUEST_ID);
    }
    request
}

const X_REQUEST_ID: &str = "x-request-id";

/// How long a stopping server gives subscribers to receive `complete`.
const SOCKET_FAREWELL: std::time::Duration = std::time::Duration::from_millis(250);

/// A body that could not be read as a GraphQL request.
pub struct BadRequest(ParseRequestError);

impl From<ParseRequestError> for BadRequest {
    fn from(e: ParseRequestError) -> Self {
        Self(e)
    }
}

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        // A streamed body over the limit surfaces as an I/O error from the
        // body reader; a declared oversize body never gets this far (413).
        let too_large = match &self.0 {
            ParseRequestError::PayloadTooLarge => true,
            ParseRequestError::Io(e) => e.to_string().contains("length limit exceeded"),
            _ => false,
        };
        if too_large {
            client_error(StatusCode::PAYLOAD_TOO_LARGE, "request body is too large")
        } else {
            client_error(
                StatusCode::BAD_REQUEST,
                &format!("not a GraphQL request: {}", self.0),
            )
        }
    }
}

/// Gives up a request that outlives `limit`. The database's own timeouts
/// only cover waiting for a connection; a query already sent on a stalled
/// connection would otherwise wait as long as the stall. Dropping the
/// handler drops its transaction, which rolls back: nothing half-written.
/// A request cut off just after its commit is the same as a connection
/// lost then: a retry with the same `idempotencyKey` finds it.
async fn deadline(
    State(limit): State<std::time::Duration>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    // A subscription lives as long as its resident watches.
    if request.uri().path() == "/graphql/ws" {
        return next.run(request).await;
    }
    let path = request.uri().path().to_owned();
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!(
                %path,
                limit_secs = limit.as_secs(),
                "request given up: it took longer than ENVAGIN_REQUEST_TIMEOUT_SECS (is the database slow or stalled?)"
            );
            let body = json!({ "errors": [{
                "message": "the request took too long and was given up: try again (with the same idempotencyKey)",
                "extensions": { "code": "INTERNAL" }
            }] });
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

fn client_error(status: StatusCode, message: &str) -> Response {
    let body =
        json!({ "errors": [{ "message": message, "extensions": { "code": BAD_USER_INPUT } }] });
    (status, Json(body)).into_response()
}

fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    internal_error()
}

fn internal_error() -> Response {
    let body = json!({ "errors": [{ "message": "internal error", "extensions": { "code": "INTERNAL" } }] });
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}
