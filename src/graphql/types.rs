//! GraphQL object, input and enum types. Enums mirror the domain's through
//! `remote`, so the domain stays free of transport code.

use async_graphql::{ComplexObject, Context, Enum, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::error::GqlResult;
use super::services;
use crate::domain::Language;
use crate::domain::catalogue::{AdministrationDef, Catalogue, CategoryDef};
use crate::domain::submission::{
    ContactInput as DomainContact, LocationInput as DomainLocation, SubmissionInput,
};
use crate::service::{HistoryEntry, RequestRecord};

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(
    name = "RequestStatus",
    remote = "crate::domain::status::RequestStatus"
)]
pub enum GqlRequestStatus {
    Received,
    Triage,
    Queued,
    InProgress,
    WaitingForCitizen,
    Resolved,
    Closed,
    Referred,
    Duplicate,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
#[graphql(name = "Channel", remote = "crate::domain::Channel")]
pub enum GqlChannel {
    #[default]
    Web,
    Phone,
    Visit,
    Email,
    Letter,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "Priority", remote = "crate::domain::catalogue::Priority")]
pub enum GqlPriority {
    Low,
    Normal,
    High,
    Urgent,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "EventKind", remote = "crate::domain::history::EventKind")]
pub enum GqlEventKind {
    Submitted,
    Routed,
    Triaged,
    Referred,
}

/// Where the problem is. All fields optional; coordinates come in pairs.
#[derive(InputObject, Default)]
pub struct LocationInput {
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub address: Option<String>,
}

/// How the municipality can reach the resident. All optional; give only
/// what is needed to answer.
#[derive(InputObject, Default)]
pub struct ContactInput {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Personnummer or samordningsnummer, 10 or 12 digits.
    pub personal_number: Option<String>,
}

#[derive(InputObject)]
pub struct SubmitRequestInput {
    /// What the resident wants, in their own words (1–10 000 characters).
    pub description: String,
    /// A category code from `catalogue` the resident picked: a strong hint.
    pub category_hint: Option<String>,
    /// `WEB` unless staff register the request from another channel.
    #[graphql(default)]
    pub channel: GqlChannel,
    pub location: Option<LocationInput>,
    pub contact: Option<ContactInput>,
    /// `sv` (default) or `en`: the language the resident is answered in.
    pub language: Option<String>,
    /// Retrying with the same key and input returns the first answer.
    pub idempotency_key: Option<String>,
    /// Skyddade personuppgifter: show and send no personal data.
    #[graphql(default)]
    pub protected_identity: bool,
}

impl From<SubmitRequestInput> for SubmissionInput {
    fn from(i: SubmitRequestInput) -> Self {
        Self {
            description: i.description,
            category_hint: i.category_hint,
            channel: i.channel.into(),
            location: i.location.map(|l| DomainLocation {
                latitude: l.latitude,
                longitude: l.longitude,
                address: l.address,
            }),
            contact: i.contact.map(|c| DomainContact {
                name: c.name,
                email: c.email,
                phone: c.phone,
                personal_number: c.personal_number,
            }),
            language: i.language,
            idempotency_key: i.idempotency_key,
            protected_identity: i.protected_identity,
        }
    }
}

#[derive(SimpleObject)]
pub struct SubmitRequestPayload {
    pub request: Request,
    /// The secret that, with the reference, shows the request's status.
    /// Shown only in this answer.
    pub tracking_code: String,
    /// When the request belongs to another authority: which, and how to
    /// reach it.
    pub referral: Option<String>,
    /// Set when the text describes immediate danger: call 112 now.
    pub emergency_advice: Option<String>,
}

/// A request as its holder may see it.
pub struct Request(pub RequestRecord);

#[Object]
impl Request {
    /// The reference to quote, e.g. `EVI-2026-000123-4`.
    async fn reference(&self) -> &str {
        &self.0.reference
    }

    async fn status(&self) -> GqlRequestStatus {
        self.0.status.into()
    }

    /// Category code; empty while the request waits in triage.
    async fn category(&self) -> Option<&str> {
        self.0.category.as_deref()
    }

