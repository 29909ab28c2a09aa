//! Open311 GeoReport v2 at `/open311/v2`, JSON only: the catalogue as
//! services, submitting requests (form-encoded as the specification says,
//! or JSON), reading them, and tokens. Thin: parse, call a use case in
//! `service::open311` (which decides what each caller sees), and answer
//! errors as the specification's `[{"code", "description"}]` array with the
//! same HTTP status.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any, get};
use axum::{Form, Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Europe::Stockholm;
use serde::Serialize;
use serde_json::Value;

use super::{ClientIp, HttpState};
use crate::auth::bearer_token;
use crate::domain::actor::Caller;
use crate::domain::{InvalidInput, Language};
use crate::service::ServiceError;
use crate::service::open311::{
    Open311Filter, Open311Request, Open311Service, Open311Status, Open311Submission,
    language_of_locale, status_notes,
};

const ONLY_JSON: &str = "only JSON is served; use .json";

pub fn routes() -> Router<HttpState> {
    Router::new()
        .route("/open311/v2/services.json", only(get(services)))
        .route(
            "/open311/v2/requests.json",
            only(get(list_requests).post(submit)),
        )
        .route("/open311/v2/services/{file}", only(get(service)))
        .route("/open311/v2/requests/{file}", only(get(request)))
        .route("/open311/v2/tokens/{file}", only(get(token)))
        .route("/open311/v2/{file}", any(other_resource))
        .route("/open311/{*rest}", any(not_found))
}

/// Other methods get the specification's error array too.
fn only(router: MethodRouter<HttpState>) -> MethodRouter<HttpState> {
    router.fallback(|| async {
        Problem::plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed: resources are read with GET; requests.json also takes POST",
        )
    })
}

/// What went wrong, as the specification's error array.
enum Problem {
    Service(ServiceError),
    Plain(StatusCode, String),
}

impl Problem {
    fn plain(status: StatusCode, description: impl Into<String>) -> Self {
        Self::Plain(status, description.into())
    }
}

impl From<ServiceError> for Problem {
    fn from(e: ServiceError) -> Self {
        Self::Service(e)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let (status, descriptions) = match self {
            Self::Plain(status, description) => (status, vec![description]),
            Self::Service(e) => match e {
                ServiceError::InvalidInput(errors) => (
                    StatusCode::BAD_REQUEST,
                    errors.iter().map(ToString::to_string).collect(),
                ),
                ServiceError::Unauthenticated => (
                    StatusCode::UNAUTHORIZED,
                    vec!["authentication required: send a bearer token".to_owned()],
                ),
                ServiceError::Forbidden(message) => (StatusCode::FORBIDDEN, vec![message]),
                ServiceError::NotFound => (StatusCode::NOT_FOUND, vec!["not found".to_owned()]),
                ServiceError::RateLimited => (
                    StatusCode::TOO_MANY_REQUESTS,
                    vec!["too many attempts: try again later".to_owned()],
                ),
                ServiceError::Busy => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    vec!["the server is busy: try again in a moment".to_owned()],
                ),
                ServiceError::Conflict { message, .. } => (StatusCode::CONFLICT, vec![message]),
                ServiceError::Internal(source) => {
                    tracing::error!(error = %source, "internal error");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        vec!["internal error".to_owned()],
                    )
                }
            },
        };
        let body: Vec<Value> = descriptions
            .into_iter()
            .map(|d| serde_json::json!({ "code": status.as_u16(), "description": d }))
            .collect();
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

type Answer = Result<Response, Problem>;

/// The name before `.json`; any other format is refused.
fn json_name(file: &str) -> Result<&str, Problem> {
    file.strip_suffix(".json")
        .filter(|name| !name.is_empty())
        .ok_or_else(|| Problem::plain(StatusCode::NOT_FOUND, ONLY_JSON))
}

async fn other_resource(path: Result<Path<String>, PathRejection>) -> Problem {
    if path.is_ok_and(|Path(file)| file.ends_with(".json")) {
        Problem::plain(StatusCode::NOT_FOUND, "no such resource")
    } else {
        Problem::plain(StatusCode::NOT_FOUND, ONLY_JSON)
    }
}

async fn not_found() -> Problem {
    Problem::plain(
        StatusCode::NOT_FOUND,
        "no such resource: Open311 GeoReport v2 is served at /open311/v2",
    )
}

/// Query or body parameters, in order; a parameter we read may come once.
struct Params {
    pairs: Vec<(String, String)>,
    problems: Vec<InvalidInput>,
}

impl Params {
    fn new(pairs: Vec<(String, String)>) -> Self {
        Self {
            pairs,
            problems: Vec::new(),
        }
    }

