//! Runs every eval question through several search configurations and aggregates.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::dataset::{EvalQuery, load_sets};
use super::metrics::{MetricSet, QueryScore, RankedHit, score_query, score_query_sections};
use crate::citation::Citation;
use crate::embed::Embedder;
use crate::error::RagError;
use crate::store::{Fusion, SearchMode, SearchOptions, search_with};

/// Question type whose questions have no answer in the corpus.
pub const UNANSWERABLE: &str = "unanswerable";

/// One configuration to compare.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalConfig {
    /// Short name (`hybrid`, `vector`, `full_text`).
    pub name: String,
    /// Search options (k is raised to 10 for the metrics).
    pub options: SearchOptions,
    /// A question counts as "not covered" when its top score is below this.
    pub not_covered_below: f32,
}

/// The configurations `deriq eval retrieval` compares; the first is the production default.
pub fn default_configs() -> Vec<EvalConfig> {
    let base = SearchOptions {
        k: 10,
        ..SearchOptions::default()
    };
    vec![
        EvalConfig {
            name: "hybrid".into(),
            options: base.clone(),
            not_covered_below: crate::store::NOT_COVERED_BELOW,
        },
        EvalConfig {
            name: "hybrid_no_companions".into(),
            options: SearchOptions {
                companions: false,
                ..base.clone()
            },
            not_covered_below: crate::store::NOT_COVERED_BELOW,
        },
        EvalConfig {
            name: "hybrid_no_questions".into(),
            options: SearchOptions {
                question_weight: None,
                question_text_weight: None,
                ..base.clone()
            },
            not_covered_below: crate::store::NOT_COVERED_BELOW,
        },
        EvalConfig {
            name: "hybrid_no_references".into(),
            options: SearchOptions {
                follow_references: false,
                ..base.clone()
            },
            not_covered_below: crate::store::NOT_COVERED_BELOW,
        },
        EvalConfig {
            name: "hybrid_passages".into(),
            options: SearchOptions {
                collapse_sections: false,
                follow_references: false,
                ..base.clone()
            },
            not_covered_below: crate::store::NOT_COVERED_BELOW,
        },
        EvalConfig {
            name: "hybrid_rrf".into(),
            options: SearchOptions {
                fusion: Fusion::Rrf {
                    k: 60.0,
                    vector_weight: 0.5,
                },
                ..base.clone()
            },
            not_covered_below: 0.0,
        },
        EvalConfig {
            name: "hybrid_no_glossary".into(),
            options: SearchOptions {
                expand_query: false,
                ..base.clone()
            },
            not_covered_below: crate::store::NOT_COVERED_BELOW,
        },
        EvalConfig {
            name: "hybrid_no_citation_routing".into(),
            options: SearchOptions {
                citation_routing: false,
                ..base.clone()
            },
            not_covered_below: crate::store::NOT_COVERED_BELOW,
        },
        EvalConfig {
            name: "vector".into(),
            options: SearchOptions {
                mode: SearchMode::Vector,
                citation_routing: false,
                collapse_sections: false,
                follow_references: false,
                ..base.clone()
            },
            not_covered_below: crate::store::NOT_COVERED_BELOW,
        },
        EvalConfig {
            name: "full_text".into(),
            options: SearchOptions {
                mode: SearchMode::FullText,
                citation_routing: false,
                collapse_sections: false,
                follow_references: false,
                ..base
            },
            not_covered_below: 0.0,
        },
    ]
}

/// How well "not covered" is detected with the configuration's threshold.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UnanswerableStats {
    /// Unanswerable questions.
    pub queries: usize,
    /// Threshold on the top score.
    pub threshold: f32,
    /// Share of unanswerable questions whose top score is below the threshold (correct).
    pub detected_rate: f64,
    /// Share of answerable questions wrongly below the threshold.
    pub answerable_below_rate: f64,
    /// Mean top score of unanswerable questions.
    pub mean_top_score_unanswerable: f64,
    /// Mean top score of answerable questions.
    pub mean_top_score_answerable: f64,
    /// Of the questions below the threshold, the share that are unanswerable (the precision
    /// of answering "not covered"); 0 when none is below.
    pub precision: f64,
    /// Other thresholds: (threshold, detected_rate, answerable_below_rate, precision).
    pub sweep: Vec<(f32, f64, f64, f64)>,
}

