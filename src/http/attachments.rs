//! `GET /attachments/{id}`: staff download a file a resident sent, with
//! the same bearer token as the API. The answer is built so that a browser
//! never runs it: always a download, never sniffed, sandboxed.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{HttpState, caller};
use crate::domain::actor::Caller;
use crate::service::ServiceError;

pub async fn download(
    State(state): State<HttpState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let caller = match caller(&state.auth, &headers).await {
        Ok(Caller::Anonymous) => return status(StatusCode::UNAUTHORIZED),
        Ok(caller) => caller,
        Err(response) => return *response,
    };
    let Ok(id) = id.parse::<i64>() else {
        return status(StatusCode::NOT_FOUND);
    };
    match state.services.attachment_for_staff(&caller, id).await {
        Ok(file) => {
            let content_type = HeaderValue::from_str(&file.info.content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream"));
            let disposition = format!(
                "attachment; filename*=UTF-8''{}",
                percent_encode(&file.info.filename)
            );
            let mut response = file.content.into_response();
            let h = response.headers_mut();
            h.insert(header::CONTENT_TYPE, content_type);
            if let Ok(value) = HeaderValue::from_str(&disposition) {
                h.insert(header::CONTENT_DISPOSITION, value);
            }
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("sandbox; default-src 'none'"),
            );
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            );
            response
        }
        Err(ServiceError::NotFound) => status(StatusCode::NOT_FOUND),
        Err(ServiceError::Unauthenticated) => status(StatusCode::UNAUTHORIZED),
        Err(e) => {
            tracing::error!(error = %e, "attachment download failed");
            status(StatusCode::SERVICE_UNAVAILABLE)
        }
    }
}

fn status(code: StatusCode) -> Response {
    (code, code.canonical_reason().unwrap_or_default()).into_response()
}

/// RFC 5987 `attr-char`s stay, everything else is `%XX`.
fn percent_encode(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::percent_encode;

    #[test]
    fn file_names_are_encoded_for_the_content_disposition_header() {
        assert_eq!(
            percent_encode("hål i vägen.jpg"),
            "h%C3%A5l%20i%20v%C3%A4gen.jpg"
        );
        assert_eq!(percent_encode("a\"b;c\r\n.pdf"), "a%22b%3Bc%0D%0A.pdf");
    }
}
