//! Answer on the spot: the knowledge base (articles and every version of
//! them), anonymous deflections, and requests answered at first contact.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Requests {
    Table,
    FirstContact,
}

#[derive(DeriveIden, Clone, Copy)]
enum Articles {
    Table,
    Id,
    Slug,
    Language,
    CategoryCode,
    Title,
    Body,
    Keywords,
    Published,
    Version,
    Author,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ArticleVersions {
    Table,
    Id,
    ArticleId,
    Version,
    CategoryCode,
    Title,
    Body,
    Keywords,
    Published,
    Author,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Deflections {
    Table,
    Id,
    ArticleId,
    CategoryCode,
    Language,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Requests::Table)
                    .add_column(boolean(Requests::FirstContact).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Articles::Table)
                    .col(big_pk_auto(Articles::Id))
                    .col(string_len(Articles::Slug, 100))
                    .col(string_len(Articles::Language, 2))
                    .col(string_len_null(Articles::CategoryCode, 64))
                    .col(string_len(Articles::Title, 300))
                    .col(text(Articles::Body))
                    .col(text(Articles::Keywords))
                    .col(boolean(Articles::Published))
                    .col(integer(Articles::Version))
                    .col(string_len(Articles::Author, 200))
                    .col(timestamp_with_time_zone(Articles::CreatedAt))
                    .col(timestamp_with_time_zone(Articles::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_articles_slug_language")
                    .table(Articles::Table)
                    .col(Articles::Slug)
                    .col(Articles::Language)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ArticleVersions::Table)
                    .col(big_pk_auto(ArticleVersions::Id))
                    .col(big_integer(ArticleVersions::ArticleId))
                    .col(integer(ArticleVersions::Version))
                    .col(string_len_null(ArticleVersions::CategoryCode, 64))
                    .col(string_len(ArticleVersions::Title, 300))
                    .col(text(ArticleVersions::Body))
                    .col(text(ArticleVersions::Keywords))
                    .col(boolean(ArticleVersions::Published))
                    .col(string_len(ArticleVersions::Author, 200))
                    .col(timestamp_with_time_zone(ArticleVersions::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ArticleVersions::Table, ArticleVersions::ArticleId)
                            .to(Articles::Table, Articles::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_article_versions_article")
                    .table(ArticleVersions::Table)
                    .col(ArticleVersions::ArticleId)
                    .col(ArticleVersions::Version)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Deflections::Table)
                    .col(big_pk_auto(Deflections::Id))
                    .col(big_integer_null(Deflections::ArticleId))
                    .col(string_len_null(Deflections::CategoryCode, 64))
                    .col(string_len(Deflections::Language, 2))
                    .col(timestamp_with_time_zone(Deflections::At))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_deflections_at")
                    .table(Deflections::Table)
                    .col(Deflections::At)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Deflections::Table.into_iden(),
            ArticleVersions::Table.into_iden(),
            Articles::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Requests::Table)
                    .drop_column(Requests::FirstContact)
                    .to_owned(),
            )
            .await
    }
}
