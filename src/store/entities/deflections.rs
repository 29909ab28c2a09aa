use sea_orm::entity::prelude::*;

/// A resident found the answer in an article and did not submit: counted,
/// with nothing about who.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "deflections")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub article_id: Option<i64>,
    pub category_code: Option<String>,
    pub language: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
