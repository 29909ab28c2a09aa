//! The append-only personal-data access log.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::StoreError;
use super::entities::access_log;

pub async fn append(
    conn: &impl ConnectionTrait,
    rows: impl IntoIterator<Item = access_log::ActiveModel>,
) -> Result<(), StoreError> {
    access_log::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn for_request(
    conn: &impl ConnectionTrait,
    request_id: i64,
) -> Result<Vec<access_log::Model>, StoreError> {
    Ok(access_log::Entity::find()
        .filter(access_log::Column::RequestId.eq(request_id))
        .order_by_asc(access_log::Column::Id)
        .all(conn)
        .await?)
}
