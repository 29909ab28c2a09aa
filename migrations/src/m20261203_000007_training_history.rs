//! Texts an operator imported from their own labelled history
//! (`envagin import-history`), which the classifier trains on at start-up
//! beside the shipped corpus. The fingerprint makes a second import of the
//! same export add nothing.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum TrainingHistory {
    Table,
    Id,
    Fingerprint,
    Text,
    CategoryCode,
    Source,
    ImportedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TrainingHistory::Table)
                    .col(big_pk_auto(TrainingHistory::Id))
                    .col(string_len_uniq(TrainingHistory::Fingerprint, 64))
                    .col(text(TrainingHistory::Text))
                    .col(string_len(TrainingHistory::CategoryCode, 64))
                    .col(string_len(TrainingHistory::Source, 500))
                    .col(timestamp_with_time_zone(TrainingHistory::ImportedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TrainingHistory::Table).to_owned())
            .await
    }
}
