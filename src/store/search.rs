//! The contact centre's lookup: every filter is an indexed path (reference,
//! personal-number digest, e-mail, phone, status, administration, category,
//! search terms), newest first by id with a keyset cursor.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::StoreError;
use super::entities::{request_search_terms, requests};

#[derive(Debug, Default)]
pub struct SearchQuery {
    pub reference: Option<String>,
    pub personal_number_digest: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Each term must prefix one of the request's indexed terms.
    pub terms: Vec<String>,
    pub status: Option<String>,
    pub administration: Option<String>,
    pub category: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Only requests submitted by this logged-in resident.
    pub citizen_sub: Option<String>,
    /// Only these administrations (a handler's own).
    pub administrations: Option<Vec<String>>,
    /// Leave out requests with protected identity (searches by contact data).
    pub exclude_protected: bool,
    /// Only requests whose content the caller may read (free-text search
    /// must not reveal what a secret request says).
    pub readable_only: Option<Condition>,
}

impl SearchQuery {
    /// Whether a match tells something about what a request says (its
    /// words or its category). Finding a person's requests by their identity
    /// is the contact centre's job — "where is my request?" — and shows a
    /// secret one only at status level, as DESIGN.md allows.
    pub fn reveals_content(&self) -> bool {
        !self.terms.is_empty() || self.category.is_some()
    }
}

pub async fn search(
    conn: &impl ConnectionTrait,
    q: &SearchQuery,
    before_id: Option<i64>,
    limit: u64,
) -> Result<Vec<requests::Model>, StoreError> {
    use requests::Column as C;
    let mut query = requests::Entity::find();
    let exact = [
        (C::Reference, &q.reference),
        (C::PersonalNumberDigest, &q.personal_number_digest),
        (C::ContactEmail, &q.email),
        (C::ContactPhone, &q.phone),
        (C::Status, &q.status),
        (C::AdministrationCode, &q.administration),
        (C::CategoryCode, &q.category),
        (C::CitizenSub, &q.citizen_sub),
    ];
    for (column, value) in exact {
        if let Some(value) = value {
            query = query.filter(column.eq(value.as_str()));
        }
    }
    for term in &q.terms {
        query = query.filter(C::Id.in_subquery(term_subquery(term)));
    }
    if let Some(from) = q.from {
        query = query.filter(C::CreatedAt.gte(from));
    }
    if let Some(to) = q.to {
        query = query.filter(C::CreatedAt.lt(to));
    }
    if let Some(adms) = &q.administrations {
        query = query.filter(C::AdministrationCode.is_in(adms.iter().map(String::as_str)));
    }
    if q.exclude_protected {
        query = query.filter(C::ProtectedIdentity.eq(false));
    }
    if let Some(readable) = &q.readable_only {
        query = query.filter(readable.clone());
    }
    if let Some(id) = before_id {
        query = query.filter(C::Id.lt(id));
    }
    Ok(query.order_by_desc(C::Id).limit(limit).all(conn).await?)
}

/// Requests with an indexed term starting with `prefix`: a range scan on
/// the (term, request) primary key.
fn term_subquery(prefix: &str) -> sea_orm::sea_query::SelectStatement {
    use request_search_terms::Column as T;
    let mut upper = prefix.to_owned();
    upper.push(char::MAX);
    Query::select()
        .column(T::RequestId)
        .from(request_search_terms::Entity)
        .and_where(Expr::col(T::Term).gte(prefix))
        .and_where(Expr::col(T::Term).lt(upper))
        .to_owned()
}
