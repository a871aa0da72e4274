//! Retrieval metrics over graded judgments keyed by citation.

use serde::{Deserialize, Serialize};

use crate::citation::Citation;

/// A returned passage as the metrics see it.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedHit {
    /// Its citation.
    pub citation: Citation,
    /// Whether its text holds the whole subtree under the citation.
    pub covers_subtree: bool,
    /// The result's companion passages (other passages of its section, shown with it):
    /// citation, and whether the passage holds that citation's whole subtree.
    pub companions: Vec<(Citation, bool)>,
}

impl RankedHit {
    /// Whether this result answers a judgment at `target`: its passage, or one of its
    /// companion passages, lies inside `target` or holds `target` whole.
    pub fn answers(&self, target: &Citation) -> bool {
        let passage_answers =
            |c: &Citation, covers: bool| c.is_within(target) || (covers && target.is_within(c));
        passage_answers(&self.citation, self.covers_subtree)
            || self
                .companions
                .iter()
                .any(|(c, covers)| passage_answers(c, *covers))
    }
}

/// Scores of one question.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct QueryScore {
    /// Share of judged passages found in the top 5.
    pub recall_at_5: f64,
    /// Share found in the top 10.
    pub recall_at_10: f64,
    /// 1 / rank of the first relevant hit (0 when none in the list).
    pub reciprocal_rank: f64,
    /// nDCG over the top 10 with linear gains (grade 2 or 1).
    pub ndcg_at_10: f64,
}

/// Scores one ranked list against its judgments. Each judged passage is credited once, at
/// the first hit that answers it; a hit's gain is the best grade it newly credits.
pub fn score_query(hits: &[RankedHit], qrels: &[(Citation, u8)]) -> QueryScore {
    if qrels.is_empty() {
        return QueryScore::default();
    }
    let mut credited = vec![false; qrels.len()];
    let mut found_at = vec![usize::MAX; qrels.len()];
    let mut dcg = 0.0;
    let mut first_relevant = None;
    for (rank, hit) in hits.iter().enumerate().take(10) {
        let mut gain = 0u8;
        for (i, (target, grade)) in qrels.iter().enumerate() {
            if !credited[i] && hit.answers(target) {
                credited[i] = true;
                found_at[i] = rank;
                gain = gain.max(*grade);
            }
        }
        if gain > 0 {
            first_relevant.get_or_insert(rank);
            dcg += f64::from(gain) / ((rank + 2) as f64).log2();
        }
    }
    let mut ideal: Vec<u8> = qrels.iter().map(|q| q.1).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(10)
        .enumerate()
        .map(|(r, g)| f64::from(*g) / ((r + 2) as f64).log2())
        .sum();
    let n = qrels.len() as f64;
    QueryScore {
        recall_at_5: found_at.iter().filter(|&&r| r < 5).count() as f64 / n,
        recall_at_10: found_at.iter().filter(|&&r| r < 10).count() as f64 / n,
        reciprocal_rank: first_relevant.map_or(0.0, |r| 1.0 / (r + 1) as f64),
        ndcg_at_10: if idcg > 0.0 { dcg / idcg } else { 0.0 },
    }
}

/// Scores one ranked list at section granularity: each judgment stands for its section
/// (several judgments in one section count once, with their best grade), and a hit answers
/// the section it lies in; only a section's first hit counts, so the list is read as its
/// distinct sections in order.
pub fn score_query_sections(hits: &[RankedHit], qrels: &[(Citation, u8)]) -> QueryScore {
    let mut judged: Vec<(Citation, u8)> = Vec::new();
    for (c, g) in qrels {
        let s = c.section_citation();
        match judged.iter_mut().find(|j| j.0 == s) {
            Some(j) => j.1 = j.1.max(*g),
            None => judged.push((s, *g)),
        }
    }
    let mut sections: Vec<RankedHit> = Vec::new();
    for h in hits {
        let s = h.citation.section_citation();
        if !sections.iter().any(|x| x.citation == s) {
            sections.push(RankedHit {
                citation: s,
                covers_subtree: true,
                companions: Vec::new(),
            });
        }
    }
    score_query(&sections, &judged)
}

/// Means over a group of questions.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct MetricSet {
    /// Questions averaged.
    pub queries: usize,
    /// Mean recall@5.
    pub recall_at_5: f64,
    /// Mean recall@10.
    pub recall_at_10: f64,
    /// Mean reciprocal rank.
    pub mrr: f64,
    /// Mean nDCG@10.
    pub ndcg_at_10: f64,
}

