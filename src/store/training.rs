//! The operator's imported training history.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait, QueryOrder, QuerySelect, Set};

use super::StoreError;
use super::entities::training_history::{ActiveModel, Column, Entity};

/// One labelled text to store, under the fingerprint that tells whether
/// it is already there.
pub struct NewExample<'a> {
    pub fingerprint: String,
    pub text: &'a str,
    pub category: &'a str,
}

/// Rows per INSERT: well under SQLite's limit on bound parameters.
const CHUNK: usize = 500;

/// Stores the examples not stored before; answers how many were new.
pub async fn insert_new(
    conn: &impl ConnectionTrait,
    examples: &[NewExample<'_>],
    source: &str,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let mut inserted = 0;
    for chunk in examples.chunks(CHUNK) {
        let rows = chunk.iter().map(|e| ActiveModel {
            fingerprint: Set(e.fingerprint.clone()),
            text: Set(e.text.to_owned()),
            category_code: Set(e.category.to_owned()),
            source: Set(source.to_owned()),
            imported_at: Set(now),
            ..Default::default()
        });
        inserted += Entity::insert_many(rows)
            .on_conflict(
                OnConflict::column(Column::Fingerprint)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(conn)
            .await?;
    }
    Ok(inserted)
}

/// The `limit` most recently imported texts and their categories,
/// newest first, and how many are stored in all.
pub async fn newest(
    conn: &impl ConnectionTrait,
    limit: u64,
) -> Result<(Vec<(String, String)>, u64), StoreError> {
    let texts = Entity::find()
        .select_only()
        .column(Column::Text)
        .column(Column::CategoryCode)
        .order_by_desc(Column::Id)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await?;
    Ok((texts, count(conn).await?))
}

/// How many imported texts are stored.
pub async fn count(conn: &impl ConnectionTrait) -> Result<u64, StoreError> {
    Ok(Entity::find().count(conn).await?)
}
