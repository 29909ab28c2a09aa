//! Open311 GeoReport v2 over the same core: the catalogue's categories as
//! services, submission through `submit_request`, and reading requests at
//! the level Open311 allows.
//!
//! Privacy rules (DESIGN.md, OSL 8 kap 2 §, GDPR), decided here:
//! - confidential categories are no Open311 services, and confidential
//!   requests are never returned, by id, list or token (as if they did not
//!   exist); nor are requests of a protected identity (skyddade
//!   personuppgifter): Open311 answers anyone, and even a status-level entry
//!   with category, place in time and a reference tells that the person
//!   turned to the municipality;
//! - anyone sees status-level fields (reference, status, generic status
//!   notes, category, administration, dates); description and location only
//!   a staff caller with full access to the request, location not for a
//!   protected identity outside the owning administration, and every such
//!   read is written to the access log before the answer leaves;
//! - never contact data, personal identity numbers or handler messages.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Stockholm;

use super::{AccessRecorder, RequestRecord, ServiceError, Services, SubmitOutcome};
use crate::domain::actor::Caller;
use crate::domain::catalogue::CategoryDef;
use crate::domain::policy::Access;
use crate::domain::reference::Reference;
use crate::domain::status::RequestStatus;
use crate::domain::submission::{ContactInput, LocationInput, Submission, SubmissionInput};
use crate::domain::{Channel, InvalidInput, Language};
use crate::store;
use crate::store::open311::PeriodQuery;

/// GeoReport v2: at most this many requests per query; pages reach the
/// newest this many matches.
pub const MAX_RESULTS: u64 = 1000;
pub const DEFAULT_PAGE_SIZE: u64 = 50;
pub const MAX_PAGE_SIZE: u64 = 200;
/// GeoReport v2: at most this many ids in `service_request_id`.
pub const MAX_IDS: usize = 50;
/// GeoReport v2: the default period, and the longest one a query may span.
pub const PERIOD_DAYS: i64 = 90;
/// Keywords listed per service.
const MAX_KEYWORDS: usize = 10;

/// Open311's two statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Open311Status {
    Open,
    Closed,
}

impl Open311Status {
    pub fn of(status: RequestStatus) -> Self {
        use RequestStatus::*;
        match status {
            Received | Triage | Queued | InProgress | WaitingForCitizen => Self::Open,
            Resolved | Closed | Referred | Duplicate => Self::Closed,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "open" => Some(Self::Open),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }
}

/// A generic sentence about the status, in `language`: never a handler's
/// message, which may hold personal data.
pub fn status_notes(status: RequestStatus, language: Language) -> &'static str {
    use RequestStatus::*;
    match (status, language) {
        (Received, Language::Sv) => "Ärendet har tagits emot.",
        (Received, Language::En) => "The request has been received.",
        (Triage, Language::Sv) => {
            "Ärendet har tagits emot och väntar på att kontaktcenter ska föra det till rätt förvaltning."
        }
        (Triage, Language::En) => {
            "The request has been received and is waiting for the contact centre to pass it to the right administration."
        }
        (Queued, Language::Sv) => {
            "Ärendet ligger hos ansvarig förvaltning och väntar på handläggning."
        }
        (Queued, Language::En) => {
            "The request is with the responsible administration, waiting to be handled."
        }
        (InProgress, Language::Sv) => "Ärendet handläggs.",
        (InProgress, Language::En) => "The request is being handled.",
        (WaitingForCitizen, Language::Sv) => {
            "Handläggaren väntar på mer information från den som lämnade ärendet."
        }
        (WaitingForCitizen, Language::En) => {
            "The handler is waiting for more information from the person who made the request."
        }
        (Resolved, Language::Sv) => "Ärendet är åtgärdat eller besvarat.",
        (Resolved, Language::En) => "The request has been resolved or answered.",
        (Closed, Language::Sv) => "Ärendet är avslutat.",
        (Closed, Language::En) => "The request is closed.",
        (Referred, Language::Sv) => {
            "Ärendet gäller en annan myndighet; den som lämnade det har fått veta vilken."
        }
        (Referred, Language::En) => {
            "The request concerns another authority; the person who made it has been told which."
        }
        (Duplicate, Language::Sv) => "Ärendet har slagits ihop med ett annat ärende om samma sak.",
        (Duplicate, Language::En) => {
            "The request has been merged with another request about the same matter."
        }
    }
}

