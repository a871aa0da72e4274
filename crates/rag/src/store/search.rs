//! Hybrid retrieval: exact citation lookups first, then vector similarity and full-text
//! rank fused into one ranking, with part and regulation filters.

use std::collections::{HashMap, HashSet};

use pgvector::Vector;
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Postgres, Transaction};

use super::companions::{COMPANION_MARGIN, CompanionPassage, MAX_COMPANIONS, companions};
use super::fusion::{Fusion, fuse, merge};
use super::references::follow_references;
use crate::citation::{Citation, CitationRef, find_citations};
use crate::embed::Embedder;
use crate::error::RagError;

/// Which retrievers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchMode {
    /// Embedding similarity only.
    Vector,
    /// PostgreSQL full-text rank only.
    FullText,
    /// Both, fused.
    Hybrid,
}

/// How the vector candidates are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VectorScan {
    /// A sequential scan that scores every (filtered) chunk: exact, and the default.
    Exact,
    /// An HNSW index, when one exists, with `hnsw.ef_search` and optionally pgvector 0.8's
    /// iterative scan (which keeps scanning until enough rows pass the filters).
    Hnsw {
        /// Candidate list size.
        ef_search: u32,
        /// Use `hnsw.iterative_scan = relaxed_order`.
        iterative: bool,
    },
}

/// Restricts results to some parts or regulations; empty lists mean no restriction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchFilters {
    /// Part numbers (`382`, `40`, `1904`) or, for the U.S. Code, the `part` of the corpus files.
    pub parts: Vec<String>,
    /// Regulation names as stored (`49 CFR Part 382`).
    pub regulations: Vec<String>,
}

/// Everything that shapes one search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchOptions {
    /// Results wanted.
    pub k: usize,
    /// Retrievers.
    pub mode: SearchMode,
    /// Fusion for [`SearchMode::Hybrid`].
    pub fusion: Fusion,
    /// Filters.
    pub filters: SearchFilters,
    /// Candidates taken from each retriever before fusion.
    pub candidates: usize,
    /// Whether citations in the question go straight to the cited section or paragraph.
    pub citation_routing: bool,
    /// Exact scan or HNSW.
    pub vector_scan: VectorScan,
    /// Append the regulatory wording of trade shorthand to the question ([`crate::glossary`]).
    pub expand_query: bool,
    /// One result per section: a section's best passage stands for it and its other passages
    /// are dropped, so the top k are k different sections; the passages under one cited
    /// citation are joined into one result in document order.
    #[serde(default = "collapse_by_default")]
    pub collapse_sections: bool,
    /// With `collapse_sections`: sections cited by the text of the top passages move up to
    /// just below the passage citing them ([`super::references`]).
    #[serde(default = "collapse_by_default")]
    pub follow_references: bool,
    /// With `collapse_sections`: each result also carries the other passages of its section
    /// that score nearly as well ([`super::companions`]).
    #[serde(default = "collapse_by_default")]
    pub companions: bool,
    /// Score a chunk's similarity by the closer of its own text and the editors' questions
    /// filed under it ([`crate::questions`]), the question's cosine weighted by this; `None`
    /// uses the chunk's text alone.
    #[serde(default = "default_question_weight")]
    pub question_weight: Option<f32>,
    /// The same for the full-text rank: a chunk's BM25 is the higher of its own and this
    /// weight times its best question's; `None` ranks the chunk's text alone.
    #[serde(default = "default_question_text_weight")]
    pub question_text_weight: Option<f32>,
}

fn default_question_weight() -> Option<f32> {
    Some(QUESTION_WEIGHT)
}

fn default_question_text_weight() -> Option<f32> {
    Some(QUESTION_TEXT_WEIGHT)
}

/// How much a full-text match with an editor's question counts against one with the chunk's
/// own text (both normalised by the best score the user's question could reach).
pub const QUESTION_TEXT_WEIGHT: f32 = 0.9;

/// How much a match with an editor's question counts against a match with the chunk's own
/// text: questions resemble questions more than any regulation text does, so their cosines
/// run higher and are scaled down before the two are compared.
pub const QUESTION_WEIGHT: f32 = 0.95;

fn collapse_by_default() -> bool {
    true
}

/// Longest text, in bytes, that joining the passages under one cited citation produces; the
/// passages past it are left out (and the result no longer claims to hold the whole subtree).
pub const MAX_JOINED_TEXT: usize = 6000;

/// Candidates taken from each retriever: enough that one result per section still fills k
/// and that most chunks the other retriever found also get this retriever's score.
pub const DEFAULT_CANDIDATES: usize = 200;

/// The fusion chosen by the retrieval eval on its tuning part (see crates/rag/README.md):
/// 0.46 · cosine + 0.54 · normalised BM25, from 0.40–0.55 tried with reference following.
pub const DEFAULT_FUSION: Fusion = Fusion::Weighted {
    vector_weight: 0.46,
};

