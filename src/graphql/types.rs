//! GraphQL object, input and enum types. Enums mirror the domain's through
//! `remote`, so the domain stays free of transport code.

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, Enum, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::error::GqlResult;
use super::services;
use crate::domain::Language;
use crate::domain::actor::Caller;
use crate::domain::catalogue::{AdministrationDef, Catalogue, CategoryDef};
use crate::domain::personal_number::mask;
use crate::domain::policy::Access;
use crate::domain::submission::{
    AnswerInput, ContactInput as DomainContact, LocationInput as DomainLocation, SubmissionInput,
};
use crate::service::{AccessRecorder, AttachmentInfo, HistoryEntry, RequestRecord, Services};

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
    Claimed,
    Released,
    StatusChanged,
    Rerouted,
    Comment,
    CitizenReply,
    MarkedDuplicate,
    PriorityChanged,
    ProtectionChanged,
    PersonalDataPurged,
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
    /// For staff registering a call, visit, e-mail or letter: when it
    /// reached the municipality (Förvaltningslagen 22 §). Default: now.
    pub received_at: Option<DateTime<Utc>>,
    /// The contact centre answered it on the spot: registered `CLOSED`
    /// with the answer in its history (first-contact resolution).
    pub answered_on_contact: Option<AnsweredOnContactInput>,
}

#[derive(InputObject)]
pub struct AnsweredOnContactInput {
    /// What the resident was told; also sent to them if they left an
    /// e-mail address.
    pub answer: String,
    /// Slugs of the knowledge-base articles used.
    #[graphql(default)]
    pub articles: Vec<String>,
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
            received_at: i.received_at,
            answered_on_contact: i.answered_on_contact.map(|a| AnswerInput {
                answer: a.answer,
                articles: a.articles,
            }),
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

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "AccessLevel", remote = "crate::domain::policy::Access")]
pub enum GqlAccess {
    /// Not readable: only reference and status of a change you just made.
    None,
    /// Reference, status, administration, dates and status history.
    StatusOnly,
    /// The resident's view: adds category and the messages to the resident.
    Resident,
    /// Everything, including personal data and internal notes.
    Full,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "ActorKind", remote = "crate::domain::history::ActorKind")]
pub enum GqlActorKind {
    Resident,
    Staff,
    System,
}

/// A request, showing each caller only what the law lets them see: fields
/// outside the caller's `access` are null.
pub struct Request {
    pub record: RequestRecord,
    pub access: Access,
    /// Shown in a list: personal identity numbers are masked there.
    pub listed: bool,
    /// Contact data and location may be shown: not for a protected
    /// identity, except to the owning administration's handlers.
    pub personal: bool,
}

impl Request {
    pub fn resident(record: RequestRecord) -> Self {
        Self {
            record,
            access: Access::Resident,
            listed: false,
            personal: false,
        }
    }

    /// The request as `caller` may see it. A caller who just acted on a
    /// request that has left their reach (rerouted away) still sees what
    /// they did, at status level.
    pub fn for_caller(
        services: &Services,
        caller: &Caller,
        record: RequestRecord,
        listed: bool,
    ) -> Self {
        let access = match services.access(caller, &record) {
            Access::None => Access::StatusOnly,
            access => access,
        };
        let personal = !record.protected_identity
            || caller
                .actor()
                .is_some_and(|a| a.handles(&record.administration));
        Self {
            record,
            access,
            listed,
            personal,
        }
    }

    fn full(&self) -> bool {
        self.access == Access::Full
    }

    fn sees_category(&self) -> bool {
        matches!(self.access, Access::Full | Access::Resident)
    }

    fn full_only<T>(&self, value: impl FnOnce(&RequestRecord) -> T) -> Option<T> {
        self.full().then(|| value(&self.record))
    }

    /// Whether the caller may read this personal-data field; if so the read
    /// goes to the access log. Without a log to write to (a WebSocket
    /// operation) the field stays closed: no personal data unlogged.
    fn personal_data(&self, ctx: &Context<'_>, field: &'static str) -> bool {
        let allowed = self.full() && (field == "description" || self.personal);
        match ctx.data_opt::<Arc<AccessRecorder>>() {
            Some(recorder) if allowed => {
                recorder.note(self.record.id, field);
                true
            }
            _ => false,
        }
    }

    /// Dates are shown to everyone who may know of the request, except due
    /// dates at status level: they would reveal the category's service level,
    /// and so the category.
    fn sees_service_levels(&self) -> bool {
        self.access != Access::StatusOnly
    }
}

/// A file that came with a request.
#[derive(SimpleObject)]
pub struct Attachment {
    pub id: async_graphql::ID,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// Where staff download it (`GET`, with their bearer token).
    pub url: String,
    pub received_at: DateTime<Utc>,
}

