//! The staff screens: log in with a token from the identity provider, work
//! the queues, read and act on a request, and (contact centre) search and
//! register requests on a resident's behalf.
//!
//! The session is the token itself in an `HttpOnly; SameSite=Strict`
//! cookie scoped to `/staff`, verified by the same `Authenticator` as the
//! API on every request. Every post carries a CSRF token derived from the
//! session (SHA-256 of it), so it needs no server-side state and works on
//! any replica.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use chrono::{NaiveDateTime, Utc};
use chrono_tz::Europe::Stockholm;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::i18n::{self, Texts};
use super::resident::{CategoryGroup, HistoryItem, category_groups, next_step};
use super::{
    FieldError, Page, StaffBar, error_status, field_errors, language_of, message_page, non_blank,
    render, see_other, url,
};
use crate::auth::AuthError;
use crate::domain::actor::{Actor, Caller, Role};
use crate::domain::policy::{self, Access};
use crate::domain::status::RequestStatus;
use crate::domain::submission::{AnswerInput, ContactInput, LocationInput, SubmissionInput};
use crate::domain::{Channel, Language};
use crate::http::{ClientIp, HttpState};
use crate::service::{
    AccessRecorder, QueueQuery, RequestRecord, SearchFilter, ServiceError, StatusChange,
};

const SESSION_COOKIE: &str = "envagin_staff";
const LOGIN_COOKIE: &str = "envagin_login";
const PAGE_SIZE: usize = 20;

// ---------------------------------------------------------------------------
// Session, cookies and CSRF.

struct Session {
    caller: Caller,
    actor: Actor,
    csrf: String,
}

