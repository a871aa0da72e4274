//! Companion passages: the other passages of a returned section that score nearly as well as
//! the one standing for it.
//!
//! With one result per section, a section is represented by its best passage, but a question
//! often turns on a second paragraph of the same section: "how soon after an accident must
//! the alcohol test happen?" finds § 382.303 through paragraph (a), the duty to test, while
//! the two- and eight-hour limits are in (d)(1). Each result therefore carries up to
//! [`MAX_COMPANIONS`] more passages of its section whose fused score is within
//! [`COMPANION_MARGIN`] of the best one, so that the answer can quote the controlling
//! paragraph too. The number of results (k) and their order do not change.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Another passage of a result's section (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompanionPassage {
    /// Paragraph citation (`49 CFR 382.303(d)(1)`).
    pub citation: String,
    /// The passage.
    pub text: String,
    /// Its fused score.
    pub score: f32,
    /// True when `text` holds the whole paragraph subtree under `citation`.
    pub covers_subtree: bool,
}

/// Most companion passages per result.
///
/// Chosen with [`COMPANION_MARGIN`] on the retrieval eval's tuning part (crates/rag/README.md):
/// paragraph-level recall@5 rose from 0.63 with none to 0.79 with two; three gave 0.83 for
/// half as many passages again in every answer, so two was kept.
pub const MAX_COMPANIONS: usize = 2;

/// How far below the section's best fused score a companion may be.
pub const COMPANION_MARGIN: f32 = 0.10;

/// The companions of the passage `entry`: other passages of its section from `ranked` (the
/// fused list, best first) whose score is at least the entry's own fused score minus `margin`,
/// at most `max` of them, best first. An entry that is not in `ranked` (a section brought in
/// by a cross-reference with no candidate) has none.
pub fn companions(
    ranked: &[(i64, f32)],
    section_of: &HashMap<i64, String>,
    entry: i64,
    max: usize,
    margin: f32,
) -> Vec<(i64, f32)> {
    let Some(section) = section_of.get(&entry) else {
        return Vec::new();
    };
    let Some(&(_, base)) = ranked.iter().find(|(id, _)| *id == entry) else {
        return Vec::new();
    };
    ranked
        .iter()
        .filter(|(id, score)| {
            *id != entry && *score >= base - margin && section_of.get(id) == Some(section)
        })
        .take(max)
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sections(pairs: &[(i64, &str)]) -> HashMap<i64, String> {
        pairs.iter().map(|(id, s)| (*id, s.to_string())).collect()
    }

    #[test]
    fn same_section_within_the_margin_best_first_at_most_max() {
        let ranked = [
            (1, 0.80),
            (2, 0.78),
            (3, 0.75),
            (4, 0.72),
            (5, 0.69),
            (6, 0.60),
        ];
        let of = sections(&[(1, "A"), (2, "B"), (3, "A"), (4, "A"), (5, "A"), (6, "A")]);
        assert_eq!(
            companions(&ranked, &of, 1, 2, 0.10),
            vec![(3, 0.75), (4, 0.72)]
        );
        assert_eq!(
            companions(&ranked, &of, 1, 5, 0.10),
            vec![(3, 0.75), (4, 0.72)]
        );
        assert_eq!(
            companions(&ranked, &of, 1, 5, 0.12),
            vec![(3, 0.75), (4, 0.72), (5, 0.69)]
        );
        assert!(
            companions(&ranked, &of, 2, 2, 0.10).is_empty(),
            "B has one passage"
        );
        assert!(companions(&ranked, &of, 1, 0, 0.10).is_empty());
    }

    #[test]
    fn the_base_is_the_entrys_own_score_even_when_it_ranks_lower() {
        // Entry 4 stands for section A (say, after a cross-reference): only passages of A
        // near 4's own score count, and a better passage of A counts too.
        let ranked = [(1, 0.80), (2, 0.50), (4, 0.45), (3, 0.20)];
        let of = sections(&[(1, "A"), (2, "B"), (4, "A"), (3, "A")]);
        assert_eq!(companions(&ranked, &of, 4, 2, 0.10), vec![(1, 0.80)]);
    }

    #[test]
    fn an_entry_outside_the_ranked_list_has_none() {
        let ranked = [(1, 0.80)];
        let of = sections(&[(1, "A"), (9, "A")]);
        assert!(companions(&ranked, &of, 9, 2, 0.10).is_empty());
    }
}
