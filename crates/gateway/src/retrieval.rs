//! Regulatory retrieval for the ask pipeline: hybrid search over the corpus on the primary.

use std::sync::Arc;

use deriq_rag::Embedder;
use deriq_rag::store::{NOT_COVERED_BELOW, SearchFilters, search};
use sqlx::PgPool;

use crate::ask::Citation;

/// Search over the regulatory corpus.
pub struct Retrieval {
    pub pool: PgPool,
    pub embedder: Arc<dyn Embedder>,
}

impl Retrieval {
    /// The top `k` passages for a question that score at least the "not covered"
    /// threshold; empty when the corpus does not cover the question.
    pub async fn search(&self, question: &str, k: usize) -> Result<Vec<Citation>, String> {
        let hits = search(&self.pool, self.embedder.as_ref(), question, k, &SearchFilters::default()).await.map_err(|e| e.to_string())?;
        Ok(hits
            .into_iter()
            .filter(|h| h.cited || h.score >= NOT_COVERED_BELOW)
            .map(|h| Citation { citation: h.citation, title: h.title, text: h.text, score: h.score })
            .collect())
    }
}
