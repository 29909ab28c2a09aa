//! The one place where use-case errors become GraphQL errors with an
//! `extensions.code` (and `extensions.field` for input), per DESIGN.md.
//! Internal details are logged here and never sent to the client.

use async_graphql::{ErrorExtensions, Value};

use crate::service::ServiceError;

pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
pub const RATE_LIMITED: &str = "RATE_LIMITED";

pub fn to_gql(err: ServiceError) -> async_graphql::Error {
    match err {
        ServiceError::InvalidInput(errors) => {
            let first_field = errors.first().map(|e| e.field.clone()).unwrap_or_default();
            let details: Vec<Value> = errors
                .iter()
                .map(|e| {
                    Value::from_json(serde_json::json!({ "field": e.field, "message": e.message }))
                        .unwrap_or(Value::Null)
                })
                .collect();
            let message = errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            async_graphql::Error::new(message).extend_with(|_, ext| {
                ext.set("code", BAD_USER_INPUT);
                ext.set("field", first_field.as_str());
                ext.set("errors", Value::List(details.clone()));
            })
        }
        ServiceError::Unauthenticated => coded(
            "authentication required: send a bearer token",
            "UNAUTHENTICATED",
        ),
        ServiceError::Forbidden(message) => coded(&message, "FORBIDDEN"),
        ServiceError::NotFound => coded("not found", "NOT_FOUND"),
        ServiceError::RateLimited => coded(
            "too many attempts from this address: try again later",
            RATE_LIMITED,
        ),
        ServiceError::Busy => coded("the server is busy: try again in a moment", RATE_LIMITED),
        ServiceError::Conflict { message, field } => async_graphql::Error::new(message)
            .extend_with(|_, ext| {
                ext.set("code", "CONFLICT");
                if let Some(field) = field {
                    ext.set("field", field);
                }
            }),
        ServiceError::Internal(source) => {
            tracing::error!(error = %source, "internal error");
            coded("internal error", "INTERNAL")
        }
    }
}

fn coded(message: &str, code: &str) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, ext| ext.set("code", code))
}

pub trait GqlResult<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> GqlResult<T> for Result<T, ServiceError> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(to_gql)
    }
}

/// Errors raised by the GraphQL engine itself (syntax, validation, limits,
/// argument coercion) carry no code; they are all the client's to fix.
pub fn ensure_codes(response: &mut async_graphql::Response) {
    for error in &mut response.errors {
        let ext = error.extensions.get_or_insert_with(Default::default);
        if ext.get("code").is_none() {
            ext.set("code", BAD_USER_INPUT);
        }
    }
}
