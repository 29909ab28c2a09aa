//! Knowledge-base use cases: answers for a free text (every pause in the
//! resident's typing), reading articles, editing them (the system owner),
//! and counting deflections. The search index lives in memory and is
//! rebuilt from the database whenever an article changes: at once in the
//! process that changed it, and through a PostgreSQL notification in the
//! others.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::DatabaseConnection;

use super::compute::Urgency;
use super::{ServiceError, Services, actor};
use crate::domain::Language;
use crate::domain::actor::{Caller, Role};
use crate::domain::knowledge::{
    self, ArticleDraft, ArticleInput, IndexedArticle, KnowledgeIndex, parse_collection,
};
use crate::store::entities::{article_versions, articles};
use crate::store::writer::Transient;
use crate::store::{self, StoreError};

/// Most answers one call returns.
const MAX_ANSWERS: usize = 10;
const MAX_QUERY_CHARS: usize = 2_000;

/// An article as the use cases hand it out.
#[derive(Debug, Clone)]
pub struct ArticleRecord {
    pub id: i64,
    pub slug: String,
    pub language: Language,
    pub category: Option<String>,
    pub title: String,
    pub body: String,
    pub keywords: Vec<String>,
    pub published: bool,
    pub version: i32,
    pub author: String,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<articles::Model> for ArticleRecord {
    type Error = StoreError;

    fn try_from(m: articles::Model) -> Result<Self, StoreError> {
        Ok(Self {
            language: Language::parse(&m.language)
                .map_err(|_| StoreError::Corrupt(format!("article {}: language", m.id)))?,
            keywords: serde_json::from_str(&m.keywords)
                .map_err(|_| StoreError::Corrupt(format!("article {}: keywords", m.id)))?,
            id: m.id,
            slug: m.slug,
            category: m.category_code,
            title: m.title,
            body: m.body,
            published: m.published,
            version: m.version,
            author: m.author,
            updated_at: m.updated_at,
        })
    }
}

/// One saved state of an article.
pub struct ArticleVersion {
    pub version: i32,
    pub title: String,
    pub body: String,
    pub published: bool,
    pub author: String,
    pub saved_at: DateTime<Utc>,
}

impl From<article_versions::Model> for ArticleVersion {
    fn from(v: article_versions::Model) -> Self {
        Self {
            version: v.version,
            title: v.title,
            body: v.body,
            published: v.published,
            author: v.author,
            saved_at: v.created_at,
        }
    }
}

/// The published articles and their index, swapped whole on a change.
pub struct KnowledgeSnapshot {
    index: KnowledgeIndex,
    articles: HashMap<i64, ArticleRecord>,
}

impl KnowledgeSnapshot {
    pub fn empty() -> Self {
        Self {
            index: KnowledgeIndex::new(&[]),
            articles: HashMap::new(),
        }
    }

    fn build(articles: Vec<ArticleRecord>) -> Self {
        let indexed: Vec<IndexedArticle<'_>> = articles
            .iter()
            .map(|a| IndexedArticle {
                id: a.id,
                language: a.language,
                title: &a.title,
                body: &a.body,
                keywords: &a.keywords,
            })
            .collect();
        let index = KnowledgeIndex::new(&indexed);
        Self {
            index,
            articles: articles.into_iter().map(|a| (a.id, a)).collect(),
        }
    }
}

impl Transient for KnowledgeInstallError {
    fn is_transient(&self) -> bool {
        matches!(self, Self::Store(e) if e.is_transient())
    }

