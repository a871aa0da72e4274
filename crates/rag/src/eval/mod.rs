//! The retrieval eval: BEIR-style question sets under `evals/retrieval/<set>/`, scored with
//! recall@5, recall@10, MRR and nDCG@10 for several search configurations.

mod dataset;
mod metrics;
mod runner;

pub use dataset::{EvalQuery, load_sets};
pub use metrics::{MetricSet, QueryScore, RankedHit, score_query, score_query_sections};
pub use runner::{
    Breakdown, ConfigReport, EvalConfig, EvalReport, Miss, UnanswerableStats, default_configs,
    run_retrieval_eval,
};