    fn take(&mut self, name: &str) -> Option<String> {
        let mut values = self
            .pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone());
        let first = values.next();
        if values.next().is_some() {
            self.problems.push(InvalidInput::new(
                name,
                "given more than once (send one value; lists are comma-separated)",
            ));
        }
        first
    }

    /// The parameters read so far were well formed.
    fn done(self) -> Result<(), Problem> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::InvalidInput(self.problems).into())
        }
    }
}

fn query_params(query: Result<Query<Vec<(String, String)>>, QueryRejection>) -> Params {
    match query {
        Ok(Query(pairs)) => Params::new(pairs),
        Err(e) => {
            let mut params = Params::new(Vec::new());
            params.problems.push(InvalidInput::new(
                "query",
                format!("not a valid query string ({})", e.body_text()),
            ));
            params
        }
    }
}

/// The `{file}` of a path, which must end in `.json`.
fn file_name(path: &Result<Path<String>, PathRejection>) -> Result<&str, Problem> {
    match path {
        Ok(Path(file)) => json_name(file),
        Err(_) => Err(Problem::plain(StatusCode::NOT_FOUND, "no such resource")),
    }
}

/// The verified caller: anonymous without `Authorization`; a token that
/// does not verify is refused (401), not taken as anonymous.
async fn caller(state: &HttpState, headers: &HeaderMap) -> Result<Caller, Problem> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(Caller::Anonymous);
    };
    let token = value.to_str().ok().and_then(bearer_token).ok_or_else(|| {
        Problem::plain(
            StatusCode::UNAUTHORIZED,
            "the Authorization header must be \"Bearer <token>\"",
        )
    })?;
    match state.auth.authenticate(token).await {
        Ok(actor) => Ok(Caller::Authenticated(actor)),
        Err(e) => {
            tracing::info!(error = %e, "token refused");
            Err(Problem::plain(StatusCode::UNAUTHORIZED, e.to_string()))
        }
    }
}

#[derive(Serialize)]
struct ServiceJson<'a> {
    service_code: &'a str,
    service_name: &'a str,
    description: &'a str,
    metadata: bool,
    #[serde(rename = "type")]
    kind: &'static str,
    keywords: String,
    group: &'a str,
}

impl<'a> From<Open311Service<'a>> for ServiceJson<'a> {
    fn from(s: Open311Service<'a>) -> Self {
        Self {
            service_code: s.code,
            service_name: s.name,
            description: s.description,
            metadata: false,
            kind: "realtime",
            keywords: s.keywords.join(", "),
            group: s.group,
        }
    }
}

