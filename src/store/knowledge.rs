//! Knowledge-base articles, their versions, and deflections.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::StoreError;
use super::entities::{article_versions, articles, deflections};

pub async fn published(conn: &impl ConnectionTrait) -> Result<Vec<articles::Model>, StoreError> {
    Ok(articles::Entity::find()
        .filter(articles::Column::Published.eq(true))
        .order_by_asc(articles::Column::Id)
        .all(conn)
        .await?)
}

pub async fn count(conn: &impl ConnectionTrait) -> Result<u64, StoreError> {
    Ok(articles::Entity::find().count(conn).await?)
}

pub async fn find(
    conn: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<articles::Model>, StoreError> {
    Ok(articles::Entity::find_by_id(id).one(conn).await?)
}

pub async fn find_by_slug(
    conn: &impl ConnectionTrait,
    slug: &str,
    language: &str,
) -> Result<Option<articles::Model>, StoreError> {
    Ok(articles::Entity::find()
        .filter(articles::Column::Slug.eq(slug))
        .filter(articles::Column::Language.eq(language))
        .one(conn)
        .await?)
}

/// A page of articles after `after_id`, by id.
pub async fn page(
    conn: &impl ConnectionTrait,
    published_only: bool,
    after_id: i64,
    limit: u64,
) -> Result<Vec<articles::Model>, StoreError> {
    let mut query = articles::Entity::find().filter(articles::Column::Id.gt(after_id));
    if published_only {
        query = query.filter(articles::Column::Published.eq(true));
    }
    Ok(query
        .order_by_asc(articles::Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

pub async fn insert(
    conn: &impl ConnectionTrait,
    article: articles::ActiveModel,
) -> Result<articles::Model, StoreError> {
    articles::Entity::insert(article)
        .exec_with_returning(conn)
        .await
        .map_err(StoreError::from_write)
}

/// Applies `changes` if the article is still at `version`; `None` when
/// someone else saved first.
pub async fn update_versioned(
    conn: &impl ConnectionTrait,
    id: i64,
    version: i32,
    mut changes: articles::ActiveModel,
    now: DateTime<Utc>,
) -> Result<Option<articles::Model>, StoreError> {
    changes.version = Set(version + 1);
    changes.updated_at = Set(now);
    let result = articles::Entity::update_many()
        .set(changes)
        .filter(articles::Column::Id.eq(id))
        .filter(articles::Column::Version.eq(version))
        .exec(conn)
        .await?;
    if result.rows_affected == 0 {
        return Ok(None);
    }
    find(conn, id).await
}

/// Keeps the article's current state as a version of its own.
pub async fn keep_version(
    conn: &impl ConnectionTrait,
    a: &articles::Model,
) -> Result<(), StoreError> {
    article_versions::Entity::insert(article_versions::ActiveModel {
        article_id: Set(a.id),
        version: Set(a.version),
        category_code: Set(a.category_code.clone()),
        title: Set(a.title.clone()),
        body: Set(a.body.clone()),
        keywords: Set(a.keywords.clone()),
        published: Set(a.published),
        author: Set(a.author.clone()),
        created_at: Set(a.updated_at),
        ..Default::default()
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

pub async fn versions(
    conn: &impl ConnectionTrait,
    article_id: i64,
) -> Result<Vec<article_versions::Model>, StoreError> {
    Ok(article_versions::Entity::find()
        .filter(article_versions::Column::ArticleId.eq(article_id))
        .order_by_asc(article_versions::Column::Version)
        .all(conn)
        .await?)
}

pub async fn insert_deflection(
    conn: &impl ConnectionTrait,
    article_id: Option<i64>,
    category: Option<String>,
    language: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    deflections::Entity::insert(deflections::ActiveModel {
        article_id: Set(article_id),
        category_code: Set(category),
        language: Set(language.to_owned()),
        at: Set(at),
        ..Default::default()
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Deflections in `[from, to)` per category (`None`: no category).
pub async fn deflections_by_category(
    conn: &impl ConnectionTrait,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(Option<String>, i64)>, StoreError> {
    use deflections::Column as C;
    Ok(deflections::Entity::find()
        .select_only()
        .column(C::CategoryCode)
        .column_as(C::Id.count(), "n")
        .filter(C::At.gte(from))
        .filter(C::At.lt(to))
        .group_by(C::CategoryCode)
        .into_tuple::<(Option<String>, i64)>()
        .all(conn)
        .await?)
}