/// With the default options, a top score below this means the corpus does not cover the
/// question (the gateway answers "not covered" instead of quoting a weak passage).
///
/// Chosen on the eval's sweep (crates/rag/README.md) with the default fusion and the editors'
/// questions: at 0.30, 44% of the unanswerable questions fall below it and none of the
/// answerable ones do (precision 1.0); 0.325 catches 61% but turns 1.4% of the answerable
/// ones away. (Before the questions, 0.275 caught 39% and turned 2.7% away.)
pub const NOT_COVERED_BELOW: f32 = 0.30;

impl Default for SearchOptions {
    fn default() -> Self {
        Self {
            k: 5,
            mode: SearchMode::Hybrid,
            fusion: DEFAULT_FUSION,
            filters: SearchFilters::default(),
            candidates: DEFAULT_CANDIDATES,
            citation_routing: true,
            vector_scan: VectorScan::Exact,
            expand_query: true,
            collapse_sections: true,
            follow_references: true,
            companions: true,
            question_weight: Some(QUESTION_WEIGHT),
            question_text_weight: Some(QUESTION_TEXT_WEIGHT),
        }
    }
}

/// One retrieved passage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// Paragraph citation (`49 CFR 382.303(b)`).
    pub citation: String,
    /// Section heading (`Post-accident testing.`).
    pub title: String,
    /// The passage.
    pub text: String,
    /// Relevance: 1.0 for a cited passage, else the fused score (see [`Fusion`]).
    pub score: f32,
    /// Section citation (`49 CFR 382.303`).
    pub section_citation: String,
    /// `49 CFR Part 382`.
    pub regulation: String,
    /// `382`.
    pub part: String,
    /// Heading path down to the paragraph.
    pub heading_path: Vec<String>,
    /// Cosine similarity to the question, when it was embedded.
    pub similarity: Option<f32>,
    /// Scaled full-text rank, when the passage matched the text query.
    pub text_rank: Option<f32>,
    /// True when the question cited this passage.
    pub cited: bool,
    /// True when `text` holds the whole paragraph subtree under `citation`.
    pub covers_subtree: bool,
    /// Other passages of the same section that score nearly as well (with
    /// `collapse_sections`; see [`super::companions`]), best first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub companions: Vec<CompanionPassage>,
}

/// The `deriq search --json` shape: `{"results": [{"citation", "title", "text", "score"}]}`,
/// with `"companions": [{"citation", "text", "score"}]` on a result that has any.
pub fn results_json(hits: &[SearchHit]) -> serde_json::Value {
    serde_json::json!({
        "results": hits
            .iter()
            .map(|h| {
                let mut r = serde_json::json!({
                    "citation": h.citation,
                    "title": h.title,
                    "text": h.text,
                    "score": h.score,
                });
                if !h.companions.is_empty() {
                    r["companions"] = serde_json::json!(h
                        .companions
                        .iter()
                        .map(|c| serde_json::json!({"citation": c.citation, "text": c.text, "score": c.score}))
                        .collect::<Vec<_>>());
                }
                r
            })
            .collect::<Vec<_>>()
    })
}

/// Hybrid search with the default options and `k` results.
pub async fn search(
    pool: &PgPool,
    embedder: &dyn Embedder,
    query: &str,
    k: usize,
    filters: &SearchFilters,
) -> Result<Vec<SearchHit>, RagError> {
    let options = SearchOptions {
        k,
        filters: filters.clone(),
        ..SearchOptions::default()
    };
    search_with(pool, embedder, query, &options).await
}

