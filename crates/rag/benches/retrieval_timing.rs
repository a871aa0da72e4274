//! Timing harness (`cargo bench -p deriq-rag --bench retrieval_timing`): full and
//! incremental ingest of the project corpus with the local model, p50/p95 of one hybrid search
//! with the query embedding included, and exact versus HNSW vector search with and without
//! part filters (latency and recall against the exact top 10).
//!
//! Needs `DERIQ_TEST_DATABASE_URL` (a superuser URL); works in a throw-away database.
//! `--quick` ingests only Part 1904 instead of the whole corpus.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

use deriq_rag::store::{NoProgress, SearchMode, SearchOptions, VectorScan, apply_migration};
use deriq_rag::{CachedEmbedder, LocalEmbedder, SearchFilters, ingest, search_with};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection};

fn percentile(sorted_ms: &[f64], p: f64) -> f64 {
    if sorted_ms.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted_ms.len() as f64 - 1.0) * p).round() as usize;
    sorted_ms[idx.min(sorted_ms.len() - 1)]
}

fn summary(label: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    println!(
        "{label:<52} n={:<4} p50 {:>7.2} ms  p95 {:>7.2} ms  max {:>7.2} ms",
        ms.len(),
        percentile(&ms, 0.5),
        percentile(&ms, 0.95),
        ms.last().copied().unwrap_or(f64::NAN)
    );
}

fn questions(root: &Path) -> Vec<String> {
    deriq_rag::eval::load_sets(&root.join("evals/retrieval"))
        .map(|qs| qs.into_iter().map(|q| q.text).collect())
        .unwrap_or_else(|_| {
            [
                "drug test after a crash",
                "how long to keep negative drug test records",
                "who certifies the OSHA 300A",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect()
        })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::args().any(|a| a == "--quick");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let url = std::env::var("DERIQ_TEST_DATABASE_URL").map_err(
        |_| "set DERIQ_TEST_DATABASE_URL to a superuser URL of a PostgreSQL with pgvector",
    )?;
    let admin = PgConnectOptions::from_str(&url)?;
    let name = format!("deriq_rag_bench_{}", std::process::id());
    let mut conn = PgConnection::connect_with(&admin).await?;
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await?;
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(admin.clone().database(&name))
        .await?;
    apply_migration(&pool).await?;

    let local = LocalEmbedder::load_default()?;
    let corpus = if quick {
        root.join("corpus/cfr29/1904")
    } else {
        root.join("corpus")
    };
    let started = Instant::now();
    let report = ingest(&pool, &corpus, &local, &NoProgress).await?;
    println!(
        "full ingest: {} sections, {} chunks and {} editors' questions in {:.1} s ({:.1} chunks/s)",
        report.sections_written,
        report.chunks_written,
        report.questions_written,
        started.elapsed().as_secs_f64(),
        report.chunks_written as f64 / started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let again = ingest(&pool, &corpus, &local, &NoProgress).await?;
    println!(
        "incremental ingest (nothing changed): {} sections skipped in {:.2} s",
        again.sections_unchanged,
        started.elapsed().as_secs_f64()
    );

    let qs = questions(&root);
    let hybrid = SearchOptions {
        k: 5,
        ..SearchOptions::default()
    };
    // Query embedding included: the uncached local model embeds every question.
    let mut ms = Vec::new();
    for q in &qs {
        let t = Instant::now();
        search_with(&pool, &local, q, &hybrid).await?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    summary("hybrid search, k=5, query embedding included", ms);

    // Database side only: the cache holds every question's embedding after one pass.
    let cached = CachedEmbedder::new(local.clone(), 10_000);
    for q in &qs {
        search_with(&pool, &cached, q, &hybrid).await?;
    }
    let mut ms = Vec::new();
    for q in &qs {
        let t = Instant::now();
        search_with(&pool, &cached, q, &hybrid).await?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    summary("hybrid search, k=5, cached query embedding", ms);
    let narrow = SearchOptions {
        candidates: 50,
        ..hybrid.clone()
    };
    let mut ms = Vec::new();
    for q in &qs {
        let t = Instant::now();
        search_with(&pool, &cached, q, &narrow).await?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    summary("hybrid search, k=5, cached, 50 candidates per list", ms);

    // Exact versus HNSW, vector retriever only, 10 results.
    sqlx::raw_sql("CREATE INDEX rag_chunks_embedding_hnsw ON deriq.rag_chunks USING hnsw (embedding vector_cosine_ops)")
        .execute(&pool)
        .await?;
    // Without the part index the planner has only the HNSW index or a sequential scan to
    // choose from, so the filtered HNSW figures measure HNSW post-filtering (a throw-away
    // database: the index is not put back).
    sqlx::raw_sql("DROP INDEX deriq.rag_chunks_part_idx")
        .execute(&pool)
        .await?;
    sqlx::raw_sql("ANALYZE deriq.rag_chunks")
        .execute(&pool)
        .await?;
    let filters = [
        ("no filter", SearchFilters::default()),
        (
            "part 1904",
            SearchFilters {
                parts: vec!["1904".into()],
                regulations: vec![],
            },
        ),
        (
            "part 1681",
            SearchFilters {
                parts: vec!["1681".into()],
                regulations: vec![],
            },
        ),
    ];
    let scans = [
        ("exact", VectorScan::Exact),
        (
            "hnsw ef=40",
            VectorScan::Hnsw {
                ef_search: 40,
                iterative: false,
            },
        ),
        (
            "hnsw ef=40 iterative",
            VectorScan::Hnsw {
                ef_search: 40,
                iterative: true,
            },
        ),
        (
            "hnsw ef=100",
            VectorScan::Hnsw {
                ef_search: 100,
                iterative: false,
            },
        ),
    ];
    for (fname, filter) in &filters {
        let mut exact_lists: Vec<Vec<String>> = Vec::new();
        for (sname, scan) in &scans {
            let options = SearchOptions {
                k: 10,
                candidates: 10,
                mode: SearchMode::Vector,
                filters: filter.clone(),
                citation_routing: false,
                expand_query: false,
                vector_scan: *scan,
                collapse_sections: false,
                // The chunks' own vectors only: the editors' questions are scanned exactly
                // whatever the chunk scan, and would fill in what HNSW misses.
                question_weight: None,
                question_text_weight: None,
                ..SearchOptions::default()
            };
            let mut ms = Vec::new();
            let mut overlap = 0usize;
            let mut expected = 0usize;
            let mut short = 0usize;
            for (i, q) in qs.iter().enumerate() {
                let t = Instant::now();
                let hits = search_with(&pool, &cached, q, &options).await?;
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
                let got: Vec<String> = hits
                    .iter()
                    .map(|h| format!("{}#{}", h.citation, h.text.len()))
                    .collect();
                if hits.len() < 10 {
                    short += 1;
                }
                if *sname == "exact" {
                    exact_lists.push(got);
                } else if let Some(exact) = exact_lists.get(i) {
                    expected += exact.len();
                    overlap += got.iter().filter(|g| exact.contains(g)).count();
                }
            }
            let recall = if expected == 0 {
                1.0
            } else {
                overlap as f64 / expected as f64
            };
            summary(
                &format!("vector {sname}, {fname} (recall {recall:.3}, short {short})"),
                ms,
            );
        }
    }

    pool.close().await;
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    Ok(())
}
