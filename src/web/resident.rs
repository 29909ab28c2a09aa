//! The resident's pages: the form "Kontakta kommunen", the receipt, the
//! status page with its reply form, and the accessibility statement. No
//! login; the reference and tracking code open a request.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde::Deserialize;

use super::i18n::{self, Texts};
use super::{
    FieldError, Page, error_status, field_errors, language_of, message_page, non_blank, render,
    see_other, url,
};
use crate::domain::actor::Caller;
use crate::domain::policy::Access;
use crate::domain::status::RequestStatus;
use crate::domain::submission::{ContactInput, LocationInput, SubmissionInput};
use crate::domain::{Channel, Language};
use crate::http::{ClientIp, HttpState};
use crate::service::{HistoryEntry, RequestRecord, ServiceError, SubmitOutcome};

#[derive(Deserialize)]
pub struct LangQuery {
    pub lang: Option<String>,
}

#[derive(Deserialize)]
pub struct FormQuery {
    lang: Option<String>,
    /// A category to preselect, e.g. from the accessibility statement's
    /// "report a problem" link.
    category: Option<String>,
}

/// The catalogue's categories under their administrations, for a picker.
pub struct CategoryGroup {
    pub name: String,
    pub categories: Vec<CategoryOption>,
}

pub struct CategoryOption {
    pub code: String,
    pub name: String,
}

pub fn category_groups(state: &HttpState, language: Language) -> Vec<CategoryGroup> {
    let catalogue = state.services.catalogue();
    catalogue
        .administrations()
        .iter()
        .map(|adm| CategoryGroup {
            name: adm.name.get(language).to_owned(),
            categories: catalogue
                .categories()
                .iter()
                .filter(|c| c.administration == adm.code)
                .map(|c| CategoryOption {
                    code: c.code.clone(),
                    name: c.name.get(language).to_owned(),
                })
                .collect(),
        })
        .filter(|g| !g.categories.is_empty())
        .collect()
}

// ---------------------------------------------------------------------------
// The form.

/// What the resident typed, kept when the form comes back with errors.
#[derive(Default)]
pub struct FormValues {
    pub description: String,
    pub category: String,
    pub address: String,
    pub latitude: String,
    pub longitude: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub protected: bool,
}

#[derive(Template)]
#[template(path = "form.html")]
pub struct FormPage {
    pub page: Page,
    pub values: FormValues,
    pub groups: Vec<CategoryGroup>,
    /// One per form render: a resubmitted post creates one request.
    pub idempotency_key: String,
}

pub async fn form(
    State(state): State<HttpState>,
    Query(query): Query<FormQuery>,
    uri: Uri,
) -> Response {
    let language = language_of(query.lang.as_deref());
    let page = Page::new(&state, language, &uri, Texts::of(language).form_title);
    let category = query
        .category
        .filter(|c| state.services.catalogue().category(c).is_some())
        .unwrap_or_default();
    render(
        StatusCode::OK,
        &FormPage {
            groups: category_groups(&state, language),
            page,
            values: FormValues {
                category,
                ..FormValues::default()
            },
            idempotency_key: super::random_token(),
        },
    )
}

#[derive(Deserialize, Default)]
pub struct SubmitForm {
    description: Option<String>,
    category: Option<String>,
    address: Option<String>,
    latitude: Option<String>,
    longitude: Option<String>,
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    protected: Option<String>,
    idempotency_key: Option<String>,
    lang: Option<String>,
}

impl SubmitForm {
    fn values(&self) -> FormValues {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        FormValues {
            description: text(&self.description),
            category: text(&self.category),
            address: text(&self.address),
            latitude: text(&self.latitude),
            longitude: text(&self.longitude),
            name: text(&self.name),
            email: text(&self.email),
            phone: text(&self.phone),
            protected: self.protected.is_some(),
        }
    }
}

/// A coordinate from the hidden fields "use my position" fills: blank is
/// none; anything else must be a number.
fn coordinate(raw: &Option<String>) -> Result<Option<f64>, ()> {
    match non_blank(raw) {
        None => Ok(None),
        Some(v) => v.parse::<f64>().map(Some).map_err(|_| ()),
    }
}