/// Search with every option spelled out.
pub async fn search_with(
    pool: &PgPool,
    embedder: &dyn Embedder,
    query: &str,
    options: &SearchOptions,
) -> Result<Vec<SearchHit>, RagError> {
    if options.k == 0 || options.k > 200 {
        return Err(RagError::InvalidArgument(format!(
            "k must be 1..=200, got {}",
            options.k
        )));
    }
    let query = query.trim();
    if query.is_empty() || query.len() > 4000 {
        return Err(RagError::InvalidArgument(
            "the question must be 1 to 4000 bytes".into(),
        ));
    }
    let expanded = if options.expand_query {
        crate::glossary::expand(query)
    } else {
        query.to_string()
    };
    let needs_vector = options.mode != SearchMode::FullText;
    let qvec = if needs_vector {
        let v = embedder.embed_query(&expanded).await?;
        if v.len() != embedder.dimension() {
            return Err(RagError::Index(format!(
                "query embedding has {} dimensions",
                v.len()
            )));
        }
        Some(Vector::from(v))
    } else {
        None
    };

    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION READ ONLY")
        .execute(&mut *tx)
        .await?;

    let mut hits: Vec<SearchHit> = Vec::new();
    if options.citation_routing {
        let refs = find_citations(query);
        if !refs.is_empty() {
            hits = cited_hits(&mut tx, &refs, query, qvec.as_ref(), options).await?;
        }
    }
    if hits.len() < options.k {
        let want = options.candidates.max(options.k);
        let vector = match (&qvec, options.mode) {
            (Some(v), SearchMode::Vector | SearchMode::Hybrid) => {
                let chunks =
                    vector_candidates(&mut tx, v, &options.filters, want, options.vector_scan)
                        .await?;
                match options.question_weight {
                    Some(w) => {
                        let asked = question_candidates(&mut tx, v, &options.filters, want).await?;
                        closer_of(chunks, &asked, w, want)
                    }
                    None => chunks,
                }
            }
            _ => Vec::new(),
        };
        let text = match options.mode {
            SearchMode::FullText | SearchMode::Hybrid => {
                let chunks = text_candidates(&mut tx, &expanded, &options.filters, want).await?;
                match options.question_text_weight {
                    Some(w) => {
                        let asked =
                            question_text_candidates(&mut tx, &expanded, &options.filters, want)
                                .await?;
                        closer_of(chunks, &asked, w, want)
                    }
                    None => chunks,
                }
            }
            SearchMode::Vector => Vec::new(),
        };
        let mut candidates = merge(&vector, &text);
        if options.mode == SearchMode::Hybrid
            && matches!(options.fusion, Fusion::Weighted { .. })
            && let Some(v) = &qvec
        {
            fill_similarities(&mut tx, v, &mut candidates, options.question_weight).await?;
        }
        let ranked = match options.mode {
            SearchMode::Hybrid => fuse(&candidates, options.fusion),
            SearchMode::Vector => vector.clone(),
            SearchMode::FullText => text.clone(),
        };
        let seen: HashSet<String> = hits
            .iter()
            .map(|h| h.citation.clone() + "#" + &h.text)
            .collect();
        let (ranked, companion_ids) = if options.collapse_sections {
            let taken: HashSet<String> = hits.iter().map(|h| h.section_citation.clone()).collect();
            let section_of = chunk_sections(&mut tx, &ranked).await?;
            let mut entries = first_per_group(
                &ranked,
                |id| section_of.get(&id).map(String::as_str),
                &taken,
                usize::MAX,
            );
            if options.follow_references {
                entries = follow_references(
                    &mut tx,
                    &ranked,
                    &section_of,
                    entries,
                    qvec.as_ref(),
                    &options.filters,
                    &taken,
                )
                .await?;
            }
            entries.truncate(options.k + hits.len());
            let companion_ids: HashMap<i64, Vec<(i64, f32)>> = if options.companions {
                entries
                    .iter()
                    .map(|(id, _)| {
                        let found =
                            companions(&ranked, &section_of, *id, MAX_COMPANIONS, COMPANION_MARGIN);
                        (*id, found)
                    })
                    .collect()
            } else {
                HashMap::new()
            };
            (entries, companion_ids)
        } else {
            (ranked, HashMap::new())
        };
        let mut ids: Vec<i64> = ranked
            .iter()
            .map(|r| r.0)
            .take(options.k + hits.len())
            .collect();
        ids.extend(companion_ids.values().flatten().map(|c| c.0));
        let details = chunk_details(&mut tx, &ids, qvec.as_ref()).await?;
        for (id, score) in ranked.iter().take(options.k + hits.len()) {
            let Some(mut hit) = details.iter().find(|d| d.0 == *id).map(|d| d.1.clone()) else {
                continue;
            };
            if seen.contains(&(hit.citation.clone() + "#" + &hit.text)) {
                continue;
            }
            let cand = candidates.iter().find(|c| c.id == *id);
            hit.text_rank = cand.and_then(|c| c.text_score);
            hit.score = *score;
            hit.companions = companion_ids
                .get(id)
                .into_iter()
                .flatten()
                .filter_map(|(cid, cscore)| {
                    let d = &details.iter().find(|d| d.0 == *cid)?.1;
                    Some(CompanionPassage {
                        citation: d.citation.clone(),
                        text: d.text.clone(),
                        score: *cscore,
                        covers_subtree: d.covers_subtree,
                    })
                })
                .collect();
            hits.push(hit);
            if hits.len() >= options.k {
                break;
            }
        }
    }
    tx.commit().await?;
    hits.truncate(options.k);
    Ok(hits)
}

type Tx<'a> = Transaction<'a, Postgres>;

