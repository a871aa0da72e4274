//! A moka cache in front of any embedder, for query embeddings.

use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;

use super::Embedder;
use crate::error::EmbedError;
use crate::tokens::TokenCounter;

/// Caches [`Embedder::embed_query`] results; passage batches go straight through.
pub struct CachedEmbedder<E> {
    inner: E,
    cache: Cache<String, Arc<Vec<f32>>>,
}

impl<E: Embedder> CachedEmbedder<E> {
    /// Wraps `inner` with a cache of up to `capacity` queries, each kept for an hour.
    pub fn new(inner: E, capacity: u64) -> Self {
        let cache = Cache::builder()
            .max_capacity(capacity)
            .time_to_live(Duration::from_secs(3600))
            .build();
        Self { inner, cache }
    }

    /// The wrapped embedder.
    pub fn inner(&self) -> &E {
        &self.inner
    }

    /// Number of cached queries (approximate, as moka counts lazily).
    pub fn cached_queries(&self) -> u64 {
        self.cache.entry_count()
    }
}

#[async_trait::async_trait]
impl<E: Embedder> Embedder for CachedEmbedder<E> {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }

    fn dimension(&self) -> usize {
        self.inner.dimension()
    }

    fn token_counter(&self) -> Arc<dyn TokenCounter> {
        self.inner.token_counter()
    }

    fn max_input_tokens(&self) -> usize {
        self.inner.max_input_tokens()
    }

    async fn embed_batch(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.inner.embed_batch(texts).await
    }

    async fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let key = text.trim().to_string();
        let inner = &self.inner;
        let vector = self
            .cache
            .try_get_with(key.clone(), async move {
                inner.embed_query(&key).await.map(Arc::new)
            })
            .await
            .map_err(|e: Arc<EmbedError>| EmbedError::Inference(e.to_string()))?;
        Ok(vector.as_ref().clone())
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::tokens::TiktokenCounter;

    struct Counting(AtomicUsize);

    #[async_trait::async_trait]
    impl Embedder for Counting {
        fn model_id(&self) -> &str {
            "counting"
        }
        fn dimension(&self) -> usize {
            2
        }
        fn token_counter(&self) -> Arc<dyn TokenCounter> {
            Arc::new(TiktokenCounter::default())
        }
        fn max_input_tokens(&self) -> usize {
            256
        }
        async fn embed_batch(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
            self.0.fetch_add(texts.len(), Ordering::SeqCst);
            Ok(texts.iter().map(|t| vec![t.len() as f32, 1.0]).collect())
        }
    }

    #[tokio::test]
    async fn repeated_queries_hit_the_cache() -> Result<(), EmbedError> {
        let cached = CachedEmbedder::new(Counting(AtomicUsize::new(0)), 100);
        let a = cached.embed_query("post-accident testing").await?;
        let b = cached.embed_query("post-accident testing").await?;
        let c = cached.embed_query("pre-employment testing").await?;
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(cached.inner().0.load(Ordering::SeqCst), 2);
        Ok(())
    }
}
