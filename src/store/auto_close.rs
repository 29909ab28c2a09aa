//! Resolved requests past their reply period.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::StoreError;
use super::entities::requests;
use crate::domain::status::RequestStatus;

/// Resolved before `cutoff`, locked so another replica skips them.
pub async fn due(
    conn: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<requests::Model>, StoreError> {
    Ok(requests::Entity::find()
        .filter(requests::Column::Status.eq(RequestStatus::Resolved.code()))
        .filter(requests::Column::UpdatedAt.lt(cutoff))
        .order_by_asc(requests::Column::UpdatedAt)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .all(conn)
        .await?)
}

pub async fn close(
    conn: &impl ConnectionTrait,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    use requests::Column as C;
    requests::Entity::update_many()
        .col_expr(C::Status, Expr::value(RequestStatus::Closed.code()))
        .col_expr(C::ClosedAt, Expr::value(now))
        .col_expr(C::UpdatedAt, Expr::value(now))
        .col_expr(C::Version, Expr::col(C::Version).add(1))
        .filter(C::Id.eq(id))
        .filter(C::Status.eq(RequestStatus::Resolved.code()))
        .exec(conn)
        .await?;
    Ok(())
}
