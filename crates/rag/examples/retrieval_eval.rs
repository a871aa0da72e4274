//! Development driver for the retrieval eval: ingests the corpus into the database named by
//! `DERIQ_DATABASE_URL` (creating the tables if needed), runs every configuration, and prints
//! a table; `--json FILE` writes the full report, `--tune` adds fusion-weight variants.
//!
//! `DERIQ_DATABASE_URL=postgres://... cargo run --release -p deriq-rag --example retrieval_eval -- --tune`

use std::path::PathBuf;

use deriq_rag::eval::{EvalConfig, default_configs, run_retrieval_eval};
use deriq_rag::store::{BarProgress, Fusion, SearchOptions, apply_migration};
use deriq_rag::{CachedEmbedder, LocalEmbedder, ingest};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let url = std::env::var("DERIQ_DATABASE_URL")?;
    let corpus = PathBuf::from(value("--corpus").unwrap_or_else(|| "corpus".into()));
    let evals = PathBuf::from(value("--evals").unwrap_or_else(|| "evals/retrieval".into()));
    let pool = sqlx::PgPool::connect(&url).await?;
    let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass('deriq.rag_chunks')::text")
        .fetch_one(&pool)
        .await?;
    if exists.is_none() {
        apply_migration(&pool).await?;
    }
    let embedder = CachedEmbedder::new(LocalEmbedder::load_default()?, 10_000);
    let report = ingest(&pool, &corpus, &embedder, &BarProgress::default()).await?;
    eprintln!(
        "ingest: {} sections ({} written, {} unchanged), {} chunks in {:.1}s",
        report.sections_seen,
        report.sections_written,
        report.sections_unchanged,
        report.chunks_written,
        report.seconds
    );
    let mut configs = default_configs();
    if args.iter().any(|a| a == "--tune") {
        let base = SearchOptions {
            k: 10,
            ..SearchOptions::default()
        };
        for w in [0.4f32, 0.6, 0.7] {
            configs.push(EvalConfig {
                name: format!("weighted_{w}"),
                options: SearchOptions {
                    fusion: Fusion::Weighted { vector_weight: w },
                    ..base.clone()
                },
                not_covered_below: deriq_rag::store::NOT_COVERED_BELOW,
            });
        }
        for (k, w) in [(20.0f32, 0.5f32), (60.0, 0.7), (60.0, 0.3)] {
            configs.push(EvalConfig {
                name: format!("rrf_k{k}_w{w}"),
                options: SearchOptions {
                    fusion: Fusion::Rrf {
                        k,
                        vector_weight: w,
                    },
                    ..base.clone()
                },
                not_covered_below: 0.0,
            });
        }
    }
    let report = run_retrieval_eval(&pool, &embedder, &evals, &configs).await?;
    println!("{} questions in sets {:?}", report.queries, report.sets);
    println!(
        "{:<28} {:>6} {:>6} {:>6} {:>6}  {:>8} {:>8} {:>7}",
        "configuration", "R@5", "R@10", "MRR", "nDCG", "unans.ok", "ans.low", "ms"
    );
    for c in &report.configurations {
        println!(
            "{:<28} {:>6.3} {:>6.3} {:>6.3} {:>6.3}  {:>8.3} {:>8.3} {:>7.1}",
            c.name,
            c.overall.recall_at_5,
            c.overall.recall_at_10,
            c.overall.mrr,
            c.overall.ndcg_at_10,
            c.unanswerable.detected_rate,
            c.unanswerable.answerable_below_rate,
            c.mean_search_ms
        );
        for (t, m) in &c.by_type {
            println!(
                "    {:<24} {:>6.3} {:>6.3} {:>6.3} {:>6.3}  n={}",
                t, m.recall_at_5, m.recall_at_10, m.mrr, m.ndcg_at_10, m.queries
            );
        }
        println!(
            "    top score: unanswerable {:.3}, answerable {:.3}",
            c.unanswerable.mean_top_score_unanswerable, c.unanswerable.mean_top_score_answerable
        );
    }
    if let Some(first) = report.configurations.first() {
        println!(
            "not-covered threshold sweep for {} (threshold, unanswerable detected, answerable below, precision):",
            first.name
        );
        for (t, d, a, p) in &first.unanswerable.sweep {
            println!("    {t:.3} {d:.3} {a:.3} {p:.3}");
        }
    }
    if let Some(path) = value("--json") {
        std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
    }
    Ok(())
}
