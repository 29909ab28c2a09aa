//! Files residents send with a request by e-mail.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::StoreError;
use super::entities::attachments;

pub struct NewAttachment {
    pub filename: String,
    pub content_type: String,
    pub content: Vec<u8>,
}

pub async fn insert(
    conn: &impl ConnectionTrait,
    request_id: i64,
    files: &[NewAttachment],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if files.is_empty() {
        return Ok(());
    }
    let rows = files.iter().map(|f| attachments::ActiveModel {
        request_id: Set(request_id),
        filename: Set(f.filename.clone()),
        content_type: Set(f.content_type.clone()),
        size_bytes: Set(i64::try_from(f.content.len()).unwrap_or(i64::MAX)),
        content: Set(f.content.clone()),
        created_at: Set(now),
        ..Default::default()
    });
    attachments::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Part of the personal data purged after the retention period.
pub async fn purge_for_requests(
    conn: &impl ConnectionTrait,
    request_ids: &[i64],
) -> Result<(), StoreError> {
    attachments::Entity::delete_many()
        .filter(attachments::Column::RequestId.is_in(request_ids.iter().copied()))
        .exec(conn)
        .await?;
    Ok(())
}

/// What is known of a file without its content.
#[derive(Debug, Clone, sea_orm::FromQueryResult)]
pub struct AttachmentInfo {
    pub id: i64,
    pub request_id: i64,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub created_at: DateTime<Utc>,
}

impl AttachmentInfo {
    /// What is known of a stored file, apart from its content.
    pub fn of(file: &attachments::Model) -> Self {
        Self {
            id: file.id,
            request_id: file.request_id,
            filename: file.filename.clone(),
            content_type: file.content_type.clone(),
            size_bytes: file.size_bytes,
            created_at: file.created_at,
        }
    }
}

fn info_columns() -> sea_orm::Select<attachments::Entity> {
    use attachments::Column as C;
    use sea_orm::QuerySelect;
    attachments::Entity::find().select_only().columns([
        C::Id,
        C::RequestId,
        C::Filename,
        C::ContentType,
        C::SizeBytes,
        C::CreatedAt,
    ])
}

/// A request's files, oldest first, without their content.
pub async fn of_request(
    conn: &impl ConnectionTrait,
    request_id: i64,
) -> Result<Vec<AttachmentInfo>, StoreError> {
    use sea_orm::QueryOrder;
    Ok(info_columns()
        .filter(attachments::Column::RequestId.eq(request_id))
        .order_by_asc(attachments::Column::Id)
        .into_model::<AttachmentInfo>()
        .all(conn)
        .await?)
}

pub async fn find(
    conn: &impl ConnectionTrait,
    id: i64,
) -> Result<Option<attachments::Model>, StoreError> {
    Ok(attachments::Entity::find_by_id(id).one(conn).await?)
}