/// A question with a judged section missing from the top 5.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Miss {
    /// `set/id`.
    pub id: String,
    /// Question type.
    pub qtype: String,
    /// The question.
    pub text: String,
    /// Judged citations with grades.
    pub expected: Vec<String>,
    /// Top 5 citations returned.
    pub got: Vec<String>,
    /// Whether the question is in the held-out part.
    pub held_out: bool,
}

/// Metrics of one granularity: over all answerable questions, per type, and on the tuning
/// and held-out parts ([`EvalQuery::held_out`]).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Breakdown {
    /// All answerable questions.
    pub overall: MetricSet,
    /// Per question type.
    pub by_type: BTreeMap<String, MetricSet>,
    /// The two thirds the ranking settings were chosen on.
    pub tuning: MetricSet,
    /// The held-out third.
    pub held_out: MetricSet,
}

impl Breakdown {
    fn of(scores: &[(&EvalQuery, QueryScore)]) -> Breakdown {
        let pick = |f: &dyn Fn(&EvalQuery) -> bool| -> Vec<QueryScore> {
            scores
                .iter()
                .filter(|(q, _)| f(q))
                .map(|(_, s)| *s)
                .collect()
        };
        let mut by_type: BTreeMap<String, Vec<QueryScore>> = BTreeMap::new();
        for (q, s) in scores {
            by_type.entry(q.qtype.clone()).or_default().push(*s);
        }
        Breakdown {
            overall: MetricSet::mean(&pick(&|_| true)),
            by_type: by_type
                .iter()
                .map(|(k, v)| (k.clone(), MetricSet::mean(v)))
                .collect(),
            tuning: MetricSet::mean(&pick(&|q| !q.held_out())),
            held_out: MetricSet::mean(&pick(&EvalQuery::held_out)),
        }
    }
}

/// Results of one configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigReport {
    /// Configuration name.
    pub name: String,
    /// Its options.
    pub options: SearchOptions,
    /// Section granularity (the headline): a judged paragraph is found when any passage of
    /// its section is returned; the list is read as its distinct sections.
    pub overall: MetricSet,
    /// Per question type, section granularity.
    pub by_type: BTreeMap<String, MetricSet>,
    /// Section granularity on the tuning and held-out parts.
    pub sections: Breakdown,
    /// Paragraph granularity: a judged paragraph is found only by a passage inside it or one
    /// holding it whole.
    pub paragraphs: Breakdown,
    /// Not-covered detection.
    pub unanswerable: UnanswerableStats,
    /// Mean time of one search, query embedding included, in milliseconds.
    pub mean_search_ms: f64,
    /// Questions whose judged sections were not all in the top 5.
    pub misses: Vec<Miss>,
}

/// The whole eval; the top-level metrics are those of the first configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Set names.
    pub sets: Vec<String>,
    /// Questions, answerable and not.
    pub queries: usize,
    /// Name of the configuration the top-level figures belong to.
    pub configuration: String,
    /// recall@5 of that configuration.
    pub recall_at_5: f64,
    /// recall@10.
    pub recall_at_10: f64,
    /// MRR.
    pub mrr: f64,
    /// nDCG@10.
    pub ndcg_at_10: f64,
    /// The granularity of the four figures above: `section`.
    pub granularity: String,
    /// The same configuration at paragraph granularity.
    pub paragraph: MetricSet,
    /// The same configuration on the held-out third, section granularity.
    pub held_out: MetricSet,
    /// Every configuration.
    pub configurations: Vec<ConfigReport>,
}

/// Loads every set under `dir` (`evals/retrieval`) and runs each configuration over it.
pub async fn run_retrieval_eval(
    pool: &PgPool,
    embedder: &dyn Embedder,
    dir: &Path,
    configs: &[EvalConfig],
) -> Result<EvalReport, RagError> {
    let queries = load_sets(dir)?;
    let mut sets: Vec<String> = queries.iter().map(|q| q.set.clone()).collect();
    sets.dedup();
    let mut reports = Vec::new();
    for config in configs {
        reports.push(run_config(pool, embedder, &queries, config).await?);
    }
    let first = reports
        .first()
        .ok_or_else(|| RagError::InvalidArgument("no configuration to evaluate".into()))?;
    Ok(EvalReport {
        sets,
        queries: queries.len(),
        configuration: first.name.clone(),
        recall_at_5: first.overall.recall_at_5,
        recall_at_10: first.overall.recall_at_10,
        mrr: first.overall.mrr,
        ndcg_at_10: first.overall.ndcg_at_10,
        granularity: "section".into(),
        paragraph: first.paragraphs.overall,
        held_out: first.sections.held_out,
        configurations: reports,
    })
}