/// The section of each chunk in `ranked`.
async fn chunk_sections(
    tx: &mut Tx<'_>,
    ranked: &[(i64, f32)],
) -> Result<HashMap<i64, String>, RagError> {
    let ids: Vec<i64> = ranked.iter().map(|r| r.0).collect();
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, section_citation FROM deriq.rag_chunks WHERE id = ANY($1)")
            .bind(&ids)
            .fetch_all(&mut **tx)
            .await?;
    Ok(rows.into_iter().collect())
}

/// The first item of each group, in order, skipping groups in `taken` and items without a
/// group, at most `k` of them.
fn first_per_group<'a>(
    ranked: &[(i64, f32)],
    group: impl Fn(i64) -> Option<&'a str>,
    taken: &HashSet<String>,
    k: usize,
) -> Vec<(i64, f32)> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut out = Vec::new();
    for &(id, score) in ranked {
        let Some(g) = group(id) else { continue };
        if taken.contains(g) || !seen.insert(g) {
            continue;
        }
        out.push((id, score));
        if out.len() >= k {
            break;
        }
    }
    out
}

/// Joins the chunks found under one cited citation (in document order) into one result whose
/// citation is the cited one; `complete` says whether every chunk under it is included.
fn join_cited(cited: &Citation, parts: &[SearchHit]) -> Option<SearchHit> {
    let first = parts.first()?;
    if parts.len() == 1 {
        return Some(first.clone());
    }
    let mut text = String::new();
    let mut used = 0;
    for p in parts {
        if !text.is_empty() && text.len() + p.text.len() + 2 > MAX_JOINED_TEXT {
            break;
        }
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(&p.text);
        used += 1;
    }
    let complete = used == parts.len();
    Some(SearchHit {
        citation: cited.to_string(),
        text,
        similarity: parts.iter().filter_map(|p| p.similarity).reduce(f32::max),
        covers_subtree: complete,
        ..first.clone()
    })
}

async fn vector_candidates(
    tx: &mut Tx<'_>,
    v: &Vector,
    filters: &SearchFilters,
    limit: usize,
    scan: VectorScan,
) -> Result<Vec<(i64, f32)>, RagError> {
    match scan {
        VectorScan::Exact => {
            sqlx::query("SELECT set_config('enable_indexscan', 'off', true)")
                .execute(&mut **tx)
                .await?;
        }
        VectorScan::Hnsw {
            ef_search,
            iterative,
        } => {
            // At a few thousand rows the planner prefers a sequential scan even when an HNSW
            // index exists; turning the alternatives off makes it use the index.
            sqlx::query(
                "SELECT set_config('enable_indexscan', 'on', true), set_config('enable_seqscan', 'off', true), \
                 set_config('enable_bitmapscan', 'off', true), set_config('hnsw.ef_search', $1, true), \
                 set_config('hnsw.iterative_scan', $2, true)",
            )
                .bind(ef_search.to_string())
                .bind(if iterative { "relaxed_order" } else { "off" })
                .execute(&mut **tx)
                .await?;
        }
    }
    let rows: Vec<(i64, f64)> = sqlx::query_as(
        "SELECT id, 1 - (embedding <=> $1) AS sim FROM deriq.rag_chunks \
         WHERE (cardinality($2::text[]) = 0 OR part = ANY($2)) \
           AND (cardinality($3::text[]) = 0 OR regulation = ANY($3)) \
         ORDER BY embedding <=> $1 LIMIT $4",
    )
    .bind(v)
    .bind(&filters.parts)
    .bind(&filters.regulations)
    .bind(i64::try_from(limit).unwrap_or(50))
    .fetch_all(&mut **tx)
    .await?;
    sqlx::query(
        "SELECT set_config('enable_indexscan', 'on', true), set_config('enable_seqscan', 'on', true), \
         set_config('enable_bitmapscan', 'on', true)",
    )
    .execute(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|(id, s)| (id, s as f32)).collect())
}

/// BM25 parameters for the full-text ranking.
const BM25_K1: f64 = 0.9;
const BM25_B: f64 = 0.4;

/// Full-text candidates ranked by BM25: the question's lexemes (stemmed, stop words dropped
/// by PostgreSQL) OR-ed together to find chunks through the GIN index, then each chunk scored
/// with IDF from `deriq.rag_lexemes`; a lexeme that also occurs in the heading path counts
/// once more. The score is
/// divided by the best score the question could reach, so it lies in 0..1 and does not depend
/// on the other chunks.
async fn text_candidates(
    tx: &mut Tx<'_>,
    query: &str,
    filters: &SearchFilters,
    limit: usize,
) -> Result<Vec<(i64, f32)>, RagError> {
    bm25_candidates(tx, CHUNK_BM25, query, filters, limit).await
}

