use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "requests")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub reference: String,
    pub tracking_code_hash: String,
    pub status: String,
    pub channel: String,
    pub language: String,
    pub description: String,
    pub category_code: Option<String>,
    pub administration_code: String,
    pub queue_code: String,
    pub priority: i16,
    pub confidential: bool,
    pub protected_identity: bool,
    pub classification_confidence: f64,
    pub classification_explanation: String,
    pub location_latitude: Option<f64>,
    pub location_longitude: Option<f64>,
    pub location_address: Option<String>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub personal_number: Option<String>,
    pub personal_number_digest: Option<String>,
    pub registered_by: Option<String>,
    pub citizen_sub: Option<String>,
    pub assignee_sub: Option<String>,
    pub assignee_name: Option<String>,
    pub duplicate_of: Option<i64>,
    pub version: i32,
    pub received_at: DateTimeUtc,
    pub ack_due_at: DateTimeUtc,
    pub resolve_due_at: DateTimeUtc,
    pub acknowledged_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub purged_at: Option<DateTimeUtc>,
    pub first_response_days: Option<i32>,
    pub resolution_days: Option<i32>,
    pub resolved_on_time: Option<bool>,
    pub triaged: bool,
    pub rerouted: bool,
    /// Answered and closed by the contact centre at first contact.
    pub first_contact: bool,
    /// ISO 639-3 code of the language the text is written in, when it is
    /// neither Swedish nor English.
    pub text_language: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
