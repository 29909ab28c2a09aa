//! The operator's own labelled history as training data
//! (`envagin import-history`), and what the classifier trains on at
//! start-up beside the shipped corpus.

use chrono::Utc;
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};

use super::ServiceError;
use crate::domain::eval::LabelledCase;
use crate::domain::history_import::LabelledText;
use crate::store::{self, StoreError};

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    /// Texts stored now.
    pub new: u64,
    /// Texts an earlier import had already stored.
    pub already: u64,
}

/// Stores every text of `texts` not stored before, in one transaction:
/// an import is whole or not made. The classifier learns them the next
/// time a server starts.
pub async fn import_history(
    db: &DatabaseConnection,
    texts: &[LabelledText],
    source: &str,
) -> Result<Imported, ServiceError> {
    let examples: Vec<store::training::NewExample<'_>> = texts
        .iter()
        .map(|t| store::training::NewExample {
            fingerprint: fingerprint(t),
            text: &t.text,
            category: &t.category,
        })
        .collect();
    let examples = &examples;
    let now = Utc::now();
    let new = store::transaction(db, |tx| async move {
        let new = store::training::insert_new(&tx, examples, source, now).await?;
        Ok::<_, ServiceError>((tx, new))
    })
    .await?;
    let total = u64::try_from(texts.len()).unwrap_or(u64::MAX);
    Ok(Imported {
        new,
        already: total.saturating_sub(new),
    })
}

/// The imported history, as training cases.
pub async fn imported_history(db: &DatabaseConnection) -> Result<Vec<LabelledCase>, StoreError> {
    Ok(store::training::all(db)
        .await?
        .into_iter()
        .map(|(text, category)| LabelledCase {
            text,
            category,
            emergency: false,
            language: None,
            writer: Some("history".to_owned()),
        })
        .collect())
}

/// The same text under the same category is the same example, however
/// often it is exported.
fn fingerprint(text: &LabelledText) -> String {
    let mut hasher = Sha256::new();
    hasher.update(text.category.as_bytes());
    hasher.update([0]);
    hasher.update(text.text.as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
