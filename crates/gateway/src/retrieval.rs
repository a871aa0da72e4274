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
    /// The passages of the top `k` sections for a question that score at least the "not
    /// covered" threshold; empty when the corpus does not cover the question. Each section's
    /// best passage comes first, followed by its companion passages (up to
    /// `deriq_rag::store::MAX_COMPANIONS` more paragraphs of the same section that score
    /// nearly as well), so an answer can quote the controlling paragraph as well.
    pub async fn search(&self, question: &str, k: usize) -> Result<Vec<Citation>, String> {
        let hits = search(&self.pool, self.embedder.as_ref(), question, k, &SearchFilters::default()).await.map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for h in hits.into_iter().filter(|h| h.cited || h.score >= NOT_COVERED_BELOW) {
            let companions = h.companions;
            out.push(Citation { citation: h.citation, title: h.title.clone(), text: h.text, score: h.score });
            out.extend(companions.into_iter().map(|c| Citation { citation: c.citation, title: h.title.clone(), text: c.text, score: c.score }));
        }
        Ok(out)
    }
}