pub async fn submit(
    State(state): State<HttpState>,
    ClientIp(client): ClientIp,
    uri: Uri,
    Form(form): Form<SubmitForm>,
) -> Response {
    let language = language_of(form.lang.as_deref());
    let t = Texts::of(language);
    let mut page = Page::new(&state, language, &uri, t.form_title);
    let values = form.values();
    let (Ok(latitude), Ok(longitude)) = (coordinate(&form.latitude), coordinate(&form.longitude))
    else {
        page.errors.push(FieldError {
            field: "address",
            message: t.err_position.to_owned(),
        });
        return form_again(&state, page, values, form.idempotency_key);
    };
    let input = SubmissionInput {
        description: form.description.clone().unwrap_or_default(),
        category_hint: non_blank(&form.category),
        channel: Channel::Web,
        location: Some(LocationInput {
            latitude,
            longitude,
            address: non_blank(&form.address),
        }),
        contact: Some(ContactInput {
            name: non_blank(&form.name),
            email: non_blank(&form.email),
            phone: non_blank(&form.phone),
            personal_number: None,
        }),
        language: Some(language.code().to_owned()),
        idempotency_key: non_blank(&form.idempotency_key),
        protected_identity: form.protected.is_some(),
        received_at: None,
        answered_on_contact: None,
    };
    match state
        .services
        .submit_request(&Caller::Anonymous, client, input)
        .await
    {
        Ok(outcome) => receipt(&state, page, outcome),
        Err(ServiceError::InvalidInput(errors)) => {
            page.errors = field_errors(t, &errors);
            form_again(&state, page, values, form.idempotency_key)
        }
        // The same form posted again with other content: a new request
        // needs a new key, and the resident's confirmation.
        Err(ServiceError::Conflict {
            field: Some("idempotencyKey"),
            ..
        }) => {
            page.errors.push(FieldError {
                field: "description",
                message: t.resubmitted_changed.to_owned(),
            });
            form_again(&state, page, values, None)
        }
        Err(e) => {
            let (status, message) = error_status(t, &e);
            message_page(status, page, t.error_title, message)
        }
    }
}

fn form_again(
    state: &HttpState,
    page: Page,
    values: FormValues,
    idempotency_key: Option<String>,
) -> Response {
    let key = idempotency_key
        .filter(|k| !k.trim().is_empty())
        .unwrap_or_else(super::random_token);
    render(
        StatusCode::UNPROCESSABLE_ENTITY,
        &FormPage {
            groups: category_groups(state, page.language),
            page,
            values,
            idempotency_key: key,
        },
    )
}

// ---------------------------------------------------------------------------
// The receipt: shown once, in the answer to the post.

#[derive(Template)]
#[template(path = "receipt.html")]
pub struct ReceiptPage {
    pub page: Page,
    pub reference: String,
    pub tracking_code: String,
    pub referral: Option<String>,
    pub emergency_advice: Option<String>,
    pub next_step: String,
    pub contact_note: &'static str,
    pub status_href: String,
}

/// "Vi räknar med att du får svar senast …".
fn expected_answer(language: Language, record: &RequestRecord) -> String {
    let due = i18n::date(language, record.resolve_due_at);
    match language {
        Language::Sv => format!("Vi räknar med att du får svar senast {due}."),
        Language::En => format!("We expect to answer by {due}."),
    }
}

pub fn next_step(state: &HttpState, language: Language, record: &RequestRecord) -> String {
    let t = Texts::of(language);
    let administration = state
        .services
        .catalogue()
        .administration(&record.administration)
        .map(|a| a.name.get(language).to_owned())
        .unwrap_or_else(|| record.administration.clone());
    match record.status {
        RequestStatus::Referred => t.next_referred.to_owned(),
        RequestStatus::Triage => format!("{} {}", t.next_triage, expected_answer(language, record)),
        _ => {
            let passed = match language {
                Language::Sv => {
                    format!("Ditt ärende har skickats till {administration}, som handlägger det.")
                }
                Language::En => format!(
                    "Your request has been passed to {administration}, which will handle it."
                ),
            };
            format!("{passed} {}", expected_answer(language, record))
        }
    }
}

/// `/status?reference=…&code=…`: the link residents get.
pub fn status_href(reference: &str, code: &str, language: Language) -> String {
    let mut pairs = vec![("reference", reference), ("code", code)];
    if language == Language::En {
        pairs.push(("lang", "en"));
    }
    url("/status", pairs)
}

fn receipt(state: &HttpState, mut page: Page, outcome: SubmitOutcome) -> Response {
    let language = page.language;
    let t = page.t;
    let record = &outcome.request;
    let tracking_code = outcome.tracking_code.to_string();
    let status_link = status_href(&record.reference, &tracking_code, language);
    // The other language of a receipt is the request's status page: the
    // receipt itself is not shown twice.
    page.switch_href = status_href(
        &record.reference,
        &tracking_code,
        match language {
            Language::Sv => Language::En,
            Language::En => Language::Sv,
        },
    );
    page.title = t.receipt_title.to_owned();
    let contact_note = if record.protected_identity {
        t.next_protected
    } else if record.contact_email.is_some() || record.contact_phone.is_some() {
        t.next_contact
    } else {
        t.next_no_contact
    };
    render(
        StatusCode::OK,
        &ReceiptPage {
            reference: record.reference.clone(),
            next_step: next_step(state, language, record),
            tracking_code,
            referral: outcome.referral.clone(),
            emergency_advice: outcome.emergency_advice.clone(),
            contact_note,
            status_href: status_link,
            page,
        },
    )
}

