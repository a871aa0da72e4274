//! Text embeddings: the [`Embedder`] trait, the local all-MiniLM-L6-v2 model run with
//! candle (the default), an OpenAI-compatible endpoint, and a query-embedding cache.

mod cache;
mod local;
mod openai;

use std::sync::Arc;

pub use cache::CachedEmbedder;
pub use local::{LocalEmbedder, MODEL_DIR_ENV, default_model_dir};
pub use openai::{OpenAiEmbedder, OpenAiEmbedderConfig};

use crate::error::EmbedError;
use crate::tokens::TokenCounter;

/// Turns texts into unit-length vectors.
#[async_trait::async_trait]
pub trait Embedder: Send + Sync {
    /// Identifies the model; stored with the index so that vectors from different models
    /// are never mixed.
    fn model_id(&self) -> &str;
    /// Length of every vector this embedder returns.
    fn dimension(&self) -> usize;
    /// Counts tokens the way the model does, for chunk sizing.
    fn token_counter(&self) -> Arc<dyn TokenCounter>;
    /// The model's input window in tokens, special tokens included.
    fn max_input_tokens(&self) -> usize;
    /// Embeds several passages; the result has one vector per input, in order.
    async fn embed_batch(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError>;
    /// Embeds one search query.
    async fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let mut v = self.embed_batch(&[text.to_string()]).await?;
        v.pop()
            .ok_or_else(|| EmbedError::Inference("no embedding returned".into()))
    }
}

#[async_trait::async_trait]
impl<E: Embedder + ?Sized> Embedder for Arc<E> {
    fn model_id(&self) -> &str {
        (**self).model_id()
    }
    fn dimension(&self) -> usize {
        (**self).dimension()
    }
    fn token_counter(&self) -> Arc<dyn TokenCounter> {
        (**self).token_counter()
    }
    fn max_input_tokens(&self) -> usize {
        (**self).max_input_tokens()
    }
    async fn embed_batch(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        (**self).embed_batch(texts).await
    }
    async fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        (**self).embed_query(text).await
    }
}

/// Cosine similarity of two vectors (0 when either is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// Scales a vector to unit length in place (a zero vector is left alone).
pub fn normalize(v: &mut [f32]) {
    let n: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn cosine_and_normalize() {
        let mut v = vec![3.0, 4.0];
        normalize(&mut v);
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
        assert!((cosine(&[1.0, 0.0], &[0.0, 2.0])).abs() < 1e-6);
        assert!((cosine(&[1.0, 1.0], &[2.0, 2.0]) - 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
    }
}
