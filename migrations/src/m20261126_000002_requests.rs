//! Requests, their append-only history, idempotency records and the
//! reference sequence.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

use crate::m20261126_000001_catalogue::{Administrations, Categories, Queues};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Requests {
    Table,
    Id,
    Reference,
    TrackingCodeHash,
    Status,
    Channel,
    Language,
    Description,
    CategoryCode,
    AdministrationCode,
    QueueCode,
    Priority,
    Confidential,
    ProtectedIdentity,
    ClassificationConfidence,
    ClassificationExplanation,
    LocationLatitude,
    LocationLongitude,
    LocationAddress,
    ContactName,
    ContactEmail,
    ContactPhone,
    PersonalNumber,
    RegisteredBy,
    CitizenSub,
    AssigneeSub,
    AssigneeName,
    DuplicateOf,
    Version,
    ReceivedAt,
    AckDueAt,
    ResolveDueAt,
    AcknowledgedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum RequestEvents {
    Table,
    Id,
    RequestId,
    Kind,
    FromStatus,
    ToStatus,
    ActorKind,
    ActorId,
    ActorName,
    Public,
    Message,
    Note,
    Detail,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum IdempotencyKeys {
    Table,
    KeyHash,
    Fingerprint,
    RequestId,
    SealedTrackingCode,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ClassifierCorrections {
    Table,
    Id,
    RequestId,
    Text,
    FromCategory,
    ToCategory,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Counters {
    Table,
    Name,
    Value,
}

/// PostgreSQL hands out reference numbers from a sequence: no row lock is held
/// until commit, so concurrent submissions on many replicas never wait on each
/// other. SQLite has a single writer anyway, so a counter row costs nothing.
const PG_SEQUENCE: &str = "CREATE SEQUENCE IF NOT EXISTS request_reference_seq";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_requests(manager).await?;
        create_events(manager).await?;
        create_idempotency(manager).await?;
        create_corrections(manager).await?;
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                manager
                    .get_connection()
                    .execute_unprepared(PG_SEQUENCE)
                    .await?;
            }
            _ => {
                manager
                    .create_table(
                        Table::create()
                            .table(Counters::Table)
                            .col(string_len(Counters::Name, 64).primary_key())
                            .col(big_integer(Counters::Value))
                            .to_owned(),
                    )
                    .await?;
                manager
                    .exec_stmt(
                        Query::insert()
                            .into_table(Counters::Table)
                            .columns([Counters::Name, Counters::Value])
                            .values_panic(["request_reference".into(), 0i64.into()])
                            .to_owned(),
                    )
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                manager
                    .get_connection()
                    .execute_unprepared("DROP SEQUENCE IF EXISTS request_reference_seq")
                    .await?;
            }
            _ => {
                manager
                    .drop_table(Table::drop().table(Counters::Table).to_owned())
                    .await?;
            }
        }
        for table in [
            ClassifierCorrections::Table.into_iden(),
            IdempotencyKeys::Table.into_iden(),
            RequestEvents::Table.into_iden(),
            Requests::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

async fn create_requests(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Requests::Table)
                .col(big_pk_auto(Requests::Id))
                .col(string_len_uniq(Requests::Reference, 32))
                .col(string_len(Requests::TrackingCodeHash, 64))
                .col(string_len(Requests::Status, 32))
                .col(string_len(Requests::Channel, 16))
                .col(string_len(Requests::Language, 8))
                .col(text(Requests::Description))
                .col(string_len_null(Requests::CategoryCode, 64))
                .col(string_len(Requests::AdministrationCode, 32))
                .col(string_len(Requests::QueueCode, 32))
                .col(small_integer(Requests::Priority))
                .col(boolean(Requests::Confidential))
                .col(boolean(Requests::ProtectedIdentity))
                .col(double(Requests::ClassificationConfidence))
                .col(text(Requests::ClassificationExplanation))
                .col(double_null(Requests::LocationLatitude))
                .col(double_null(Requests::LocationLongitude))
                .col(string_len_null(Requests::LocationAddress, 500))
                .col(string_len_null(Requests::ContactName, 200))
                .col(string_len_null(Requests::ContactEmail, 254))
                .col(string_len_null(Requests::ContactPhone, 20))
                .col(string_len_null(Requests::PersonalNumber, 12))
                .col(string_len_null(Requests::RegisteredBy, 200))
                .col(string_len_null(Requests::CitizenSub, 200))
                .col(string_len_null(Requests::AssigneeSub, 200))
                .col(string_len_null(Requests::AssigneeName, 200))
                .col(big_integer_null(Requests::DuplicateOf))
                .col(integer(Requests::Version))
                .col(timestamp_with_time_zone(Requests::ReceivedAt))
                .col(timestamp_with_time_zone(Requests::AckDueAt))
                .col(timestamp_with_time_zone(Requests::ResolveDueAt))
                .col(timestamp_with_time_zone_null(Requests::AcknowledgedAt))
                .col(timestamp_with_time_zone(Requests::CreatedAt))
                .col(timestamp_with_time_zone(Requests::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Requests::Table, Requests::CategoryCode)
                        .to(Categories::Table, Categories::Code),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Requests::Table, Requests::AdministrationCode)
                        .to(Administrations::Table, Administrations::Code),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Requests::Table, Requests::QueueCode)
                        .to(Queues::Table, Queues::Code),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Requests::Table, Requests::DuplicateOf)
                        .to(Requests::Table, Requests::Id),
                )
                .to_owned(),
        )
        .await?;
    // The queue pull and the queue view: one queue, one status, most urgent
    // first (priority descending, then due time, then age) — the index has
    // the query's exact order, so a claim reads one index entry instead of
    // sorting the whole queue.
    manager
        .create_index(
            Index::create()
                .name("idx_requests_queue")
                .table(Requests::Table)
                .col(Requests::QueueCode)
                .col(Requests::Status)
                .col((Requests::Priority, IndexOrder::Desc))
                .col(Requests::ResolveDueAt)
                .col(Requests::Id)
                .to_owned(),
        )
        .await?;
    index(
        manager,
        "idx_requests_duplicate_of",
        Requests::Table,
        &[Requests::DuplicateOf],
    )
    .await?;
    index(
        manager,
        "idx_requests_citizen",
        Requests::Table,
        &[Requests::CitizenSub],
    )
    .await?;
    index(
        manager,
        "idx_requests_created",
        Requests::Table,
        &[Requests::CreatedAt],
    )
    .await
}

