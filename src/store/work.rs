//! Queries behind the queues: the atomic claim, versioned updates, the
//! queue page with its keyset cursor, and queue counts.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{LockBehavior, LockType};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

use super::StoreError;
use super::entities::{classifier_corrections, request_events, requests};
use crate::domain::status::RequestStatus;

/// The most urgent QUEUED request of a queue, locked for this transaction.
/// Other transactions skip a locked row instead of waiting for it, so
/// concurrent handlers each get a different request (PostgreSQL); SQLite's
/// single writer serialises the claims instead.
pub async fn next_in_queue(
    conn: &impl ConnectionTrait,
    queue: &str,
) -> Result<Option<requests::Model>, StoreError> {
    Ok(requests::Entity::find()
        .filter(requests::Column::QueueCode.eq(queue))
        .filter(requests::Column::Status.eq(RequestStatus::Queued.code()))
        .order_by_desc(requests::Column::Priority)
        .order_by_asc(requests::Column::ResolveDueAt)
        .order_by_asc(requests::Column::Id)
        .limit(1)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .one(conn)
        .await?)
}

/// Applies `changes` if the request is still at `version`, and bumps the
/// version; `Ok(None)` when someone else changed it first.
pub async fn update_versioned(
    conn: &impl ConnectionTrait,
    id: i64,
    version: i32,
    mut changes: requests::ActiveModel,
    now: DateTime<Utc>,
) -> Result<Option<requests::Model>, StoreError> {
    changes.version = Set(version + 1);
    changes.updated_at = Set(now);
    let result = requests::Entity::update_many()
        .set(changes)
        .filter(requests::Column::Id.eq(id))
        .filter(requests::Column::Version.eq(version))
        .exec(conn)
        .await?;
    if result.rows_affected == 0 {
        return Ok(None);
    }
    Ok(requests::Entity::find_by_id(id).one(conn).await?)
}

/// Statuses a queue shows, and the ones whose service levels run.
pub const OPEN: [RequestStatus; 4] = [
    RequestStatus::Triage,
    RequestStatus::Queued,
    RequestStatus::InProgress,
    RequestStatus::WaitingForCitizen,
];
const CLOCK_RUNNING: [RequestStatus; 3] = [
    RequestStatus::Triage,
    RequestStatus::Queued,
    RequestStatus::InProgress,
];

fn codes(statuses: &[RequestStatus]) -> Vec<&'static str> {
    statuses.iter().map(|s| s.code()).collect()
}

/// Overdue: past resolution due, or past first-response due without any
/// response, while the municipality (not the resident) has the next move.
pub fn overdue_condition(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(requests::Column::Status.is_in(codes(&CLOCK_RUNNING)))
        .add(
            Condition::any()
                .add(requests::Column::ResolveDueAt.lt(now))
                .add(
                    Condition::all()
                        .add(requests::Column::AcknowledgedAt.is_null())
                        .add(requests::Column::AckDueAt.lt(now)),
                ),
        )
}

/// Position in the queue order, for keyset pagination.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuePosition {
    pub priority: i16,
    pub resolve_due_at: DateTime<Utc>,
    pub id: i64,
}

pub struct QueueFilter<'a> {
    pub queue: &'a str,
    pub statuses: &'a [RequestStatus],
    pub overdue_only: bool,
    pub now: DateTime<Utc>,
}