/// [`text_candidates`]' query: `$1` question, `$2` parts, `$3` regulations, `$4` limit,
/// `$5` k1, `$6` b.
const CHUNK_BM25: &str = "WITH q AS (SELECT DISTINCT lexeme FROM unnest(to_tsvector('english', $1))), \
              tsq AS (SELECT replace(plainto_tsquery('english', $1)::text, ' & ', ' | ')::tsquery AS tsq), \
              stats AS (SELECT greatest(count(*), 1)::float8 AS n, greatest(avg(length(tsv)), 1)::float8 AS avgdl \
                        FROM deriq.rag_chunks), \
              idf AS (SELECT q.lexeme, ln(1 + (s.n - coalesce(l.ndoc, 0) + 0.5) / (coalesce(l.ndoc, 0) + 0.5)) AS idf \
                      FROM q CROSS JOIN stats s LEFT JOIN deriq.rag_lexemes l ON l.lexeme = q.lexeme), \
              best AS (SELECT greatest(sum(idf) * ($5 + 1), 1e-9) AS max_score FROM idf), \
              hits AS (SELECT c.id, c.tsv FROM deriq.rag_chunks c, tsq \
                       WHERE c.tsv @@ tsq.tsq \
                         AND (cardinality($2::text[]) = 0 OR c.part = ANY($2)) \
                         AND (cardinality($3::text[]) = 0 OR c.regulation = ANY($3))) \
         SELECT h.id, sum(i.idf * (tf.f * ($5 + 1)) / (tf.f + $5 * (1 - $6 + $6 * length(h.tsv) / s.avgdl))) / b.max_score \
         FROM hits h \
         CROSS JOIN LATERAL unnest(h.tsv) u \
         JOIN idf i ON i.lexeme = u.lexeme \
         CROSS JOIN LATERAL (SELECT cardinality(u.positions)::float8 \
                               + CASE WHEN 'A' = ANY(u.weights) THEN 1 ELSE 0 END AS f) tf \
         CROSS JOIN stats s CROSS JOIN best b \
         GROUP BY h.id, b.max_score \
         ORDER BY 2 DESC, h.id LIMIT $4";

/// Chunks ranked by their closest editor's question ([`crate::questions`]), with the same
/// filters as [`vector_candidates`]: an exact scan (a few thousand short rows).
async fn question_candidates(
    tx: &mut Tx<'_>,
    v: &Vector,
    filters: &SearchFilters,
    limit: usize,
) -> Result<Vec<(i64, f32)>, RagError> {
    let rows: Vec<(i64, f64)> = sqlx::query_as(
        "SELECT q.chunk_id, max(1 - (q.embedding <=> $1)) AS sim \
         FROM deriq.rag_questions q JOIN deriq.rag_chunks c ON c.id = q.chunk_id \
         WHERE (cardinality($2::text[]) = 0 OR c.part = ANY($2)) \
           AND (cardinality($3::text[]) = 0 OR c.regulation = ANY($3)) \
         GROUP BY q.chunk_id ORDER BY 2 DESC, 1 LIMIT $4",
    )
    .bind(v)
    .bind(&filters.parts)
    .bind(&filters.regulations)
    .bind(i64::try_from(limit).unwrap_or(50))
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|(id, s)| (id, s as f32)).collect())
}

/// Merges the chunks' own similarities with their questions' (scaled by `weight`), keeping
/// the higher one per chunk, best first, at most `limit`.
fn closer_of(
    chunks: Vec<(i64, f32)>,
    asked: &[(i64, f32)],
    weight: f32,
    limit: usize,
) -> Vec<(i64, f32)> {
    let mut best: HashMap<i64, f32> = chunks.into_iter().collect();
    for &(id, sim) in asked {
        let scaled = weight * sim;
        best.entry(id)
            .and_modify(|s| *s = s.max(scaled))
            .or_insert(scaled);
    }
    let mut out: Vec<(i64, f32)> = best.into_iter().collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out.truncate(limit);
    out
}

/// Chunks ranked by the BM25 of their best-matching editor's question, scored as in
/// [`text_candidates`] (same IDF, the questions' own average length, the same normaliser).
async fn question_text_candidates(
    tx: &mut Tx<'_>,
    query: &str,
    filters: &SearchFilters,
    limit: usize,
) -> Result<Vec<(i64, f32)>, RagError> {
    bm25_candidates(tx, QUESTION_BM25, query, filters, limit).await
}

