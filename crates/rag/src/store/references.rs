//! Following the corpus's own cross-references. A passage near the top of the ranking that
//! cites another section (§ 382.119(b): "shall follow the procedures in 49 CFR 40.21") pulls
//! that section up to just below itself: questions that span Part 382 and Part 40 often need
//! exactly the section the Part 382 text points to.

use std::collections::{HashMap, HashSet};

use pgvector::Vector;
use sqlx::{Postgres, Transaction};

use super::search::SearchFilters;
use crate::citation::find_citations;
use crate::error::RagError;

/// A cited section scores this share of the citing passage's score (when that is more than its
/// own). Chosen on the tuning part of the eval (0.7–1.0 tried; 0.97–0.98 best with the
/// 0.46 fusion weight).
pub const REFERENCE_WEIGHT: f32 = 0.98;
/// Only passages of the first this many sections cite.
pub const CITING_SECTIONS: usize = 5;
/// Only passages among the first this many of the chunk ranking cite.
pub const CITING_CHUNKS: usize = 60;

/// Section keys (`40.21`, `1681b`) cited in each passage, with the best boost each earns:
/// [`REFERENCE_WEIGHT`] times the score of the best passage citing it.
pub fn reference_boosts(citing: &[(f32, &str)]) -> HashMap<String, f32> {
    let mut boosts: HashMap<String, f32> = HashMap::new();
    for (score, text) in citing {
        for r in find_citations(text) {
            let key = r.section.to_ascii_lowercase();
            let b = boosts.entry(key).or_insert(0.0);
            *b = b.max(REFERENCE_WEIGHT * score);
        }
    }
    boosts
}

/// Raises each entry's score to its section's boost and re-sorts, best first (ties keep the
/// previous order). Entries are (chunk id, section citation, score).
pub fn apply_boosts(
    mut entries: Vec<(i64, String, f32)>,
    boosts: &HashMap<String, f32>,
) -> Vec<(i64, f32)> {
    for e in &mut entries {
        if let Some(b) = boosts.get(&e.1) {
            e.2 = e.2.max(*b);
        }
    }
    entries.sort_by(|a, b| b.2.total_cmp(&a.2));
    entries.into_iter().map(|(id, _, s)| (id, s)).collect()
}

type Tx<'a> = Transaction<'a, Postgres>;

/// Re-ranks one-per-section `entries` (chunk id, score; best first) with the references made
/// by the passages of their first [`CITING_SECTIONS`] sections found among the first
/// [`CITING_CHUNKS`] of `ranked`. A cited section missing from `entries` enters with its
/// passage most similar to the question (its first passage when there is no query vector).
/// Sections in `taken` and outside `filters` are left alone.
pub(super) async fn follow_references(
    tx: &mut Tx<'_>,
    ranked: &[(i64, f32)],
    section_of: &HashMap<i64, String>,
    entries: Vec<(i64, f32)>,
    query: Option<&Vector>,
    filters: &SearchFilters,
    taken: &HashSet<String>,
) -> Result<Vec<(i64, f32)>, RagError> {
    let top: HashSet<&str> = entries
        .iter()
        .take(CITING_SECTIONS)
        .filter_map(|(id, _)| section_of.get(id).map(String::as_str))
        .collect();
    let citing: Vec<(i64, f32)> = ranked
        .iter()
        .take(CITING_CHUNKS)
        .filter(|(id, _)| section_of.get(id).is_some_and(|s| top.contains(s.as_str())))
        .copied()
        .collect();
    if citing.is_empty() {
        return Ok(entries);
    }
    let ids: Vec<i64> = citing.iter().map(|c| c.0).collect();
    let bodies: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, body FROM deriq.rag_chunks WHERE id = ANY($1)")
            .bind(&ids)
            .fetch_all(&mut **tx)
            .await?;
    let texts: Vec<(f32, &str)> = bodies
        .iter()
        .filter_map(|(id, body)| {
            citing
                .iter()
                .find(|c| c.0 == *id)
                .map(|c| (c.1, body.as_str()))
        })
        .collect();
    let by_key = reference_boosts(&texts);
    if by_key.is_empty() {
        return Ok(entries);
    }
    let keys: Vec<String> = by_key.keys().cloned().collect();
    let sections: Vec<(String, String)> = sqlx::query_as(
        "SELECT citation, citation_key FROM deriq.rag_sections \
         WHERE citation_key = ANY($1) \
           AND (cardinality($2::text[]) = 0 OR part = ANY($2)) \
           AND (cardinality($3::text[]) = 0 OR regulation = ANY($3))",
    )
    .bind(&keys)
    .bind(&filters.parts)
    .bind(&filters.regulations)
    .fetch_all(&mut **tx)
    .await?;
    let boosts: HashMap<String, f32> = sections
        .into_iter()
        .filter(|(citation, _)| !taken.contains(citation))
        .filter_map(|(citation, key)| by_key.get(&key).map(|b| (citation, *b)))
        .collect();
    let mut all: Vec<(i64, String, f32)> = entries
        .iter()
        .filter_map(|(id, s)| section_of.get(id).map(|sec| (*id, sec.clone(), *s)))
        .collect();
    let missing: Vec<String> = boosts
        .keys()
        .filter(|s| !all.iter().any(|e| &e.1 == *s))
        .cloned()
        .collect();
    if !missing.is_empty() {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT DISTINCT ON (section_citation) id, section_citation FROM deriq.rag_chunks \
             WHERE section_citation = ANY($1) \
             ORDER BY section_citation, CASE WHEN $2::vector IS NULL THEN 0 ELSE embedding <=> $2 END, ordinal",
        )
        .bind(&missing)
        .bind(query)
        .fetch_all(&mut **tx)
        .await?;
        all.extend(rows.into_iter().map(|(id, sec)| (id, sec, 0.0)));
    }
    Ok(apply_boosts(all, &boosts))
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn cited_sections_earn_a_share_of_the_citing_score() {
        let boosts = reference_boosts(&[
            (0.6, "(b) ... shall follow the procedures in 49 CFR 40.21."),
            (
                0.4,
                "See §§ 40.21 and § 382.107; see also FCRA section 604(b)(3).",
            ),
            (0.5, "No reference here."),
        ]);
        assert!((boosts["40.21"] - 0.6 * REFERENCE_WEIGHT).abs() < 1e-6);
        assert!((boosts["382.107"] - 0.4 * REFERENCE_WEIGHT).abs() < 1e-6);
        assert!(boosts.contains_key("1681b"), "{boosts:?}");
        assert_eq!(boosts.len(), 3);
    }

    #[test]
    fn boosts_raise_and_reorder_never_lower() {
        let entries = vec![
            (1, "49 CFR 382.119".to_string(), 0.6),
            (2, "49 CFR 382.705".to_string(), 0.55),
            (3, "49 CFR 40.3".to_string(), 0.5),
            (4, "49 CFR 40.21".to_string(), 0.2),
        ];
        let boosts: HashMap<String, f32> = [
            ("49 CFR 40.21".to_string(), 0.57),
            ("49 CFR 382.119".to_string(), 0.1),
        ]
        .into();
        let out = apply_boosts(entries, &boosts);
        assert_eq!(
            out.iter().map(|e| e.0).collect::<Vec<_>>(),
            vec![1, 4, 2, 3]
        );
        assert_eq!(out[0].1, 0.6);
        assert_eq!(out[1].1, 0.57);
    }
}
