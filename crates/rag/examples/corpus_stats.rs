//! Prints what the corpus loader and chunker make of a corpus folder.
//! `cargo run -p deriq-rag --example corpus_stats -- corpus [--dump CITATION]`

use std::path::PathBuf;

use deriq_rag::{Chunker, Embedder, LocalEmbedder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(args.first().map_or("corpus", String::as_str));
    let dump = args
        .iter()
        .position(|a| a == "--dump")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let sections = deriq_rag::load_path(&dir)?;
    let embedder = LocalEmbedder::load_default()?;
    let counter = embedder.token_counter();
    let chunker = Chunker::new(counter.as_ref(), embedder.max_input_tokens());
    let mut chunks = 0;
    let mut by_part = std::collections::BTreeMap::<String, (usize, usize)>::new();
    let mut max_tokens = 0;
    let mut split = 0;
    for s in &sections {
        let cs = chunker.chunk_section(s);
        chunks += cs.len();
        let e = by_part.entry(s.part.clone()).or_default();
        e.0 += 1;
        e.1 += cs.len();
        for c in &cs {
            let n = counter.count(&c.embedding_text());
            max_tokens = max_tokens.max(n);
            if !c.covers_subtree {
                split += 1;
            }
        }
        if dump.as_deref() == Some(s.citation.to_string().as_str()) {
            for p in &s.paragraphs {
                println!(
                    "  {:<12} {}",
                    p.path.join("."),
                    p.text.chars().take(90).collect::<String>()
                );
            }
            for c in &cs {
                println!(
                    "--- {} covers={} tokens={}\n{}",
                    c.citation,
                    c.covers_subtree,
                    counter.count(&c.embedding_text()),
                    c.embedding_text()
                );
            }
        }
    }
    println!(
        "sections {} chunks {} (partial {}) max tokens {}",
        sections.len(),
        chunks,
        split,
        max_tokens
    );
    for (part, (s, c)) in by_part {
        println!("  part {part:>6}: {s:>4} sections {c:>5} chunks");
    }
    Ok(())
}
