//! Development aid: times the local model on a sample of the corpus's chunks with several
//! batch sizes, to choose how ingest batches its texts.
//! `cargo run --release -p deriq-rag --example embed_timing -- corpus 400 8,16,32,64`

use std::path::PathBuf;
use std::time::Instant;

use deriq_rag::{Chunker, Embedder, LocalEmbedder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(args.first().map_or("corpus", String::as_str));
    let sample: usize = args.get(1).map_or(Ok(400), |s| s.parse())?;
    let sizes: Vec<usize> = args
        .get(2)
        .map_or("8,16,32", String::as_str)
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let sections = deriq_rag::load_path(&dir)?;
    let embedder = LocalEmbedder::load_default()?;
    let counter = embedder.token_counter();
    let chunker = Chunker::new(counter.as_ref(), embedder.max_input_tokens());
    let texts: Vec<String> = sections
        .iter()
        .flat_map(|s| chunker.chunk_section(s))
        .map(|c| c.embedding_text())
        .collect();
    let step = (texts.len() / sample.max(1)).max(1);
    let picked: Vec<String> = texts.iter().step_by(step).take(sample).cloned().collect();
    let tokens: usize = picked.iter().map(|t| counter.count(t).min(256)).sum();
    println!(
        "{} of {} chunks, {tokens} word pieces",
        picked.len(),
        texts.len()
    );
    for size in sizes {
        let m = embedder.clone().with_batch_size(size);
        let started = Instant::now();
        let out = m.embed_blocking(&picked)?;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "batch {size:>3}: {secs:>6.2} s, {:>6.1} chunks/s ({} vectors)",
            picked.len() as f64 / secs,
            out.len()
        );
    }
    Ok(())
}
