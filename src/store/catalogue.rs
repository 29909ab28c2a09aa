//! The catalogue in the database: every document ever loaded (the newest one
//! is in force) and the administrations, queues and categories it defines,
//! which requests point at with foreign keys.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, QueryOrder};

use super::StoreError;
use super::entities::{administrations, catalogue_documents, categories, queues};
use crate::domain::catalogue::Catalogue;

pub async fn latest_document(
    conn: &impl ConnectionTrait,
) -> Result<Option<catalogue_documents::Model>, StoreError> {
    Ok(catalogue_documents::Entity::find()
        .order_by_desc(catalogue_documents::Column::Id)
        .one(conn)
        .await?)
}

/// Records a new catalogue document and brings the code tables in line with
/// it. Codes that disappeared are kept, inactive, because old requests still
/// point at them.
pub async fn install(
    conn: &impl ConnectionTrait,
    catalogue: &Catalogue,
    content: &str,
    source: &str,
    checksum: &str,
) -> Result<(), StoreError> {
    catalogue_documents::Entity::insert(catalogue_documents::ActiveModel {
        checksum: Set(checksum.to_owned()),
        source: Set(source.to_owned()),
        content: Set(content.to_owned()),
        loaded_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_without_returning(conn)
    .await?;
    deactivate_all(conn).await?;
    upsert_administrations(conn, catalogue).await?;
    upsert_queues(conn, catalogue).await?;
    upsert_categories(conn, catalogue).await
}

async fn deactivate_all(conn: &impl ConnectionTrait) -> Result<(), StoreError> {
    use sea_orm::sea_query::Expr;
    administrations::Entity::update_many()
        .col_expr(administrations::Column::Active, Expr::value(false))
        .exec(conn)
        .await?;
    queues::Entity::update_many()
        .col_expr(queues::Column::Active, Expr::value(false))
        .exec(conn)
        .await?;
    categories::Entity::update_many()
        .col_expr(categories::Column::Active, Expr::value(false))
        .exec(conn)
        .await?;
    Ok(())
}

async fn upsert_administrations(
    conn: &impl ConnectionTrait,
    catalogue: &Catalogue,
) -> Result<(), StoreError> {
    use administrations::Column as C;
    let rows = catalogue
        .administrations()
        .iter()
        .map(|a| administrations::ActiveModel {
            code: Set(a.code.clone()),
            name_sv: Set(a.name.sv.clone()),
            name_en: Set(a.name.en.clone()),
            confidential: Set(a.confidential),
            active: Set(true),
        });
    administrations::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(C::Code)
                .update_columns([C::NameSv, C::NameEn, C::Confidential, C::Active])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

async fn upsert_queues(
    conn: &impl ConnectionTrait,
    catalogue: &Catalogue,
) -> Result<(), StoreError> {
    use queues::Column as C;
    let rows = catalogue.administrations().iter().flat_map(|a| {
        a.queues.iter().map(|q| queues::ActiveModel {
            code: Set(q.code.clone()),
            administration_code: Set(a.code.clone()),
            name_sv: Set(q.name.sv.clone()),
            name_en: Set(q.name.en.clone()),
            active: Set(true),
        })
    });
    queues::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(C::Code)
                .update_columns([C::AdministrationCode, C::NameSv, C::NameEn, C::Active])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

async fn upsert_categories(
    conn: &impl ConnectionTrait,
    catalogue: &Catalogue,
) -> Result<(), StoreError> {
    use categories::Column as C;
    let rows = catalogue
        .categories()
        .iter()
        .map(|c| categories::ActiveModel {
            code: Set(c.code.clone()),
            administration_code: Set(c.administration.clone()),
            queue_code: Set(c.queue.clone()),
            name_sv: Set(c.name.sv.clone()),
            name_en: Set(c.name.en.clone()),
            priority: Set(c.priority.rank()),
            ack_days: Set(i32::try_from(c.ack_days).unwrap_or(i32::MAX)),
            resolve_days: Set(i32::try_from(c.resolve_days).unwrap_or(i32::MAX)),
            confidential: Set(catalogue.is_confidential(c)),
            referral: Set(c.referral.is_some()),
            active: Set(true),
        });
    categories::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(C::Code)
                .update_columns([
                    C::AdministrationCode,
                    C::QueueCode,
                    C::NameSv,
                    C::NameEn,
                    C::Priority,
                    C::AckDays,
                    C::ResolveDays,
                    C::Confidential,
                    C::Referral,
                    C::Active,
                ])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(())
}
