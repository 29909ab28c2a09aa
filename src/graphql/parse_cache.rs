//! Parsed queries, kept by their text. Clients send the same few queries
//! over and over (the status page, the queue, the form); parsing one took
//! a tenth of the server's CPU on a status lookup. Only the parse is
//! skipped: validation, limits and execution run on every request.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ServerResult, Variables};
use lru::LruCache;

/// Queries longer than this are parsed every time: the cache is for the
/// applications' queries, not for whatever a client makes up.
const MAX_CACHED_QUERY_BYTES: usize = 8 * 1024;

type Documents = Arc<Mutex<LruCache<String, ExecutableDocument>>>;

/// Also where a document not seen before is checked
/// (`limits::check_document`): a cached one passed when it was parsed.
pub struct ParseCache {
    documents: Documents,
    max_aliases: usize,
}

impl ParseCache {
    pub fn new(capacity: NonZeroUsize, max_aliases: usize) -> Self {
        Self {
            documents: Arc::new(Mutex::new(LruCache::new(capacity))),
            max_aliases,
        }
    }
}

impl ExtensionFactory for ParseCache {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ParseCacheExtension {
            documents: self.documents.clone(),
            max_aliases: self.max_aliases,
        })
    }
}

struct ParseCacheExtension {
    documents: Documents,
    max_aliases: usize,
}

impl ParseCacheExtension {
    fn cached(&self, query: &str) -> Option<ExecutableDocument> {
        // A poisoned lock only means another request panicked mid-update:
        // parse afresh rather than fail.
        self.documents.lock().ok()?.get(query).cloned()
    }

    fn keep(&self, query: &str, document: &ExecutableDocument) {
        if let Ok(mut cache) = self.documents.lock() {
            cache.put(query.to_owned(), document.clone());
        }
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ParseCacheExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let cacheable = query.len() <= MAX_CACHED_QUERY_BYTES;
        if cacheable && let Some(document) = self.cached(query) {
            return Ok(document);
        }
        super::limits::check_document(query, self.max_aliases)?;
        let document = next.run(ctx, query, variables).await?;
        if !cacheable {
            return Ok(document);
        }
        self.keep(query, &document);
        Ok(document)
    }
}
