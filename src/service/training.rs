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
    /// Imported texts stored now in all, from every import.
    pub stored: u64,
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
    let (new, stored) = store::transaction(db, |tx| async move {
        let new = store::training::insert_new(&tx, examples, source, now).await?;
        let stored = store::training::count(&tx).await?;
        Ok::<_, ServiceError>((tx, (new, stored)))
    })
    .await?;
    let total = u64::try_from(texts.len()).unwrap_or(u64::MAX);
    Ok(Imported {
        new,
        already: total.saturating_sub(new),
        stored,
    })
}

/// What a server trains on beside the shipped corpus.
pub struct TrainingTexts {
    pub texts: Vec<LabelledCase>,
    /// Ids of the stored corrections this start has dealt with: trained
    /// on, or left out as older than `max_texts` allows. Neither kind is
    /// to be learned again one at a time.
    pub corrections: Vec<i64>,
    /// Imported texts and corrections stored but left out.
    pub left_out: u64,
}

/// What a server trains on beside the shipped corpus: staff corrections
/// into a category it may learn (`Services::learn_correction` says which)
/// and the imported history, newest first, at most `max_texts` of them,
/// corrections before history. Trained on together, a few hundred
/// corrections move routing of texts nobody corrected further than the
/// same corrections applied one at a time (`envagin-eval`'s learning
/// curve); corrections made after the start are still applied at once.
/// The cap keeps start-up time and memory bounded however much history is
/// imported (`Config::training_max_texts` says what each text costs).
pub async fn training_texts(
    db: &DatabaseConnection,
    catalogue: &Catalogue,
    max_texts: u64,
) -> Result<TrainingTexts, StoreError> {
    let case = |text: String, category: String, writer: &str| LabelledCase {
        text,
        category,
        emergency: false,
        language: None,
        writer: Some(writer.to_owned()),
    };
    let mut corrections: Vec<_> = store::work::all_corrections(db)
        .await?
        .into_iter()
        .filter(|c| learnable(catalogue, &c.to_category))
        .collect();
    let ids = corrections.iter().map(|c| c.id).collect();
    let skipped_corrections = corrections
        .len()
        .saturating_sub(usize::try_from(max_texts).unwrap_or(usize::MAX));
    let mut texts: Vec<LabelledCase> = corrections
        .drain(skipped_corrections..)
        .map(|c| case(c.text, c.to_category, "correction"))
        .collect();
    let room = max_texts.saturating_sub(texts.len() as u64);
    let (history, stored) = store::training::newest(db, room).await?;
    let used_history = history.len() as u64;
    texts.extend(
        history
            .into_iter()
            .map(|(text, category)| case(text, category, "history")),
    );
    Ok(TrainingTexts {
        texts,
        corrections: ids,
        left_out: skipped_corrections as u64 + stored.saturating_sub(used_history),
    })
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