impl From<AttachmentInfo> for Attachment {
    fn from(a: AttachmentInfo) -> Self {
        Self {
            id: a.id.into(),
            url: format!("/attachments/{}", a.id),
            filename: a.filename,
            content_type: a.content_type,
            size_bytes: a.size_bytes,
            received_at: a.created_at,
        }
    }
}

#[derive(SimpleObject)]
pub struct Contact {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Personnummer, 12 digits.
    pub personal_number: Option<String>,
}

#[derive(SimpleObject)]
pub struct Location {
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub address: Option<String>,
}

#[derive(SimpleObject)]
pub struct Assignee {
    pub sub: String,
    pub name: Option<String>,
}

#[derive(SimpleObject)]
pub struct ClassificationInfo {
    pub confidence: f64,
    /// The words or rule that decided, for the contact centre.
    pub explanation: String,
}

#[Object]
impl Request {
    /// The reference to quote, e.g. `EVI-2026-000123-4`.
    async fn reference(&self) -> &str {
        &self.record.reference
    }

    async fn status(&self) -> GqlRequestStatus {
        self.record.status.into()
    }

    /// The status to tell the resident: a duplicate follows its original.
    async fn effective_status(&self, ctx: &Context<'_>) -> async_graphql::Result<GqlRequestStatus> {
        Ok(services(ctx)?
            .followed_status(&self.record)
            .await
            .gql()?
            .into())
    }

    /// What the caller may see of this request.
    async fn access(&self) -> GqlAccess {
        self.access.into()
    }

    /// Category code; empty while the request waits in triage.
    async fn category(&self) -> Option<&str> {
        self.record
            .category
            .as_deref()
            .filter(|_| self.sees_category())
    }

