//! Queries behind the Open311 GeoReport v2 endpoints. Both leave out
//! confidential and protected-identity requests in the query itself, so
//! nothing secret is ever loaded for an Open311 answer.
//!
//! Index use. A list by references is a lookup on the unique reference
//! index. A list by period needs a range on receipt time, which has no
//! index; registration time has one (`idx_requests_created`), and ids grow
//! with registration. So the period becomes an id range with two one-row
//! probes of that index, and the list is an id range, newest first: on the
//! primary key, or on `idx_requests_category` (category, id) or
//! `idx_requests_status` (status, id) when those filters are given. The
//! receipt time is then checked on the rows of that range.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::StoreError;
use super::entities::requests;

/// How long a submission may at most take between being stamped with its
/// registration time and getting its id. Ids follow registration times up to
/// this much disorder, which the id range allows for.
const STAMP_TO_INSERT: Duration = Duration::days(1);

/// Requests received in a period, optionally of some categories and
/// statuses.
#[derive(Debug)]
pub struct PeriodQuery<'a> {
    /// Receipt time, both ends included (GeoReport v2 `start_date`,
    /// `end_date`).
    pub received_from: DateTime<Utc>,
    pub received_to: DateTime<Utc>,
    /// Every request received in the period was registered in this range
    /// (receipt may be backdated, or stamped a little later than
    /// registration).
    pub registered_from: DateTime<Utc>,
    pub registered_to: DateTime<Utc>,
    /// Category codes; `None` for all.
    pub categories: Option<&'a [String]>,
    /// Status codes; `None` for all.
    pub statuses: Option<&'a [&'static str]>,
}

/// Requests with these references that are neither confidential nor of a
/// protected identity, newest first.
pub async fn by_references(
    conn: &impl ConnectionTrait,
    references: &[String],
) -> Result<Vec<requests::Model>, StoreError> {
    use requests::Column as C;
    if references.is_empty() {
        return Ok(Vec::new());
    }
    Ok(requests::Entity::find()
        .filter(C::Reference.is_in(references.iter().map(String::as_str)))
        .filter(C::Confidential.eq(false))
        .filter(C::ProtectedIdentity.eq(false))
        .order_by_desc(C::Id)
        .all(conn)
        .await?)
}

/// One page of the requests matching `q` that are neither confidential nor
/// of a protected identity, newest first.
pub async fn in_period(
    conn: &impl ConnectionTrait,
    q: &PeriodQuery<'_>,
    offset: u64,
    limit: u64,
) -> Result<Vec<requests::Model>, StoreError> {
    use requests::Column as C;
    let mut query = requests::Entity::find()
        .filter(C::ReceivedAt.gte(q.received_from))
        .filter(C::ReceivedAt.lte(q.received_to))
        .filter(C::Confidential.eq(false))
        .filter(C::ProtectedIdentity.eq(false));
    // Every request registered at or after `registered_from` was inserted
    // after the last one registered a day before it; every one registered
    // by `registered_to`, before the first one registered a day after it.
    if let Some(below) = last_registered_before(conn, q.registered_from - STAMP_TO_INSERT).await? {
        query = query.filter(C::Id.gt(below));
    }
    if let Some(above) = first_registered_after(conn, q.registered_to + STAMP_TO_INSERT).await? {
        query = query.filter(C::Id.lt(above));
    }
    if let Some(categories) = q.categories {
        query = query.filter(C::CategoryCode.is_in(categories.iter().map(String::as_str)));
    }
    if let Some(statuses) = q.statuses {
        query = query.filter(C::Status.is_in(statuses.iter().copied()));
    }
    Ok(query
        .order_by_desc(C::Id)
        .offset(offset)
        .limit(limit)
        .all(conn)
        .await?)
}

/// The id of the last request registered before `at`.
async fn last_registered_before(
    conn: &impl ConnectionTrait,
    at: DateTime<Utc>,
) -> Result<Option<i64>, StoreError> {
    use requests::Column as C;
    Ok(requests::Entity::find()
        .select_only()
        .column(C::Id)
        .filter(C::CreatedAt.lt(at))
        .order_by_desc(C::CreatedAt)
        .limit(1)
        .into_tuple()
        .one(conn)
        .await?)
}

/// The id of the first request registered after `at`.
async fn first_registered_after(
    conn: &impl ConnectionTrait,
    at: DateTime<Utc>,
) -> Result<Option<i64>, StoreError> {
    use requests::Column as C;
    Ok(requests::Entity::find()
        .select_only()
        .column(C::Id)
        .filter(C::CreatedAt.gt(at))
        .order_by_asc(C::CreatedAt)
        .limit(1)
        .into_tuple()
        .one(conn)
        .await?)
}
