//! The knowledge base: answers for a free text, articles, their editing by
//! the system owner, and deflections.

use async_graphql::{Context, ErrorExtensions, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::error::GqlResult;
use super::{caller, client_addr, services};
use crate::domain::knowledge::{ArticleInput as DomainArticleInput, render_markdown};
use crate::service::knowledge;
use crate::service::{ArticleRecord, ArticleVersion as ServiceArticleVersion};

#[derive(Default)]
pub struct KnowledgeQuery;

#[derive(Default)]
pub struct KnowledgeMutation;

pub struct Article(pub ArticleRecord);

#[Object]
impl Article {
    async fn id(&self) -> ID {
        self.0.id.into()
    }

    /// Stable name; translations share it.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    async fn language(&self) -> &str {
        self.0.language.code()
    }

    async fn category(&self) -> Option<&str> {
        self.0.category.as_deref()
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    /// Markdown as written.
    async fn body(&self) -> &str {
        &self.0.body
    }

    /// The body as HTML that is safe to put in a page (raw HTML shown as
    /// text, links only to web, mail and phone addresses).
    async fn body_html(&self) -> String {
        render_markdown(&self.0.body)
    }

    async fn keywords(&self) -> &[String] {
        &self.0.keywords
    }

    async fn published(&self) -> bool {
        self.0.published
    }

    /// For `expectedVersion` when saving.
    async fn version(&self) -> i32 {
        self.0.version
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// Who saved it last: for the system owner only.
    async fn author(&self, ctx: &Context<'_>) -> Option<&str> {
        knowledge::is_admin(caller(ctx)).then_some(self.0.author.as_str())
    }

    /// Every saved state, oldest first: for the system owner only.
    async fn versions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ArticleVersion>> {
        let versions = services(ctx)?
            .article_versions(caller(ctx), self.0.id)
            .await
            .gql()?;
        Ok(versions.into_iter().map(ArticleVersion).collect())
    }
}

pub struct ArticleVersion(ServiceArticleVersion);

#[Object]
impl ArticleVersion {
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    async fn published(&self) -> bool {
        self.0.published
    }
    async fn author(&self) -> &str {
        &self.0.author
    }
    async fn saved_at(&self) -> DateTime<Utc> {
        self.0.saved_at
    }
}

/// An article found for a text.
#[derive(SimpleObject)]
pub struct Answer {
    pub article: Article,
    /// How well it matches, in [0, 1).
    pub relevance: f64,
}

#[derive(InputObject)]
pub struct ArticleInput {
    /// a-z, 0-9 and '-'; translations share it.
    pub slug: String,
    /// `sv` or `en`.
    pub language: String,
    pub category: Option<String>,
    pub title: String,
    /// Markdown (no HTML).
    pub body: String,
    #[graphql(default)]
    pub keywords: Vec<String>,
}

impl From<ArticleInput> for DomainArticleInput {
    fn from(i: ArticleInput) -> Self {
        Self {
            slug: i.slug,
            language: i.language,
            category: i.category,
            title: i.title,
            body: i.body,
            keywords: i.keywords,
        }
    }
}

fn article_id(id: &ID) -> async_graphql::Result<i64> {
    id.parse::<i64>().map_err(|_| {
        async_graphql::Error::new("not an article id").extend_with(|_, e| {
            e.set("code", "BAD_USER_INPUT");
            e.set("field", "id");
        })
    })
}

#[Object]
impl KnowledgeQuery {
    /// Published articles that answer a free text, best first: fast enough
    /// for every pause in typing.
    #[graphql(complexity = "super::COSTLY_FIELD + child_complexity")]
    async fn answers(
        &self,
        ctx: &Context<'_>,
        text: String,
        language: Option<String>,
        #[graphql(default = 3)] first: i32,
    ) -> async_graphql::Result<Vec<Answer>> {
        let services = services(ctx)?;
        services
            .preview_budget(caller(ctx), client_addr(ctx))
            .gql()?;
        let found = services
            .answers(
                &text,
                language.as_deref(),
                usize::try_from(first).unwrap_or(0),
            )
            .await
            .gql()?;
        Ok(found
            .into_iter()
            .map(|(article, relevance)| Answer {
                article: Article(article),
                relevance,
            })
            .collect())
    }

    /// One article (default language `sv`); drafts for the system owner.
    async fn article(
        &self,
        ctx: &Context<'_>,
        slug: String,
        language: Option<String>,
    ) -> async_graphql::Result<Option<Article>> {
        Ok(services(ctx)?
            .article(caller(ctx), &slug, language.as_deref())
            .await
            .gql()?
            .map(Article))
    }

    /// Articles by id, `first` (≤ 100) after the article id `after`;
    /// `includeDrafts` for the system owner.
    async fn articles(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        after: Option<ID>,
        #[graphql(default)] include_drafts: bool,
    ) -> async_graphql::Result<Vec<Article>> {
        let after = after.as_ref().map(article_id).transpose()?;
        let list = services(ctx)?
            .articles(
                caller(ctx),
                include_drafts,
                u64::try_from(first).unwrap_or(0),
                after,
            )
            .await
            .gql()?;
        Ok(list.into_iter().map(Article).collect())
    }
}

#[Object]
impl KnowledgeMutation {
    /// A new article, unpublished (system owner).
    async fn create_article(
        &self,
        ctx: &Context<'_>,
        input: ArticleInput,
    ) -> async_graphql::Result<Article> {
        let article = services(ctx)?
            .create_article(caller(ctx), input.into())
            .await
            .gql()?;
        Ok(Article(article))
    }

    /// Saves a new version of an article (system owner).
    async fn update_article(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: ArticleInput,
        expected_version: i32,
    ) -> async_graphql::Result<Article> {
        let article = services(ctx)?
            .update_article(
                caller(ctx),
                article_id(&id)?,
                input.into(),
                expected_version,
            )
            .await
            .gql()?;
        Ok(Article(article))
    }

    /// Publishes or unpublishes an article (system owner).
    async fn set_article_published(
        &self,
        ctx: &Context<'_>,
        id: ID,
        published: bool,
        expected_version: i32,
    ) -> async_graphql::Result<Article> {
        let article = services(ctx)?
            .set_article_published(caller(ctx), article_id(&id)?, published, expected_version)
            .await
            .gql()?;
        Ok(Article(article))
    }

    /// "This answered my question": counts an anonymous deflection. No
    /// request is created and nothing about the resident is stored.
    async fn record_deflection(
        &self,
        ctx: &Context<'_>,
        article_id: ID,
    ) -> async_graphql::Result<bool> {
        services(ctx)?
            .record_deflection(self::article_id(&article_id)?)
            .await
            .gql()?;
        Ok(true)
    }
}
