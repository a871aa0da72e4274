//! Incremental ingest: sections whose content hash is unchanged are skipped; changed ones
//! are re-chunked, re-embedded and replaced in one transaction each. A change of embedding
//! model or dimension empties the index first, so vectors from two models never mix.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

use pgvector::Vector;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::progress::IngestProgress;
use super::schema::index_metadata;
use crate::chunking::{CHUNKER_VERSION, Chunk, Chunker};
use crate::corpus::{self, Section};
use crate::embed::Embedder;
use crate::error::RagError;
use crate::questions::answering_chunks;

/// Sections embedded per round trip to the embedder.
const EMBED_BATCH: usize = 64;

/// What an ingest did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestReport {
    /// Sections found in the input.
    pub sections_seen: usize,
    /// Sections skipped because their content hash was unchanged.
    pub sections_unchanged: usize,
    /// Sections (re)chunked and (re)embedded.
    pub sections_written: usize,
    /// Sections removed because their file no longer holds them.
    pub sections_removed: usize,
    /// Chunks written.
    pub chunks_written: usize,
    /// Editors' questions written ([`crate::questions`]), each counted once however many
    /// chunks it is filed under.
    pub questions_written: usize,
    /// Set when the whole index was rebuilt, saying why.
    pub rebuilt: Option<String>,
    /// Wall time in seconds.
    pub seconds: f64,
}

fn hex_sha256(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    hex::encode(h.finalize())
}

fn section_hash(section: &Section, model: &str) -> Result<String, RagError> {
    let mut content = section.clone();
    content.source_file = None;
    let json = serde_json::to_string(&content).map_err(|e| RagError::Index(e.to_string()))?;
    Ok(hex_sha256(&[CHUNKER_VERSION, model, &json]))
}

/// Loads every section under `corpus_path` (folder or file; Markdown, eCFR XML, USLM XML)
/// and ingests it. Sections previously ingested from files under `corpus_path` that are no
/// longer there are removed.
pub async fn ingest(
    pool: &PgPool,
    corpus_path: &Path,
    embedder: &dyn Embedder,
    progress: &dyn IngestProgress,
) -> Result<IngestReport, RagError> {
    let sections = corpus::load_path(corpus_path)?;
    let prune_under = corpus_path
        .is_dir()
        .then(|| corpus_path.to_string_lossy().into_owned());
    ingest_sections(pool, &sections, embedder, progress, prune_under.as_deref()).await
}

/// Makes sure the stored index was built with `embedder`; if not, empties it, resizes the
/// vector column to the new dimension, and records the new model. Returns why it rebuilt.
async fn ensure_model(pool: &PgPool, embedder: &dyn Embedder) -> Result<Option<String>, RagError> {
    let dimension = i32::try_from(embedder.dimension())
        .ok()
        .filter(|d| (1..=16_000).contains(d))
        .ok_or_else(|| {
            RagError::InvalidArgument(format!("unsupported dimension {}", embedder.dimension()))
        })?;
    let stored = index_metadata(pool).await?;
    let reason = match &stored {
        None => None,
        Some(m) if m.model == embedder.model_id() && m.dimension == dimension => {
            if m.chunker_version == CHUNKER_VERSION {
                return Ok(None);
            }
            Some(format!(
                "chunker changed from {} to {CHUNKER_VERSION}: re-chunking and re-embedding every section",
                m.chunker_version
            ))
        }
        Some(m) => Some(format!(
            "index was built with {} ({} dimensions); re-embedding every section with {} ({} dimensions)",
            m.model,
            m.dimension,
            embedder.model_id(),
            dimension
        )),
    };
    let mut tx = pool.begin().await?;
    if stored.is_some() {
        sqlx::query("DELETE FROM deriq.rag_sections")
            .execute(&mut *tx)
            .await?;
    }
    let column_dim: Option<i32> = sqlx::query_scalar(
        "SELECT atttypmod FROM pg_attribute \
         WHERE attrelid = 'deriq.rag_chunks'::regclass AND attname = 'embedding'",
    )
    .fetch_optional(&mut *tx)
    .await?;
    if column_dim != Some(dimension) {
        sqlx::query("DELETE FROM deriq.rag_sections")
            .execute(&mut *tx)
            .await?;
        // DDL takes no bind parameters; `dimension` is an integer checked above.
        for table in ["rag_chunks", "rag_questions"] {
            let ddl = format!(
                "ALTER TABLE deriq.{table} ALTER COLUMN embedding TYPE vector({dimension})"
            );
            sqlx::raw_sql(&ddl).execute(&mut *tx).await?;
        }
    }
    sqlx::query(
        "INSERT INTO deriq.rag_index_meta (singleton, model, dimension, chunker_version, updated_at) \
         VALUES (true, $1, $2, $3, now()) \
         ON CONFLICT (singleton) DO UPDATE SET model = EXCLUDED.model, dimension = EXCLUDED.dimension, \
         chunker_version = EXCLUDED.chunker_version, updated_at = now()",
    )
    .bind(embedder.model_id())
    .bind(dimension)
    .bind(CHUNKER_VERSION)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(reason)
}

