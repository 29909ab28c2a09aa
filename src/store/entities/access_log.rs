use sea_orm::entity::prelude::*;

/// A staff read of a request's personal data (GDPR accountability).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "access_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub request_id: i64,
    pub actor_sub: String,
    pub actor_name: Option<String>,
    /// Comma-separated field names that were read.
    pub fields: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
