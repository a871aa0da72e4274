//! Fusing the vector and full-text candidate lists into one ranking.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// How the two candidate lists are combined.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fusion {
    /// Reciprocal rank fusion: `w / (k + rank_vector) + (1 - w) / (k + rank_text)`.
    Rrf {
        /// Rank offset (60 in the original paper).
        k: f32,
        /// Weight of the vector list, 0..=1.
        vector_weight: f32,
    },
    /// Weighted sum of raw scores: `w * cosine + (1 - w) * text_rank`, where the text rank is
    /// PostgreSQL's `ts_rank_cd` scaled to `rank / (rank + 1)`. Both parts are independent of
    /// the other candidates, so the result can be compared with a fixed threshold.
    Weighted {
        /// Weight of the cosine similarity, 0..=1.
        vector_weight: f32,
    },
}

/// One candidate with whatever each retriever said about it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Chunk id.
    pub id: i64,
    /// Cosine similarity to the query, when computed.
    pub similarity: Option<f32>,
    /// 1-based rank in the vector list, when it was in it.
    pub vector_rank: Option<usize>,
    /// Scaled full-text rank, when the chunk matched the text query.
    pub text_score: Option<f32>,
    /// 1-based rank in the full-text list, when it was in it.
    pub text_rank: Option<usize>,
}

/// Ranks candidates by the fused score, best first; ties keep the id order for determinism.
pub fn fuse(candidates: &[Candidate], fusion: Fusion) -> Vec<(i64, f32)> {
    let mut scored: Vec<(i64, f32)> = candidates
        .iter()
        .map(|c| {
            let score = match fusion {
                Fusion::Rrf { k, vector_weight } => {
                    let v = c
                        .vector_rank
                        .map_or(0.0, |r| vector_weight / (k + r as f32));
                    let t = c
                        .text_rank
                        .map_or(0.0, |r| (1.0 - vector_weight) / (k + r as f32));
                    v + t
                }
                Fusion::Weighted { vector_weight } => {
                    vector_weight * c.similarity.unwrap_or(0.0)
                        + (1.0 - vector_weight) * c.text_score.unwrap_or(0.0)
                }
            };
            (c.id, score)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored
}

impl Candidate {
    /// A chunk that neither retriever has ranked yet.
    fn unranked(id: i64) -> Self {
        Candidate {
            id,
            similarity: None,
            vector_rank: None,
            text_score: None,
            text_rank: None,
        }
    }
}

/// Merges the two candidate lists into one candidate per chunk.
pub fn merge(vector: &[(i64, f32)], text: &[(i64, f32)]) -> Vec<Candidate> {
    let mut by_id: HashMap<i64, Candidate> = HashMap::new();
    for (i, &(id, sim)) in vector.iter().enumerate() {
        let c = by_id.entry(id).or_insert_with(|| Candidate::unranked(id));
        c.similarity = Some(sim);
        c.vector_rank = Some(i + 1);
    }
    for (i, &(id, score)) in text.iter().enumerate() {
        let c = by_id.entry(id).or_insert_with(|| Candidate::unranked(id));
        c.text_score = Some(score);
        c.text_rank = Some(i + 1);
    }
    let mut out: Vec<Candidate> = by_id.into_values().collect();
    out.sort_by_key(|c| c.id);
    out
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn rrf_rewards_agreement() {
        let vector = [(1, 0.9), (2, 0.8), (3, 0.7)];
        let text = [(3, 0.5), (4, 0.4)];
        let fused = fuse(
            &merge(&vector, &text),
            Fusion::Rrf {
                k: 60.0,
                vector_weight: 0.5,
            },
        );
        // 3 is in both lists, so it beats 1 (first in one list only).
        assert_eq!(fused[0].0, 3);
        assert_eq!(fused[1].0, 1);
        assert_eq!(fused.len(), 4);
    }

    #[test]
    fn weighted_uses_raw_scores() {
        let vector = [(1, 0.9), (2, 0.3)];
        let text = [(2, 0.9)];
        let mut cands = merge(&vector, &text);
        let fused = fuse(&cands, Fusion::Weighted { vector_weight: 0.7 });
        assert_eq!(fused[0].0, 1);
        assert!((fused[0].1 - 0.63).abs() < 1e-5);
        assert!((fused[1].1 - (0.21 + 0.27)).abs() < 1e-5);
        cands[1].text_score = Some(2.0);
        assert_eq!(
            fuse(&cands, Fusion::Weighted { vector_weight: 0.7 })[0].0,
            2
        );
    }
}
