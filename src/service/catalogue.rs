//! Catalogue use cases: installing the catalogue at start, and the public
//! views of it (the catalogue itself and the classifier preview).

use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};

use super::{ServiceError, Services};
use crate::domain::catalogue::{Catalogue, CatalogueError};
use crate::domain::classifier::{Candidate, ClassifyRequest};
use crate::domain::submission::MAX_DESCRIPTION_CHARS;
use crate::domain::text::clean;
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
        Self::Store(StoreError::Db(e))
    }
}

/// Brings the database's catalogue up to date with `source` and returns the
/// catalogue in force. A file that fails validation is refused before
/// anything is written.
pub async fn install_catalogue(
    db: &DatabaseConnection,
    source: CatalogueSource,
) -> Result<Catalogue, CatalogueInstallError> {
    let current = store::catalogue::latest_document(db).await?;
    let (name, content) = match source {
        CatalogueSource::File { path, content } => (path, content),
        CatalogueSource::Sample => match current {
            Some(doc) => return Ok(Catalogue::parse(&doc.content)?),
            None => (
                "built-in sample".to_owned(),
                crate::domain::catalogue::SAMPLE.to_owned(),
            ),
        },
    };
    let catalogue = Catalogue::parse(&content)?;
    let checksum = hex::encode(Sha256::digest(content.as_bytes()));
    if current.is_some_and(|doc| doc.checksum == checksum) {
        return Ok(catalogue);
    }
    let tx = store::begin_write(db).await?;
    store::catalogue::install(&tx, &catalogue, &content, &name, &checksum).await?;
    tx.commit().await?;
    tracing::info!(
        source = %name,
        administrations = catalogue.administrations().len(),
        categories = catalogue.categories().len(),
        "installed catalogue"
    );
    Ok(catalogue)
}

impl Services {
    /// The public preview behind the web form's "this sounds like …".
    pub fn classify_preview(
        &self,
        text: &str,
        category_hint: Option<&str>,
        first: usize,
    ) -> Result<Vec<Candidate>, ServiceError> {
        let text = clean(text);
        if text.is_empty() {
            return Err(ServiceError::invalid("text", "must not be empty"));
        }
        if text.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(ServiceError::invalid("text", "is too long"));
        }
        let mut candidates = self
            .inner
            .classifier
            .classify(&ClassifyRequest {
                text: &text,
                category_hint,
            })
            .candidates;
        candidates.truncate(first);
        Ok(candidates)
    }
}
