//! Queries on requests, their history and idempotency records.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, Statement,
};

use super::StoreError;
use super::entities::{idempotency_keys, request_events, request_search_terms, requests};

/// The next reference sequence number, unique across all replicas.
pub async fn next_sequence(conn: &impl ConnectionTrait) -> Result<u64, StoreError> {
    let sql = match conn.get_database_backend() {
        DbBackend::Postgres => "SELECT nextval('request_reference_seq') AS value",
        _ => {
            "UPDATE counters SET value = value + 1 WHERE name = 'request_reference' RETURNING value"
        }
    };
    let row = conn
        .query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await?
        .ok_or_else(|| StoreError::Corrupt("reference sequence is missing".into()))?;
    let value: i64 = row.try_get("", "value")?;
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative sequence {value}")))
}

pub async fn insert(
    conn: &impl ConnectionTrait,
    request: requests::ActiveModel,
) -> Result<requests::Model, StoreError> {
    requests::Entity::insert(request)
        .exec_with_returning(conn)
        .await
        .map_err(StoreError::from_write)
}

pub struct NewEvent {
    pub kind: &'static str,
    pub from_status: Option<&'static str>,
    pub to_status: Option<&'static str>,
    pub actor_kind: &'static str,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub public: bool,
    /// To the resident.
    pub message: Option<String>,
    /// Internal: never shown to the resident.
    pub note: Option<String>,
    /// Structured facts (JSON), e.g. old and new category of a reroute.
    pub detail: Option<String>,
    pub at: DateTime<Utc>,
}

/// Whose an event is: the administration owning the request when it
/// happened, and whether that made it secret.
#[derive(Debug, Clone)]
pub struct EventScope {
    pub administration: String,
    pub confidential: bool,
}

pub async fn append_events(
    conn: &impl ConnectionTrait,
    request_id: i64,
    scope: &EventScope,
    events: Vec<NewEvent>,
) -> Result<(), StoreError> {
    let rows = events.into_iter().map(|e| request_events::ActiveModel {
        request_id: Set(request_id),
        kind: Set(e.kind.to_owned()),
        from_status: Set(e.from_status.map(str::to_owned)),
        to_status: Set(e.to_status.map(str::to_owned)),
        actor_kind: Set(e.actor_kind.to_owned()),
        actor_id: Set(e.actor_id),
        actor_name: Set(e.actor_name),
        public: Set(e.public),
        message: Set(e.message),
        note: Set(e.note),
        detail: Set(e.detail),
        administration_code: Set(Some(scope.administration.clone())),
        confidential: Set(scope.confidential),
        created_at: Set(e.at),
        ..Default::default()
    });
    request_events::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn find_by_reference(
    conn: &impl ConnectionTrait,
    reference: &str,
) -> Result<Option<requests::Model>, StoreError> {
    Ok(requests::Entity::find()
        .filter(requests::Column::Reference.eq(reference))
        .one(conn)
        .await?)
}

pub async fn find_by_id(
    conn: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<requests::Model>, StoreError> {
    Ok(requests::Entity::find_by_id(id).one(conn).await?)
}

/// A request's events after `after_id`, oldest first; only those the
/// resident sees when `public_only`. The (request, id) index serves it, so a
/// live subscriber reads just what is new.
pub async fn events_after(
    conn: &impl ConnectionTrait,
    request_id: i64,
    after_id: i64,
    public_only: bool,
) -> Result<Vec<request_events::Model>, StoreError> {
    let mut query = request_events::Entity::find()
        .filter(request_events::Column::RequestId.eq(request_id))
        .filter(request_events::Column::Id.gt(after_id));
    if public_only {
        query = query.filter(request_events::Column::Public.eq(true));
    }
    Ok(query
        .order_by_asc(request_events::Column::Id)
        .all(conn)
        .await?)
}

pub async fn find_idempotency(
    conn: &impl ConnectionTrait,
    key_hash: &str,
    not_before: DateTime<Utc>,
) -> Result<Option<idempotency_keys::Model>, StoreError> {
    Ok(idempotency_keys::Entity::find_by_id(key_hash.to_owned())
        .filter(idempotency_keys::Column::CreatedAt.gte(not_before))
        .one(conn)
        .await?)
}

/// Replaces an expired record for the same key, then records this one; a
/// live record for the key makes this fail with `Duplicate`.
pub async fn insert_idempotency(
    conn: &impl ConnectionTrait,
    record: idempotency_keys::Model,
    not_before: DateTime<Utc>,
) -> Result<(), StoreError> {
    use idempotency_keys::Column as C;
    // An expired record of the same key is taken over in the same statement
    // (one round trip less than deleting it first); a live one is left
    // alone, and nothing written means the key is taken.
    let written = idempotency_keys::Entity::insert(idempotency_keys::ActiveModel::from(record))
        .on_conflict(
            OnConflict::column(C::KeyHash)
                .update_columns([
                    C::Fingerprint,
                    C::RequestId,
                    C::SealedTrackingCode,
                    C::CreatedAt,
                ])
                .action_and_where(
                    Expr::col((idempotency_keys::Entity, C::CreatedAt)).lt(not_before),
                )
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await
        .map_err(StoreError::from_write)?;
    if written == 0 {
        return Err(StoreError::Duplicate);
    }
    Ok(())
}

/// Indexes the analysed words of a request's description for search.
pub async fn index_terms(
    conn: &impl ConnectionTrait,
    request_id: i64,
    terms: impl IntoIterator<Item = String>,
) -> Result<(), StoreError> {
    let rows: Vec<_> = terms
        .into_iter()
        .map(|term| request_search_terms::ActiveModel {
            term: Set(term),
            request_id: Set(request_id),
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    request_search_terms::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Forgets idempotency keys older than `not_before`; returns how many.
pub async fn purge_idempotency(
    conn: &impl ConnectionTrait,
    not_before: DateTime<Utc>,
) -> Result<u64, StoreError> {
    Ok(idempotency_keys::Entity::delete_many()
        .filter(idempotency_keys::Column::CreatedAt.lt(not_before))
        .exec(conn)
        .await?
        .rows_affected)
}
