//! Finding requests and protecting what is found: search columns and terms,
//! the personal-data access log, and what retention and statistics need.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Requests {
    Table,
    Id,
    Status,
    CreatedAt,
    AdministrationCode,
    CategoryCode,
    ContactEmail,
    ContactPhone,
    PersonalNumberDigest,
    ClosedAt,
    PurgedAt,
    FirstResponseDays,
    ResolutionDays,
    ResolvedOnTime,
    Triaged,
    Rerouted,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum RequestEvents {
    Table,
    AdministrationCode,
    Confidential,
}

#[derive(DeriveIden, Clone, Copy)]
enum RequestSearchTerms {
    Table,
    Term,
    RequestId,
}

#[derive(DeriveIden, Clone, Copy)]
enum AccessLog {
    Table,
    Id,
    RequestId,
    ActorSub,
    ActorName,
    Fields,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [
            string_len_null(Requests::PersonalNumberDigest, 64),
            timestamp_with_time_zone_null(Requests::ClosedAt),
            timestamp_with_time_zone_null(Requests::PurgedAt),
            integer_null(Requests::FirstResponseDays),
            integer_null(Requests::ResolutionDays),
            boolean_null(Requests::ResolvedOnTime),
            boolean(Requests::Triaged).default(false).to_owned(),
            boolean(Requests::Rerouted).default(false).to_owned(),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(Requests::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        // Each event remembers whose it was: a note written in a secret
        // administration stays secret after the request moves on.
        for column in [
            string_len_null(RequestEvents::AdministrationCode, 32),
            boolean(RequestEvents::Confidential)
                .default(false)
                .to_owned(),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(RequestEvents::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        // Every search path of the contact centre, newest first.
        for (name, cols) in [
            (
                "idx_requests_email",
                vec![Requests::ContactEmail, Requests::Id],
            ),
            (
                "idx_requests_phone",
                vec![Requests::ContactPhone, Requests::Id],
            ),
            (
                "idx_requests_personal_number",
                vec![Requests::PersonalNumberDigest, Requests::Id],
            ),
            ("idx_requests_status", vec![Requests::Status, Requests::Id]),
            (
                "idx_requests_administration",
                vec![Requests::AdministrationCode, Requests::Id],
            ),
            (
                "idx_requests_category",
                vec![Requests::CategoryCode, Requests::Id],
            ),
            // Statistics over a period.
            (
                "idx_requests_created_adm",
                vec![Requests::CreatedAt, Requests::AdministrationCode],
            ),
            // Closing resolved requests finds them by age.
            (
                "idx_requests_status_updated",
                vec![Requests::Status, Requests::UpdatedAt],
            ),
            // The retention purge finds finished requests by age.
            (
                "idx_requests_closed",
                vec![Requests::ClosedAt, Requests::PurgedAt],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Requests::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        // Terms are compared as bytes so that a prefix is a key range on
        // any server locale (SQLite compares bytes already).
        let mut term = string_len(RequestSearchTerms::Term, 64);
        if manager.get_database_backend() == sea_orm_migration::sea_orm::DbBackend::Postgres {
            term.extra("COLLATE \"C\"");
        }
        manager
            .create_table(
                Table::create()
                    .table(RequestSearchTerms::Table)
                    .col(term)
                    .col(big_integer(RequestSearchTerms::RequestId))
                    .primary_key(
                        Index::create()
                            .col(RequestSearchTerms::Term)
                            .col(RequestSearchTerms::RequestId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(RequestSearchTerms::Table, RequestSearchTerms::RequestId)
                            .to(Requests::Table, Requests::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_search_terms_request")
                    .table(RequestSearchTerms::Table)
                    .col(RequestSearchTerms::RequestId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AccessLog::Table)
                    .col(big_pk_auto(AccessLog::Id))
                    .col(big_integer(AccessLog::RequestId))
                    .col(string_len(AccessLog::ActorSub, 200))
                    .col(string_len_null(AccessLog::ActorName, 200))
                    .col(string_len(AccessLog::Fields, 500))
                    .col(timestamp_with_time_zone(AccessLog::At))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AccessLog::Table, AccessLog::RequestId)
                            .to(Requests::Table, Requests::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_access_log_request")
                    .table(AccessLog::Table)
                    .col(AccessLog::RequestId)
                    .col(AccessLog::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AccessLog::Table.into_iden(),
            RequestSearchTerms::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for name in [
            "idx_requests_email",
            "idx_requests_phone",
            "idx_requests_personal_number",
            "idx_requests_status",
            "idx_requests_administration",
            "idx_requests_category",
            "idx_requests_created_adm",
            "idx_requests_status_updated",
            "idx_requests_closed",
        ] {
            manager
                .drop_index(Index::drop().name(name).table(Requests::Table).to_owned())
                .await?;
        }
        for column in [
            Requests::PersonalNumberDigest,
            Requests::ClosedAt,
            Requests::PurgedAt,
            Requests::FirstResponseDays,
            Requests::ResolutionDays,
            Requests::ResolvedOnTime,
            Requests::Triaged,
            Requests::Rerouted,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Requests::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
