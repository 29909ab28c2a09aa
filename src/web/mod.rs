//! Web transport: the resident's form and status page, and the staff
//! screens, rendered on the server from compile-time checked templates
//! (askama, HTML escaping on). Thin like `graphql`: parse the form, call the
//! same `Services` use cases, map `ServiceError` to a message on the page.
//! No rules live here.
//!
//! Every page works without JavaScript (plain form posts); the one small
//! script adds the category suggestion, "use my position" and live updates.

mod i18n;
mod resident;
mod staff;

use std::sync::LazyLock;

use askama::Template;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sha2::{Digest, Sha256};

use crate::domain::{InvalidInput, Language};
use crate::http::HttpState;
use crate::service::ServiceError;
pub use i18n::Texts;

/// The pages, for `http::router` to merge.
pub fn routes() -> Router<HttpState> {
    Router::new()
        .route("/", get(resident::form).post(resident::submit))
        .route("/status", get(resident::status))
        .route("/status/reply", post(resident::reply))
        .route("/tillganglighet", get(resident::accessibility))
        .route("/staff", get(staff::home))
        .route("/staff/login", post(staff::login))
        .route("/staff/logout", post(staff::logout))
        .route("/staff/queues/{code}", get(staff::queue))
        .route("/staff/queues/{code}/next", post(staff::take_next))
        .route("/staff/requests/{reference}", get(staff::request))
        .route("/staff/requests/{reference}/{action}", post(staff::act))
        .route("/staff/search", get(staff::search_form).post(staff::search))
        .route(
            "/staff/register",
            get(staff::register_form).post(staff::register),
        )
        .layer(middleware::map_response(page_headers))
        .route("/static/{version}/{file}", get(asset))
}

/// No script or style but our own files, no framing, no referrer (a status
/// URL carries the tracking code), and no caching of pages that may carry
/// a tracking code or personal data.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

async fn page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name: header::HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        CONTENT_SECURITY_POLICY,
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(
        headers,
        header::HeaderName::from_static("permissions-policy"),
        "geolocation=(self), camera=(), microphone=(), payment=()",
    );
    set(
        headers,
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(headers, header::CACHE_CONTROL, "no-store");
    response
}

// ---------------------------------------------------------------------------
// Static assets, embedded, with a content hash in the URL.

const STYLE: &str = include_str!("assets/style.css");
const SCRIPT: &str = include_str!("assets/app.js");

struct Assets {
    version: String,
    css: String,
    js: String,
}

static ASSETS: LazyLock<Assets> = LazyLock::new(|| {
    let digest = Sha256::new()
        .chain_update(STYLE.as_bytes())
        .chain_update(SCRIPT.as_bytes())
        .finalize();
    let version = hex::encode(&digest[..6]);
    Assets {
        css: format!("/static/{version}/style.css"),
        js: format!("/static/{version}/app.js"),
        version,
    }
});

async fn asset(
    axum::extract::Path((version, file)): axum::extract::Path<(String, String)>,
) -> Response {
    let (body, content_type) = match file.as_str() {
        "style.css" => (STYLE, "text/css; charset=utf-8"),
        "app.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    // An old version's URL (during a rolling upgrade) gets today's file,
    // but not for keeps.
    let cache = if version == ASSETS.version {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, cache),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

// ---------------------------------------------------------------------------
// What every page template gets.

/// The frame of a page: language, texts, title, the link to the other
/// language, and the staff bar on staff pages.
pub struct Page {
    pub language: Language,
    pub t: &'static Texts,
    pub title: String,
    pub css: &'static str,
    pub js: &'static str,
    /// The same page in the other language.
    pub switch_href: String,
    pub municipality: String,
    /// `?lang=en` or nothing, for links.
    pub q: &'static str,
    /// `&lang=en` or nothing, for links that already have a query.
    pub amp: &'static str,
    /// The error summary at the top of the page.
    pub errors: Vec<FieldError>,
    /// A confirmation ("your reply has been sent").
    pub notice: Option<String>,
    pub staff: Option<StaffBar>,
}

/// The signed-in staff member's bar.
pub struct StaffBar {
    pub name: String,
    pub csrf: String,
    pub contact_centre: bool,
}

/// One error of a form: the message, and the id of the field it belongs to
/// (the summary links there).
#[derive(Clone)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl Page {
    pub fn new(state: &HttpState, language: Language, uri: &Uri, title: &str) -> Self {
        let other = match language {
            Language::Sv => Language::En,
            Language::En => Language::Sv,
        };
        Self {
            language,
            t: Texts::of(language),
            title: title.to_owned(),
            css: &ASSETS.css,
            js: &ASSETS.js,
            switch_href: with_language(uri.path(), uri.query(), other),
            municipality: state.services.municipality().to_owned(),
            q: lang_query(language, '?'),
            amp: lang_query(language, '&'),
            errors: Vec::new(),
            notice: None,
            staff: None,
        }
    }

    /// The message of the field with this id, if it has one.
    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    pub fn has_error(&self, field: &str) -> bool {
        self.error_for(field).is_some()
    }

    pub fn code(&self) -> &'static str {
        self.language.code()
    }

    /// The staff session's CSRF token, for the forms' hidden field.
    pub fn csrf(&self) -> &str {
        self.staff.as_ref().map_or("", |s| s.csrf.as_str())
    }
}