/// `GET services.json[?locale=en]`: the non-confidential categories.
async fn services(
    State(state): State<HttpState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Answer {
    let mut params = query_params(query);
    let locale = params.take("locale").or_else(|| params.take("lang"));
    params.done()?;
    let language = language_of_locale(locale.as_deref());
    let list: Vec<ServiceJson<'_>> = state
        .services
        .open311_services(language)
        .into_iter()
        .map(ServiceJson::from)
        .collect();
    Ok(Json(list).into_response())
}

/// `GET services/{code}.json`: the service definition (no attributes).
async fn service(
    State(state): State<HttpState>,
    path: Result<Path<String>, PathRejection>,
) -> Answer {
    let code = file_name(&path)?;
    let service = state.services.open311_service(code, Language::Sv)?;
    Ok(Json(serde_json::json!({ "service_code": service.code, "attributes": [] })).into_response())
}

#[derive(Serialize)]
struct Created {
    service_request_id: String,
    token: String,
    service_notice: Option<String>,
    account_id: Option<String>,
    /// Our extension: with the reference, follows the request on our
    /// status page. Shown only here.
    tracking_code: String,
}

/// `POST requests.json`: an anonymous submission, form-encoded or JSON.
async fn submit(
    State(state): State<HttpState>,
    ClientIp(client): ClientIp,
    request: Request,
) -> Answer {
    let mut params = body_params(request).await?;
    let input = Open311Submission {
        service_code: params.take("service_code"),
        description: params.take("description"),
        lat: params.take("lat"),
        long: params.take("long"),
        address_string: params.take("address_string"),
        email: params.take("email"),
        first_name: params.take("first_name"),
        last_name: params.take("last_name"),
        phone: params.take("phone"),
        locale: params.take("locale"),
    };
    params.done()?;
    let outcome = state.services.open311_submit(client, input).await?;
    let notices: Vec<String> = [outcome.emergency_advice, outcome.referral]
        .into_iter()
        .flatten()
        .collect();
    let reference = outcome.request.reference;
    let created = Created {
        token: reference.clone(),
        service_request_id: reference,
        service_notice: (!notices.is_empty()).then(|| notices.join(" ")),
        account_id: None,
        tracking_code: outcome.tracking_code.to_string(),
    };
    Ok((StatusCode::CREATED, Json([created])).into_response())
}

/// Fields of the body: `application/json` (an object of strings and
/// numbers), otherwise `application/x-www-form-urlencoded`.
async fn body_params(request: Request) -> Result<Params, Problem> {
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !is_json {
        return match Form::<Vec<(String, String)>>::from_request(request, &()).await {
            Ok(Form(pairs)) => Ok(Params::new(pairs)),
            Err(e) => Err(body_problem(
                e.status(),
                "the body must be application/x-www-form-urlencoded (or application/json)",
                &e.body_text(),
            )),
        };
    }
    let object = match Json::<serde_json::Map<String, Value>>::from_request(request, &()).await {
        Ok(Json(object)) => object,
        Err(e) => {
            return Err(body_problem(
                e.status(),
                "the body must be a JSON object",
                &e.body_text(),
            ));
        }
    };
    let mut params = Params::new(Vec::new());
    for (key, value) in object {
        match value {
            Value::Null => {}
            Value::String(s) => params.pairs.push((key, s)),
            Value::Number(n) => params.pairs.push((key, n.to_string())),
            Value::Bool(b) => params.pairs.push((key, b.to_string())),
            // Attributes and the like are not read; a field we read must
            // be plain.
            Value::Array(_) | Value::Object(_) => {
                if READ_FIELDS.contains(&key.as_str()) {
                    params
                        .problems
                        .push(InvalidInput::new(key, "must be a string or a number"));
                }
            }
        }
    }
    Ok(params)
}

/// The body fields `submit` reads.
const READ_FIELDS: [&str; 10] = [
    "service_code",
    "description",
    "lat",
    "long",
    "address_string",
    "email",
    "first_name",
    "last_name",
    "phone",
    "locale",
];

fn body_problem(status: StatusCode, what: &str, detail: &str) -> Problem {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => Problem::plain(status, "the body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Problem::plain(status, what),
        s if s.is_server_error() => Problem::plain(
            StatusCode::BAD_REQUEST,
            format!("{what}: the body could not be read"),
        ),
        s => Problem::plain(s, format!("{what}: {detail}")),
    }
}

#[derive(Serialize)]
struct RequestJson {
    service_request_id: String,
    status: &'static str,
    status_notes: &'static str,
    service_name: Option<String>,
    service_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    agency_responsible: Option<String>,
    service_notice: Option<String>,
    requested_datetime: String,
    updated_datetime: String,
    expected_datetime: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    long: Option<f64>,
}

impl From<Open311Request> for RequestJson {
    fn from(r: Open311Request) -> Self {
        Self {
            status: Open311Status::of(r.status).code(),
            status_notes: status_notes(r.status, r.language),
            service_request_id: r.reference,
            service_name: r.service_name,
            service_code: r.service_code,
            description: r.description,
            agency_responsible: r.agency_responsible,
            service_notice: r.service_notice,
            requested_datetime: timestamp(r.requested),
            updated_datetime: timestamp(r.updated),
            expected_datetime: timestamp(r.expected),
            address: r.address,
            lat: r.lat,
            long: r.long,
        }
    }
}

/// ISO 8601 with the Swedish offset, e.g. `2026-03-01T09:30:00+01:00`.
fn timestamp(at: DateTime<Utc>) -> String {
    at.with_timezone(&Stockholm)
        .fixed_offset()
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn requests_json(requests: Vec<Open311Request>) -> Response {
    Json(
        requests
            .into_iter()
            .map(RequestJson::from)
            .collect::<Vec<_>>(),
    )
    .into_response()
}

/// `GET requests.json`: by `service_request_id`, or by `service_code`,
/// `status`, `start_date`, `end_date`, with `page` and `page_size`.
async fn list_requests(
    State(state): State<HttpState>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Answer {
    let mut params = query_params(query);
    let filter = Open311Filter {
        service_request_id: params.take("service_request_id"),
        service_code: params.take("service_code"),
        status: params.take("status"),
        start_date: params.take("start_date"),
        end_date: params.take("end_date"),
        page: params.take("page"),
        page_size: params.take("page_size"),
    };
    params.done()?;
    let caller = caller(&state, &headers).await?;
    let found = state.services.open311_requests(&caller, filter).await?;
    Ok(requests_json(found))
}

/// `GET requests/{id}.json`: one request, in an array as the specification
/// has it.
async fn request(
    State(state): State<HttpState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Answer {
    let id = file_name(&path)?;
    let caller = caller(&state, &headers).await?;
    let found = state.services.open311_request(&caller, id).await?;
    Ok(requests_json(vec![found]))
}

/// `GET tokens/{token}.json`: the token is the request's id.
async fn token(
    State(state): State<HttpState>,
    path: Result<Path<String>, PathRejection>,
) -> Answer {
    let token = file_name(&path)?;
    let reference = state.services.open311_token(token).await?;
    Ok(
        Json(serde_json::json!([{ "service_request_id": reference, "token": reference }]))
            .into_response(),
    )
}
