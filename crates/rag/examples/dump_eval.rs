//! Development aid for tuning: writes each eval question with its glossary expansion, its
//! embedding (of the expanded text, as search uses it) and its judgments as JSON lines, for
//! offline analysis of ranking formulas against the chunks in the database.
//! `cargo run --release -p deriq-rag --example dump_eval -- evals/retrieval OUT.jsonl`

use std::io::Write;
use std::path::PathBuf;

use deriq_rag::{Embedder, LocalEmbedder};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [evals, out] = args.as_slice() else {
        return Err("usage: dump_eval EVALS OUT.jsonl".into());
    };
    let mut out = std::fs::File::create(out)?;
    let m = LocalEmbedder::load_default()?;
    let queries = deriq_rag::eval::load_sets(&PathBuf::from(evals))?;
    let expanded: Vec<String> = queries
        .iter()
        .map(|q| deriq_rag::glossary::expand(&q.text))
        .collect();
    let vecs = m.embed_batch(&expanded).await?;
    for ((q, x), v) in queries.iter().zip(&expanded).zip(vecs) {
        let qrels: Vec<(String, u8)> = q.qrels.iter().map(|(c, g)| (c.to_string(), *g)).collect();
        let cites: Vec<String> = deriq_rag::find_citations(&q.text)
            .iter()
            .map(|r| r.key())
            .collect();
        writeln!(
            out,
            "{}",
            serde_json::json!({"set": q.set, "id": q.id, "type": q.qtype, "part": q.part,
                "text": q.text, "expanded": x, "cites": cites, "qrels": qrels, "vec": v})
        )?;
    }
    Ok(())
}