    /// Category name in the request's language.
    async fn category_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let catalogue = services(ctx)?.catalogue();
        Ok(self
            .0
            .category
            .as_deref()
            .and_then(|c| catalogue.category(c))
            .map(|c| c.name.get(self.0.language).to_owned()))
    }

    /// Code of the administration that owns the request now.
    async fn administration(&self) -> &str {
        &self.0.administration
    }

    async fn administration_name(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<String>> {
        let catalogue = services(ctx)?.catalogue();
        Ok(catalogue
            .administration(&self.0.administration)
            .map(|a| a.name.get(self.0.language).to_owned()))
    }

    async fn channel(&self) -> GqlChannel {
        self.0.channel.into()
    }

    async fn language(&self) -> &str {
        self.0.language.code()
    }

    /// When the request reached the municipality on its channel.
    async fn received_at(&self) -> DateTime<Utc> {
        self.0.received_at
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// Status changes and messages meant for the resident, oldest first.
    async fn history(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<HistoryEvent>> {
        let entries = services(ctx)?.resident_history(&self.0).await.gql()?;
        Ok(entries.into_iter().map(HistoryEvent).collect())
    }
}

pub struct HistoryEvent(HistoryEntry);

#[Object]
impl HistoryEvent {
    async fn kind(&self) -> GqlEventKind {
        self.0.kind.into()
    }

    /// The status the request moved to, if the event changed it.
    async fn status(&self) -> Option<GqlRequestStatus> {
        self.0.status.map(Into::into)
    }

    /// Message to the resident, if any.
    async fn message(&self) -> Option<&str> {
        self.0.message.as_deref()
    }

    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
}

/// The routing catalogue as the web form shows it.
pub struct CatalogueView;

#[Object(name = "Catalogue")]
impl CatalogueView {
    async fn administrations<'a>(
        &self,
        ctx: &Context<'a>,
    ) -> async_graphql::Result<Vec<Administration<'a>>> {
        let catalogue = services(ctx)?.catalogue();
        Ok(catalogue
            .administrations()
            .iter()
            .map(|def| Administration { def, catalogue })
            .collect())
    }

    async fn categories<'a>(&self, ctx: &Context<'a>) -> async_graphql::Result<Vec<Category<'a>>> {
        let catalogue = services(ctx)?.catalogue();
        Ok(catalogue
            .categories()
            .iter()
            .map(|def| Category { def, catalogue })
            .collect())
    }
}

fn language_or_default(language: Option<String>) -> async_graphql::Result<Language> {
    Ok(match language {
        Some(raw) => Language::parse(&raw)
            .map_err(crate::service::ServiceError::from)
            .gql()?,
        None => Language::Sv,
    })
}

pub struct Administration<'a> {
    def: &'a AdministrationDef,
    catalogue: &'a Catalogue,
}

#[Object]
impl<'a> Administration<'a> {
    async fn code(&self) -> &str {
        &self.def.code
    }

    /// Name in `language` (`sv` or `en`, default `sv`).
    async fn name(&self, language: Option<String>) -> async_graphql::Result<&str> {
        Ok(self.def.name.get(language_or_default(language)?))
    }

    async fn name_sv(&self) -> &str {
        &self.def.name.sv
    }

    async fn name_en(&self) -> &str {
        &self.def.name.en
    }

    /// Requests here are secret to other administrations (OSL 8 kap 2 §).
    async fn confidential(&self) -> bool {
        self.def.confidential
    }

    async fn queues(&self) -> Vec<Queue<'a>> {
        self.def.queues.iter().map(|q| Queue { def: q }).collect()
    }

    async fn categories(&self) -> Vec<Category<'a>> {
        self.catalogue
            .categories()
            .iter()
            .filter(|c| c.administration == self.def.code)
            .map(|def| Category {
                def,
                catalogue: self.catalogue,
            })
            .collect()
    }
}

pub struct Queue<'a> {
    def: &'a crate::domain::catalogue::QueueDef,
}

#[Object]
impl Queue<'_> {
    async fn code(&self) -> &str {
        &self.def.code
    }

    async fn name(&self, language: Option<String>) -> async_graphql::Result<&str> {
        Ok(self.def.name.get(language_or_default(language)?))
    }
}

pub struct Category<'a> {
    def: &'a CategoryDef,
    catalogue: &'a Catalogue,
}

#[Object]
impl Category<'_> {
    async fn code(&self) -> &str {
        &self.def.code
    }

    /// Name in `language` (`sv` or `en`, default `sv`).
    async fn name(&self, language: Option<String>) -> async_graphql::Result<&str> {
        Ok(self.def.name.get(language_or_default(language)?))
    }

    async fn name_sv(&self) -> &str {
        &self.def.name.sv
    }

    async fn name_en(&self) -> &str {
        &self.def.name.en
    }

    /// One-line description for the web form, in `language`.
    async fn description(&self, language: Option<String>) -> async_graphql::Result<Option<&str>> {
        let language = language_or_default(language)?;
        Ok(self.def.description.as_ref().map(|d| d.get(language)))
    }

    async fn administration(&self) -> &str {
        &self.def.administration
    }

    async fn queue(&self) -> &str {
        &self.def.queue
    }

    async fn default_priority(&self) -> GqlPriority {
        self.def.priority.into()
    }

    /// Working days to the first response.
    async fn ack_due_days(&self) -> u32 {
        self.def.ack_days
    }

    /// Working days to resolution.
    async fn resolve_due_days(&self) -> u32 {
        self.def.resolve_days
    }

    async fn confidential(&self) -> bool {
        self.catalogue.is_confidential(self.def)
    }

    /// For matters of another authority: which authority.
    async fn referral_authority(&self) -> Option<&str> {
        self.def.referral.as_ref().map(|r| r.authority.as_str())
    }
}

/// One suggestion of the classifier preview.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct CategorySuggestion {
    pub category: String,
    /// In [0, 1].
    pub confidence: f64,
}

#[ComplexObject]
impl CategorySuggestion {
    async fn administration(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(services(ctx)?
            .catalogue()
            .category(&self.category)
            .map(|c| c.administration.clone()))
    }

    async fn name(
        &self,
        ctx: &Context<'_>,
        language: Option<String>,
    ) -> async_graphql::Result<Option<String>> {
        let language = language_or_default(language)?;
        Ok(services(ctx)?
            .catalogue()
            .category(&self.category)
            .map(|c| c.name.get(language).to_owned()))
    }
}