    /// Category name in the request's language.
    async fn category_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        if !self.sees_category() {
            return Ok(None);
        }
        let catalogue = services(ctx)?.catalogue();
        Ok(self
            .record
            .category
            .as_deref()
            .and_then(|c| catalogue.category(c))
            .map(|c| c.name.get(self.record.language).to_owned()))
    }

    /// Code of the administration that owns the request now.
    async fn administration(&self) -> &str {
        &self.record.administration
    }

    async fn administration_name(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<String>> {
        let catalogue = services(ctx)?.catalogue();
        Ok(catalogue
            .administration(&self.record.administration)
            .map(|a| a.name.get(self.record.language).to_owned()))
    }

    async fn channel(&self) -> GqlChannel {
        self.record.channel.into()
    }

    async fn language(&self) -> &str {
        self.record.language.code()
    }

    /// When the request reached the municipality on its channel.
    async fn received_at(&self) -> DateTime<Utc> {
        self.record.received_at
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.record.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.record.updated_at
    }

    /// First response is due by then (working days, Swedish calendar).
    async fn ack_due_at(&self) -> Option<DateTime<Utc>> {
        self.sees_service_levels().then_some(self.record.ack_due_at)
    }

    /// Resolution is due by then (working days, Swedish calendar).
    async fn resolve_due_at(&self) -> Option<DateTime<Utc>> {
        self.sees_service_levels()
            .then_some(self.record.resolve_due_at)
    }

    /// Past a service level while the municipality has the next move.
    async fn overdue(&self) -> Option<bool> {
        self.sees_service_levels()
            .then(|| self.record.is_overdue(Utc::now()))
    }

    /// The resident's own words. Full access only; the read is logged.
    async fn description(&self, ctx: &Context<'_>) -> Option<&str> {
        self.personal_data(ctx, "description")
            .then_some(self.record.description.as_str())
    }

    async fn queue(&self) -> Option<&str> {
        self.full().then_some(self.record.queue.as_str())
    }

    /// The language the resident wrote in (ISO 639-3, e.g. `ara`, `som`),
    /// when it is neither Swedish nor English: such a request waits in
    /// triage for someone who reads it. Null for Swedish and English.
    async fn text_language(&self) -> Option<&str> {
        self.full()
            .then_some(self.record.text_language.as_deref())
            .flatten()
    }

    async fn priority(&self) -> Option<GqlPriority> {
        self.full_only(|r| r.priority.into())
    }

    /// Increases with every change; send it back as `expectedVersion` so a
    /// change made meanwhile by someone else is not overwritten.
    async fn version(&self) -> Option<i32> {
        self.full_only(|r| r.version)
    }

    async fn confidential(&self) -> Option<bool> {
        self.full_only(|r| r.confidential)
    }

    async fn protected_identity(&self) -> Option<bool> {
        self.full_only(|r| r.protected_identity)
    }

    /// Personal identity numbers are masked (`19800101-****`) in lists.
    /// Full access only, never for a protected identity outside the owning
    /// administration; the read is logged.
    async fn contact(&self, ctx: &Context<'_>) -> Option<Contact> {
        if !self.personal_data(ctx, "contact") {
            return None;
        }
        let listed = self.listed;
        self.full_only(|r| Contact {
            name: r.contact_name.clone(),
            email: r.contact_email.clone(),
            phone: r.contact_phone.clone(),
            personal_number: r
                .personal_number
                .as_deref()
                .map(|p| if listed { mask(p) } else { p.to_owned() }),
        })
    }

    /// Files the resident sent by e-mail: full access only, like
    /// `contact`; the read is logged. Download each from its `url` with
    /// the same token.
    async fn attachments(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<Attachment>>> {
        if !self.personal_data(ctx, "attachments") {
            return Ok(None);
        }
        let files = services(ctx)?.attachments_of(&self.record).await.gql()?;
        Ok(Some(files.into_iter().map(Attachment::from).collect()))
    }

    /// Full access only, like `contact`; the read is logged.
    async fn location(&self, ctx: &Context<'_>) -> Option<Location> {
        if !self.personal_data(ctx, "location") {
            return None;
        }
        self.full_only(|r| Location {
            latitude: r.location_latitude,
            longitude: r.location_longitude,
            address: r.location_address.clone(),
        })
    }

    /// The handler working on it.
    async fn assignee(&self) -> Option<Assignee> {
        self.full_only(|r| {
            r.assignee_sub.clone().map(|sub| Assignee {
                sub,
                name: r.assignee_name.clone(),
            })
        })
        .flatten()
    }

    /// Staff who registered it on the resident's behalf.
    async fn registered_by(&self) -> Option<&str> {
        self.full()
            .then_some(self.record.registered_by.as_deref())
            .flatten()
    }

    async fn classification(&self) -> Option<ClassificationInfo> {
        self.full_only(|r| ClassificationInfo {
            confidence: r.classification_confidence,
            explanation: r.classification_explanation.clone(),
        })
    }

    /// Oldest first. Staff with full access see every event with its actor
    /// and notes; the resident sees status changes and messages; others see
    /// status changes only.
    async fn history(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<HistoryEvent>> {
        let entries = services(ctx)?
            .history(&self.record, self.access, super::caller(ctx))
            .await
            .gql()?;
        Ok(entries.into_iter().map(HistoryEvent).collect())
    }
}

pub struct HistoryEvent(HistoryEntry);

impl HistoryEvent {
    pub fn new(entry: HistoryEntry) -> Self {
        Self(entry)
    }
}

#[derive(SimpleObject)]
pub struct EventActorView {
    pub kind: GqlActorKind,
    pub id: Option<String>,
    pub name: Option<String>,
}

#[Object]
impl HistoryEvent {
    async fn kind(&self) -> GqlEventKind {
        self.0.kind.into()
    }

    /// The status the request moved to, if the event changed it.
    async fn status(&self) -> Option<GqlRequestStatus> {
        self.0.status.map(Into::into)
    }

    /// Message to or from the resident, if any.
    async fn message(&self) -> Option<&str> {
        self.0.message.as_deref()
    }

    /// Whether the resident sees this event.
    async fn public(&self) -> bool {
        self.0.public
    }

    /// Internal note (staff with full access only).
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    /// Who acted (staff with full access only).
    async fn actor(&self) -> Option<EventActorView> {
        self.0.actor.as_ref().map(|a| EventActorView {
            kind: a.kind.into(),
            id: a.id.clone(),
            name: a.name.clone(),
        })
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

pub(crate) fn language_or_default(language: Option<String>) -> async_graphql::Result<Language> {
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

/// A page of requests, newest first.
#[derive(SimpleObject)]
pub struct RequestConnection {
    pub edges: Vec<RequestEdge>,
    pub nodes: Vec<Request>,
    pub page_info: PageInfo,
}

#[derive(SimpleObject)]
pub struct RequestEdge {
    pub cursor: String,
    pub node: Request,
}

#[derive(SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

impl Request {
    fn listed_copy(&self) -> Self {
        Self {
            record: self.record.clone(),
            access: self.access,
            listed: true,
            personal: self.personal,
        }
    }
}

/// Edges and nodes of one page; `view` decides what each caller sees.
pub fn connection(
    items: Vec<(String, RequestRecord)>,
    has_next_page: bool,
    view: impl Fn(RequestRecord) -> Request,
) -> RequestConnection {
    let end_cursor = items.last().map(|(cursor, _)| cursor.clone());
    let edges: Vec<RequestEdge> = items
        .into_iter()
        .map(|(cursor, record)| RequestEdge {
            cursor,
            node: view(record),
        })
        .collect();
    RequestConnection {
        nodes: edges.iter().map(|e| e.node.listed_copy()).collect(),
        edges,
        page_info: PageInfo {
            has_next_page,
            end_cursor,
        },
    }
}