/// [`question_text_candidates`]' query, with the parameters of [`CHUNK_BM25`].
const QUESTION_BM25: &str = "WITH q AS (SELECT DISTINCT lexeme FROM unnest(to_tsvector('english', $1))), \
              tsq AS (SELECT replace(plainto_tsquery('english', $1)::text, ' & ', ' | ')::tsquery AS tsq), \
              stats AS (SELECT (SELECT greatest(count(*), 1)::float8 FROM deriq.rag_chunks) AS n, \
                               greatest(avg(length(tsv)), 1)::float8 AS avgdl FROM deriq.rag_questions), \
              idf AS (SELECT q.lexeme, ln(1 + (s.n - coalesce(l.ndoc, 0) + 0.5) / (coalesce(l.ndoc, 0) + 0.5)) AS idf \
                      FROM q CROSS JOIN stats s LEFT JOIN deriq.rag_lexemes l ON l.lexeme = q.lexeme), \
              best AS (SELECT greatest(sum(idf) * ($5 + 1), 1e-9) AS max_score FROM idf), \
              hits AS (SELECT qn.id, qn.chunk_id, qn.tsv FROM deriq.rag_questions qn \
                       JOIN deriq.rag_chunks c ON c.id = qn.chunk_id, tsq \
                       WHERE qn.tsv @@ tsq.tsq \
                         AND (cardinality($2::text[]) = 0 OR c.part = ANY($2)) \
                         AND (cardinality($3::text[]) = 0 OR c.regulation = ANY($3))), \
              scored AS (SELECT h.id, h.chunk_id, \
                                sum(i.idf * (cardinality(u.positions) * ($5 + 1)) \
                                    / (cardinality(u.positions) + $5 * (1 - $6 + $6 * length(h.tsv) / s.avgdl))) / b.max_score AS score \
                         FROM hits h \
                         CROSS JOIN LATERAL unnest(h.tsv) u \
                         JOIN idf i ON i.lexeme = u.lexeme \
                         CROSS JOIN stats s CROSS JOIN best b \
                         GROUP BY h.id, h.chunk_id, b.max_score) \
         SELECT chunk_id, max(score) FROM scored GROUP BY chunk_id ORDER BY 2 DESC, 1 LIMIT $4";

/// Runs one of the BM25 queries ([`CHUNK_BM25`], [`QUESTION_BM25`]): chunk ids with their
/// normalised score, best first.
async fn bm25_candidates(
    tx: &mut Tx<'_>,
    sql: &'static str,
    query: &str,
    filters: &SearchFilters,
    limit: usize,
) -> Result<Vec<(i64, f32)>, RagError> {
    let rows: Vec<(i64, f64)> = sqlx::query_as(sql)
        .bind(query)
        .bind(&filters.parts)
        .bind(&filters.regulations)
        .bind(i64::try_from(limit).unwrap_or(50))
        .bind(BM25_K1)
        .bind(BM25_B)
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows.into_iter().map(|(id, s)| (id, s as f32)).collect())
}

async fn fill_similarities(
    tx: &mut Tx<'_>,
    v: &Vector,
    candidates: &mut [super::fusion::Candidate],
    question_weight: Option<f32>,
) -> Result<(), RagError> {
    let missing: Vec<i64> = candidates
        .iter()
        .filter(|c| c.similarity.is_none())
        .map(|c| c.id)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    // A NULL weight leaves the questions out: GREATEST ignores NULLs.
    let rows: Vec<(i64, f64)> = sqlx::query_as(
        "SELECT c.id, GREATEST(1 - (c.embedding <=> $1), \
                $3 * (SELECT max(1 - (q.embedding <=> $1)) FROM deriq.rag_questions q WHERE q.chunk_id = c.id)) \
         FROM deriq.rag_chunks c WHERE c.id = ANY($2)",
    )
    .bind(v)
    .bind(&missing)
    .bind(question_weight.map(f64::from))
    .fetch_all(&mut **tx)
    .await?;
    for (id, sim) in rows {
        if let Some(c) = candidates.iter_mut().find(|c| c.id == id) {
            c.similarity = Some(sim as f32);
        }
    }
    Ok(())
}

type DetailRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    Vec<String>,
    String,
    bool,
    Option<f64>,
);

async fn chunk_details(
    tx: &mut Tx<'_>,
    ids: &[i64],
    v: Option<&Vector>,
) -> Result<Vec<(i64, SearchHit)>, RagError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<DetailRow> = sqlx::query_as(
        "SELECT c.id, c.citation, c.section_citation, s.title, c.regulation, c.part, c.heading_path, c.body, \
                c.covers_subtree, CASE WHEN $2::vector IS NULL THEN NULL ELSE 1 - (c.embedding <=> $2) END \
         FROM deriq.rag_chunks c JOIN deriq.rag_sections s ON s.citation = c.section_citation \
         WHERE c.id = ANY($1)",
    )
    .bind(ids)
    .bind(v)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                citation,
                section_citation,
                title,
                regulation,
                part,
                heading_path,
                text,
                covers_subtree,
                sim,
            )| {
                (
                    id,
                    SearchHit {
                        citation,
                        title,
                        text,
                        score: 0.0,
                        section_citation,
                        regulation,
                        part,
                        heading_path,
                        similarity: sim.map(|s| s as f32),
                        text_rank: None,
                        cited: false,
                        covers_subtree,
                        companions: Vec::new(),
                    },
                )
            },
        )
        .collect())
}

