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

pub struct ParseCache(Arc<Mutex<LruCache<String, ExecutableDocument>>>);

impl ParseCache {
    pub fn new(capacity: NonZeroUsize) -> Self {
        Self(Arc::new(Mutex::new(LruCache::new(capacity))))
    }
}

impl ExtensionFactory for ParseCache {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ParseCacheExtension(self.0.clone()))
    }
}

struct ParseCacheExtension(Arc<Mutex<LruCache<String, ExecutableDocument>>>);

impl ParseCacheExtension {
    fn cached(&self, query: &str) -> Option<ExecutableDocument> {
        // A poisoned lock only means another request panicked mid-update:
        // parse afresh rather than fail.
        self.0.lock().ok()?.get(query).cloned()
    }

    fn keep(&self, query: &str, document: &ExecutableDocument) {
        if let Ok(mut cache) = self.0.lock() {
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
        if query.len() > MAX_CACHED_QUERY_BYTES {
            return next.run(ctx, query, variables).await;
        }
        if let Some(document) = self.cached(query) {
            return Ok(document);
        }
        let document = next.run(ctx, query, variables).await?;
        self.keep(query, &document);
        Ok(document)
    }
}