async fn run_config(
    pool: &PgPool,
    embedder: &dyn Embedder,
    queries: &[EvalQuery],
    config: &EvalConfig,
) -> Result<ConfigReport, RagError> {
    let options = SearchOptions {
        k: config.options.k.max(10),
        ..config.options.clone()
    };
    let mut section_scores: Vec<(&EvalQuery, QueryScore)> = Vec::new();
    let mut paragraph_scores: Vec<(&EvalQuery, QueryScore)> = Vec::new();
    let mut top_unanswerable = Vec::new();
    let mut top_answerable = Vec::new();
    let mut misses = Vec::new();
    let mut elapsed = 0.0;
    for q in queries {
        let started = Instant::now();
        let hits = search_with(pool, embedder, &q.text, &options).await?;
        elapsed += started.elapsed().as_secs_f64();
        let top = hits.first().map_or(0.0, |h| f64::from(h.score));
        if q.qtype == UNANSWERABLE || q.qrels.is_empty() {
            top_unanswerable.push(top);
            continue;
        }
        top_answerable.push(top);
        let ranked: Vec<RankedHit> = hits
            .iter()
            .filter_map(|h| {
                Citation::parse(&h.citation).map(|citation| RankedHit {
                    citation,
                    covers_subtree: h.covers_subtree,
                    companions: h
                        .companions
                        .iter()
                        .filter_map(|c| Some((Citation::parse(&c.citation)?, c.covers_subtree)))
                        .collect(),
                })
            })
            .collect();
        let s = score_query_sections(&ranked, &q.qrels);
        paragraph_scores.push((q, score_query(&ranked, &q.qrels)));
        if s.recall_at_5 < 1.0 {
            misses.push(Miss {
                id: format!("{}/{}", q.set, q.id),
                qtype: q.qtype.clone(),
                text: q.text.clone(),
                expected: q.qrels.iter().map(|(c, g)| format!("{c} [{g}]")).collect(),
                got: hits
                    .iter()
                    .take(5)
                    .map(|h| format!("{} ({:.3})", h.citation, h.score))
                    .collect(),
                held_out: q.held_out(),
            });
        }
        section_scores.push((q, s));
    }
    let threshold = f64::from(config.not_covered_below);
    let rate_at = |v: &[f64], t: f64| {
        if v.is_empty() {
            0.0
        } else {
            v.iter().filter(|&&s| s < t).count() as f64 / v.len() as f64
        }
    };
    let rate = |v: &[f64]| rate_at(v, threshold);
    let precision_at = |t: f64| {
        let hit = top_unanswerable.iter().filter(|&&s| s < t).count();
        let wrong = top_answerable.iter().filter(|&&s| s < t).count();
        if hit + wrong == 0 {
            0.0
        } else {
            hit as f64 / (hit + wrong) as f64
        }
    };
    let sweep = (10..=20)
        .map(|i| {
            let t = i as f32 * 0.025;
            (
                t,
                rate_at(&top_unanswerable, f64::from(t)),
                rate_at(&top_answerable, f64::from(t)),
                precision_at(f64::from(t)),
            )
        })
        .collect();
    let mean = |v: &[f64]| {
        if v.is_empty() {
            0.0
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    };
    let sections = Breakdown::of(&section_scores);
    Ok(ConfigReport {
        name: config.name.clone(),
        options,
        overall: sections.overall,
        by_type: sections.by_type.clone(),
        sections,
        paragraphs: Breakdown::of(&paragraph_scores),
        unanswerable: UnanswerableStats {
            queries: top_unanswerable.len(),
            threshold: config.not_covered_below,
            detected_rate: rate(&top_unanswerable),
            answerable_below_rate: rate(&top_answerable),
            precision: precision_at(threshold),
            mean_top_score_unanswerable: mean(&top_unanswerable),
            mean_top_score_answerable: mean(&top_answerable),
            sweep,
        },
        mean_search_ms: if queries.is_empty() {
            0.0
        } else {
            elapsed * 1000.0 / queries.len() as f64
        },
        misses,
    })
}
