use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "categories")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    pub administration_code: String,
    pub queue_code: String,
    pub name_sv: String,
    pub name_en: String,
    pub priority: i16,
    pub ack_days: i32,
    pub resolve_days: i32,
    pub confidential: bool,
    pub referral: bool,
    pub active: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