enum NoSession {
    Missing,
    Expired,
    Invalid,
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

/// The CSRF token of a session: only a holder of the session cookie can
/// compute it, and it reveals nothing of the token.
fn csrf_of(token: &str) -> String {
    hex::encode(
        Sha256::new()
            .chain_update(b"envagin-web-csrf\0")
            .chain_update(token.as_bytes())
            .finalize(),
    )
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

async fn session(state: &HttpState, headers: &HeaderMap) -> Result<Session, NoSession> {
    let token = cookie(headers, SESSION_COOKIE).ok_or(NoSession::Missing)?;
    match state.auth.authenticate(&token).await {
        Ok(actor) => Ok(Session {
            caller: Caller::Authenticated(actor.clone()),
            actor,
            csrf: csrf_of(&token),
        }),
        Err(AuthError::Expired) => Err(NoSession::Expired),
        Err(e) => {
            tracing::info!(error = %e, "staff session refused");
            Err(NoSession::Invalid)
        }
    }
}

fn secure(state: &HttpState) -> &'static str {
    if state.services.public_url().starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

fn set_cookie(response: &mut Response, state: &HttpState, name: &str, value: &str, max_age: i64) {
    let max_age = if max_age >= 0 {
        format!("; Max-Age={max_age}")
    } else {
        String::new()
    };
    let cookie = format!(
        "{name}={value}; Path=/staff; HttpOnly; SameSite=Strict{max_age}{}",
        secure(state)
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

fn clear_cookie(response: &mut Response, state: &HttpState, name: &str) {
    set_cookie(response, state, name, "", 0);
}

/// Where a page without a valid session goes: the login form, saying why.
fn to_login(
    state: &HttpState,
    language: Language,
    uri: &Uri,
    why: NoSession,
    next: Option<String>,
) -> Response {
    let t = Texts::of(language);
    match why {
        NoSession::Missing => {
            let page = page_of(uri.path());
            let mut pairs = vec![("next", page.as_str())];
            if language == Language::En {
                pairs.push(("lang", "en"));
            }
            see_other(&url("/staff", pairs))
        }
        NoSession::Expired | NoSession::Invalid => {
            let message = if matches!(why, NoSession::Expired) {
                t.login_expired
            } else {
                t.login_invalid
            };
            let mut response = login_page(
                state,
                language,
                uri,
                StatusCode::UNAUTHORIZED,
                Some(message),
                None,
                next.or_else(|| Some(page_of(uri.path()))),
            );
            clear_cookie(&mut response, state, SESSION_COOKIE);
            response
        }
    }
}

/// The staff session of a request, or the answer that sends the browser to
/// log in.
async fn signed_in(
    state: &HttpState,
    headers: &HeaderMap,
    language: Language,
    uri: &Uri,
) -> Result<Session, Response> {
    session(state, headers)
        .await
        .map_err(|why| to_login(state, language, uri, why, None))
}

/// As `signed_in`, for a form post, whose CSRF token must be the session's.
async fn signed_in_post(
    state: &HttpState,
    headers: &HeaderMap,
    language: Language,
    uri: &Uri,
    csrf: Option<&str>,
) -> Result<Session, Response> {
    let s = signed_in(state, headers, language, uri).await?;
    if !csrf.is_some_and(|c| same(c, &s.csrf)) {
        return Err(csrf_refused(state, &s, language, uri));
    }
    Ok(s)
}

fn staff_page(state: &HttpState, s: &Session, language: Language, uri: &Uri, title: &str) -> Page {
    let mut page = Page::new(state, language, uri, title);
    page.staff = Some(StaffBar {
        name: s.actor.name.clone().unwrap_or_else(|| s.actor.sub.clone()),
        csrf: s.csrf.clone(),
        contact_centre: s.actor.has(Role::ContactCentre),
    });
    page
}

fn csrf_refused(state: &HttpState, s: &Session, language: Language, uri: &Uri) -> Response {
    let t = Texts::of(language);
    let page = staff_page(state, s, language, uri, t.error_title);
    message_page(
        StatusCode::FORBIDDEN,
        page,
        t.error_title,
        t.csrf_failed.to_owned(),
    )
}

/// The page a form posts from: after logging in, the page comes back, not
/// the post (`/staff/requests/R/claim` → `/staff/requests/R`).
fn page_of(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["", "staff", "requests", reference, _action] => format!("/staff/requests/{reference}"),
        ["", "staff", "queues", code, "next"] => format!("/staff/queues/{code}"),
        ["", "staff", "logout" | "login"] => "/staff".to_owned(),
        _ => path.to_owned(),
    }
}

/// Only paths of these pages are followed after logging in.
fn safe_next(next: Option<&str>) -> Option<&str> {
    next.filter(|n| {
        n.starts_with("/staff")
            && !n.contains("//")
            && !n.contains('\\')
            && n.bytes().all(|b| b.is_ascii_graphic())
    })
}

// ---------------------------------------------------------------------------
// Login, logout, home.

#[derive(Template)]
#[template(path = "staff_login.html")]
pub struct LoginPage {
    pub page: Page,
    pub nonce: String,
    pub next: String,
}

fn login_page(
    state: &HttpState,
    language: Language,
    uri: &Uri,
    status: StatusCode,
    error: Option<&str>,
    notice: Option<&str>,
    next: Option<String>,
) -> Response {
    let t = Texts::of(language);
    let mut page = Page::new(state, language, uri, t.login_title);
    if let Some(message) = error {
        page.errors.push(FieldError {
            field: "token",
            message: message.to_owned(),
        });
    }
    page.notice = notice.map(str::to_owned);
    let nonce = super::random_token();
    let mut response = render(
        status,
        &LoginPage {
            page,
            next: safe_next(next.as_deref()).unwrap_or("").to_owned(),
            nonce: nonce.clone(),
        },
    );
    set_cookie(&mut response, state, LOGIN_COOKIE, &nonce, -1);
    response
}

#[derive(Deserialize)]
pub struct HomeQuery {
    lang: Option<String>,
    next: Option<String>,
    done: Option<String>,
    bye: Option<String>,
}

pub struct QueueSummary {
    pub code: String,
    pub name: String,
    pub administration: String,
    pub triage: u64,
    pub queued: u64,
    pub in_progress: u64,
    pub waiting: u64,
    pub overdue: u64,
}

#[derive(Template)]
#[template(path = "staff_home.html")]
pub struct HomePage {
    pub page: Page,
    pub queues: Vec<QueueSummary>,
    pub contact_centre: bool,
}

pub async fn home(
    State(state): State<HttpState>,
    Query(query): Query<HomeQuery>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let language = language_of(query.lang.as_deref());
    let t = Texts::of(language);
    let s = match session(&state, &headers).await {
        Ok(s) => s,
        Err(NoSession::Missing) => {
            let notice = query.bye.is_some().then_some(t.logged_out);
            return login_page(
                &state,
                language,
                &uri,
                StatusCode::OK,
                None,
                notice,
                query.next,
            );
        }
        Err(why) => return to_login(&state, language, &uri, why, query.next),
    };
    let mut page = staff_page(&state, &s, language, &uri, t.home_title);
    if query.done.as_deref() == Some("rerouted_away") {
        page.notice = Some(t.done_rerouted_away.to_owned());
    }
    let catalogue = state.services.catalogue();
    let mut queues = Vec::new();
    for adm in catalogue.administrations() {
        if !policy::works_in(&s.actor, &adm.code, catalogue.triage_administration()) {
            continue;
        }
        for queue in &adm.queues {
            let Ok(q) = state
                .services
                .queue(
                    &s.caller,
                    QueueQuery {
                        code: &queue.code,
                        first: 1,
                        after: None,
                        statuses: Vec::new(),
                        overdue_only: false,
                    },
                )
                .await
            else {
                continue;
            };
            queues.push(QueueSummary {
                code: queue.code.clone(),
                name: queue.name.get(language).to_owned(),
                administration: adm.name.get(language).to_owned(),
                triage: q.counts.triage,
                queued: q.counts.queued,
                in_progress: q.counts.in_progress,
                waiting: q.counts.waiting_for_citizen,
                overdue: q.counts.overdue,
            });
        }
    }
    render(
        StatusCode::OK,
        &HomePage {
            page,
            queues,
            contact_centre: s.actor.has(Role::ContactCentre),
        },
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    token: Option<String>,
    csrf: Option<String>,
    lang: Option<String>,
    next: Option<String>,
}

pub async fn login(
    State(state): State<HttpState>,
    headers: HeaderMap,
    uri: Uri,
    Form(form): Form<LoginForm>,
) -> Response {
    let language = language_of(form.lang.as_deref());
    let t = Texts::of(language);
    let uri: Uri = "/staff".parse().unwrap_or(uri);
    let again = |status, message: &str| {
        login_page(
            &state,
            language,
            &uri,
            status,
            Some(message),
            None,
            form.next.clone(),
        )
    };
    // Login CSRF: the form must come from our own login page.
    let nonce_ok = match (cookie(&headers, LOGIN_COOKIE), form.csrf.as_deref()) {
        (Some(expected), Some(given)) => same(&expected, given),
        _ => false,
    };
    if !nonce_ok {
        return again(StatusCode::FORBIDDEN, t.login_cookies);
    }
    let raw = form.token.as_deref().unwrap_or("").trim();
    let token = crate::auth::bearer_token(raw).unwrap_or(raw);
    if token.is_empty() {
        return again(StatusCode::UNPROCESSABLE_ENTITY, t.login_empty);
    }
    let actor = match state.auth.authenticate(token).await {
        Ok(actor) => actor,
        Err(AuthError::Expired) => return again(StatusCode::UNAUTHORIZED, t.login_expired),
        Err(e) => {
            tracing::info!(error = %e, "staff login refused");
            return again(StatusCode::UNAUTHORIZED, t.login_invalid);
        }
    };
    let next = safe_next(form.next.as_deref()).unwrap_or("/staff");
    let target = if language == Language::En {
        url(next, [("lang", "en")])
    } else {
        next.to_owned()
    };
    let mut response = see_other(&target);
    let max_age = actor
        .expires_at
        .map_or(-1, |exp| (exp - Utc::now().timestamp()).max(0));
    set_cookie(&mut response, &state, SESSION_COOKIE, token, max_age);
    clear_cookie(&mut response, &state, LOGIN_COOKIE);
    response
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
    lang: Option<String>,
}

pub async fn logout(
    State(state): State<HttpState>,
    headers: HeaderMap,
    uri: Uri,
    Form(form): Form<CsrfForm>,
) -> Response {
    let language = language_of(form.lang.as_deref());
    if let Ok(s) = session(&state, &headers).await
        && !form.csrf.as_deref().is_some_and(|c| same(c, &s.csrf))
    {
        return csrf_refused(&state, &s, language, &uri);
    }
    let mut pairs = vec![("bye", "1")];
    if language == Language::En {
        pairs.push(("lang", "en"));
    }
    let mut response = see_other(&url("/staff", pairs));
    clear_cookie(&mut response, &state, SESSION_COOKIE);
    response
}

// ---------------------------------------------------------------------------
// Queues.

#[derive(Deserialize)]
pub struct QueuePageQuery {
    lang: Option<String>,
    after: Option<String>,
    empty: Option<String>,
}

pub struct ListItem {
    pub reference: String,
    pub href: String,
    pub status_name: &'static str,
    pub administration: String,
    pub category_name: Option<String>,
    pub priority: Option<&'static str>,
    pub received: String,
    pub due: Option<String>,
    pub overdue: bool,
    pub assignee: Option<String>,
}

fn list_item(
    state: &HttpState,
    caller: &Caller,
    language: Language,
    record: &RequestRecord,
) -> ListItem {
    let catalogue = state.services.catalogue();
    // As `graphql::types::Request::for_caller` decides, per field.
    let access = match state.services.access(caller, record) {
        Access::None => Access::StatusOnly,
        a => a,
    };
    let full = access == Access::Full;
    let levels = access != Access::StatusOnly;
    ListItem {
        href: format!(
            "/staff/requests/{}{}",
            record.reference,
            super::lang_query(language, '?')
        ),
        reference: record.reference.clone(),
        status_name: i18n::status_name(language, record.status, false),
        administration: catalogue
            .administration(&record.administration)
            .map(|a| a.name.get(language).to_owned())
            .unwrap_or_else(|| record.administration.clone()),
        category_name: record
            .category
            .as_deref()
            .filter(|_| full)
            .and_then(|c| catalogue.category(c))
            .map(|c| c.name.get(language).to_owned()),
        priority: full.then(|| i18n::priority_name(language, record.priority)),
        received: i18n::date_time(language, record.received_at),
        due: levels.then(|| i18n::date(language, record.resolve_due_at)),
        overdue: levels && record.is_overdue(Utc::now()),
        assignee: record
            .assignee_sub
            .as_ref()
            .filter(|_| full)
            .map(|sub| record.assignee_name.clone().unwrap_or_else(|| sub.clone())),
    }
}

#[derive(Template)]
#[template(path = "staff_queue.html")]
pub struct QueuePage {
    pub page: Page,
    pub code: String,
    pub name: String,
    pub triage: u64,
    pub queued: u64,
    pub in_progress: u64,
    pub waiting: u64,
    pub overdue: u64,
    pub items: Vec<ListItem>,
    pub next_href: Option<String>,
    pub first_href: Option<String>,
}

pub async fn queue(
    State(state): State<HttpState>,
    Path(code): Path<String>,
    Query(query): Query<QueuePageQuery>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let language = language_of(query.lang.as_deref());
    let t = Texts::of(language);
    let s = match signed_in(&state, &headers, language, &uri).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let catalogue = state.services.catalogue();
    let name = catalogue
        .administrations()
        .iter()
        .flat_map(|a| a.queues.iter())
        .find(|q| q.code == code)
        .map(|q| q.name.get(language).to_owned())
        .unwrap_or_else(|| code.clone());
    let mut page = staff_page(
        &state,
        &s,
        language,
        &uri,
        &format!("{} {name}", t.queue_title),
    );
    if query.empty.is_some() {
        page.notice = Some(t.queue_nothing_to_take.to_owned());
    }
    let result = state
        .services
        .queue(
            &s.caller,
            QueueQuery {
                code: &code,
                first: PAGE_SIZE,
                after: non_blank(&query.after).as_deref(),
                statuses: Vec::new(),
                overdue_only: false,
            },
        )
        .await;
    let q = match result {
        Ok(q) => q,
        Err(e) => {
            let (status, message) = error_status(t, &e);
            return message_page(status, page, t.error_title, message);
        }
    };
    let path = format!("/staff/queues/{code}");
    let next_href = q
        .has_next_page
        .then(|| q.requests.last())
        .flatten()
        .map(|(cursor, _)| {
            let mut pairs = vec![("after", cursor.as_str())];
            if language == Language::En {
                pairs.push(("lang", "en"));
            }
            url(&path, pairs)
        });
    let first_href = query.after.is_some().then(|| format!("{path}{}", page.q));
    let items = q
        .requests
        .iter()
        .map(|(_, r)| list_item(&state, &s.caller, language, r))
        .collect();
    render(
        StatusCode::OK,
        &QueuePage {
            page,
            name,
            triage: q.counts.triage,
            queued: q.counts.queued,
            in_progress: q.counts.in_progress,
            waiting: q.counts.waiting_for_citizen,
            overdue: q.counts.overdue,
            code,
            items,
            next_href,
            first_href,
        },
    )
}

pub async fn take_next(
    State(state): State<HttpState>,
    Path(code): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    Form(form): Form<CsrfForm>,
) -> Response {
    let language = language_of(form.lang.as_deref());
    let t = Texts::of(language);
    let s = match signed_in_post(&state, &headers, language, &uri, form.csrf.as_deref()).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let amp = super::lang_query(language, '&');
    match state.services.claim_next_request(&s.caller, &code).await {
        Ok(Some(record)) => see_other(&format!(
            "/staff/requests/{}?done=claimed{amp}",
            record.reference
        )),
        Ok(None) => see_other(&format!("/staff/queues/{code}?empty=1{amp}")),
        Err(e) => {
            let page = staff_page(&state, &s, language, &uri, t.error_title);
            let (status, message) = error_status(t, &e);
            message_page(status, page, t.error_title, message)
        }
    }
}

// ---------------------------------------------------------------------------
// One request.

pub struct ContactView {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub personal_number: Option<String>,
}

pub struct LocationView {
    pub address: Option<String>,
    pub coordinates: Option<String>,
}

pub struct StatusOption {
    pub code: &'static str,
    pub name: &'static str,
    pub selected: bool,
}

/// What the staff member typed into an action's form, kept on an error.
#[derive(Default)]
pub struct ActionValues {
    pub status: String,
    pub message: String,
    pub reason: String,
    pub category: String,
    pub reroute_reason: String,
    pub body: String,
    pub public: bool,
}

#[derive(Template)]
#[template(path = "staff_request.html")]
pub struct RequestPage {
    pub page: Page,
    pub reference: String,
    pub status_name: &'static str,
    pub administration: String,
    pub received: String,
    pub updated: String,
    pub full: bool,
    pub ack_due: Option<String>,
    pub resolve_due: Option<String>,
    pub overdue: bool,
    pub category_name: Option<String>,
    pub description: Option<String>,
    pub contact: Option<ContactView>,
    pub location: Option<LocationView>,
    pub queue: Option<String>,
    pub priority: Option<&'static str>,
    pub channel: Option<&'static str>,
    pub confidential: Option<bool>,
    pub protected_identity: Option<bool>,
    pub assignee: Option<String>,
    pub registered_by: Option<String>,
    pub classification: Option<String>,
    /// The language the resident wrote in when it is neither Swedish nor
    /// English (the classifier could not read it).
    pub text_language: Option<String>,
    pub version: i32,
    pub history: Vec<HistoryItem>,
    pub can_claim: bool,
    pub can_release: bool,
    pub statuses: Vec<StatusOption>,
    pub can_reroute: bool,
    pub groups: Vec<CategoryGroup>,
    pub values: ActionValues,
    pub action_base: String,
    /// Knowledge-base articles that may answer the request.
    pub articles: Vec<ArticleView>,
}

/// An article beside a request: its body is the server's sanitised HTML.
pub struct ArticleView {
    pub title: String,
    pub slug: String,
    pub body_html: String,
}

/// Articles that may answer `text`, for staff reading a request; none
/// when the server is too busy to look (the page matters more).
async fn matching_articles(services: &crate::service::Services, text: &str) -> Vec<ArticleView> {
    services
        .answers(text, None, 3)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|(article, _)| ArticleView {
            body_html: crate::domain::knowledge::render_markdown(&article.body),
            title: article.title,
            slug: article.slug,
        })
        .collect()
}

#[derive(Deserialize)]
pub struct RequestQuery {
    lang: Option<String>,
    done: Option<String>,
}

pub async fn request(
    State(state): State<HttpState>,
    Path(reference): Path<String>,
    Query(query): Query<RequestQuery>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let language = language_of(query.lang.as_deref());
    let t = Texts::of(language);
    let s = match signed_in(&state, &headers, language, &uri).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let mut page = staff_page(&state, &s, language, &uri, t.request_title);
    page.notice = match query.done.as_deref() {
        Some("claimed") => Some(t.done_claimed),
        Some("released") => Some(t.done_released),
        Some("status") => Some(t.done_status),
        Some("rerouted") => Some(t.done_rerouted),
        Some("comment") => Some(t.done_comment),
        _ => None,
    }
    .map(str::to_owned);
    show_request(
        &state,
        &s,
        page,
        &reference,
        ActionValues::default(),
        StatusCode::OK,
    )
    .await
}

/// The request page as the session's actor may see it. Personal data
/// shown is written to the access log before the page is sent, exactly as
/// the GraphQL transport does.
async fn show_request(
    state: &HttpState,
    s: &Session,
    mut page: Page,
    reference: &str,
    values: ActionValues,
    status: StatusCode,
) -> Response {
    let t = page.t;
    let language = page.language;
    let services = &state.services;
    let record = match services.staff_request(&s.caller, reference).await {
        Ok(record) => record,
        Err(ServiceError::InvalidInput(_) | ServiceError::NotFound) => {
            return message_page(
                StatusCode::NOT_FOUND,
                page,
                t.error_title,
                t.request_not_found.to_owned(),
            );
        }
        Err(e) => {
            let (status, message) = error_status(t, &e);
            return message_page(status, page, t.error_title, message);
        }
    };
    // As `graphql::types::Request::for_caller` decides, per field.
    let access = match services.access(&s.caller, &record) {
        Access::None => Access::StatusOnly,
        a => a,
    };
    let full = access == Access::Full;
    let levels = access != Access::StatusOnly;
    let personal = !record.protected_identity || s.actor.handles(&record.administration);
    let (history, followed) = match tokio::try_join!(
        services.history(&record, access, &s.caller),
        services.followed_status(&record)
    ) {
        Ok(both) => both,
        Err(e) => {
            let (status, message) = error_status(t, &e);
            return message_page(status, page, t.error_title, message);
        }
    };
    let recorder = Arc::new(AccessRecorder::default());
    let description = full.then(|| {
        recorder.note(record.id, "description");
        record.description.clone()
    });
    let contact = (full && personal).then(|| {
        recorder.note(record.id, "contact");
        ContactView {
            name: record.contact_name.clone(),
            email: record.contact_email.clone(),
            phone: record.contact_phone.clone(),
            personal_number: record.personal_number.clone(),
        }
    });
    let location = (full && personal).then(|| {
        recorder.note(record.id, "location");
        LocationView {
            address: record.location_address.clone(),
            coordinates: record
                .location_latitude
                .zip(record.location_longitude)
                .map(|(lat, lon)| format!("{lat:.6}, {lon:.6}")),
        }
    });
    if let Err(e) = services.record_access(&s.caller, &recorder).await {
        tracing::error!(error = %e, "cannot write the personal-data access log; page withheld");
        return message_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            page,
            t.error_title,
            t.internal_error.to_owned(),
        );
    }
    let catalogue = services.catalogue();
    let statuses = if full {
        status_options(language, record.status, &values.status)
    } else {
        Vec::new()
    };
    let can_reroute =
        policy::may_reroute(&s.actor, record.facts(), catalogue.triage_administration());
    page.title = format!("{} {}", t.request_title, record.reference);
    let mut values = values;
    if values.category.is_empty() {
        values.category = record.category.clone().unwrap_or_default();
    }
    let articles = match description.as_deref() {
        Some(text) => matching_articles(&state.services, text).await,
        None => Vec::new(),
    };
    let view = RequestPage {
        articles,
        action_base: format!("/staff/requests/{}", record.reference),
        reference: record.reference.clone(),
        status_name: i18n::status_name(language, followed, false),
        administration: catalogue
            .administration(&record.administration)
            .map(|a| a.name.get(language).to_owned())
            .unwrap_or_else(|| record.administration.clone()),
        received: i18n::date_time(language, record.received_at),
        updated: i18n::date_time(language, record.updated_at),
        full,
        ack_due: levels.then(|| i18n::date_time(language, record.ack_due_at)),
        resolve_due: levels.then(|| i18n::date_time(language, record.resolve_due_at)),
        overdue: levels && record.is_overdue(Utc::now()),
        category_name: record
            .category
            .as_deref()
            .filter(|_| full)
            .and_then(|c| catalogue.category(c))
            .map(|c| c.name.get(language).to_owned()),
        description,
        contact,
        location,
        queue: full.then(|| record.queue.clone()),
        priority: full.then(|| i18n::priority_name(language, record.priority)),
        channel: full.then(|| i18n::channel_name(language, record.channel)),
        confidential: full.then_some(record.confidential),
        protected_identity: full.then_some(record.protected_identity),
        assignee: record
            .assignee_sub
            .as_ref()
            .filter(|_| full)
            .map(|sub| record.assignee_name.clone().unwrap_or_else(|| sub.clone())),
        registered_by: record.registered_by.clone().filter(|_| full),
        text_language: record
            .text_language
            .as_deref()
            .filter(|_| full)
            .map(|code| {
                crate::domain::language::describe(code)
                    .unwrap_or_else(|| t.unknown_language.to_owned())
            }),
        classification: full.then(|| {
            format!(
                "{:.0} % – {}",
                record.classification_confidence * 100.0,
                record.classification_explanation
            )
        }),
        version: record.version,
        history: history
            .into_iter()
            .map(|e| HistoryItem::new(language, e, false))
            .collect(),
        can_claim: full && record.status == RequestStatus::Queued,
        can_release: full && record.status == RequestStatus::InProgress,
        statuses,
        can_reroute,
        groups: if can_reroute {
            category_groups(state, language)
        } else {
            Vec::new()
        },
        values,
        page,
    };
    render(status, &view)
}

/// The statuses a person may set from `from` on this form; claiming,
/// releasing, queueing (by rerouting) and merging have their own controls.
fn status_options(language: Language, from: RequestStatus, chosen: &str) -> Vec<StatusOption> {
    use RequestStatus::*;
    RequestStatus::ALL
        .into_iter()
        .filter(|to| from.can_move_to(*to))
        .filter(|to| {
            !matches!(
                (from, *to),
                (_, Duplicate)
                    | (_, Received)
                    | (Queued, InProgress)
                    | (InProgress, Queued)
                    | (Triage | Queued | Referred, Queued)
            )
        })
        .map(|to| StatusOption {
            code: to.code(),
            name: i18n::status_name(language, to, false),
            selected: to.code() == chosen,
        })
        .collect()
}

#[derive(Deserialize)]
pub struct ActionForm {
    csrf: Option<String>,
    lang: Option<String>,
    version: Option<i32>,
    status: Option<String>,
    message: Option<String>,
    reason: Option<String>,
    category: Option<String>,
    body: Option<String>,
    visibility: Option<String>,
}

pub async fn act(
    State(state): State<HttpState>,
    Path((reference, action)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    Form(form): Form<ActionForm>,
) -> Response {
    let language = language_of(form.lang.as_deref());
    let t = Texts::of(language);
    let s = match signed_in_post(&state, &headers, language, &uri, form.csrf.as_deref()).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let services = &state.services;
    let caller = &s.caller;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let result = match action.as_str() {
        "claim" => services
            .claim_request(caller, &reference, form.version)
            .await
            .map(|r| (r, "claimed")),
        "release" => services
            .release_request(caller, &reference, form.version)
            .await
            .map(|r| (r, "released")),
        "status" => {
            let Some(status) = form.status.as_deref().and_then(RequestStatus::from_code) else {
                return bad_action(&state, &s, language, &uri, &reference, &form).await;
            };
            services
                .set_status(
                    caller,
                    &reference,
                    StatusChange {
                        status,
                        message_to_citizen: non_blank(&form.message),
                        reason: non_blank(&form.reason),
                        expected_version: form.version,
                    },
                )
                .await
                .map(|r| (r, "status"))
        }
        "reroute" => services
            .reroute_request(
                caller,
                &reference,
                form.category.as_deref().unwrap_or(""),
                non_blank(&form.reason).as_deref(),
                form.version,
            )
            .await
            .map(|r| (r, "rerouted")),
        "comment" => services
            .add_comment(
                caller,
                &reference,
                &text(&form.body),
                form.visibility.as_deref() != Some("public"),
            )
            .await
            .map(|r| (r, "comment")),
        _ => {
            let page = staff_page(&state, &s, language, &uri, t.error_title);
            return message_page(
                StatusCode::NOT_FOUND,
                page,
                t.error_title,
                t.page_not_found.to_owned(),
            );
        }
    };
    let amp = super::lang_query(language, '&');
    match result {
        Ok((record, done)) => {
            if services.access(caller, &record) == Access::None {
                see_other(&format!("/staff?done=rerouted_away{amp}"))
            } else {
                see_other(&format!(
                    "/staff/requests/{}?done={done}{amp}#notice",
                    record.reference
                ))
            }
        }
        Err(e) => {
            let request_uri: Uri = format!("/staff/requests/{reference}")
                .parse()
                .unwrap_or(uri);
            let mut page = staff_page(&state, &s, language, &request_uri, t.request_title);
            let status = match &e {
                ServiceError::InvalidInput(errors) => {
                    page.errors = field_errors(t, errors)
                        .into_iter()
                        .map(|fe| in_action(&action, fe))
                        .collect();
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                ServiceError::NotFound => {
                    return message_page(
                        StatusCode::NOT_FOUND,
                        page,
                        t.error_title,
                        t.request_not_found.to_owned(),
                    );
                }
                other => {
                    let (status, message) = error_status(t, other);
                    page.errors.push(FieldError {
                        field: "actions",
                        message,
                    });
                    status
                }
            };
            let values = action_values(&action, &form);
            show_request(&state, &s, page, &reference, values, status).await
        }
    }
}

/// A form posted without a usable status choice.
async fn bad_action(
    state: &HttpState,
    s: &Session,
    language: Language,
    uri: &Uri,
    reference: &str,
    form: &ActionForm,
) -> Response {
    let t = Texts::of(language);
    let mut page = staff_page(state, s, language, uri, t.request_title);
    page.errors.push(FieldError {
        field: "status-new",
        message: t.new_status_label.to_owned(),
    });
    let values = action_values("status", form);
    show_request(
        state,
        s,
        page,
        reference,
        values,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

fn action_values(action: &str, form: &ActionForm) -> ActionValues {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    match action {
        "status" => ActionValues {
            status: text(&form.status),
            message: text(&form.message),
            reason: text(&form.reason),
            ..Default::default()
        },
        "reroute" => ActionValues {
            category: text(&form.category),
            reroute_reason: text(&form.reason),
            ..Default::default()
        },
        "comment" => ActionValues {
            body: text(&form.body),
            public: form.visibility.as_deref() == Some("public"),
            ..Default::default()
        },
        _ => ActionValues::default(),
    }
}

/// The ids of the request page's fields: each action's form has its own.
fn in_action(action: &str, error: FieldError) -> FieldError {
    let field = match (action, error.field) {
        ("status", "message") => "status-message",
        ("status", "reason") => "status-reason",
        ("status", _) => "status-new",
        ("reroute", "category") => "reroute-category",
        ("reroute", _) => "reroute-reason",
        ("comment", _) => "comment-body",
        _ => "actions",
    };
    FieldError { field, ..error }
}

// ---------------------------------------------------------------------------
// Search (contact centre; handlers within their administrations).

#[derive(Deserialize, Default)]
pub struct SearchForm {
    csrf: Option<String>,
    lang: Option<String>,
    reference: Option<String>,
    personal_number: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    text: Option<String>,
    status: Option<String>,
    after: Option<String>,
}

#[derive(Default)]
pub struct SearchValues {
    pub reference: String,
    pub personal_number: String,
    pub phone: String,
    pub email: String,
    pub text: String,
    pub status: String,
}

#[derive(Template)]
#[template(path = "staff_search.html")]
pub struct SearchPage {
    pub page: Page,
    pub values: SearchValues,
    pub statuses: Vec<StatusOption>,
    pub searched: bool,
    pub items: Vec<ListItem>,
    pub next_after: Option<String>,
}

fn all_statuses(language: Language, chosen: &str) -> Vec<StatusOption> {
    RequestStatus::ALL
        .into_iter()
        .map(|s| StatusOption {
            code: s.code(),
            name: i18n::status_name(language, s, false),
            selected: s.code() == chosen,
        })
        .collect()
}

pub async fn search_form(
    State(state): State<HttpState>,
    Query(query): Query<super::resident::LangQuery>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let language = language_of(query.lang.as_deref());
    let t = Texts::of(language);
    let s = match signed_in(&state, &headers, language, &uri).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let page = staff_page(&state, &s, language, &uri, t.search_title);
    render(
        StatusCode::OK,
        &SearchPage {
            page,
            values: SearchValues::default(),
            statuses: all_statuses(language, ""),
            searched: false,
            items: Vec::new(),
            next_after: None,
        },
    )
}

/// A search is a post, so personal numbers and phone numbers stay out of
/// URLs, browser history and proxy logs.
pub async fn search(
    State(state): State<HttpState>,
    headers: HeaderMap,
    uri: Uri,
    Form(form): Form<SearchForm>,
) -> Response {
    let language = language_of(form.lang.as_deref());
    let t = Texts::of(language);
    let s = match signed_in_post(&state, &headers, language, &uri, form.csrf.as_deref()).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let mut page = staff_page(&state, &s, language, &uri, t.search_title);
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let values = SearchValues {
        reference: text(&form.reference),
        personal_number: text(&form.personal_number),
        phone: text(&form.phone),
        email: text(&form.email),
        text: text(&form.text),
        status: text(&form.status),
    };
    let filter = SearchFilter {
        reference: non_blank(&form.reference),
        personal_number: non_blank(&form.personal_number),
        email: non_blank(&form.email),
        phone: non_blank(&form.phone),
        text: non_blank(&form.text),
        status: form.status.as_deref().and_then(RequestStatus::from_code),
        ..Default::default()
    };
    let empty = filter.reference.is_none()
        && filter.personal_number.is_none()
        && filter.email.is_none()
        && filter.phone.is_none()
        && filter.text.is_none()
        && filter.status.is_none();
    let mut items = Vec::new();
    let mut next_after = None;
    let mut searched = false;
    let mut status = StatusCode::OK;
    if empty {
        page.errors.push(FieldError {
            field: "reference",
            message: t.search_need_criterion.to_owned(),
        });
        status = StatusCode::UNPROCESSABLE_ENTITY;
    } else {
        match state
            .services
            .search_requests(
                &s.caller,
                filter,
                PAGE_SIZE,
                non_blank(&form.after).as_deref(),
            )
            .await
        {
            Ok(found) => {
                searched = true;
                next_after = found
                    .has_next_page
                    .then(|| found.items.last().map(|(c, _)| c.clone()))
                    .flatten();
                items = found
                    .items
                    .iter()
                    .map(|(_, r)| list_item(&state, &s.caller, language, r))
                    .collect();
            }
            Err(ServiceError::InvalidInput(errors)) => {
                page.errors = field_errors(t, &errors);
                status = StatusCode::UNPROCESSABLE_ENTITY;
            }
            Err(e) => {
                let (code, message) = error_status(t, &e);
                return message_page(code, page, t.error_title, message);
            }
        }
    }
    let statuses = all_statuses(language, &values.status);
    render(
        status,
        &SearchPage {
            page,
            values,
            statuses,
            searched,
            items,
            next_after,
        },
    )
}

// ---------------------------------------------------------------------------
// Registering a request on a resident's behalf (contact centre).

pub struct ChannelOption {
    pub code: &'static str,
    pub name: &'static str,
    pub checked: bool,
}

#[derive(Default)]
pub struct RegisterValues {
    pub channel: String,
    pub received_at: String,
    pub language: String,
    pub description: String,
    pub category: String,
    pub address: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub personal_number: String,
    pub protected: bool,
    pub answer: String,
    pub articles: String,
}

#[derive(Template)]
#[template(path = "staff_register.html")]
pub struct RegisterPage {
    pub page: Page,
    pub values: RegisterValues,
    pub channels: Vec<ChannelOption>,
    pub groups: Vec<CategoryGroup>,
    pub idempotency_key: String,
}

const REGISTER_CHANNELS: [Channel; 4] = [
    Channel::Phone,
    Channel::Visit,
    Channel::Email,
    Channel::Letter,
];

fn channel_options(language: Language, chosen: &str) -> Vec<ChannelOption> {
    REGISTER_CHANNELS
        .into_iter()
        .map(|c| ChannelOption {
            code: c.code(),
            name: i18n::channel_name(language, c),
            checked: c.code() == chosen,
        })
        .collect()
}

fn now_local() -> String {
    Utc::now()
        .with_timezone(&Stockholm)
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

fn register_page(
    state: &HttpState,
    page: Page,
    values: RegisterValues,
    idempotency_key: String,
    status: StatusCode,
) -> Response {
    let language = page.language;
    render(
        status,
        &RegisterPage {
            channels: channel_options(language, &values.channel),
            groups: category_groups(state, language),
            page,
            values,
            idempotency_key,
        },
    )
}

pub async fn register_form(
    State(state): State<HttpState>,
    Query(query): Query<super::resident::LangQuery>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let language = language_of(query.lang.as_deref());
    let t = Texts::of(language);
    let s = match signed_in(&state, &headers, language, &uri).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let page = staff_page(&state, &s, language, &uri, t.register_title);
    register_page(
        &state,
        page,
        RegisterValues {
            channel: Channel::Phone.code().to_owned(),
            received_at: now_local(),
            language: "sv".to_owned(),
            ..Default::default()
        },
        super::random_token(),
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct RegisterForm {
    csrf: Option<String>,
    lang: Option<String>,
    idempotency_key: Option<String>,
    channel: Option<String>,
    received_at: Option<String>,
    resident_language: Option<String>,
    description: Option<String>,
    category: Option<String>,
    address: Option<String>,
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    personal_number: Option<String>,
    protected: Option<String>,
    answer: Option<String>,
    articles: Option<String>,
}

#[derive(Template)]
#[template(path = "staff_receipt.html")]
pub struct StaffReceiptPage {
    pub page: Page,
    pub reference: String,
    pub tracking_code: String,
    pub referral: Option<String>,
    pub emergency_advice: Option<String>,
    pub next_step: String,
    pub request_href: String,
}

/// `2026-11-26T14:30` in Swedish time.
fn parse_local(raw: &str) -> Option<chrono::DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(raw.trim(), "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(raw.trim(), "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    naive
        .and_local_timezone(Stockholm)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

pub async fn register(
    State(state): State<HttpState>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    uri: Uri,
    Form(form): Form<RegisterForm>,
) -> Response {
    let language = language_of(form.lang.as_deref());
    let t = Texts::of(language);
    let s = match signed_in_post(&state, &headers, language, &uri, form.csrf.as_deref()).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let mut page = staff_page(&state, &s, language, &uri, t.register_title);
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let values = RegisterValues {
        channel: text(&form.channel),
        received_at: text(&form.received_at),
        language: text(&form.resident_language),
        description: text(&form.description),
        category: text(&form.category),
        address: text(&form.address),
        name: text(&form.name),
        email: text(&form.email),
        phone: text(&form.phone),
        personal_number: text(&form.personal_number),
        protected: form.protected.is_some(),
        answer: text(&form.answer),
        articles: text(&form.articles),
    };
    let key = non_blank(&form.idempotency_key).unwrap_or_else(super::random_token);
    let channel = form
        .channel
        .as_deref()
        .and_then(Channel::from_code)
        .filter(|c| REGISTER_CHANNELS.contains(c));
    let received_at = match non_blank(&form.received_at) {
        None => Ok(None),
        Some(raw) => parse_local(&raw).map(Some).ok_or(()),
    };
    let (Some(channel), Ok(received_at)) = (channel, received_at) else {
        if channel.is_none() {
            page.errors.push(FieldError {
                field: "channel-PHONE",
                message: t.channel_legend.to_owned(),
            });
        }
        if received_at.is_err() {
            page.errors.push(FieldError {
                field: "received_at",
                message: t.err_received_at.to_owned(),
            });
        }
        return register_page(&state, page, values, key, StatusCode::UNPROCESSABLE_ENTITY);
    };
    let resident_language = match form.resident_language.as_deref() {
        Some("en") => Language::En,
        _ => Language::Sv,
    };
    let input = SubmissionInput {
        description: text(&form.description),
        category_hint: non_blank(&form.category),
        channel,
        location: Some(LocationInput {
            latitude: None,
            longitude: None,
            address: non_blank(&form.address),
        }),
        contact: Some(ContactInput {
            name: non_blank(&form.name),
            email: non_blank(&form.email),
            phone: non_blank(&form.phone),
            personal_number: non_blank(&form.personal_number),
        }),
        language: Some(resident_language.code().to_owned()),
        idempotency_key: Some(key.clone()),
        protected_identity: form.protected.is_some(),
        received_at,
        answered_on_contact: non_blank(&form.answer).map(|answer| AnswerInput {
            answer,
            articles: text(&form.articles)
                .split(',')
                .map(|slug| slug.trim().to_owned())
                .filter(|slug| !slug.is_empty())
                .collect(),
        }),
    };
    match state
        .services
        .submit_request(&s.caller, client, input)
        .await
    {
        Ok(outcome) => {
            page.title = t.registered_title.to_owned();
            let record = &outcome.request;
            render(
                StatusCode::OK,
                &StaffReceiptPage {
                    reference: record.reference.clone(),
                    tracking_code: outcome.tracking_code.to_string(),
                    referral: outcome.referral.clone(),
                    emergency_advice: outcome.emergency_advice.clone(),
                    next_step: next_step(&state, language, record),
                    request_href: format!("/staff/requests/{}{}", record.reference, page.q),
                    page,
                },
            )
        }
        Err(ServiceError::InvalidInput(errors)) => {
            page.errors = field_errors(t, &errors);
            register_page(&state, page, values, key, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => {
            let (status, message) = error_status(t, &e);
            message_page(status, page, t.error_title, message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; envagin_staff=tok.en; b=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("tok.en"));
        assert_eq!(cookie(&headers, "c"), None);
    }

    #[test]
    fn only_staff_paths_are_followed_after_login() {
        assert_eq!(
            safe_next(Some("/staff/queues/TF")),
            Some("/staff/queues/TF")
        );
        assert_eq!(safe_next(Some("//evil.example/staff")), None);
        assert_eq!(safe_next(Some("https://evil.example/")), None);
        assert_eq!(safe_next(Some("/staff/\\evil")), None);
    }

    #[test]
    fn after_login_a_post_comes_back_as_its_page() {
        assert_eq!(
            page_of("/staff/requests/EVI-2026-000001-5/claim"),
            "/staff/requests/EVI-2026-000001-5"
        );
        assert_eq!(page_of("/staff/queues/TF/next"), "/staff/queues/TF");
        assert_eq!(page_of("/staff/search"), "/staff/search");
    }

    #[test]
    fn the_status_form_offers_only_plain_moves() {
        let codes = |from| {
            status_options(Language::Sv, from, "")
                .into_iter()
                .map(|o| o.code)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            codes(RequestStatus::InProgress),
            ["WAITING_FOR_CITIZEN", "RESOLVED", "REFERRED"]
        );
        assert_eq!(codes(RequestStatus::Queued), ["TRIAGE", "REFERRED"]);
        assert_eq!(codes(RequestStatus::Closed), Vec::<&str>::new());
    }

    #[test]
    fn local_times_are_swedish() {
        let t = parse_local("2026-07-01T12:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-07-01T10:00:00+00:00");
    }
}
