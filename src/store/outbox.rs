//! The notification outbox: rows written beside the change they tell of,
//! claimed by senders with a lease, and marked delivered or dead.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::StoreError;
use super::entities::notifications;

pub const PENDING: &str = "PENDING";
pub const SENT: &str = "SENT";
pub const DEAD: &str = "DEAD";

/// A message to store in the outbox.
pub struct NewNotification {
    pub message_id: String,
    pub request_id: i64,
    pub channel: &'static str,
    pub recipient: String,
    pub occasion: &'static str,
    pub subject: Option<String>,
    pub body_text: String,
    pub body_html: Option<String>,
}

pub async fn insert(
    conn: &impl ConnectionTrait,
    rows: Vec<NewNotification>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let rows = rows.into_iter().map(|n| notifications::ActiveModel {
        message_id: Set(n.message_id),
        request_id: Set(n.request_id),
        channel: Set(n.channel.to_owned()),
        recipient: Set(n.recipient),
        occasion: Set(n.occasion.to_owned()),
        subject: Set(n.subject),
        body_text: Set(Some(n.body_text)),
        body_html: Set(n.body_html),
        state: Set(PENDING.to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        leased_by: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
        ..Default::default()
    });
    notifications::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Pending rows that are due, locked so that another sender skips them.
pub async fn due(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<notifications::Model>, StoreError> {
    Ok(notifications::Entity::find()
        .filter(notifications::Column::State.eq(PENDING))
        .filter(notifications::Column::NextAttemptAt.lte(now))
        .order_by_asc(notifications::Column::NextAttemptAt)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .all(conn)
        .await?)
}

/// Leases rows to `sender` until `until`, counting the attempt now: a
/// sender that dies mid-delivery has still made it.
pub async fn lease(
    conn: &impl ConnectionTrait,
    ids: &[i64],
    sender: &str,
    until: DateTime<Utc>,
) -> Result<(), StoreError> {
    use notifications::Column as C;
    notifications::Entity::update_many()
        .col_expr(C::NextAttemptAt, Expr::value(until))
        .col_expr(C::LeasedBy, Expr::value(sender))
        .col_expr(C::Attempts, Expr::col(C::Attempts).add(1))
        .filter(C::Id.is_in(ids.iter().copied()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Which lease a result belongs to: the sender and the attempt it made. A
/// result for a lease that has since passed to another sender is dropped.
pub struct LeaseToken<'a> {
    pub id: i64,
    pub sender: &'a str,
    pub attempt: i32,
}

/// Delivered: the body is erased (a receipt carries the tracking code).
pub async fn mark_sent(
    conn: &impl ConnectionTrait,
    lease: &LeaseToken<'_>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    use notifications::Column as C;
    let result = notifications::Entity::update_many()
        .col_expr(C::State, Expr::value(SENT))
        .col_expr(C::SentAt, Expr::value(now))
        .col_expr(C::BodyText, Expr::value(Option::<String>::None))
        .col_expr(C::BodyHtml, Expr::value(Option::<String>::None))
        .col_expr(C::LastError, Expr::value(Option::<String>::None))
        .filter(leased(lease))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Failed: try again at `retry_at`, or give up (`None`) and keep the row
/// as dead letter for an operator.
pub async fn mark_failed(
    conn: &impl ConnectionTrait,
    lease: &LeaseToken<'_>,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> Result<bool, StoreError> {
    use notifications::Column as C;
    let mut update = notifications::Entity::update_many()
        .col_expr(C::LastError, Expr::value(error))
        .col_expr(C::LeasedBy, Expr::value(Option::<String>::None));
    update = match retry_at {
        Some(at) => update.col_expr(C::NextAttemptAt, Expr::value(at)),
        None => update.col_expr(C::State, Expr::value(DEAD)),
    };
    let result = update.filter(leased(lease)).exec(conn).await?;
    Ok(result.rows_affected == 1)
}

fn leased(lease: &LeaseToken<'_>) -> sea_orm::Condition {
    use notifications::Column as C;
    sea_orm::Condition::all()
        .add(C::Id.eq(lease.id))
        .add(C::State.eq(PENDING))
        .add(C::LeasedBy.eq(lease.sender))
        .add(C::Attempts.eq(lease.attempt))
}

/// How many rows are in `state`; for the operator's gauges.
pub async fn count(conn: &impl ConnectionTrait, state: &str) -> Result<u64, StoreError> {
    Ok(notifications::Entity::find()
        .filter(notifications::Column::State.eq(state))
        .count(conn)
        .await?)
}

/// A request's messages, oldest first.
pub async fn for_request(
    conn: &impl ConnectionTrait,
    request_id: i64,
) -> Result<Vec<notifications::Model>, StoreError> {
    Ok(notifications::Entity::find()
        .filter(notifications::Column::RequestId.eq(request_id))
        .order_by_asc(notifications::Column::Id)
        .all(conn)
        .await?)
}

/// Forgets what was to be said to residents whose data is purged.
pub async fn purge_for_requests(
    conn: &impl ConnectionTrait,
    request_ids: &[i64],
) -> Result<(), StoreError> {
    notifications::Entity::delete_many()
        .filter(notifications::Column::RequestId.is_in(request_ids.iter().copied()))
        .exec(conn)
        .await?;
    Ok(())
}