impl MetricSet {
    /// Averages per-question scores.
    pub fn mean(scores: &[QueryScore]) -> MetricSet {
        if scores.is_empty() {
            return MetricSet::default();
        }
        let n = scores.len() as f64;
        MetricSet {
            queries: scores.len(),
            recall_at_5: scores.iter().map(|s| s.recall_at_5).sum::<f64>() / n,
            recall_at_10: scores.iter().map(|s| s.recall_at_10).sum::<f64>() / n,
            mrr: scores.iter().map(|s| s.reciprocal_rank).sum::<f64>() / n,
            ndcg_at_10: scores.iter().map(|s| s.ndcg_at_10).sum::<f64>() / n,
        }
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    fn c(s: &str) -> Citation {
        Citation::parse(s).unwrap_or_else(|| panic!("{s}"))
    }

    fn hit(s: &str, covers: bool) -> RankedHit {
        RankedHit {
            citation: c(s),
            covers_subtree: covers,
            companions: Vec::new(),
        }
    }

    #[test]
    fn a_companion_passage_answers_at_its_results_rank() {
        let qrels = vec![(c("49 CFR 382.303(d)(1)"), 2), (c("49 CFR 382.303(a)"), 1)];
        let mut first = hit("49 CFR 382.303(a)", true);
        let second = hit("49 CFR 40.25(a)", true);
        let alone = score_query(&[first.clone(), second.clone()], &qrels);
        assert_eq!(alone.recall_at_5, 0.5);
        first.companions = vec![(c("49 CFR 382.303(d)"), true)];
        let with = score_query(&[first.clone(), second.clone()], &qrels);
        assert_eq!(with.recall_at_5, 1.0, "(d) held whole answers (d)(1)");
        assert_eq!(with.reciprocal_rank, 1.0);
        // A companion that is only a lead-in of (d) does not answer (d)(1).
        first.companions = vec![(c("49 CFR 382.303(d)"), false)];
        assert_eq!(score_query(&[first, second], &qrels).recall_at_5, 0.5);
    }

    #[test]
    fn perfect_and_empty_lists() {
        let qrels = vec![(c("49 CFR 382.303(b)"), 2)];
        let s = score_query(&[hit("49 CFR 382.303(b)", true)], &qrels);
        assert_eq!(s.recall_at_5, 1.0);
        assert_eq!(s.reciprocal_rank, 1.0);
        assert!((s.ndcg_at_10 - 1.0).abs() < 1e-12);
        assert_eq!(score_query(&[], &qrels), QueryScore::default());
    }

    #[test]
    fn containment_rules() {
        let qrels = vec![(c("49 CFR 382.303(b)(1)"), 2)];
        // A chunk holding all of (b) holds (b)(1).
        assert_eq!(
            score_query(&[hit("49 CFR 382.303(b)", true)], &qrels).recall_at_5,
            1.0
        );
        // A chunk with only (b)'s lead-in does not.
        assert_eq!(
            score_query(&[hit("49 CFR 382.303(b)", false)], &qrels).recall_at_5,
            0.0
        );
        // A judgment at section level is answered by any of its paragraphs.
        let section = vec![(c("49 CFR 382.303"), 2)];
        assert_eq!(
            score_query(&[hit("49 CFR 382.303(d)(2)", false)], &section).recall_at_5,
            1.0
        );
        assert_eq!(
            score_query(&[hit("49 CFR 382.305(a)", true)], &section).recall_at_5,
            0.0
        );
    }

    #[test]
    fn section_granularity() {
        let qrels = vec![
            (c("49 CFR 382.303(b)(1)"), 1),
            (c("49 CFR 382.303(a)"), 2),
            (c("49 CFR 40.191(a)"), 1),
        ];
        // Two chunks of 382.303 are one section; the second does not push 40.191 down.
        let hits = vec![
            hit("49 CFR 382.303(e)", false),
            hit("49 CFR 382.303(f)", false),
            hit("49 CFR 391.11", true),
            hit("49 CFR 40.191(d)", false),
        ];
        let s = score_query_sections(&hits, &qrels);
        assert_eq!(s.recall_at_5, 1.0);
        assert_eq!(s.reciprocal_rank, 1.0);
        let dcg = 2.0 + 1.0 / 4f64.log2();
        let idcg = 2.0 + 1.0 / 3f64.log2();
        assert!((s.ndcg_at_10 - dcg / idcg).abs() < 1e-12);
        // At paragraph level the same list finds none of the judged paragraphs.
        assert_eq!(score_query(&hits, &qrels).recall_at_5, 0.0);
        assert_eq!(
            score_query_sections(&[hit("49 CFR 391.11", true)], &qrels).recall_at_10,
            0.0
        );
    }

    #[test]
    fn ranks_and_grades() {
        let qrels = vec![(c("49 CFR 40.191"), 2), (c("49 CFR 382.211"), 1)];
        let hits = vec![
            hit("49 CFR 382.305(a)", true),
            hit("49 CFR 382.211", true),
            hit("49 CFR 382.211", true),
            hit("49 CFR 391.11", true),
            hit("49 CFR 391.13", true),
            hit("49 CFR 40.191(a)", true),
        ];
        let s = score_query(&hits, &qrels);
        assert_eq!(s.reciprocal_rank, 0.5);
        assert_eq!(s.recall_at_5, 0.5);
        assert_eq!(s.recall_at_10, 1.0);
        let dcg = 1.0 / 3f64.log2() + 2.0 / 7f64.log2();
        let idcg = 2.0 + 1.0 / 3f64.log2();
        assert!((s.ndcg_at_10 - dcg / idcg).abs() < 1e-12);
    }
}