// ---------------------------------------------------------------------------
// The status page.

#[derive(Deserialize)]
pub struct StatusQuery {
    reference: Option<String>,
    code: Option<String>,
    lang: Option<String>,
    sent: Option<String>,
}

#[derive(Template)]
#[template(path = "status_lookup.html")]
pub struct LookupPage {
    pub page: Page,
    pub reference: String,
    pub code: String,
}

pub struct HistoryItem {
    pub at: String,
    pub at_iso: String,
    pub title: &'static str,
    pub status: Option<&'static str>,
    pub message: Option<String>,
    pub note: Option<String>,
    pub actor: Option<String>,
    pub internal: bool,
}

impl HistoryItem {
    pub fn new(language: Language, entry: HistoryEntry, resident: bool) -> Self {
        let internal = !entry.public;
        let title = if internal && entry.kind == crate::domain::history::EventKind::Comment {
            Texts::of(language).internal_note
        } else {
            i18n::event_name(language, entry.kind, resident)
        };
        Self {
            at: i18n::date_time(language, entry.at),
            at_iso: entry.at.to_rfc3339(),
            title,
            status: entry
                .status
                .map(|s| i18n::status_name(language, s, resident)),
            message: entry.message,
            note: entry.note,
            actor: entry
                .actor
                .and_then(|a| a.name.or(a.id))
                .filter(|_| !resident),
            internal,
        }
    }
}

#[derive(Template)]
#[template(path = "status.html")]
pub struct StatusPage {
    pub page: Page,
    pub reference: String,
    pub code: String,
    pub status_name: &'static str,
    pub waiting: bool,
    pub closed: bool,
    pub category_name: Option<String>,
    pub administration: String,
    pub received: String,
    pub due: Option<String>,
    pub updated: String,
    pub history: Vec<HistoryItem>,
    pub reply: String,
}

pub async fn status(
    State(state): State<HttpState>,
    ClientIp(client): ClientIp,
    Query(query): Query<StatusQuery>,
    uri: Uri,
) -> Response {
    let language = language_of(query.lang.as_deref());
    let t = Texts::of(language);
    let mut page = Page::new(&state, language, &uri, t.status_title);
    let reference = non_blank(&query.reference);
    let code = non_blank(&query.code);
    let (Some(reference), Some(code)) = (reference.clone(), code.clone()) else {
        if query.reference.is_none() && query.code.is_none() {
            return lookup_page(StatusCode::OK, page, String::new(), String::new());
        }
        if reference.is_none() {
            page.errors.push(FieldError {
                field: "reference",
                message: t.err_reference.to_owned(),
            });
        }
        if code.is_none() {
            page.errors.push(FieldError {
                field: "code",
                message: t.err_code.to_owned(),
            });
        }
        return lookup_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            page,
            reference.unwrap_or_default(),
            code.unwrap_or_default(),
        );
    };
    if query.sent.is_some() {
        page.notice = Some(t.reply_sent.to_owned());
    }
    match state
        .services
        .request_for_resident(client, &reference, &code)
        .await
    {
        Ok(record) => status_page(&state, page, record, code, String::new()).await,
        Err(e) => lookup_failed(page, e, reference, code),
    }
}

/// The lookup form again, saying why the pair opened nothing.
fn lookup_failed(mut page: Page, error: ServiceError, reference: String, code: String) -> Response {
    let t = page.t;
    let status = match &error {
        ServiceError::InvalidInput(errors) => {
            page.errors = field_errors(t, errors);
            StatusCode::UNPROCESSABLE_ENTITY
        }
        ServiceError::NotFound => {
            page.errors.push(FieldError {
                field: "reference",
                message: t.not_found.to_owned(),
            });
            StatusCode::NOT_FOUND
        }
        ServiceError::RateLimited => {
            page.errors.push(FieldError {
                field: "reference",
                message: t.rate_limited.to_owned(),
            });
            StatusCode::TOO_MANY_REQUESTS
        }
        other => {
            let (status, message) = error_status(t, other);
            return message_page(status, page, t.error_title, message);
        }
    };
    lookup_page(status, page, reference, code)
}

fn lookup_page(status: StatusCode, page: Page, reference: String, code: String) -> Response {
    render(
        status,
        &LookupPage {
            page,
            reference,
            code,
        },
    )
}