/// `en` for locales starting with it (`en`, `en_US`, `en-GB`), else Swedish.
pub fn language_of_locale(locale: Option<&str>) -> Language {
    match locale {
        Some(l) if l.trim().to_ascii_lowercase().starts_with("en") => Language::En,
        _ => Language::Sv,
    }
}

/// A category as an Open311 service, in one language.
#[derive(Debug, Clone)]
pub struct Open311Service<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub keywords: Vec<&'a str>,
    /// The administration's name.
    pub group: &'a str,
}

/// A submission as an Open311 client sends it: raw text fields, checked
/// here so that every broken field is reported at once.
#[derive(Debug, Clone, Default)]
pub struct Open311Submission {
    pub service_code: Option<String>,
    pub description: Option<String>,
    pub lat: Option<String>,
    pub long: Option<String>,
    pub address_string: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    /// Our extension: `en` answers in English.
    pub locale: Option<String>,
}

/// Filters of `GET requests.json`, as sent.
#[derive(Debug, Clone, Default)]
pub struct Open311Filter {
    pub service_request_id: Option<String>,
    pub service_code: Option<String>,
    pub status: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub page: Option<String>,
    pub page_size: Option<String>,
}

/// A request as Open311 shows it to one caller.
#[derive(Debug, Clone)]
pub struct Open311Request {
    pub reference: String,
    pub status: RequestStatus,
    pub language: Language,
    /// `None` while in triage.
    pub service_code: Option<String>,
    pub service_name: Option<String>,
    pub agency_responsible: Option<String>,
    /// The catalogue's referral text for a referred request.
    pub service_notice: Option<String>,
    pub requested: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub expected: DateTime<Utc>,
    /// Full access only.
    pub description: Option<String>,
    /// Full access only, and not for a protected identity outside the
    /// owning administration.
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub long: Option<f64>,
}