fn lang_query(language: Language, separator: char) -> &'static str {
    match (language, separator) {
        (Language::Sv, _) => "",
        (Language::En, '?') => "?lang=en",
        (Language::En, _) => "&lang=en",
    }
}

/// `path` with its query, `lang` set for `language` (Swedish is the default
/// and needs no parameter).
pub fn with_language(path: &str, query: Option<&str>, language: Language) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .filter(|(k, _)| k != "lang")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if language == Language::En {
        pairs.push(("lang".to_owned(), "en".to_owned()));
    }
    url(path, pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// `path?k=v&…`, encoded.
pub fn url<'a>(path: &str, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// `?lang=en` selects English; anything else is Swedish.
pub fn language_of(raw: Option<&str>) -> Language {
    match raw {
        Some(l) if l.trim().eq_ignore_ascii_case("en") => Language::En,
        _ => Language::Sv,
    }
}

/// A rendered template, or a plain 500 if rendering failed.
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(body) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot render a page");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "internal error",
            )
                .into_response()
        }
    }
}

/// A 303 to `location` (after a form post).
pub fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub page: Page,
    pub message: String,
}

/// A page with one message, e.g. for a refused or failed action.
pub fn message_page(status: StatusCode, mut page: Page, title: &str, message: String) -> Response {
    page.title = title.to_owned();
    render(status, &MessagePage { page, message })
}

/// The page status and message of a use-case error that is not about a
/// field of the form.
pub fn error_status(t: &Texts, error: &ServiceError) -> (StatusCode, String) {
    match error {
        ServiceError::InvalidInput(errors) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            errors
                .iter()
                .map(|e| field_error(t, e).message)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        ServiceError::Unauthenticated | ServiceError::Forbidden(_) => {
            (StatusCode::FORBIDDEN, t.forbidden.to_owned())
        }
        ServiceError::NotFound => (StatusCode::NOT_FOUND, t.request_not_found.to_owned()),
        ServiceError::RateLimited => (StatusCode::TOO_MANY_REQUESTS, t.rate_limited.to_owned()),
        ServiceError::Busy => (StatusCode::SERVICE_UNAVAILABLE, t.busy.to_owned()),
        ServiceError::Conflict { message, .. } => {
            (StatusCode::CONFLICT, format!("{} {message}", t.conflict))
        }
        ServiceError::Internal(source) => {
            tracing::error!(error = %source, "internal error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                t.internal_error.to_owned(),
            )
        }
    }
}

/// A use case's input error as the page shows it: in the page's language,
/// tied to the form field's id.
pub fn field_error(t: &Texts, error: &InvalidInput) -> FieldError {
    let (field, message) = match error.field.as_str() {
        "description" if error.message.contains("empty") => {
            ("description", t.err_description_empty)
        }
        "description" => ("description", t.err_description_long),
        "contact.email" | "filter.email" => ("email", t.err_email),
        "contact.phone" | "filter.phone" => ("phone", t.err_phone),
        "contact.name" => ("name", t.err_name),
        "contact.personalNumber" | "filter.personalNumber" => {
            ("personal_number", t.err_personal_number)
        }
        "filter.text" => ("text", error.message.as_str()),
        "location.address" => ("address", t.err_address),
        "location.latitude" | "location.longitude" => ("address", t.err_position),
        "receivedAt" => ("received_at", t.err_received_at),
        "reference" | "filter.reference" => ("reference", t.err_reference),
        "messageToCitizen" => ("message", t.err_message_required),
        "reason" => ("reason", t.err_reason_required),
        "category" => ("category", t.err_category),
        "body" => ("body", t.err_comment),
        // Not a field of any form: say it as the use case said it.
        _ => {
            return FieldError {
                field: "main",
                message: error.to_string(),
            };
        }
    };
    FieldError {
        field,
        message: message.to_owned(),
    }
}

/// Form errors of a use case's `InvalidInput`, in the page's language.
pub fn field_errors(t: &Texts, errors: &[InvalidInput]) -> Vec<FieldError> {
    let mut out: Vec<FieldError> = Vec::new();
    for e in errors {
        let fe = field_error(t, e);
        if !out.iter().any(|o| o.field == fe.field) {
            out.push(fe);
        }
    }
    out
}

/// Text from a form: trimmed, `None` when blank.
pub fn non_blank(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// 128 random bits, hex: idempotency keys of form renders, login nonces.
pub fn random_token() -> String {
    use rand::RngExt;
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_link_keeps_the_page_and_its_query() {
        assert_eq!(
            with_language(
                "/status",
                Some("reference=EVI-2026-000001-5&code=AB+CD"),
                Language::En
            ),
            "/status?reference=EVI-2026-000001-5&code=AB+CD&lang=en"
        );
        assert_eq!(
            with_language("/status", Some("lang=en&reference=X"), Language::Sv),
            "/status?reference=X"
        );
        assert_eq!(with_language("/", None, Language::Sv), "/");
    }

    #[test]
    fn only_en_selects_english() {
        assert_eq!(language_of(Some("en")), Language::En);
        assert_eq!(language_of(Some("EN")), Language::En);
        assert_eq!(language_of(Some("de")), Language::Sv);
        assert_eq!(language_of(None), Language::Sv);
    }
}