    fn is_storage_fault(&self) -> bool {
        matches!(self, Self::Store(e) if e.is_storage_fault())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KnowledgeInstallError {
    #[error("knowledge base file: {0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Loads the knowledge base into an empty database: the operator's file
/// (`ENVAGIN_KNOWLEDGE`) or the built-in sample. A database with articles
/// keeps them: from then on they are edited through the API.
pub async fn install_knowledge(
    db: &DatabaseConnection,
    file: Option<(String, String)>,
    catalogue: &crate::domain::catalogue::Catalogue,
) -> Result<(), KnowledgeInstallError> {
    if store::knowledge::count(db).await? > 0 {
        return Ok(());
    }
    let (name, content) =
        file.unwrap_or_else(|| ("built-in sample".into(), knowledge::SAMPLE.into()));
    let drafts = parse_collection(&content)
        .map_err(KnowledgeInstallError::Invalid)?
        .into_iter()
        .map(|input| {
            let slug = input.slug.clone();
            ArticleDraft::validate(input, |c| catalogue.category(c).is_some()).map_err(|errors| {
                let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
                KnowledgeInstallError::Invalid(format!("article {slug}: {}", list.join("; ")))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let now = Utc::now();
    let drafts = &drafts;
    let installed = store::transaction(db, |tx| async move {
        // Replicas starting together: one loads, the others then find it done.
        store::lock_setup(&tx).await?;
        if store::knowledge::count(&tx).await? > 0 {
            return Ok((tx, false));
        }
        for draft in drafts {
            let model = store::knowledge::insert(
                &tx,
                new_article(draft, "Exempelby kommun (exempeldata)", true, now),
            )
            .await?;
            store::knowledge::keep_version(&tx, &model).await?;
        }
        Ok::<_, KnowledgeInstallError>((tx, true))
    })
    .await?;
    if !installed {
        return Ok(());
    }
    tracing::info!(source = %name, articles = drafts.len(), "installed knowledge base");
    Ok(())
}

fn new_article(
    d: &ArticleDraft,
    author: &str,
    published: bool,
    now: DateTime<Utc>,
) -> articles::ActiveModel {
    articles::ActiveModel {
        slug: Set(d.slug.clone()),
        language: Set(d.language.code().to_owned()),
        category_code: Set(d.category.clone()),
        title: Set(d.title.clone()),
        body: Set(d.body.clone()),
        keywords: Set(serde_json::Value::from(d.keywords.clone()).to_string()),
        published: Set(published),
        version: Set(1),
        author: Set(author.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

impl Services {
    /// Rebuilds the in-memory index from the published articles.
    pub async fn reload_knowledge(&self) -> Result<(), ServiceError> {
        let articles = store::knowledge::published(self.db())
            .await?
            .into_iter()
            .map(ArticleRecord::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let snapshot = Arc::new(KnowledgeSnapshot::build(articles));
        if let Ok(mut current) = self.inner.knowledge.write() {
            *current = snapshot;
        }
        Ok(())
    }

    fn knowledge(&self) -> Arc<KnowledgeSnapshot> {
        self.inner
            .knowledge
            .read()
            .map(|k| k.clone())
            .unwrap_or_else(|_| Arc::new(KnowledgeSnapshot::empty()))
    }

    /// The published articles most relevant to `text`, best first, each
    /// with its relevance in [0, 1).
    pub async fn answers(
        &self,
        text: &str,
        language: Option<&str>,
        first: usize,
    ) -> Result<Vec<(ArticleRecord, f64)>, ServiceError> {
        let language = language.map(Language::parse).transpose()?;
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(ServiceError::invalid(
                "text",
                &format!("must be at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        let text = text.to_owned();
        self.compute(Urgency::Preview, move |services| {
            let snapshot = services.knowledge();
            snapshot
                .index
                .answers(&text, language, first.min(MAX_ANSWERS))
                .into_iter()
                .filter_map(|f| Some((snapshot.articles.get(&f.id)?.clone(), f.relevance)))
                .collect()
        })
        .await
    }

    /// A published article; the system owner also reads drafts.
    pub async fn article(
        &self,
        caller: &Caller,
        slug: &str,
        language: Option<&str>,
    ) -> Result<Option<ArticleRecord>, ServiceError> {
        let language = language
            .map(Language::parse)
            .transpose()?
            .unwrap_or_default();
        let Some(model) = store::knowledge::find_by_slug(self.db(), slug, language.code()).await?
        else {
            return Ok(None);
        };
        let article = ArticleRecord::try_from(model)?;
        Ok((article.published || is_admin(caller)).then_some(article))
    }

    /// Articles by id after `after`; drafts only for the system owner.
    pub async fn articles(
        &self,
        caller: &Caller,
        include_drafts: bool,
        first: u64,
        after: Option<i64>,
    ) -> Result<Vec<ArticleRecord>, ServiceError> {
        if include_drafts && !is_admin(caller) {
            return Err(ServiceError::forbidden(
                "only the system owner reads drafts",
            ));
        }
        store::knowledge::page(
            self.db(),
            !include_drafts,
            after.unwrap_or(0),
            first.min(100),
        )
        .await?
        .into_iter()
        .map(|m| ArticleRecord::try_from(m).map_err(ServiceError::from))
        .collect()
    }

    pub async fn create_article(
        &self,
        caller: &Caller,
        input: ArticleInput,
    ) -> Result<ArticleRecord, ServiceError> {
        let author = editor(caller)?;
        let draft = self.validate_article(input)?;
        let (draft, author) = (&draft, &author);
        let model = self
            .write_knowledge(|tx| async move {
                let model =
                    store::knowledge::insert(&tx, new_article(draft, author, false, Utc::now()))
                        .await
                        .map_err(slug_taken)?;
                store::knowledge::keep_version(&tx, &model).await?;
                Ok((tx, model))
            })
            .await?;
        Ok(ArticleRecord::try_from(model)?)
    }

    pub async fn update_article(
        &self,
        caller: &Caller,
        id: i64,
        input: ArticleInput,
        expected_version: i32,
    ) -> Result<ArticleRecord, ServiceError> {
        let author = editor(caller)?;
        let draft = self.validate_article(input)?;
        let changes = articles::ActiveModel {
            slug: Set(draft.slug.clone()),
            language: Set(draft.language.code().to_owned()),
            category_code: Set(draft.category.clone()),
            title: Set(draft.title),
            body: Set(draft.body),
            keywords: Set(serde_json::Value::from(draft.keywords).to_string()),
            author: Set(author),
            ..Default::default()
        };
        self.save_article(id, expected_version, changes).await
    }

    pub async fn set_article_published(
        &self,
        caller: &Caller,
        id: i64,
        published: bool,
        expected_version: i32,
    ) -> Result<ArticleRecord, ServiceError> {
        let author = editor(caller)?;
        let changes = articles::ActiveModel {
            published: Set(published),
            author: Set(author),
            ..Default::default()
        };
        self.save_article(id, expected_version, changes).await
    }

    async fn save_article(
        &self,
        id: i64,
        expected_version: i32,
        changes: articles::ActiveModel,
    ) -> Result<ArticleRecord, ServiceError> {
        let changes = &changes;
        let model = self
            .write_knowledge(|tx| async move {
                if store::knowledge::find(&tx, id).await?.is_none() {
                    return Err(ServiceError::NotFound);
                }
                let model = store::knowledge::update_versioned(
                    &tx,
                    id,
                    expected_version,
                    changes.clone(),
                    Utc::now(),
                )
                .await
                .map_err(slug_taken)?
                .ok_or_else(|| ServiceError::Conflict {
                    message: "the article was changed by someone else: reload it".into(),
                    field: Some("expectedVersion"),
                })?;
                store::knowledge::keep_version(&tx, &model).await?;
                Ok((tx, model))
            })
            .await?;
        Ok(ArticleRecord::try_from(model)?)
    }

    /// Every saved state of an article, oldest first: the system owner's.
    pub async fn article_versions(
        &self,
        caller: &Caller,
        id: i64,
    ) -> Result<Vec<ArticleVersion>, ServiceError> {
        editor(caller)?;
        Ok(store::knowledge::versions(self.db(), id)
            .await?
            .into_iter()
            .map(ArticleVersion::from)
            .collect())
    }

    /// "This answered my question": counted, with nothing about who.
    pub async fn record_deflection(&self, article_id: i64) -> Result<(), ServiceError> {
        let article = self
            .knowledge()
            .articles
            .get(&article_id)
            .cloned()
            .ok_or(ServiceError::NotFound)?;
        let article = &article;
        self.write(|tx| async move {
            store::knowledge::insert_deflection(
                &tx,
                Some(article.id),
                article.category.clone(),
                article.language.code(),
                Utc::now(),
            )
            .await?;
            Ok((tx, ()))
        })
        .await
    }

    /// What residents ask that no article answers: the most frequent words
    /// of `texts` without an answer, with how many texts had each and the
    /// category they were most often in.
    /// Searching thousands of texts is text work like any other: it runs
    /// on an analysis thread (`compute`).
    pub(super) async fn unanswered_topics(
        &self,
        texts: Vec<(Option<String>, String)>,
        top: usize,
    ) -> Result<Vec<Topic>, ServiceError> {
        self.compute(Urgency::Required, move |services| {
            services.count_unanswered_topics(&texts, top)
        })
        .await
    }

    fn count_unanswered_topics(
        &self,
        texts: &[(Option<String>, String)],
        top: usize,
    ) -> Vec<Topic> {
        let snapshot = self.knowledge();
        let mut topics: HashMap<String, TopicTally> = HashMap::new();
        for (category, text) in texts {
            if !snapshot.index.answers(text, None, 1).is_empty() {
                continue;
            }
            for (stem, surface) in snapshot.index.topic_words(text) {
                let tally = topics.entry(stem).or_default();
                tally.count += 1;
                *tally.surfaces.entry(surface).or_default() += 1;
                if let Some(category) = category {
                    *tally.categories.entry(category.clone()).or_default() += 1;
                }
            }
        }
        let mut list: Vec<Topic> = topics
            .into_values()
            .filter(|t| t.count >= 2)
            .map(|t| Topic {
                word: most_common(&t.surfaces).unwrap_or_default(),
                category: most_common(&t.categories),
                requests: t.count,
            })
            .collect();
        list.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.word.cmp(&b.word)));
        list.truncate(top);
        list
    }

    fn validate_article(&self, input: ArticleInput) -> Result<ArticleDraft, ServiceError> {
        ArticleDraft::validate(input, |c| self.catalogue().category(c).is_some())
            .map_err(ServiceError::InvalidInput)
    }
}

/// A word residents use about something no article answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Topic {
    pub word: String,
    pub category: Option<String>,
    /// Requests whose text has the word.
    pub requests: u64,
}

#[derive(Default)]
struct TopicTally {
    count: u64,
    surfaces: HashMap<String, u64>,
    categories: HashMap<String, u64>,
}

fn most_common(counts: &HashMap<String, u64>) -> Option<String> {
    counts
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(k, _)| k.clone())
}

/// A unique-key clash on saving an article is its slug and language.
fn slug_taken(e: StoreError) -> ServiceError {
    match e {
        StoreError::Duplicate => ServiceError::Conflict {
            message: "an article with this slug and language exists".into(),
            field: Some("slug"),
        },
        other => other.into(),
    }
}

/// Whether `caller` edits the knowledge base (and so sees drafts, authors
/// and versions): the system owner.
pub fn is_admin(caller: &Caller) -> bool {
    caller.actor().is_some_and(|a| a.has(Role::Admin))
}

/// The editor's name for the article's history; only the system owner edits.
fn editor(caller: &Caller) -> Result<String, ServiceError> {
    let actor = actor(caller)?;
    if !actor.has(Role::Admin) {
        return Err(ServiceError::forbidden(
            "only the system owner edits the knowledge base",
        ));
    }
    Ok(actor.name.clone().unwrap_or_else(|| actor.sub.clone()))
}