async fn status_page(
    state: &HttpState,
    mut page: Page,
    record: RequestRecord,
    code: String,
    reply: String,
) -> Response {
    let language = page.language;
    let t = page.t;
    let services = &state.services;
    let history = match services
        .history(&record, Access::Resident, &Caller::Anonymous)
        .await
    {
        Ok(history) => history,
        Err(e) => {
            let (status, message) = error_status(t, &e);
            return message_page(status, page, t.error_title, message);
        }
    };
    let status = match services.followed_status(&record).await {
        Ok(status) => status,
        Err(e) => {
            let (status, message) = error_status(t, &e);
            return message_page(status, page, t.error_title, message);
        }
    };
    let catalogue = services.catalogue();
    let open = matches!(
        status,
        RequestStatus::Received
            | RequestStatus::Triage
            | RequestStatus::Queued
            | RequestStatus::InProgress
            | RequestStatus::WaitingForCitizen
    );
    page.title = format!("{} {}", t.status_title, record.reference);
    let view = StatusPage {
        reference: record.reference.clone(),
        code,
        status_name: i18n::status_name(language, status, true),
        waiting: status == RequestStatus::WaitingForCitizen,
        closed: record.status == RequestStatus::Closed,
        category_name: record
            .category
            .as_deref()
            .and_then(|c| catalogue.category(c))
            .map(|c| c.name.get(language).to_owned()),
        administration: catalogue
            .administration(&record.administration)
            .map(|a| a.name.get(language).to_owned())
            .unwrap_or_else(|| record.administration.clone()),
        received: i18n::date_time(language, record.received_at),
        due: open.then(|| i18n::date(language, record.resolve_due_at)),
        updated: i18n::date_time(language, record.updated_at),
        history: history
            .into_iter()
            .map(|e| HistoryItem::new(language, e, true))
            .collect(),
        reply,
        page,
    };
    let code = if view.page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(code, &view)
}

#[derive(Deserialize)]
pub struct ReplyForm {
    reference: Option<String>,
    code: Option<String>,
    body: Option<String>,
    lang: Option<String>,
}

pub async fn reply(
    State(state): State<HttpState>,
    ClientIp(client): ClientIp,
    uri: Uri,
    Form(form): Form<ReplyForm>,
) -> Response {
    let language = language_of(form.lang.as_deref());
    let t = Texts::of(language);
    let reference = form.reference.clone().unwrap_or_default();
    let code = form.code.clone().unwrap_or_default();
    let body = form.body.clone().unwrap_or_default();
    // The language link of a page answering a post leads to the request.
    let uri: Uri = status_href(&reference, &code, language)
        .parse()
        .unwrap_or(uri);
    let mut page = Page::new(&state, language, &uri, t.status_title);
    match state
        .services
        .reply_as_citizen(client, &reference, &code, &body)
        .await
    {
        Ok(_) => {
            let mut target = url(
                "/status",
                [
                    ("reference", reference.as_str()),
                    ("code", code.as_str()),
                    ("sent", "1"),
                ],
            );
            target.push_str(page.amp);
            target.push_str("#notice");
            see_other(&target)
        }
        Err(ServiceError::InvalidInput(errors)) if errors.iter().any(|e| e.field == "body") => {
            page.errors.push(FieldError {
                field: "body",
                message: t.err_reply.to_owned(),
            });
            reshow(&state, client, page, reference, code, body).await
        }
        Err(ServiceError::Conflict { .. }) => {
            page.errors.push(FieldError {
                field: "reply-heading",
                message: t.reply_closed.to_owned(),
            });
            reshow(&state, client, page, reference, code, body).await
        }
        Err(e) => lookup_failed(page, e, reference, code),
    }
}

/// The status page again, with the reply's error and text.
async fn reshow(
    state: &HttpState,
    client: std::net::IpAddr,
    page: Page,
    reference: String,
    code: String,
    body: String,
) -> Response {
    match state
        .services
        .request_for_resident(client, &reference, &code)
        .await
    {
        Ok(record) => status_page(state, page, record, code, body).await,
        Err(e) => lookup_failed(page, e, reference, code),
    }
}

// ---------------------------------------------------------------------------
// The accessibility statement (DOS-lagen 2018:1937, DIGG's template).

#[derive(Template)]
#[template(path = "accessibility.html")]
pub struct AccessibilityPage {
    pub page: Page,
}

pub async fn accessibility(
    State(state): State<HttpState>,
    Query(query): Query<LangQuery>,
    uri: Uri,
) -> Response {
    let language = language_of(query.lang.as_deref());
    let page = Page::new(
        &state,
        language,
        &uri,
        Texts::of(language).accessibility_title,
    );
    render(StatusCode::OK, &AccessibilityPage { page })
}
