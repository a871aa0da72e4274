//! `deriq ingest [PATH]`, `deriq search "<question>"`, and the retrieval eval.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use deriq_gateway::config::{Config, project_root};
use deriq_gateway::db::{self, Endpoints};
use deriq_rag::store::{BarProgress, SearchFilters, results_json, search};
use deriq_rag::{CachedEmbedder, Embedder, LocalEmbedder};

#[derive(Args)]
pub struct IngestArgs {
    /// A corpus folder or file (Markdown restatements, eCFR XML, USLM XML). Default: corpus/.
    path: Option<PathBuf>,
    /// Only read and check the files (front matter, paragraphs, editors' questions), with no
    /// database and no embedding: every bad file is listed, and the exit code is 1 if any.
    #[arg(long)]
    check: bool,
}

#[derive(Args)]
pub struct SearchArgs {
    /// The question, or a citation such as "382.303" or "§ 1904.7(b)(3)".
    question: String,
    /// How many passages.
    #[arg(long, default_value_t = 5)]
    k: usize,
    /// Only this part (382, 40, 391, 1904, 1681).
    #[arg(long)]
    part: Vec<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RetrievalEvalArgs {
    /// The labelled sets (BEIR style). Default: evals/retrieval.
    #[arg(long)]
    evals: Option<PathBuf>,
    /// Compare these configurations instead of the built-in ones: a JSON list of
    /// `{"name", "options", "not_covered_below"}` objects, `options` being search options
    /// (`deriq eval retrieval --json` prints the built-in ones' `options`).
    #[arg(long)]
    configs: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

fn embedder() -> anyhow::Result<Arc<dyn Embedder>> {
    let local = LocalEmbedder::load_default()?;
    Ok(Arc::new(CachedEmbedder::new(local, 10_000)))
}

async fn gateway_pool() -> anyhow::Result<sqlx::PgPool> {
    let config = Config::load()?;
    let endpoints = Endpoints::resolve(&config)?;
    Ok(db::pool("primary", endpoints.gateway.clone(), 4).await?)
}

pub async fn ingest(args: IngestArgs) -> anyhow::Result<ExitCode> {
    let path = args.path.unwrap_or_else(|| project_root().join("corpus"));
    anyhow::ensure!(path.exists(), "{} does not exist; give a corpus folder or file", path.display());
    if args.check {
        return check_corpus(&path);
    }
    let pool = gateway_pool().await?;
    let embedder = embedder()?;
    let report = deriq_rag::store::ingest(&pool, &path, embedder.as_ref(), &BarProgress::default()).await?;
    println!(
        "ingested {}: {} sections ({} written, {} unchanged), {} chunks and {} editors' questions in {:.1} s",
        path.display(), report.sections_seen, report.sections_written, report.sections_unchanged, report.chunks_written,
        report.questions_written, report.seconds
    );
    Ok(ExitCode::SUCCESS)
}

fn check_corpus(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    let report = deriq_rag::corpus::check_path(path)?;
    for e in &report.errors {
        eprintln!("error: {e}");
    }
    println!(
        "checked {}: {} files, {} sections, {} editors' questions, {} file(s) with errors",
        path.display(), report.files, report.sections, report.questions, report.errors.len()
    );
    Ok(if report.errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

pub async fn search_cmd(args: SearchArgs) -> anyhow::Result<ExitCode> {
    let pool = gateway_pool().await?;
    let embedder = embedder()?;
    let filters = SearchFilters { parts: args.part, ..SearchFilters::default() };
    let hits = search(&pool, embedder.as_ref(), &args.question, args.k, &filters).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&results_json(&hits))?);
    } else if hits.is_empty() {
        println!("No passage matches; the corpus may not cover this question.");
    } else {
        for h in &hits {
            println!("[{:.3}] {} — {}\n{}\n", h.score, h.citation, h.title, h.text);
            for c in &h.companions {
                println!("    also [{:.3}] {}\n    {}\n", c.score, c.citation, c.text.replace('\n', "\n    "));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read_configs(file: &std::path::Path) -> anyhow::Result<Vec<deriq_rag::eval::EvalConfig>> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the configurations file {}", file.display()))?;
    let configs: Vec<deriq_rag::eval::EvalConfig> = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a JSON list of configurations ({{\"name\", \"options\", \"not_covered_below\"}}); \
             `deriq eval retrieval --json` prints the built-in ones' options",
            file.display()
        )
    })?;
    anyhow::ensure!(!configs.is_empty(), "{} lists no configuration", file.display());
    Ok(configs)
}

pub async fn retrieval_eval(args: RetrievalEvalArgs) -> anyhow::Result<ExitCode> {
    let configs = match &args.configs {
        Some(file) => read_configs(file)?,
        None => deriq_rag::eval::default_configs(),
    };
    let pool = gateway_pool().await?;
    let embedder = embedder()?;
    let dir = args.evals.unwrap_or_else(|| project_root().join("evals/retrieval"));
    let report = deriq_rag::eval::run_retrieval_eval(&pool, embedder.as_ref(), &dir, &configs).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{} queries from {}", report.queries, report.sets.join(", "));
        println!("section granularity (a judged paragraph counts as found when its section is returned; one entry per section):");
        println!(
            "{:<27} {:>8} {:>9} {:>7} {:>9} {:>14} {:>10}",
            "configuration", "recall@5", "recall@10", "MRR", "nDCG@10", "held-out R@5/MRR", "ms/search"
        );
        for c in &report.configurations {
            let m = &c.sections.overall;
            let h = &c.sections.held_out;
            println!(
                "{:<27} {:>8.3} {:>9.3} {:>7.3} {:>9.3} {:>8.3}/{:.3} {:>10.1}",
                c.name, m.recall_at_5, m.recall_at_10, m.mrr, m.ndcg_at_10, h.recall_at_5, h.mrr, c.mean_search_ms
            );
        }
        println!("paragraph granularity (only the judged paragraph, or a passage holding it whole, counts):");
        for c in &report.configurations {
            let m = &c.paragraphs.overall;
            let h = &c.paragraphs.held_out;
            println!(
                "{:<27} {:>8.3} {:>9.3} {:>7.3} {:>9.3} {:>8.3}/{:.3}",
                c.name, m.recall_at_5, m.recall_at_10, m.mrr, m.ndcg_at_10, h.recall_at_5, h.mrr
            );
        }
        if let Some(first) = report.configurations.first() {
            println!("{} per question type (section R@5 / MRR; paragraph R@5 / MRR):", first.name);
            for (t, m) in &first.sections.by_type {
                let p = first.paragraphs.by_type.get(t).copied().unwrap_or_default();
                println!("    {:<18} n={:<3} {:.3} / {:.3}   {:.3} / {:.3}", t, m.queries, m.recall_at_5, m.mrr, p.recall_at_5, p.mrr);
            }
            let u = &first.unanswerable;
            println!(
                "not covered (top score < {:.2}): {:.0}% of {} unanswerable questions, {:.1}% of answerable ones wrongly; precision {:.2}",
                u.threshold,
                u.detected_rate * 100.0,
                u.queries,
                u.answerable_below_rate * 100.0,
                u.precision
            );
            for (t, d, a, p) in &u.sweep {
                println!("    threshold {t:.3}: unanswerable detected {d:.3}, answerable below {a:.3}, precision {p:.3}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
