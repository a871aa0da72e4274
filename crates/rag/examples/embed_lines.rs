//! Development aid: embeds each line of standard input with the local model and prints one
//! JSON array per line.

use std::io::{BufRead, Write};

use deriq_rag::{Embedder, LocalEmbedder};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lines: Vec<String> = std::io::stdin().lock().lines().collect::<Result<_, _>>()?;
    let m = LocalEmbedder::load_default()?;
    let vecs = m.embed_batch(&lines).await?;
    let mut out = std::io::stdout().lock();
    for v in vecs {
        writeln!(out, "{}", serde_json::to_string(&v)?)?;
    }
    Ok(())
}