/// Words left in the question once its citations are removed, ignoring filler.
fn topical_words(query: &str, refs: &[CitationRef]) -> usize {
    const FILLER: &[&str] = &[
        "what",
        "does",
        "say",
        "says",
        "text",
        "section",
        "sections",
        "paragraph",
        "require",
        "requires",
        "cfr",
        "u.s.c",
        "usc",
        "part",
        "show",
        "quote",
        "read",
        "under",
        "about",
        "the",
        "this",
        "that",
        "fcra",
        "tell",
        "give",
        "full",
        "exact",
        "wording",
        "contents",
        "content",
        "regulation",
    ];
    let mut rest = query.to_string();
    let mut spans: Vec<(usize, usize)> = refs.iter().map(|r| r.span).collect();
    spans.sort_by_key(|s| std::cmp::Reverse(s.0));
    for (s, e) in spans {
        if e <= rest.len() && rest.is_char_boundary(s) && rest.is_char_boundary(e) {
            rest.replace_range(s..e, " ");
        }
    }
    rest.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 3 && !FILLER.contains(&w.to_ascii_lowercase().as_str()))
        .count()
}

/// Chunks at or under each cited section or paragraph (and any chunk that holds a cited
/// paragraph whole), best first: the cited paragraph itself, then by similarity to the rest of
/// the question when it has one, else in document order.
async fn cited_hits(
    tx: &mut Tx<'_>,
    refs: &[CitationRef],
    query: &str,
    v: Option<&Vector>,
    options: &SearchOptions,
) -> Result<Vec<SearchHit>, RagError> {
    let by_similarity = topical_words(query, refs) >= 2 && v.is_some();
    let mut out: Vec<SearchHit> = Vec::new();
    for r in refs {
        let key = r.key();
        if !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '(' | ')' | '-'))
        {
            continue;
        }
        let like = format!("{key}(%");
        let mut ancestors = Vec::new();
        let mut parent = r.clone();
        while parent.paragraph.pop().is_some() {
            ancestors.push(parent.key());
        }
        let rows: Vec<(i64, i32, String)> = sqlx::query_as(
            "SELECT c.id, c.ordinal, c.citation_key FROM deriq.rag_chunks c \
             WHERE (c.citation_key = $1 OR c.citation_key LIKE $2 OR (c.covers_subtree AND c.citation_key = ANY($3))) \
               AND ($4::text IS NULL OR c.title_prefix = $4) \
               AND (cardinality($5::text[]) = 0 OR c.part = ANY($5)) \
               AND (cardinality($6::text[]) = 0 OR c.regulation = ANY($6)) \
             ORDER BY c.section_citation, c.ordinal",
        )
        .bind(&key)
        .bind(&like)
        .bind(&ancestors)
        .bind(r.title_prefix())
        .bind(&options.filters.parts)
        .bind(&options.filters.regulations)
        .fetch_all(&mut **tx)
        .await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
        let details = chunk_details(tx, &ids, v).await?;
        let mut found: Vec<(bool, i32, SearchHit)> = rows
            .iter()
            .filter_map(|(id, ordinal, ck)| {
                details
                    .iter()
                    .find(|d| d.0 == *id)
                    .map(|d| (*ck == key, *ordinal, d.1.clone()))
            })
            .collect();
        found.sort_by(|a, b| {
            b.0.cmp(&a.0).then_with(|| {
                if by_similarity {
                    b.2.similarity
                        .unwrap_or(0.0)
                        .total_cmp(&a.2.similarity.unwrap_or(0.0))
                } else {
                    a.1.cmp(&b.1)
                }
            })
        });
        if options.collapse_sections {
            // `rows` are in document order; one joined result per section.
            let mut sections: Vec<(String, Vec<SearchHit>)> = Vec::new();
            for (id, _, _) in &rows {
                let Some(d) = details.iter().find(|d| d.0 == *id) else {
                    continue;
                };
                match sections.iter_mut().find(|s| s.0 == d.1.section_citation) {
                    Some(s) => s.1.push(d.1.clone()),
                    None => sections.push((d.1.section_citation.clone(), vec![d.1.clone()])),
                }
            }
            for (section, parts) in sections {
                if out.iter().any(|h| h.section_citation == section) {
                    continue;
                }
                let Some(cited) = Citation::parse(&section).map(|c| c.with_paragraph(&r.paragraph))
                else {
                    continue;
                };
                if let Some(mut hit) = join_cited(&cited, &parts) {
                    hit.cited = true;
                    hit.score = 1.0;
                    out.push(hit);
                }
            }
            continue;
        }
        for (_, _, mut hit) in found {
            if out
                .iter()
                .any(|h| h.citation == hit.citation && h.text == hit.text)
            {
                continue;
            }
            hit.cited = true;
            hit.score = 1.0;
            out.push(hit);
        }
    }
    out.truncate(options.k);
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn json_shape() {
        let hit = SearchHit {
            citation: "49 CFR 382.303(b)".into(),
            title: "Post-accident testing.".into(),
            text: "(b) text".into(),
            score: 0.5,
            section_citation: "49 CFR 382.303".into(),
            regulation: "49 CFR Part 382".into(),
            part: "382".into(),
            heading_path: vec![],
            similarity: Some(0.5),
            text_rank: None,
            cited: false,
            covers_subtree: true,
            companions: vec![],
        };
        let with_companion = SearchHit {
            companions: vec![CompanionPassage {
                citation: "49 CFR 382.303(d)(1)".into(),
                text: "(1) two hours".into(),
                score: 0.25,
                covers_subtree: true,
            }],
            ..hit.clone()
        };
        let v = results_json(&[hit, with_companion]);
        assert_eq!(v["results"][0]["citation"], "49 CFR 382.303(b)");
        assert_eq!(v["results"][0]["score"], 0.5);
        assert_eq!(v["results"][0].as_object().map(|o| o.len()), Some(4));
        assert_eq!(
            v["results"][1]["companions"][0]["citation"],
            "49 CFR 382.303(d)(1)"
        );
        assert_eq!(v["results"][1]["companions"][0]["score"], 0.25);
    }

    fn passage(citation: &str, text: &str) -> SearchHit {
        SearchHit {
            citation: citation.into(),
            title: "Post-accident testing.".into(),
            text: text.into(),
            score: 0.0,
            section_citation: "49 CFR 382.303".into(),
            regulation: "49 CFR Part 382".into(),
            part: "382".into(),
            heading_path: vec![],
            similarity: Some(0.2),
            text_rank: None,
            cited: false,
            covers_subtree: true,
            companions: vec![],
        }
    }

    #[test]
    fn one_entry_per_section_in_rank_order() {
        let section = |id: i64| match id {
            1 | 2 => Some("49 CFR 382.303"),
            3 => Some("49 CFR 40.191"),
            4 => Some("49 CFR 382.305"),
            _ => None,
        };
        let ranked = [(2, 0.9), (1, 0.8), (9, 0.7), (3, 0.6), (4, 0.5)];
        let none = HashSet::new();
        assert_eq!(
            first_per_group(&ranked, section, &none, 10),
            vec![(2, 0.9), (3, 0.6), (4, 0.5)]
        );
        assert_eq!(first_per_group(&ranked, section, &none, 2).len(), 2);
        let taken: HashSet<String> = ["49 CFR 40.191".to_string()].into();
        assert_eq!(
            first_per_group(&ranked, section, &taken, 10),
            vec![(2, 0.9), (4, 0.5)]
        );
    }

    #[test]
    fn cited_passages_join_in_order() {
        let cited = Citation::parse("49 CFR 382.303(b)").unwrap_or_else(|| panic!("citation"));
        let parts = vec![
            passage("49 CFR 382.303(b)", "(b) lead-in"),
            passage("49 CFR 382.303(b)(1)", "(1) eight hours"),
            passage("49 CFR 382.303(b)(2)", "(2) thirty-two hours"),
        ];
        let hit = join_cited(&cited, &parts).unwrap_or_else(|| panic!("joined"));
        assert_eq!(hit.citation, "49 CFR 382.303(b)");
        assert_eq!(
            hit.text,
            "(b) lead-in\n\n(1) eight hours\n\n(2) thirty-two hours"
        );
        assert!(hit.covers_subtree);
        // A single passage stays as it is.
        let one = join_cited(&cited, &parts[1..2]).unwrap_or_else(|| panic!("one"));
        assert_eq!(one.citation, "49 CFR 382.303(b)(1)");
        // Past the size limit the rest is left out and the result no longer claims the subtree.
        let long = vec![
            passage("49 CFR 382.303(b)(1)", &"x".repeat(MAX_JOINED_TEXT - 5)),
            passage("49 CFR 382.303(b)(2)", "(2) more"),
        ];
        let cut = join_cited(&cited, &long).unwrap_or_else(|| panic!("cut"));
        assert!(!cut.covers_subtree);
        assert!(cut.text.len() <= MAX_JOINED_TEXT);
        assert!(join_cited(&cited, &[]).is_none());
    }

    #[test]
    fn topical_words_ignore_citation_and_filler() {
        let q = "What does 49 CFR 382.303(b) say?";
        assert_eq!(topical_words(q, &find_citations(q)), 0);
        let q = "382.303 alcohol test timing";
        assert_eq!(topical_words(q, &find_citations(q)), 3);
    }
}