pub async fn queue_page(
    conn: &impl ConnectionTrait,
    filter: &QueueFilter<'_>,
    after: Option<&QueuePosition>,
    limit: u64,
) -> Result<Vec<requests::Model>, StoreError> {
    let mut query = requests::Entity::find()
        .filter(requests::Column::QueueCode.eq(filter.queue))
        .filter(requests::Column::Status.is_in(codes(filter.statuses)));
    if filter.overdue_only {
        query = query.filter(overdue_condition(filter.now));
    }
    if let Some(p) = after {
        query = query.filter(after_position(p));
    }
    Ok(query
        .order_by_desc(requests::Column::Priority)
        .order_by_asc(requests::Column::ResolveDueAt)
        .order_by_asc(requests::Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

fn after_position(p: &QueuePosition) -> Condition {
    use requests::Column as C;
    Condition::any().add(C::Priority.lt(p.priority)).add(
        Condition::all().add(C::Priority.eq(p.priority)).add(
            Condition::any()
                .add(C::ResolveDueAt.gt(p.resolve_due_at))
                .add(
                    Condition::all()
                        .add(C::ResolveDueAt.eq(p.resolve_due_at))
                        .add(C::Id.gt(p.id)),
                ),
        ),
    )
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueCounts {
    pub triage: u64,
    pub queued: u64,
    pub in_progress: u64,
    pub waiting_for_citizen: u64,
    pub overdue: u64,
}

pub async fn queue_counts(
    conn: &impl ConnectionTrait,
    queue: &str,
    now: DateTime<Utc>,
) -> Result<QueueCounts, StoreError> {
    let in_queue = || requests::Entity::find().filter(requests::Column::QueueCode.eq(queue));
    let with_status = |s: RequestStatus| in_queue().filter(requests::Column::Status.eq(s.code()));
    Ok(QueueCounts {
        triage: with_status(RequestStatus::Triage).count(conn).await?,
        queued: with_status(RequestStatus::Queued).count(conn).await?,
        in_progress: with_status(RequestStatus::InProgress).count(conn).await?,
        waiting_for_citizen: with_status(RequestStatus::WaitingForCitizen)
            .count(conn)
            .await?,
        overdue: in_queue()
            .filter(overdue_condition(now))
            .count(conn)
            .await?,
    })
}

/// Stores a correction; returns its id.
pub async fn record_correction(
    conn: &impl ConnectionTrait,
    correction: classifier_corrections::ActiveModel,
) -> Result<i64, StoreError> {
    Ok(classifier_corrections::Entity::insert(correction)
        .exec(conn)
        .await?
        .last_insert_id)
}

pub async fn find_correction(
    conn: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<classifier_corrections::Model>, StoreError> {
    Ok(classifier_corrections::Entity::find_by_id(id)
        .one(conn)
        .await?)
}

pub async fn all_corrections(
    conn: &impl ConnectionTrait,
) -> Result<Vec<classifier_corrections::Model>, StoreError> {
    Ok(classifier_corrections::Entity::find()
        .order_by_asc(classifier_corrections::Column::Id)
        .all(conn)
        .await?)
}

/// The id of a request's newest event (0 when it has none).
pub async fn last_event_id(
    conn: &impl ConnectionTrait,
    request_id: i64,
) -> Result<i64, StoreError> {
    Ok(request_events::Entity::find()
        .filter(request_events::Column::RequestId.eq(request_id))
        .order_by_desc(request_events::Column::Id)
        .one(conn)
        .await?
        .map_or(0, |e| e.id))
}

/// Records the first response without counting as a change of the request
/// (its version stays, so nobody's pending edit is refused for it).
pub async fn acknowledge(
    conn: &impl ConnectionTrait,
    id: i64,
    now: DateTime<Utc>,
    working_days: i32,
) -> Result<(), StoreError> {
    requests::Entity::update_many()
        .col_expr(
            requests::Column::AcknowledgedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .col_expr(
            requests::Column::FirstResponseDays,
            sea_orm::sea_query::Expr::value(working_days),
        )
        .filter(requests::Column::Id.eq(id))
        .filter(requests::Column::AcknowledgedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Locks rows for this transaction, in id order so that transactions
/// locking the same rows cannot deadlock (PostgreSQL; SQLite's single
/// writer needs no row locks).
pub async fn lock_rows(conn: &impl ConnectionTrait, ids: &[i64]) -> Result<(), StoreError> {
    requests::Entity::find()
        .select_only()
        .column(requests::Column::Id)
        .filter(requests::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(requests::Column::Id)
        .lock(LockType::Update)
        .into_tuple::<i64>()
        .all(conn)
        .await?;
    Ok(())
}
