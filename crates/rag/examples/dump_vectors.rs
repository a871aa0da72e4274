//! Development aid for tuning: writes the eval questions' embeddings and section-heading
//! embeddings as JSON lines, for offline analysis of fusion formulas.
//! `cargo run -p deriq-rag --example dump_vectors -- corpus evals/retrieval OUT.jsonl`

use std::io::Write;
use std::path::PathBuf;

use deriq_rag::{Embedder, LocalEmbedder};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [corpus, evals, out] = args.as_slice() else {
        return Err("usage: dump_vectors CORPUS EVALS OUT.jsonl".into());
    };
    let (corpus, evals) = (PathBuf::from(corpus), PathBuf::from(evals));
    let mut out = std::fs::File::create(out)?;
    let m = LocalEmbedder::load_default()?;
    let queries = deriq_rag::eval::load_sets(&evals)?;
    let texts: Vec<String> = queries.iter().map(|q| q.text.clone()).collect();
    let vecs = m.embed_batch(&texts).await?;
    for (q, v) in queries.iter().zip(vecs) {
        let qrels: Vec<(String, u8)> = q.qrels.iter().map(|(c, g)| (c.to_string(), *g)).collect();
        writeln!(
            out,
            "{}",
            serde_json::json!({"kind": "query", "id": q.id, "type": q.qtype, "text": q.text, "qrels": qrels, "vec": v})
        )?;
    }
    let sections = deriq_rag::load_path(&corpus)?;
    let heads: Vec<String> = sections
        .iter()
        .map(|s| {
            format!(
                "{} › {} › {}",
                s.regulation,
                s.subpart_title.clone().unwrap_or_default(),
                s.heading()
            )
        })
        .collect();
    let vecs = m.embed_batch(&heads).await?;
    for (s, v) in sections.iter().zip(vecs) {
        writeln!(
            out,
            "{}",
            serde_json::json!({"kind": "section", "citation": s.citation.to_string(), "vec": v})
        )?;
    }
    Ok(())
}
