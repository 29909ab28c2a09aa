use sea_orm::entity::prelude::*;

/// A message waiting to be delivered, delivered, or given up on: the
/// transactional outbox.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Stable across retries, so that receivers can drop duplicates.
    #[sea_orm(unique)]
    pub message_id: String,
    pub request_id: i64,
    /// `EMAIL`, `SMS` or `WEBHOOK`.
    pub channel: String,
    /// An e-mail address, a phone number, or an administration code.
    pub recipient: String,
    pub occasion: String,
    pub subject: Option<String>,
    /// Erased once delivered: a receipt carries the tracking code.
    #[sea_orm(column_type = "Text", nullable)]
    pub body_text: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub body_html: Option<String>,
    /// `PENDING`, `SENT` or `DEAD`.
    pub state: String,
    pub attempts: i32,
    /// When a pending row may be claimed; while claimed, when the lease
    /// ends.
    pub next_attempt_at: DateTimeUtc,
    pub leased_by: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