async fn create_events(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(RequestEvents::Table)
                .col(big_pk_auto(RequestEvents::Id))
                .col(big_integer(RequestEvents::RequestId))
                .col(string_len(RequestEvents::Kind, 32))
                .col(string_len_null(RequestEvents::FromStatus, 32))
                .col(string_len_null(RequestEvents::ToStatus, 32))
                .col(string_len(RequestEvents::ActorKind, 16))
                .col(string_len_null(RequestEvents::ActorId, 200))
                .col(string_len_null(RequestEvents::ActorName, 200))
                .col(boolean(RequestEvents::Public))
                .col(text_null(RequestEvents::Message))
                .col(text_null(RequestEvents::Note))
                .col(text_null(RequestEvents::Detail))
                .col(timestamp_with_time_zone(RequestEvents::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(RequestEvents::Table, RequestEvents::RequestId)
                        .to(Requests::Table, Requests::Id),
                )
                .to_owned(),
        )
        .await?;
    index(
        manager,
        "idx_request_events_request",
        RequestEvents::Table,
        &[RequestEvents::RequestId, RequestEvents::Id],
    )
    .await
}

async fn create_idempotency(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(IdempotencyKeys::Table)
                .col(string_len(IdempotencyKeys::KeyHash, 64).primary_key())
                .col(string_len(IdempotencyKeys::Fingerprint, 64))
                .col(big_integer(IdempotencyKeys::RequestId))
                .col(string_len(IdempotencyKeys::SealedTrackingCode, 64))
                .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(IdempotencyKeys::Table, IdempotencyKeys::RequestId)
                        .to(Requests::Table, Requests::Id),
                )
                .to_owned(),
        )
        .await?;
    // Expired keys are purged by age.
    index(
        manager,
        "idx_idempotency_keys_created",
        IdempotencyKeys::Table,
        &[IdempotencyKeys::CreatedAt],
    )
    .await
}

/// Reroutes by people, which the classifier learns from.
async fn create_corrections(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(ClassifierCorrections::Table)
                .col(big_pk_auto(ClassifierCorrections::Id))
                .col(big_integer(ClassifierCorrections::RequestId))
                .col(text(ClassifierCorrections::Text))
                .col(string_len_null(ClassifierCorrections::FromCategory, 64))
                .col(string_len(ClassifierCorrections::ToCategory, 64))
                .col(string_len(ClassifierCorrections::CreatedBy, 200))
                .col(timestamp_with_time_zone(ClassifierCorrections::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            ClassifierCorrections::Table,
                            ClassifierCorrections::RequestId,
                        )
                        .to(Requests::Table, Requests::Id),
                )
                .to_owned(),
        )
        .await
}

async fn index<T, C>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
    cols: &[C],
) -> Result<(), DbErr>
where
    T: IntoIden + Copy + 'static,
    C: IntoIden + Copy + 'static,
{
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for col in cols {
        stmt.col(*col);
    }
    manager.create_index(stmt.to_owned()).await
}