impl Services {
    /// Every category that is not confidential, in catalogue order.
    pub fn open311_services(&self, language: Language) -> Vec<Open311Service<'_>> {
        self.catalogue()
            .categories()
            .iter()
            .filter(|c| !self.catalogue().is_confidential(c))
            .map(|c| self.open311_service_of(c, language))
            .collect()
    }

    /// One service; `NotFound` for an unknown or confidential code.
    pub fn open311_service(
        &self,
        code: &str,
        language: Language,
    ) -> Result<Open311Service<'_>, ServiceError> {
        self.open311_category(code)
            .map(|c| self.open311_service_of(c, language))
            .ok_or(ServiceError::NotFound)
    }

    fn open311_category(&self, code: &str) -> Option<&CategoryDef> {
        self.catalogue()
            .category(code)
            .filter(|c| !self.catalogue().is_confidential(c))
    }

    fn open311_service_of<'a>(
        &'a self,
        c: &'a CategoryDef,
        language: Language,
    ) -> Open311Service<'a> {
        let words = match language {
            Language::Sv => &c.words.sv,
            Language::En => &c.words.en,
        };
        let mut seen = BTreeSet::new();
        Open311Service {
            code: &c.code,
            name: c.name.get(language),
            description: c.description.as_ref().map_or("", |d| d.get(language)),
            keywords: words
                .iter()
                .map(String::as_str)
                .filter(|w| seen.insert(*w))
                .take(MAX_KEYWORDS)
                .collect(),
            group: self
                .catalogue()
                .administration(&c.administration)
                .map_or("", |a| a.name.get(language)),
        }
    }

    /// `POST requests.json`: an anonymous web submission whose service code
    /// is the category hint. Field names in errors are Open311's.
    pub async fn open311_submit(
        &self,
        client: std::net::IpAddr,
        input: Open311Submission,
    ) -> Result<SubmitOutcome, ServiceError> {
        let mut errors = Vec::new();
        match non_blank(input.service_code.as_deref()) {
            None => errors.push(InvalidInput::new("service_code", "is required")),
            Some(code) if self.open311_category(code).is_none() => errors.push(InvalidInput::new(
                "service_code",
                format!("{code} is not a service of this municipality (see services.json)"),
            )),
            Some(_) => {}
        }
        if non_blank(input.description.as_deref()).is_none() {
            errors.push(InvalidInput::new(
                "description",
                "is required (what is the request about?)",
            ));
        }
        let latitude = number(input.lat.as_deref(), "lat", &mut errors);
        let longitude = number(input.long.as_deref(), "long", &mut errors);
        let name = [input.first_name.as_deref(), input.last_name.as_deref()]
            .into_iter()
            .filter_map(non_blank)
            .collect::<Vec<_>>()
            .join(" ");
        let submission = SubmissionInput {
            description: input.description.unwrap_or_default(),
            category_hint: input.service_code,
            channel: Channel::Web,
            location: Some(LocationInput {
                latitude,
                longitude,
                address: input.address_string,
            }),
            contact: Some(ContactInput {
                name: Some(name).filter(|n| !n.is_empty()),
                email: input.email,
                phone: input.phone,
                personal_number: None,
            }),
            language: Some(
                language_of_locale(input.locale.as_deref())
                    .code()
                    .to_owned(),
            ),
            idempotency_key: None,
            answered_on_contact: None,
            protected_identity: false,
            received_at: None,
        };
        if !errors.is_empty() {
            // Report the other broken fields too, in one round trip.
            if let Err(more) = Submission::validate(submission, Utc::now().date_naive()) {
                for e in more.into_iter().map(open311_field) {
                    if !errors.iter().any(|known| known.field == e.field) {
                        errors.push(e);
                    }
                }
            }
            return Err(ServiceError::InvalidInput(errors));
        }
        self.submit_request(&Caller::Anonymous, client, submission)
            .await
            .map_err(|e| match e {
                ServiceError::InvalidInput(errors) => {
                    ServiceError::InvalidInput(errors.into_iter().map(open311_field).collect())
                }
                other => other,
            })
    }

    /// `GET requests/{id}.json`: `NotFound` for a confidential or
    /// protected-identity request, as for one that does not exist.
    pub async fn open311_request(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Open311Request, ServiceError> {
        let reference = parse_reference(id)?;
        let mut found = self.open311_by_references(caller, &[reference]).await?;
        found.pop().ok_or(ServiceError::NotFound)
    }

    /// `GET requests.json`: by ids (other filters ignored, as the
    /// specification says), or by period, category and status, newest
    /// first.
    pub async fn open311_requests(
        &self,
        caller: &Caller,
        filter: Open311Filter,
    ) -> Result<Vec<Open311Request>, ServiceError> {
        if let Some(ids) = non_blank(filter.service_request_id.as_deref()) {
            let references = list(ids)
                .map(parse_reference)
                .collect::<Result<BTreeSet<_>, _>>()?;
            if references.len() > MAX_IDS {
                return Err(ServiceError::invalid(
                    "service_request_id",
                    &format!("at most {MAX_IDS} ids at a time"),
                ));
            }
            let references: Vec<String> = references.into_iter().collect();
            return self.open311_by_references(caller, &references).await;
        }
        let mut errors = Vec::new();
        let categories = self.service_codes(filter.service_code.as_deref(), &mut errors);
        let statuses = statuses(filter.status.as_deref(), &mut errors);
        let period = period(
            filter.start_date.as_deref(),
            filter.end_date.as_deref(),
            Utc::now(),
            &mut errors,
        );
        let page = page(
            filter.page.as_deref(),
            filter.page_size.as_deref(),
            &mut errors,
        );
        let (Some((from, to)), Some((offset, limit)), true) = (period, page, errors.is_empty())
        else {
            return Err(ServiceError::InvalidInput(errors));
        };
        // `submit_request` stamps receipt at most 5 minutes after
        // registration, and at most the backdating limit before it.
        let backdating = Duration::days(i64::from(self.inner.settings.max_backdating_days));
        let query = PeriodQuery {
            received_from: from,
            received_to: to,
            registered_from: from - Duration::minutes(5),
            registered_to: to + backdating,
            categories: categories.as_deref(),
            statuses: statuses.as_deref(),
        };
        let models = store::open311::in_period(self.db(), &query, offset, limit).await?;
        self.open311_views(caller, models).await
    }

    /// `GET tokens/{token}.json`: the token is the reference; `NotFound`
    /// unless it names an existing request that is neither confidential nor
    /// of a protected identity.
    pub async fn open311_token(&self, token: &str) -> Result<String, ServiceError> {
        let reference = Reference::parse(token)
            .map_err(|_| ServiceError::NotFound)?
            .to_string();
        store::open311::by_references(self.db(), std::slice::from_ref(&reference))
            .await?
            .into_iter()
            .next()
            .map(|m| m.reference)
            .ok_or(ServiceError::NotFound)
    }

    async fn open311_by_references(
        &self,
        caller: &Caller,
        references: &[String],
    ) -> Result<Vec<Open311Request>, ServiceError> {
        let models = store::open311::by_references(self.db(), references).await?;
        self.open311_views(caller, models).await
    }

    /// What `caller` sees of each request; the personal data shown is on
    /// the access log before this returns.
    async fn open311_views(
        &self,
        caller: &Caller,
        models: Vec<store::entities::requests::Model>,
    ) -> Result<Vec<Open311Request>, ServiceError> {
        let recorder = AccessRecorder::default();
        let mut views = Vec::with_capacity(models.len());
        for model in models {
            let record = RequestRecord::try_from(model)?;
            // The store leaves them out; this keeps it so whatever the query.
            if record.confidential || record.protected_identity {
                continue;
            }
            views.push(self.open311_view(caller, record, &recorder));
        }
        self.record_access(caller, &recorder).await?;
        Ok(views)
    }

    fn open311_view(
        &self,
        caller: &Caller,
        record: RequestRecord,
        recorder: &AccessRecorder,
    ) -> Open311Request {
        let full = self.access(caller, &record) == Access::Full;
        let personal = full
            && (!record.protected_identity
                || caller
                    .actor()
                    .is_some_and(|a| a.handles(&record.administration)));
        if full {
            recorder.note(record.id, "description");
        }
        if personal {
            recorder.note(record.id, "location");
        }
        let catalogue = self.catalogue();
        let language = record.language;
        let category = record
            .category
            .as_deref()
            .and_then(|c| catalogue.category(c));
        let service_notice = category
            .filter(|_| record.status == RequestStatus::Referred)
            .and_then(|c| c.referral.as_ref())
            .map(|r| r.message.get(language).to_owned());
        Open311Request {
            service_code: category.map(|c| c.code.clone()),
            service_name: category.map(|c| c.name.get(language).to_owned()),
            agency_responsible: catalogue
                .administration(&record.administration)
                .map(|a| a.name.get(language).to_owned()),
            service_notice,
            status: record.status,
            language,
            requested: record.received_at,
            updated: record.updated_at,
            expected: record.resolve_due_at,
            description: full.then(|| record.description.clone()),
            address: record.location_address.clone().filter(|_| personal),
            lat: record.location_latitude.filter(|_| personal),
            long: record.location_longitude.filter(|_| personal),
            reference: record.reference,
        }
    }

    /// `service_code` as a comma-separated list of Open311 services.
    fn service_codes(
        &self,
        raw: Option<&str>,
        errors: &mut Vec<InvalidInput>,
    ) -> Option<Vec<String>> {
        let raw = non_blank(raw)?;
        let mut codes = Vec::new();
        for code in list(raw) {
            if self.open311_category(code).is_some() {
                codes.push(code.to_owned());
            } else {
                errors.push(InvalidInput::new(
                    "service_code",
                    format!("{code} is not a service of this municipality (see services.json)"),
                ));
            }
        }
        Some(codes)
    }
}

