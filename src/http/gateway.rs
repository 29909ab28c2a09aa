//! The mail gateway's door: `POST /gateway/email` takes one raw RFC 5322
//! message (as a mail server's pipe or webhook delivers it) and answers
//! what became of it. Authenticated with a shared secret, because the
//! gateway is a machine, not a person with a token.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;
use tower_http::limit::RequestBodyLimitLayer;

use super::HttpState;
use crate::service::{IngestOutcome, ServiceError};

pub fn router(state: HttpState, max_bytes: usize) -> Router {
    Router::new()
        .route("/gateway/email", post(ingest))
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(max_bytes))
}

async fn ingest(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(expected) = &state.mail_gateway_secret else {
        return error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "the mail gateway is not enabled (ENVAGIN_MAIL_GATEWAY_SECRET)",
        );
    };
    if !super::presents(&headers, expected) {
        tracing::warn!("mail gateway call refused: wrong or missing secret");
        return error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "send the gateway secret as \"Authorization: Bearer <secret>\"",
        );
    }
    match state.services.ingest_email(&body).await {
        Ok(outcome) => outcome_response(outcome),
        Err(ServiceError::InvalidInput(errors)) => {
            let first = errors.first();
            let body = json!({
                "code": "BAD_USER_INPUT",
                "field": first.map(|e| e.field.as_str()),
                "message": first.map(|e| e.message.as_str()),
            });
            (StatusCode::BAD_REQUEST, Json(body)).into_response()
        }
        // The message's retry key already names a different submission: a
        // permanent condition the same message would meet at every retry,
        // so the mail server must bounce it, not retry for ever. Other
        // conflicts (the request changed under a reply) pass on a retry.
        Err(ServiceError::Conflict {
            message,
            field: Some("idempotencyKey"),
        }) => {
            tracing::warn!(%message, "inbound e-mail refused for good");
            error(StatusCode::CONFLICT, "CONFLICT", &message)
        }
        Err(e) => {
            tracing::error!(error = %e, "inbound e-mail not stored; the gateway should retry");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "INTERNAL",
                "not stored: try again later",
            )
        }
    }
}

fn outcome_response(outcome: IngestOutcome) -> Response {
    let (status, body) = match outcome {
        IngestOutcome::Created { reference } => (
            StatusCode::CREATED,
            json!({ "outcome": "CREATED", "reference": reference }),
        ),
        IngestOutcome::Replied { reference } => (
            StatusCode::OK,
            json!({ "outcome": "REPLIED", "reference": reference }),
        ),
        IngestOutcome::Ignored { reason } => (
            StatusCode::ACCEPTED,
            json!({ "outcome": "IGNORED", "reason": reason }),
        ),
    };
    (status, Json(body)).into_response()
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "code": code, "message": message }))).into_response()
}
