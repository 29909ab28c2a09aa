//! The routing catalogue: administrations, their queues and the categories
//! that route into them, plus every catalogue document ever loaded so that
//! each replica reads the same catalogue from the database.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
pub enum CatalogueDocuments {
    Table,
    Id,
    Checksum,
    Source,
    Content,
    LoadedAt,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Administrations {
    Table,
    Code,
    NameSv,
    NameEn,
    Confidential,
    Active,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Queues {
    Table,
    Code,
    AdministrationCode,
    NameSv,
    NameEn,
    Active,
}

#[derive(DeriveIden, Clone, Copy)]
pub enum Categories {
    Table,
    Code,
    AdministrationCode,
    QueueCode,
    NameSv,
    NameEn,
    Priority,
    AckDays,
    ResolveDays,
    Confidential,
    Referral,
    Active,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CatalogueDocuments::Table)
                    .col(big_pk_auto(CatalogueDocuments::Id))
                    .col(string_len(CatalogueDocuments::Checksum, 64))
                    .col(string_len(CatalogueDocuments::Source, 1024))
                    .col(text(CatalogueDocuments::Content))
                    .col(timestamp_with_time_zone(CatalogueDocuments::LoadedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Administrations::Table)
                    .col(string_len(Administrations::Code, 32).primary_key())
                    .col(string_len(Administrations::NameSv, 200))
                    .col(string_len(Administrations::NameEn, 200))
                    .col(boolean(Administrations::Confidential))
                    .col(boolean(Administrations::Active))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Queues::Table)
                    .col(string_len(Queues::Code, 32).primary_key())
                    .col(string_len(Queues::AdministrationCode, 32))
                    .col(string_len(Queues::NameSv, 200))
                    .col(string_len(Queues::NameEn, 200))
                    .col(boolean(Queues::Active))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Queues::Table, Queues::AdministrationCode)
                            .to(Administrations::Table, Administrations::Code),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Categories::Table)
                    .col(string_len(Categories::Code, 64).primary_key())
                    .col(string_len(Categories::AdministrationCode, 32))
                    .col(string_len(Categories::QueueCode, 32))
                    .col(string_len(Categories::NameSv, 200))
                    .col(string_len(Categories::NameEn, 200))
                    .col(small_integer(Categories::Priority))
                    .col(integer(Categories::AckDays))
                    .col(integer(Categories::ResolveDays))
                    .col(boolean(Categories::Confidential))
                    .col(boolean(Categories::Referral))
                    .col(boolean(Categories::Active))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Categories::Table, Categories::AdministrationCode)
                            .to(Administrations::Table, Administrations::Code),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Categories::Table, Categories::QueueCode)
                            .to(Queues::Table, Queues::Code),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Categories::Table.into_iden(),
            Queues::Table.into_iden(),
            Administrations::Table.into_iden(),
            CatalogueDocuments::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
