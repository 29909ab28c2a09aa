//! Aggregates for statistics, computed in the database: counts by a column
//! and histograms of working-day durations over one period.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
    Select,
};

use super::StoreError;
use super::entities::requests;

/// Requests created in [from, to), optionally of some administrations,
/// optionally only the ones that are not confidential.
pub struct Period<'a> {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub administrations: Option<&'a [String]>,
    pub open_only: bool,
}

impl Period<'_> {
    fn select(&self) -> Select<requests::Entity> {
        let mut query = self.all();
        if self.open_only {
            query = query.filter(requests::Column::Confidential.eq(false));
        }
        query
    }

    /// The period's requests, confidential ones included whatever
    /// `open_only` says.
    fn all(&self) -> Select<requests::Entity> {
        let mut query = requests::Entity::find()
            .filter(requests::Column::CreatedAt.gte(self.from))
            .filter(requests::Column::CreatedAt.lt(self.to));
        if let Some(adms) = self.administrations {
            query = query.filter(
                requests::Column::AdministrationCode.is_in(adms.iter().map(String::as_str)),
            );
        }
        query
    }
}

/// The hour of a timestamp column, counted from the Unix epoch in UTC.
fn hour_of(backend: DbBackend, column: &str) -> String {
    match backend {
        DbBackend::Postgres => {
            format!("CAST(FLOOR(EXTRACT(EPOCH FROM {column}) / 3600) AS BIGINT)")
        }
        // Stored as RFC 3339 text, which strftime reads.
        _ => format!("CAST(strftime('%s', {column}) AS INTEGER) / 3600"),
    }
}

/// `(administration, category, hour, count)` of the period's confidential
/// requests, `hour` counted from the Unix epoch in UTC. Hours, because
/// every Swedish day is a whole number of them (Stockholm's offsets are
/// whole hours) and both databases compute them alike; the caller adds them
/// up into Swedish days.
pub async fn confidential_by_hour(
    conn: &impl ConnectionTrait,
    period: &Period<'_>,
) -> Result<Vec<(String, Option<String>, i64, i64)>, StoreError> {
    use requests::Column as C;
    let hour = hour_of(conn.get_database_backend(), "created_at");
    Ok(period
        .all()
        .filter(C::Confidential.eq(true))
        .select_only()
        .column(C::AdministrationCode)
        .column(C::CategoryCode)
        .column_as(Expr::cust(hour.clone()), "hour")
        .column_as(C::Id.count(), "n")
        .group_by(C::AdministrationCode)
        .group_by(C::CategoryCode)
        .group_by(Expr::cust(hour))
        .into_tuple()
        .all(conn)
        .await?)
}

pub async fn count(
    conn: &impl ConnectionTrait,
    period: &Period<'_>,
    only: Option<sea_orm::Condition>,
) -> Result<u64, StoreError> {
    let mut query = period.select();
    if let Some(condition) = only {
        query = query.filter(condition);
    }
    Ok(query.count(conn).await?)
}

/// `(value, count)` per distinct value of a text column (null as "").
pub async fn counts_by(
    conn: &impl ConnectionTrait,
    period: &Period<'_>,
    column: requests::Column,
) -> Result<Vec<(String, i64)>, StoreError> {
    let rows: Vec<(Option<String>, i64)> = period
        .select()
        .select_only()
        .column(column)
        .column_as(requests::Column::Id.count(), "n")
        .group_by(column)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(k, n)| (k.unwrap_or_default(), n))
        .collect())
}

/// `(days, count)` of a working-day duration column, nulls left out.
pub async fn histogram(
    conn: &impl ConnectionTrait,
    period: &Period<'_>,
    column: requests::Column,
) -> Result<Vec<(i32, i64)>, StoreError> {
    Ok(period
        .select()
        .filter(column.is_not_null())
        .select_only()
        .column(column)
        .column_as(requests::Column::Id.count(), "n")
        .group_by(column)
        .into_tuple()
        .all(conn)
        .await?)
}

/// `(channel, category, count)` of the period's requests matching `only`.
pub async fn counts_by_channel_and_category(
    conn: &impl ConnectionTrait,
    period: &Period<'_>,
    only: Option<sea_orm::Condition>,
) -> Result<Vec<(String, String, i64)>, StoreError> {
    use requests::Column as C;
    let mut query = period.select();
    if let Some(condition) = only {
        query = query.filter(condition);
    }
    let rows: Vec<(String, Option<String>, i64)> = query
        .select_only()
        .column(C::Channel)
        .column(C::CategoryCode)
        .column_as(C::Id.count(), "n")
        .group_by(C::Channel)
        .group_by(C::CategoryCode)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(channel, category, n)| (channel, category.unwrap_or_default(), n))
        .collect())
}

/// The descriptions of the period's newest requests that reached a queue
/// (routed or triaged), at most `limit`: what residents ask about.
pub async fn recent_texts(
    conn: &impl ConnectionTrait,
    period: &Period<'_>,
    limit: u64,
) -> Result<Vec<(Option<String>, String)>, StoreError> {
    use requests::Column as C;
    use sea_orm::QueryOrder;
    Ok(period
        .select()
        .filter(C::FirstContact.eq(false))
        .filter(C::PurgedAt.is_null())
        // Secret requests are nobody's statistics material.
        .filter(C::Confidential.eq(false))
        .select_only()
        .column(C::CategoryCode)
        .column(C::Description)
        .order_by_desc(C::Id)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await?)
}

/// `(category, hour, count)` of the deflections in `[from, to)` of the
/// given categories, `hour` as in [`confidential_by_hour`].
pub async fn deflections_by_hour(
    conn: &impl ConnectionTrait,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    categories: impl IntoIterator<Item = &str>,
) -> Result<Vec<(String, i64, i64)>, StoreError> {
    use super::entities::deflections::{Column as C, Entity};
    let hour = hour_of(conn.get_database_backend(), "at");
    Ok(Entity::find()
        .filter(C::At.gte(from))
        .filter(C::At.lt(to))
        .filter(C::CategoryCode.is_in(categories))
        .select_only()
        .column(C::CategoryCode)
        .column_as(Expr::cust(hour.clone()), "hour")
        .column_as(C::Id.count(), "n")
        .group_by(C::CategoryCode)
        .group_by(Expr::cust(hour))
        .into_tuple()
        .all(conn)
        .await?)
}
