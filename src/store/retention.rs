//! Finding and purging personal data of requests past their retention.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::StoreError;
use super::entities::{classifier_corrections, request_events, request_search_terms, requests};
use crate::domain::status::RequestStatus;

/// Which categories a purge pass covers.
#[derive(Clone, Copy)]
pub enum Categories<'a> {
    Only(&'a str),
    AllBut(&'a [String]),
}

/// Requests closed or referred before `cutoff` whose personal data is still
/// there, locked so that another replica's purge skips them.
pub async fn due(
    conn: &impl ConnectionTrait,
    categories: Categories<'_>,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<i64>, StoreError> {
    use requests::Column as C;
    let finished = [
        RequestStatus::Closed.code(),
        RequestStatus::Referred.code(),
        RequestStatus::Duplicate.code(),
    ];
    let scope = match categories {
        Categories::Only(code) => Condition::all().add(C::CategoryCode.eq(code)),
        Categories::AllBut(codes) => Condition::any()
            .add(C::CategoryCode.is_null())
            .add(C::CategoryCode.is_not_in(codes.iter().map(String::as_str))),
    };
    Ok(requests::Entity::find()
        .select_only()
        .column(C::Id)
        .filter(C::ClosedAt.lt(cutoff))
        .filter(C::PurgedAt.is_null())
        .filter(C::Status.is_in(finished))
        .filter(scope)
        .order_by_asc(C::ClosedAt)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .into_tuple::<i64>()
        .all(conn)
        .await?)
}

/// Replaces all free text and removes contact data, keeping reference,
/// category, dates and the status history for statistics.
pub async fn purge(
    conn: &impl ConnectionTrait,
    ids: &[i64],
    marker: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    use requests::Column as C;
    let null = || Expr::value(Option::<String>::None);
    requests::Entity::update_many()
        .col_expr(C::Description, Expr::value(marker))
        .col_expr(C::ContactName, null())
        .col_expr(C::ContactEmail, null())
        .col_expr(C::ContactPhone, null())
        .col_expr(C::PersonalNumber, null())
        .col_expr(C::PersonalNumberDigest, null())
        .col_expr(C::LocationAddress, null())
        .col_expr(C::LocationLatitude, Expr::value(Option::<f64>::None))
        .col_expr(C::LocationLongitude, Expr::value(Option::<f64>::None))
        .col_expr(C::PurgedAt, Expr::value(now))
        // A change prepared from the unpurged row must not be committed.
        .col_expr(C::Version, Expr::col(C::Version).add(1))
        .filter(C::Id.is_in(ids.iter().copied()))
        .exec(conn)
        .await?;
    for column in [
        request_events::Column::Message,
        request_events::Column::Note,
    ] {
        request_events::Entity::update_many()
            .col_expr(column, Expr::value(marker))
            .filter(request_events::Column::RequestId.is_in(ids.iter().copied()))
            .filter(column.is_not_null())
            .exec(conn)
            .await?;
    }
    request_search_terms::Entity::delete_many()
        .filter(request_search_terms::Column::RequestId.is_in(ids.iter().copied()))
        .exec(conn)
        .await?;
    classifier_corrections::Entity::update_many()
        .col_expr(classifier_corrections::Column::Text, Expr::value(marker))
        .filter(classifier_corrections::Column::RequestId.is_in(ids.iter().copied()))
        .exec(conn)
        .await?;
    Ok(())
}
