//! The corpus editors' questions as retrieval keys.
//!
//! A section file may list, in its front matter, plain-language questions that its
//! paragraphs answer ("How soon after a crash does the driver need a breath test?" for
//! § 382.303(a)). Ingest embeds each question and files it under the chunks that hold the
//! answer; vector search then scores a chunk by its own text or by its best question,
//! whichever is closer to the user's question ([`crate::store::search`]). The questions are
//! never shown: answers quote the regulation's text only.

use crate::chunking::Chunk;
use crate::citation::Citation;
use crate::corpus::{QuestionTarget, Section};

/// The chunks (indices into `chunks`, the section's chunks in order) that answer a question
/// aimed at `target`:
/// - a paragraph: every chunk inside it or holding it whole; failing that, the closest
///   enclosing chunk (a lead-in or packed text around it);
/// - a defined term: the chunks with a line that opens with the term (its definition), else
///   those that mention it, else as the whole section;
/// - the whole section: its undesignated chunks, else its first chunk.
pub fn answering_chunks(
    section: &Section,
    chunks: &[Chunk],
    target: &QuestionTarget,
) -> Vec<usize> {
    let indices = |keep: &dyn Fn(&Chunk) -> bool| -> Vec<usize> {
        chunks
            .iter()
            .enumerate()
            .filter(|(_, c)| keep(c))
            .map(|(i, _)| i)
            .collect()
    };
    let whole_section = || {
        let undesignated = indices(&|c: &Chunk| c.citation.paragraph.is_empty());
        if undesignated.is_empty() && !chunks.is_empty() {
            vec![0]
        } else {
            undesignated
        }
    };
    match target {
        QuestionTarget::Section => whole_section(),
        QuestionTarget::Term(term) => {
            // A definition opens its own line with the term; failing that, any mention.
            let lower = term.to_lowercase();
            let defines = indices(&|c: &Chunk| {
                c.text
                    .lines()
                    .any(|l| l.trim_start().to_lowercase().starts_with(&lower))
            });
            if !defines.is_empty() {
                return defines;
            }
            let found = indices(&|c: &Chunk| c.text.to_lowercase().contains(&lower));
            if found.is_empty() {
                whole_section()
            } else {
                found
            }
        }
        QuestionTarget::Paragraph(path) => {
            let cited: Citation = section.citation.with_paragraph(path);
            let found = indices(&|c: &Chunk| c.answers(&cited));
            if !found.is_empty() {
                return found;
            }
            let enclosing = chunks
                .iter()
                .enumerate()
                .filter(|(_, c)| cited.is_within(&c.citation))
                .max_by_key(|(i, c)| (c.citation.paragraph.len(), std::cmp::Reverse(*i)))
                .map(|(i, _)| i);
            match enclosing {
                Some(i) => vec![i],
                None => whole_section(),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    fn section() -> Section {
        crate::chunking::tests::section(&[])
    }

    fn chunk(section: &Section, ordinal: u32, path: &[&str], whole: bool, text: &str) -> Chunk {
        let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        Chunk {
            citation: section.citation.with_paragraph(&path),
            ordinal,
            heading_path: Vec::new(),
            prefix: String::new(),
            context: String::new(),
            text: text.into(),
            covers_subtree: whole,
        }
    }

    fn para(path: &[&str]) -> QuestionTarget {
        QuestionTarget::Paragraph(path.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn a_question_finds_the_chunks_of_its_paragraph() {
        let s = section();
        let chunks = vec![
            chunk(
                &s,
                0,
                &[],
                false,
                "Words used in this part: alcohol means ethanol.",
            ),
            chunk(
                &s,
                1,
                &["a"],
                true,
                "(a) Alcohol tests. (1) Fatal. (2) Citation.",
            ),
            chunk(
                &s,
                2,
                &["b"],
                false,
                "(b) Drug tests, for each surviving driver:",
            ),
            chunk(&s, 3, &["b", "1"], true, "(1) Fatal."),
            chunk(&s, 4, &["b", "2"], true, "(2) Citation."),
        ];
        // Inside a chunk that holds its paragraph whole.
        assert_eq!(answering_chunks(&s, &chunks, &para(&["a", "2"])), vec![1]);
        // A paragraph split into its lead-in and subparagraphs: all of them.
        assert_eq!(answering_chunks(&s, &chunks, &para(&["b"])), vec![2, 3, 4]);
        assert_eq!(answering_chunks(&s, &chunks, &para(&["b", "2"])), vec![4]);
        // A paragraph that only a lead-in encloses falls back to that lead-in.
        let partial = vec![chunks[0].clone(), chunks[2].clone()];
        assert_eq!(answering_chunks(&s, &partial, &para(&["b", "1"])), vec![1]);
        // The whole section: its undesignated text.
        assert_eq!(
            answering_chunks(&s, &chunks, &QuestionTarget::Section),
            vec![0]
        );
        assert_eq!(
            answering_chunks(&s, &chunks[1..], &QuestionTarget::Section),
            vec![0]
        );
        // A defined term: the chunks whose line opens with it, case aside, before the chunks
        // that merely mention it; else any mention.
        let mut defs = chunks.clone();
        defs[0].text =
            "Words used in this part: see the alcohol rules.\nAlcohol means ethanol.".into();
        defs[2].text = "(b) Alcohol tests for each driver:".into();
        defs[3].text = "(1) Fatal, with alcohol.".into();
        let term = QuestionTarget::Term("alcohol".into());
        assert_eq!(answering_chunks(&s, &defs, &term), vec![0]);
        let term = QuestionTarget::Term("tests for each".into());
        assert_eq!(answering_chunks(&s, &defs, &term), vec![2]);
        let term = QuestionTarget::Term("Alcohol means".into());
        assert_eq!(answering_chunks(&s, &chunks, &term), vec![0]);
        let term = QuestionTarget::Term("ethanol".into());
        assert_eq!(answering_chunks(&s, &defs, &term), vec![0]);
        let missing = QuestionTarget::Term("hazmat".into());
        assert_eq!(answering_chunks(&s, &chunks, &missing), vec![0]);
    }
}
