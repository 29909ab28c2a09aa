//! The operator's own labelled history as training data
//! (`envagin import-history`), and what the classifier trains on at
//! start-up beside the shipped corpus.

use chrono::Utc;
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};

use super::ServiceError;
use crate::domain::catalogue::Catalogue;
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

/// What a server trains on beside the shipped corpus: the imported
/// history and every stored staff correction into a category it may learn
/// (`Services::learn_correction` says which), with the corrections' ids.
/// Trained on together, a few hundred corrections move routing of texts
/// nobody corrected further than the same corrections applied one at a
/// time (`envagin-eval`'s learning curve); corrections made after the
/// start are still applied at once.
pub async fn training_texts(
    db: &DatabaseConnection,
    catalogue: &Catalogue,
) -> Result<(Vec<LabelledCase>, Vec<i64>), StoreError> {
    let case = |text: String, category: String, writer: &str| LabelledCase {
        text,
        category,
        emergency: false,
        language: None,
        writer: Some(writer.to_owned()),
    };
    let mut texts: Vec<LabelledCase> = store::training::all(db)
        .await?
        .into_iter()
        .map(|(text, category)| case(text, category, "history"))
        .collect();
    let mut ids = Vec::new();
    for correction in store::work::all_corrections(db).await? {
        if learnable(catalogue, &correction.to_category) {
            ids.push(correction.id);
            texts.push(case(correction.text, correction.to_category, "correction"));
        }
    }
    Ok((texts, ids))
}

/// Whether texts routed to `category` may shape the model: not when it is
/// confidential, for the model's explanations quote the words it learned.
pub fn learnable(catalogue: &Catalogue, category: &str) -> bool {
    catalogue
        .category(category)
        .is_some_and(|c| !catalogue.is_confidential(c))
}

/// The same text under the same category is the same example, however
/// often it is exported.
fn fingerprint(text: &LabelledText) -> String {
    let mut hasher = Sha256::new();
    hasher.update(text.category.as_bytes());
    hasher.update([0]);
    hasher.update(text.text.as_bytes());
    hex::encode(hasher.finalize())
}
