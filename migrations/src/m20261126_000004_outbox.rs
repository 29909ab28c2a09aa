//! Residents hear back and other systems connect: the notification outbox
//! (written in the same transaction as the change it tells of, delivered
//! by a background sender) and attachments that arrive by e-mail.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Requests {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Notifications {
    Table,
    Id,
    MessageId,
    RequestId,
    Channel,
    Recipient,
    Occasion,
    Subject,
    BodyText,
    BodyHtml,
    State,
    Attempts,
    NextAttemptAt,
    LeasedBy,
    LastError,
    CreatedAt,
    SentAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Attachments {
    Table,
    Id,
    RequestId,
    Filename,
    ContentType,
    SizeBytes,
    Content,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(big_pk_auto(Notifications::Id))
                    .col(string_len_uniq(Notifications::MessageId, 64))
                    .col(big_integer(Notifications::RequestId))
                    .col(string_len(Notifications::Channel, 16))
                    .col(string_len(Notifications::Recipient, 320))
                    .col(string_len(Notifications::Occasion, 32))
                    .col(string_len_null(Notifications::Subject, 500))
                    .col(text_null(Notifications::BodyText))
                    .col(text_null(Notifications::BodyHtml))
                    .col(string_len(Notifications::State, 16))
                    .col(integer(Notifications::Attempts).default(0))
                    .col(timestamp_with_time_zone(Notifications::NextAttemptAt))
                    .col(string_len_null(Notifications::LeasedBy, 100))
                    .col(text_null(Notifications::LastError))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .col(timestamp_with_time_zone_null(Notifications::SentAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Notifications::Table, Notifications::RequestId)
                            .to(Requests::Table, Requests::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // The sender's claim: pending rows by due time. A claimed row's next
        // attempt time is its lease: if the sender dies, it falls due again.
        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_due")
                    .table(Notifications::Table)
                    .col(Notifications::State)
                    .col(Notifications::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        // The retention purge removes a request's messages with it.
        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_request")
                    .table(Notifications::Table)
                    .col(Notifications::RequestId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Attachments::Table)
                    .col(big_pk_auto(Attachments::Id))
                    .col(big_integer(Attachments::RequestId))
                    .col(string_len(Attachments::Filename, 200))
                    .col(string_len(Attachments::ContentType, 100))
                    .col(big_integer(Attachments::SizeBytes))
                    .col(blob(Attachments::Content))
                    .col(timestamp_with_time_zone(Attachments::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Attachments::Table, Attachments::RequestId)
                            .to(Requests::Table, Requests::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_attachments_request")
                    .table(Attachments::Table)
                    .col(Attachments::RequestId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Attachments::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Notifications::Table).to_owned())
            .await
    }
}
