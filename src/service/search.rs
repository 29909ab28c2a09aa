//! Finding requests: the contact centre's lookup (and a handler's, within
//! their administrations), and a logged-in resident's own requests.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sea_orm::ColumnTrait;
use sea_orm::Condition;

use super::{RequestRecord, ServiceError, Services, actor};
use crate::domain::actor::{Actor, Caller, Role};
use crate::domain::contact::{normalise_email, normalise_phone};
use crate::domain::personal_number::PersonalNumber;
use crate::domain::reference::Reference;
use crate::domain::search::{self, MIN_QUERY_CHARS};
use crate::domain::status::RequestStatus;
use crate::domain::{InvalidInput, text::clean};
use crate::store::entities::requests;
use crate::store::search::SearchQuery;
use crate::store::{self};

pub const MAX_PAGE: usize = 100;

#[derive(Debug, Default)]
pub struct SearchFilter {
    pub reference: Option<String>,
    pub personal_number: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub text: Option<String>,
    pub status: Option<RequestStatus>,
    pub administration: Option<String>,
    pub category: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// A page of requests, newest first, each with its cursor.
pub struct RequestPage {
    pub items: Vec<(String, RequestRecord)>,
    pub has_next_page: bool,
}

/// Input errors of the filter name the filter's field.
fn in_filter(mut e: InvalidInput, field: &str) -> ServiceError {
    e.field = format!("filter.{field}");
    ServiceError::from(e)
}

fn non_blank(value: Option<String>) -> Option<String> {
    value.map(|v| clean(&v)).filter(|v| !v.is_empty())
}

impl Services {
    pub async fn search_requests(
        &self,
        caller: &Caller,
        filter: SearchFilter,
        first: usize,
        after: Option<&str>,
    ) -> Result<RequestPage, ServiceError> {
        let actor = actor(caller)?;
        let contact_centre = actor.has(Role::ContactCentre);
        if !contact_centre && !actor.has(Role::Handler) {
            return Err(ServiceError::forbidden(
                "searching requests is for the contact centre and handlers",
            ));
        }
        let mut query = self.search_query(filter)?;
        if !contact_centre {
            query.administrations = Some(actor.administrations.iter().cloned().collect());
        } else if query.reveals_content() {
            query.readable_only = Some(self.readable_by_contact_centre(actor));
        }
        self.page(&query, first, after).await
    }

    /// The requests a logged-in resident submitted with their e-ID.
    pub async fn my_requests(
        &self,
        caller: &Caller,
        first: usize,
        after: Option<&str>,
    ) -> Result<RequestPage, ServiceError> {
        let actor = actor(caller)?;
        if !actor.has(Role::Citizen) {
            return Err(ServiceError::forbidden(
                "myRequests is for residents logged in with e-ID",
            ));
        }
        let query = SearchQuery {
            citizen_sub: Some(actor.sub.clone()),
            ..Default::default()
        };
        self.page(&query, first, after).await
    }

    /// Requests the contact centre reads in full: a match on their words or
    /// category would otherwise reveal what a secret request is about. A
    /// protected identity is matched only by its own administration's
    /// handlers.
    fn readable_by_contact_centre(&self, actor: &Actor) -> Condition {
        use requests::Column as C;
        let own: Vec<String> = if actor.has(Role::Handler) {
            actor.administrations.iter().cloned().collect()
        } else {
            Vec::new()
        };
        let unprotected = |c: Condition| c.add(C::ProtectedIdentity.eq(false));
        Condition::any()
            .add(unprotected(Condition::all().add(C::Confidential.eq(false))))
            .add(unprotected(
                Condition::all().add(C::RegisteredBy.eq(actor.sub.as_str())),
            ))
            .add(C::AdministrationCode.is_in(own))
    }

    fn search_query(&self, filter: SearchFilter) -> Result<SearchQuery, ServiceError> {
        let reference = non_blank(filter.reference)
            .map(|r| Reference::parse(&r).map_err(|e| in_filter(e, "reference")))
            .transpose()?;
        let personal_number = non_blank(filter.personal_number)
            .map(|p| {
                PersonalNumber::parse(&p, Utc::now().date_naive())
                    .map_err(|e| in_filter(e, "personalNumber"))
            })
            .transpose()?;
        let email = non_blank(filter.email)
            .map(|e| normalise_email(&e).map_err(|e| in_filter(e, "email")))
            .transpose()?;
        let phone = non_blank(filter.phone)
            .map(|p| normalise_phone(&p).map_err(|e| in_filter(e, "phone")))
            .transpose()?;
        let terms = match non_blank(filter.text) {
            None => Vec::new(),
            Some(text) => {
                let terms: Vec<String> = search::terms(&text)
                    .into_iter()
                    .filter(|t| t.chars().count() >= MIN_QUERY_CHARS)
                    .collect();
                if terms.is_empty() {
                    return Err(ServiceError::invalid(
                        "filter.text",
                        &format!("give at least one word of {MIN_QUERY_CHARS} or more letters"),
                    ));
                }
                terms
            }
        };
        if let (Some(from), Some(to)) = (filter.from, filter.to)
            && from >= to
        {
            return Err(ServiceError::invalid(
                "filter.to",
                "must be after filter.from",
            ));
        }
        Ok(SearchQuery {
            exclude_protected: email.is_some() || phone.is_some(),
            reference: reference.map(|r| r.to_string()),
            personal_number_digest: personal_number
                .map(|p| p.search_digest(&self.inner.settings.search_key)),
            email,
            phone,
            terms,
            status: filter.status.map(|s| s.code().to_owned()),
            administration: non_blank(filter.administration),
            category: non_blank(filter.category),
            from: filter.from,
            to: filter.to,
            ..Default::default()
        })
    }

    async fn page(
        &self,
        query: &SearchQuery,
        first: usize,
        after: Option<&str>,
    ) -> Result<RequestPage, ServiceError> {
        if first == 0 || first > MAX_PAGE {
            return Err(ServiceError::invalid(
                "first",
                &format!("must be between 1 and {MAX_PAGE}"),
            ));
        }
        let before_id = after.map(decode_cursor).transpose()?;
        let limit = u64::try_from(first + 1).unwrap_or(u64::MAX);
        let mut rows = store::search::search(self.db(), query, before_id, limit).await?;
        let has_next_page = rows.len() > first;
        rows.truncate(first);
        let items = rows
            .into_iter()
            .map(|m| {
                let record = RequestRecord::try_from(m)?;
                Ok((URL_SAFE_NO_PAD.encode(record.id.to_string()), record))
            })
            .collect::<Result<Vec<_>, ServiceError>>()?;
        Ok(RequestPage {
            items,
            has_next_page,
        })
    }
}

fn decode_cursor(cursor: &str) -> Result<i64, ServiceError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ServiceError::invalid("after", "is not a cursor from this list"))
}
