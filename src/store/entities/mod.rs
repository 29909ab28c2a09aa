//! sea-orm entities, one module per table. Only the store uses them.

pub mod access_log;
pub mod administrations;
pub mod article_versions;
pub mod articles;
pub mod attachments;
pub mod catalogue_documents;
pub mod categories;
pub mod classifier_corrections;
pub mod deflections;
pub mod idempotency_keys;
pub mod notifications;
pub mod queues;
pub mod request_events;
pub mod request_search_terms;
pub mod requests;
pub mod training_history;