fn non_blank(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// The non-empty items of a comma-separated list.
fn list(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn number(raw: Option<&str>, field: &str, errors: &mut Vec<InvalidInput>) -> Option<f64> {
    let raw = non_blank(raw)?;
    match raw.parse::<f64>() {
        Ok(value) if value.is_finite() => Some(value),
        _ => {
            errors.push(InvalidInput::new(
                field,
                "must be a decimal number (WGS84 degrees, e.g. 59.3293)",
            ));
            None
        }
    }
}

fn parse_reference(raw: &str) -> Result<String, ServiceError> {
    Reference::parse(raw)
        .map(|r| r.to_string())
        .map_err(|e| ServiceError::invalid("service_request_id", &format!("{raw}: {}", e.message)))
}

/// The status codes behind `status` (a comma-separated list of `open`
/// and `closed`).
fn statuses(raw: Option<&str>, errors: &mut Vec<InvalidInput>) -> Option<Vec<&'static str>> {
    let raw = non_blank(raw)?;
    let mut wanted = BTreeSet::new();
    for item in list(raw) {
        match Open311Status::parse(item) {
            Some(status) => {
                wanted.insert(status);
            }
            None => errors.push(InvalidInput::new(
                "status",
                format!("{item} is not a status: use open or closed"),
            )),
        }
    }
    Some(
        RequestStatus::ALL
            .into_iter()
            .filter(|s| wanted.contains(&Open311Status::of(*s)))
            .map(RequestStatus::code)
            .collect(),
    )
}

/// The period asked for, both ends included: by default the last 90 days;
/// one end alone reaches 90 days from it; at most 90 days.
fn period(
    start: Option<&str>,
    end: Option<&str>,
    now: DateTime<Utc>,
    errors: &mut Vec<InvalidInput>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let span = Duration::days(PERIOD_DAYS);
    let mut parse = |raw: Option<&str>, field: &str, end_of_day: bool| {
        match non_blank(raw) {
        None => Ok(None),
        Some(raw) => datetime(raw, end_of_day).map(Some).ok_or_else(|| {
            errors.push(InvalidInput::new(
                field,
                format!(
                    "{raw} is not a date and time: use ISO 8601, e.g. 2026-03-01T08:00:00+01:00 or 2026-03-01"
                ),
            ));
        }),
    }
    };
    let start = parse(start, "start_date", false);
    let end = parse(end, "end_date", true);
    let (start, end) = match (start.ok()?, end.ok()?) {
        (None, None) => (now - span, now),
        (Some(start), None) => (start, start + span),
        (None, Some(end)) => (end - span, end),
        (Some(start), Some(end)) => (start, end),
    };
    if start > end {
        errors.push(InvalidInput::new(
            "start_date",
            "must not be after end_date",
        ));
        return None;
    }
    if end - start > span {
        errors.push(InvalidInput::new(
            "end_date",
            format!("the period may span at most {PERIOD_DAYS} days"),
        ));
        return None;
    }
    Some((start, end))
}

/// RFC 3339, or a date alone: the start of that day in Swedish time, or its
/// end for the end of a period.
fn datetime(raw: &str, end_of_day: bool) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Some(at.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()?;
    let day = if end_of_day { date.succ_opt()? } else { date };
    let midnight = Stockholm
        .from_local_datetime(&day.and_hms_opt(0, 0, 0)?)
        .earliest()?
        .with_timezone(&Utc);
    Some(if end_of_day {
        midnight - Duration::microseconds(1)
    } else {
        midnight
    })
}

/// `(offset, limit)` of the page asked for (our extension: `page` from 1,
/// `page_size` up to 200); pages reach the newest 1000 matches.
fn page(
    page: Option<&str>,
    page_size: Option<&str>,
    errors: &mut Vec<InvalidInput>,
) -> Option<(u64, u64)> {
    let mut positive = |raw: Option<&str>, field: &str, default: u64, max: u64| {
        let Some(raw) = non_blank(raw) else {
            return Some(default);
        };
        match raw.parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => Some(n),
            _ => {
                errors.push(InvalidInput::new(
                    field,
                    format!("must be a whole number from 1 to {max}"),
                ));
                None
            }
        }
    };
    let page = positive(page, "page", 1, u64::from(u32::MAX));
    let size = positive(page_size, "page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    let (page, size) = (page?, size?);
    let offset = (page - 1).saturating_mul(size);
    if offset >= MAX_RESULTS {
        errors.push(InvalidInput::new(
            "page",
            format!(
                "pages reach the newest {MAX_RESULTS} matching requests: narrow start_date and end_date"
            ),
        ));
        return None;
    }
    Some((offset, size.min(MAX_RESULTS - offset)))
}

/// Our field names as Open311 clients know them.
fn open311_field(mut e: InvalidInput) -> InvalidInput {
    let name = match e.field.as_str() {
        "location.latitude" => "lat",
        "location.longitude" => "long",
        "location.address" => "address_string",
        "contact.email" => "email",
        "contact.phone" => "phone",
        "contact.name" => "first_name/last_name",
        "language" => "locale",
        _ => return e,
    };
    e.field = name.to_owned();
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(raw: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(raw)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn statuses_map_to_open_and_closed_as_designed() {
        let open: Vec<_> = RequestStatus::ALL
            .into_iter()
            .filter(|s| Open311Status::of(*s) == Open311Status::Open)
            .map(RequestStatus::code)
            .collect();
        assert_eq!(
            open,
            [
                "RECEIVED",
                "TRIAGE",
                "QUEUED",
                "IN_PROGRESS",
                "WAITING_FOR_CITIZEN"
            ]
        );
        let mut errors = Vec::new();
        assert_eq!(
            statuses(Some("closed"), &mut errors).unwrap(),
            ["RESOLVED", "CLOSED", "REFERRED", "DUPLICATE"]
        );
        assert_eq!(
            statuses(Some("open, closed"), &mut errors).unwrap().len(),
            9
        );
        assert!(errors.is_empty());
        statuses(Some("pending"), &mut errors);
        assert_eq!(errors[0].field, "status");
    }

    #[test]
    fn the_default_period_is_the_last_90_days() {
        let now = at("2026-03-31T12:00:00Z");
        let mut errors = Vec::new();
        let (from, to) = period(None, None, now, &mut errors).unwrap();
        assert_eq!((to - from).num_days(), 90);
        assert_eq!(to, now);
        let (from, to) = period(Some("2026-01-01"), None, now, &mut errors).unwrap();
        assert_eq!(from, at("2025-12-31T23:00:00Z"));
        assert_eq!(to, from + Duration::days(90));
        assert!(errors.is_empty());
    }

    #[test]
    fn a_date_alone_ends_a_period_at_the_end_of_that_swedish_day() {
        let end = datetime("2026-07-01", true).unwrap();
        assert_eq!(end, at("2026-07-01T21:59:59.999999Z"));
        assert_eq!(
            datetime("2026-07-01T08:00:00+02:00", false).unwrap(),
            at("2026-07-01T06:00:00Z")
        );
    }

    #[test]
    fn bad_dates_and_too_long_or_reversed_periods_name_the_parameter() {
        let now = Utc::now();
        let field = |start, end| {
            let mut errors = Vec::new();
            assert!(period(start, end, now, &mut errors).is_none());
            errors[0].field.clone()
        };
        assert_eq!(field(Some("yesterday"), None), "start_date");
        assert_eq!(field(None, Some("2026-13-01")), "end_date");
        assert_eq!(field(Some("2026-01-01"), Some("2026-06-01")), "end_date");
        assert_eq!(field(Some("2026-02-01"), Some("2026-01-01")), "start_date");
    }

    #[test]
    fn pages_reach_the_newest_thousand_matches() {
        let mut errors = Vec::new();
        assert_eq!(page(None, None, &mut errors), Some((0, 50)));
        assert_eq!(page(Some("3"), Some("200"), &mut errors), Some((400, 200)));
        assert_eq!(page(Some("7"), Some("150"), &mut errors), Some((900, 100)));
        assert!(errors.is_empty());
        assert_eq!(page(Some("6"), Some("200"), &mut errors), None);
        assert_eq!(errors[0].field, "page");
        errors.clear();
        assert_eq!(page(Some("0"), Some("500"), &mut errors), None);
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["page", "page_size"]);
    }

    #[test]
    fn english_is_chosen_by_any_english_locale() {
        assert_eq!(language_of_locale(Some("en_US")), Language::En);
        assert_eq!(language_of_locale(Some("EN")), Language::En);
        assert_eq!(language_of_locale(Some("sv")), Language::Sv);
        assert_eq!(language_of_locale(Some("fi")), Language::Sv);
        assert_eq!(language_of_locale(None), Language::Sv);
    }
}