/// Ingests already-loaded sections. `prune_under`, when given, removes stored sections whose
/// source file path starts with it but that are not among `sections`.
pub async fn ingest_sections(
    pool: &PgPool,
    sections: &[Section],
    embedder: &dyn Embedder,
    progress: &dyn IngestProgress,
    prune_under: Option<&str>,
) -> Result<IngestReport, RagError> {
    let started = Instant::now();
    let mut report = IngestReport {
        sections_seen: sections.len(),
        ..IngestReport::default()
    };
    let mut seen = HashSet::new();
    for s in sections {
        if !seen.insert(s.citation.to_string()) {
            return Err(RagError::Index(format!(
                "section {} appears twice in the input",
                s.citation
            )));
        }
    }
    progress.begin(sections.len() as u64);
    if let Some(reason) = ensure_model(pool, embedder).await? {
        progress.message(&reason);
        report.rebuilt = Some(reason);
    }

    let stored: HashMap<String, (String, Option<String>)> =
        sqlx::query_as::<_, (String, String, Option<String>)>(
            "SELECT citation, content_hash, source_file FROM deriq.rag_sections",
        )
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|(c, h, f)| (c, (h, f)))
        .collect();

    let model = embedder.model_id().to_string();
    let counter = embedder.token_counter();
    let chunker = Chunker::new(counter.as_ref(), embedder.max_input_tokens());
    let mut pending: Vec<(&Section, String, Vec<Chunk>)> = Vec::new();
    for section in sections {
        let hash = section_hash(section, &model)?;
        let key = section.citation.to_string();
        if stored.get(&key).is_some_and(|(h, _)| *h == hash) {
            report.sections_unchanged += 1;
            progress.advance(1);
            continue;
        }
        pending.push((section, hash, chunker.chunk_section(section)));
        if pending.len() >= EMBED_BATCH {
            write_batch(pool, embedder, &mut pending, &mut report, progress).await?;
        }
    }
    write_batch(pool, embedder, &mut pending, &mut report, progress).await?;

    if let Some(root) = prune_under {
        for (citation, (_, file)) in &stored {
            let under = file.as_deref().is_some_and(|f| f.starts_with(root));
            if under && !seen.contains(citation) {
                sqlx::query("DELETE FROM deriq.rag_sections WHERE citation = $1")
                    .bind(citation)
                    .execute(pool)
                    .await?;
                report.sections_removed += 1;
            }
        }
        if report.sections_removed > 0 {
            progress.message(&format!(
                "removed {} sections no longer in the corpus",
                report.sections_removed
            ));
        }
    }
    if report.sections_written > 0 || report.sections_removed > 0 || report.rebuilt.is_some() {
        refresh_lexeme_stats(pool).await?;
    }
    progress.finish();
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The next embedding of a batch, checked against the index's dimension.
fn next_vector(
    vectors: &mut impl Iterator<Item = Vec<f32>>,
    dimension: usize,
) -> Result<Vec<f32>, RagError> {
    let vector = vectors
        .next()
        .ok_or_else(|| RagError::Index("embedding count mismatch".into()))?;
    if vector.len() != dimension {
        return Err(RagError::Index(format!(
            "embedder returned {} dimensions, index holds {dimension}",
            vector.len()
        )));
    }
    Ok(vector)
}

