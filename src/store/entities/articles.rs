use sea_orm::entity::prelude::*;

/// A knowledge-base article in one language, as it is now.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "articles")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub slug: String,
    pub language: String,
    pub category_code: Option<String>,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// JSON array of strings.
    #[sea_orm(column_type = "Text")]
    pub keywords: String,
    pub published: bool,
    pub version: i32,
    pub author: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
