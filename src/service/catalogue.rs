//! Catalogue use cases: installing the catalogue at start, and the public
//! views of it (the catalogue itself and the classifier preview).

use std::net::IpAddr;
use std::time::Instant;

use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};

use super::compute::Urgency;
use super::{ServiceError, Services};
use crate::domain::Language;
use crate::domain::actor::Caller;
use crate::domain::catalogue::{Catalogue, CatalogueError};
use crate::domain::classifier::{Candidate, ClassifyRequest};
use crate::domain::routing::emergency_advice;
use crate::domain::submission::MAX_DESCRIPTION_CHARS;
use crate::domain::text::clean;
use crate::store::writer::Transient;
use crate::store::{self, StoreError};

/// Where the catalogue in force comes from.
pub enum CatalogueSource {
    /// The operator's file (`ENVAGIN_CATALOGUE`): installed whenever it
    /// differs from the catalogue in force.
    File { path: String, content: String },
    /// The built-in sample: installed only into an empty database, so that a
    /// catalogue an operator loaded earlier stays in force.
    Sample,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogueInstallError {
    #[error(transparent)]
    Invalid(#[from] CatalogueError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sea_orm::DbErr> for CatalogueInstallError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Store(StoreError::from(e))
    }
}

impl Transient for CatalogueInstallError {
    fn is_transient(&self) -> bool {
        matches!(self, Self::Store(e) if e.is_transient())
    }

    fn is_storage_fault(&self) -> bool {
        matches!(self, Self::Store(e) if e.is_storage_fault())
    }
}

/// What the installation did, for the log.
enum Installed {
    /// The catalogue in force was already this one.
    InForce,
    /// This one was installed, replacing `replaced` (its source and when it
    /// was loaded) if there was one.
    New { replaced: Option<(String, String)> },
}

/// Brings the database's catalogue up to date with `source` and returns the
/// catalogue in force. A file that fails validation is refused before
/// anything is written.
///
/// Replicas starting together take turns under the set-up lock: each
/// compares its catalogue with the one the previous replica left in force
/// and installs it only if it differs, so two installs never interleave
/// (they deadlocked on the code tables) and the same file is recorded once.
/// Replicas given different files install them one after the other: the
/// last one in is in force, and each install is whole.
pub async fn install_catalogue(
    db: &DatabaseConnection,
    source: CatalogueSource,
) -> Result<Catalogue, CatalogueInstallError> {
    let (name, file) = match source {
        CatalogueSource::File { path, content } => {
            let catalogue = Catalogue::parse(&content)?;
            (path, Some((catalogue, content)))
        }
        CatalogueSource::Sample => ("built-in sample".to_owned(), None),
    };
    let (file, name) = (&file, &name);
    let (catalogue, installed) = store::transaction(db, |tx| async move {
        store::lock_setup(&tx)
            .await
            .map_err(CatalogueInstallError::Store)?;
        let current = store::catalogue::latest_document(&tx).await?;
        let (catalogue, content) = match (file, &current) {
            (Some((catalogue, content)), _) => (catalogue.clone(), content.as_str()),
            (None, Some(doc)) => {
                let catalogue = Catalogue::parse(&doc.content)?;
                return Ok::<_, CatalogueInstallError>((tx, (catalogue, Installed::InForce)));
            }
            (None, None) => (
                Catalogue::parse(crate::domain::catalogue::SAMPLE)?,
                crate::domain::catalogue::SAMPLE,
            ),
        };
        let checksum = hex::encode(Sha256::digest(content.as_bytes()));
        if current.as_ref().is_some_and(|doc| doc.checksum == checksum) {
            return Ok((tx, (catalogue, Installed::InForce)));
        }
        store::catalogue::install(&tx, &catalogue, content, name, &checksum).await?;
        let replaced = current.map(|doc| (doc.source, doc.loaded_at.to_rfc3339()));
        Ok((tx, (catalogue, Installed::New { replaced })))
    })
    .await?;
    if let Installed::New { replaced } = installed {
        let (replaced_source, replaced_at) = replaced.unzip();
        tracing::info!(
            source = %name,
            administrations = catalogue.administrations().len(),
            categories = catalogue.categories().len(),
            replaced_source,
            replaced_at,
            "installed catalogue"
        );
    }
    Ok(catalogue)
}

impl Services {
    /// Takes one preview (classify, answers) from a resident's budget,
    /// counted like submissions (per address, or per subject when signed
    /// in): each costs real CPU, and anyone may ask. Staff are not counted.
    pub fn preview_budget(&self, caller: &Caller, client: IpAddr) -> Result<(), ServiceError> {
        if let Some(key) = super::submit::budget_key(caller, client)
            && self.inner.preview_limiter.reserve(key).is_none()
        {
            if let Some(refused) = self.inner.refusals.previews.count(Instant::now()) {
                tracing::warn!(refused, %client, "previews over a resident's budget: refused (count since the last such line; latest client)");
            }
            return Err(ServiceError::RateLimited);
        }
        Ok(())
    }

    /// The public preview behind the web form's "this sounds like …".
    pub async fn classify_preview(
        &self,
        text: &str,
        category_hint: Option<String>,
        first: usize,
    ) -> Result<Vec<Candidate>, ServiceError> {
        let text = preview_text(text)?;
        let mut candidates = self
            .compute(Urgency::Preview, move |services| {
                services
                    .inner
                    .classifier
                    .classify(&ClassifyRequest {
                        text: &text,
                        category_hint: category_hint.as_deref(),
                    })
                    .candidates
            })
            .await?;
        candidates.truncate(first);
        Ok(candidates)
    }

    /// The 112 advice for a text being typed, so the web form can show it
    /// before the resident sends anything: the same decision as routing
    /// makes on submission.
    pub async fn emergency_preview(
        &self,
        text: &str,
        language: Language,
    ) -> Result<Option<String>, ServiceError> {
        let text = preview_text(text)?;
        self.compute(Urgency::Preview, move |services| {
            emergency_advice(
                services.catalogue(),
                &text,
                services.inner.classifier.emergency(&text),
                language,
            )
        })
        .await
    }
}

fn preview_text(raw: &str) -> Result<String, ServiceError> {
    let text = clean(raw);
    if text.is_empty() {
        return Err(ServiceError::invalid("text", "must not be empty"));
    }
    if text.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(ServiceError::invalid("text", "is too long"));
    }
    Ok(text)
}