/// Recomputes the per-lexeme document frequencies used by BM25.
pub async fn refresh_lexeme_stats(pool: &PgPool) -> Result<(), RagError> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM deriq.rag_lexemes")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO deriq.rag_lexemes (lexeme, ndoc) \
         SELECT word, ndoc FROM ts_stat('SELECT tsv FROM deriq.rag_chunks')",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn write_batch(
    pool: &PgPool,
    embedder: &dyn Embedder,
    pending: &mut Vec<(&Section, String, Vec<Chunk>)>,
    report: &mut IngestReport,
    progress: &dyn IngestProgress,
) -> Result<(), RagError> {
    if pending.is_empty() {
        return Ok(());
    }
    let texts: Vec<String> = pending
        .iter()
        .flat_map(|(section, _, chunks)| {
            chunks
                .iter()
                .map(Chunk::embedding_text)
                .chain(section.questions.iter().map(|q| q.text.clone()))
        })
        .collect();
    let vectors = embedder.embed_batch(&texts).await?;
    if vectors.len() != texts.len() {
        return Err(RagError::Index(format!(
            "asked for {} embeddings, got {}",
            texts.len(),
            vectors.len()
        )));
    }
    let mut vectors = vectors.into_iter();
    for (section, hash, chunks) in pending.drain(..) {
        let mut tx = pool.begin().await?;
        let citation = section.citation.to_string();
        sqlx::query("DELETE FROM deriq.rag_sections WHERE citation = $1")
            .bind(&citation)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO deriq.rag_sections (citation, citation_key, title_prefix, title, regulation, part, \
             subpart, subpart_title, source, official_text, as_of, restatement, note, source_file, content_hash, chunk_count) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(&citation)
        .bind(section.citation.key())
        .bind(section.citation.title_prefix())
        .bind(&section.title)
        .bind(&section.regulation)
        .bind(&section.part)
        .bind(&section.subpart)
        .bind(&section.subpart_title)
        .bind(&section.source)
        .bind(&section.official_text)
        .bind(&section.as_of)
        .bind(section.restatement)
        .bind(&section.note)
        .bind(section.source_file.as_ref().map(|p| p.to_string_lossy().into_owned()))
        .bind(&hash)
        .bind(i32::try_from(chunks.len()).unwrap_or(i32::MAX))
        .execute(&mut *tx)
        .await?;
        let mut chunk_ids = Vec::with_capacity(chunks.len());
        for chunk in &chunks {
            let vector = next_vector(&mut vectors, embedder.dimension())?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO deriq.rag_chunks (section_citation, ordinal, citation, citation_key, title_prefix, part, \
                 regulation, heading_path, prefix, context, body, covers_subtree, content_hash, embedding) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
            )
            .bind(&citation)
            .bind(i32::try_from(chunk.ordinal).unwrap_or(i32::MAX))
            .bind(chunk.citation.to_string())
            .bind(chunk.citation.key())
            .bind(chunk.citation.title_prefix())
            .bind(&section.part)
            .bind(&section.regulation)
            .bind(&chunk.heading_path)
            .bind(&chunk.prefix)
            .bind(&chunk.context)
            .bind(&chunk.text)
            .bind(chunk.covers_subtree)
            .bind(hex_sha256(&[&chunk.embedding_text()]))
            .bind(Vector::from(vector))
            .fetch_one(&mut *tx)
            .await?;
            chunk_ids.push(id);
        }
        for question in &section.questions {
            let vector = Vector::from(next_vector(&mut vectors, embedder.dimension())?);
            for i in answering_chunks(section, &chunks, &question.target) {
                let Some(chunk_id) = chunk_ids.get(i) else {
                    continue;
                };
                sqlx::query(
                    "INSERT INTO deriq.rag_questions (chunk_id, question, embedding) VALUES ($1, $2, $3)",
                )
                .bind(chunk_id)
                .bind(&question.text)
                .bind(&vector)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        report.questions_written += section.questions.len();
        report.sections_written += 1;
        report.chunks_written += chunks.len();
        progress.advance(1);
    }
    Ok(())
}
