//! Schema migrations for En väg in. The same migrations run on SQLite and
//! PostgreSQL; where the two need different SQL (the reference sequence) the
//! migration branches on the backend, never the application code.

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_catalogue;
mod m20261126_000002_requests;
mod m20261126_000003_lookup;
mod m20261126_000004_outbox;
mod m20261126_000005_knowledge;
mod m20261203_000006_text_language;
mod m20261203_000007_training_history;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_catalogue::Migration),
            Box::new(m20261126_000002_requests::Migration),
            Box::new(m20261126_000003_lookup::Migration),
            Box::new(m20261126_000004_outbox::Migration),
            Box::new(m20261126_000005_knowledge::Migration),
            Box::new(m20261203_000006_text_language::Migration),
            Box::new(m20261203_000007_training_history::Migration),
        ]
    }
}
