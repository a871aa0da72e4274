//! Structure-aware chunking: a section is cut at its top-level paragraphs; a paragraph
//! whose subtree does not fit the embedding model's window is cut into its subparagraphs,
//! and only a single paragraph that is still too long goes through `text-splitter`.
//! Every chunk keeps its full paragraph citation, its heading path, and the prefix that is
//! embedded with it.

use serde::{Deserialize, Serialize};
use text_splitter::{ChunkConfig, TextSplitter};

use crate::citation::Citation;
use crate::corpus::{Paragraph, Section};
use crate::tokens::{Sizer, TokenCounter};

/// all-MiniLM-L6-v2 truncates its input at 256 word pieces.
pub const EMBEDDING_TOKEN_LIMIT: usize = 256;
/// Special tokens the model adds around each input (`[CLS]`, `[SEP]`).
const SPECIAL_TOKENS: usize = 2;
/// Longest parent lead-in carried into a subparagraph's chunk as context, in characters.
const CONTEXT_CHARS: usize = 240;
/// Bumped whenever chunk boundaries or texts change, so that ingest re-embeds.
pub const CHUNKER_VERSION: &str = "paragraph-tree-v1";

/// One retrievable passage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    /// Paragraph citation (`49 CFR 382.303(b)(1)`), or the section's for undesignated text.
    pub citation: Citation,
    /// Position within its section, from 0.
    pub ordinal: u32,
    /// `["49 CFR Part 382", "Subpart C", "§ 382.303 Post-accident testing", "(b)(1)"]`.
    pub heading_path: Vec<String>,
    /// The heading path joined with ` › `, embedded with the text.
    pub prefix: String,
    /// Lead-in of the enclosing paragraph, embedded for context but not part of `text`.
    pub context: String,
    /// The passage itself, one designated paragraph per line.
    pub text: String,
    /// True when `text` holds the whole subtree under `citation`.
    pub covers_subtree: bool,
}

impl Chunk {
    /// The exact text handed to the embedding model.
    pub fn embedding_text(&self) -> String {
        if self.context.is_empty() {
            format!("{}\n{}", self.prefix, self.text)
        } else {
            format!("{}\n{}\n{}", self.prefix, self.context, self.text)
        }
    }

    /// True when a passage judged relevant at `target` is found in this chunk: the chunk
    /// lies inside `target`, or the chunk holds the whole subtree that contains `target`.
    pub fn answers(&self, target: &Citation) -> bool {
        self.citation.is_within(target) || (self.covers_subtree && target.is_within(&self.citation))
    }
}

#[derive(Debug, Default)]
struct Node {
    path: Vec<String>,
    head: Vec<String>,
    tail: Vec<String>,
    children: Vec<Node>,
}

impl Node {
    fn insert(&mut self, p: &Paragraph, depth: usize) {
        if p.path.len() == depth {
            if self.children.is_empty() {
                &mut self.head
            } else {
                &mut self.tail
            }
            .push(p.text.clone());
            return;
        }
        let wanted = &p.path[..=depth];
        let reuse = self.children.last().is_some_and(|c| c.path == wanted);
        if !reuse {
            self.children.push(Node {
                path: wanted.to_vec(),
                ..Node::default()
            });
        }
        if let Some(child) = self.children.last_mut() {
            child.insert(p, depth + 1);
        }
    }

    fn designator_line(&self, text: &str) -> String {
        match self.path.last() {
            Some(d) if text.is_empty() => format!("({d})"),
            Some(d) => format!("({d}) {text}"),
            None => text.to_string(),
        }
    }

    /// The node's own text (lead-in and trailing text), without its children.
    fn own_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let head = self.head.join(" ");
        if !head.is_empty() || !self.path.is_empty() {
            lines.push(self.designator_line(&head));
        }
        lines.extend(self.tail.iter().cloned());
        lines
    }

    fn render(&self, out: &mut Vec<String>) {
        let head = self.head.join(" ");
        out.push(self.designator_line(&head));
        for c in &self.children {
            c.render(out);
        }
        out.extend(self.tail.iter().cloned());
    }

    fn has_own_text(&self) -> bool {
        self.head
            .iter()
            .chain(&self.tail)
            .any(|t| !t.trim().is_empty())
    }
}

/// Cuts sections into chunks sized with a model's tokenizer.
pub struct Chunker<'a> {
    counter: &'a dyn TokenCounter,
    limit: usize,
    whole_limit: usize,
}

impl<'a> Chunker<'a> {
    /// A chunker for the given tokenizer and window (in tokens, special tokens included).
    pub fn new(counter: &'a dyn TokenCounter, limit: usize) -> Self {
        let limit = limit.max(SPECIAL_TOKENS + 16);
        Self {
            counter,
            limit,
            whole_limit: limit,
        }
    }

    /// Keeps a paragraph together with its subparagraphs only when the whole fits in
    /// `tokens` (at most the model window); smaller values give finer chunks.
    pub fn with_whole_subtree_limit(mut self, tokens: usize) -> Self {
        self.whole_limit = tokens.clamp(SPECIAL_TOKENS + 16, self.limit);
        self
    }

    fn fits_whole(&self, prefix: &str, context: &str, text: &str) -> bool {
        let embedded = if context.is_empty() {
            format!("{prefix}\n{text}")
        } else {
            format!("{prefix}\n{context}\n{text}")
        };
        self.counter.count(&embedded) + SPECIAL_TOKENS <= self.whole_limit
    }

    fn fits(&self, prefix: &str, context: &str, text: &str) -> bool {
        let embedded = if context.is_empty() {
            format!("{prefix}\n{text}")
        } else {
            format!("{prefix}\n{context}\n{text}")
        };
        self.counter.count(&embedded) + SPECIAL_TOKENS <= self.limit
    }

    /// All chunks of one section, in document order.
    pub fn chunk_section(&self, section: &Section) -> Vec<Chunk> {
        let mut root = Node::default();
        for p in &section.paragraphs {
            root.insert(p, 0);
        }
        let mut base = vec![section.regulation.clone()];
        if let Some(sp) = &section.subpart {
            base.push(format!("Subpart {sp}"));
        }
        base.push(section.heading());
        let mut out = Vec::new();
        // Undesignated section text (an introduction, or a list of definitions).
        let intro: Vec<String> = root.head.iter().chain(&root.tail).cloned().collect();
        self.group_lines(section, &base, &[], "", &intro, false, &mut out);
        for child in &root.children {
            self.emit(section, &base, child, "", &mut out);
        }
        if out.is_empty() {
            // A section with a heading only (reserved): still findable by citation.
            self.push(
                section,
                &base,
                &[],
                String::new(),
                section.heading(),
                true,
                &mut out,
            );
        }
        for (i, c) in out.iter_mut().enumerate() {
            c.ordinal = u32::try_from(i).unwrap_or(u32::MAX);
        }
        out
    }

    fn emit(
        &self,
        section: &Section,
        base: &[String],
        node: &Node,
        context: &str,
        out: &mut Vec<Chunk>,
    ) {
        let prefix = prefix_for(base, &node.path);
        let mut lines = Vec::new();
        node.render(&mut lines);
        let full = lines.join("\n");
        let whole = if node.children.is_empty() {
            self.fits(&prefix, context, &full)
        } else {
            self.fits_whole(&prefix, context, &full)
        };
        if whole {
            self.push(
                section,
                base,
                &node.path,
                context.to_string(),
                full,
                true,
                out,
            );
            return;
        }
        if node.has_own_text() || node.children.is_empty() {
            let own = node.own_lines();
            self.group_lines(
                section,
                base,
                &node.path,
                context,
                &own,
                node.children.is_empty(),
                out,
            );
        }
        let child_context = lead_in(&node.head.join(" "));
        let child_context = if child_context.is_empty() {
            context.to_string()
        } else {
            child_context
        };
        for child in &node.children {
            self.emit(section, base, child, &child_context, out);
        }
    }

    /// Packs whole lines into as few chunks as fit; a single line that does not fit is
    /// split with `text-splitter`.
    #[allow(clippy::too_many_arguments)]
    fn group_lines(
        &self,
        section: &Section,
        base: &[String],
        path: &[String],
        context: &str,
        lines: &[String],
        covers: bool,
        out: &mut Vec<Chunk>,
    ) {
        let prefix = prefix_for(base, path);
        let mut current: Vec<String> = Vec::new();
        let mut pieces = Vec::new();
        for line in lines.iter().filter(|l| !l.trim().is_empty()) {
            let mut candidate = current.clone();
            candidate.push(line.clone());
            if self.fits(&prefix, context, &candidate.join("\n")) {
                current = candidate;
                continue;
            }
            if !current.is_empty() {
                pieces.push(current.join("\n"));
                current.clear();
            }
            if self.fits(&prefix, context, line) {
                current.push(line.clone());
            } else {
                pieces.extend(self.split_long(&prefix, context, line));
            }
        }
        if !current.is_empty() {
            pieces.push(current.join("\n"));
        }
        let whole = pieces.len() == 1 && covers;
        for piece in pieces {
            self.push(section, base, path, context.to_string(), piece, whole, out);
        }
    }

    fn split_long(&self, prefix: &str, context: &str, text: &str) -> Vec<String> {
        let overhead = if context.is_empty() {
            self.counter.count(&format!("{prefix}\n"))
        } else {
            self.counter.count(&format!("{prefix}\n{context}\n"))
        };
        let capacity = self
            .limit
            .saturating_sub(overhead + SPECIAL_TOKENS + 2)
            .max(16);
        let splitter =
            TextSplitter::new(ChunkConfig::new(capacity).with_sizer(Sizer(self.counter)));
        splitter.chunks(text).map(str::to_string).collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &self,
        section: &Section,
        base: &[String],
        path: &[String],
        context: String,
        text: String,
        covers_subtree: bool,
        out: &mut Vec<Chunk>,
    ) {
        let mut heading_path = base.to_vec();
        if !path.is_empty() {
            heading_path.push(designators(path));
        }
        out.push(Chunk {
            citation: section.citation.with_paragraph(path),
            ordinal: 0,
            prefix: heading_path.join(" › "),
            heading_path,
            context,
            text,
            covers_subtree,
        });
    }
}

fn designators(path: &[String]) -> String {
    path.iter().map(|d| format!("({d})")).collect()
}

fn prefix_for(base: &[String], path: &[String]) -> String {
    let mut parts = base.to_vec();
    if !path.is_empty() {
        parts.push(designators(path));
    }
    parts.join(" › ")
}

/// The first `CONTEXT_CHARS` characters of a lead-in, cut at a word boundary.
fn lead_in(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= CONTEXT_CHARS {
        return text.to_string();
    }
    let cut: String = text.chars().take(CONTEXT_CHARS).collect();
    match cut.rfind(' ') {
        Some(i) => format!("{}…", &cut[..i]),
        None => cut,
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
pub(crate) mod tests {
    use super::*;
    use crate::citation::Citation;

    /// Counts whitespace-separated words: a stand-in tokenizer with predictable sizes.
    struct Words;
    impl TokenCounter for Words {
        fn count(&self, text: &str) -> usize {
            text.split_whitespace().count()
        }
    }

    /// § 382.303 with the given paragraphs (`"b.1"` is `(b)(1)`), for tests across the crate.
    pub(crate) fn section(paragraphs: &[(&str, &str)]) -> Section {
        Section {
            citation: Citation::parse("49 CFR 382.303").unwrap_or_else(|| panic!("citation")),
            title: "Post-accident testing.".into(),
            regulation: "49 CFR Part 382".into(),
            part: "382".into(),
            subpart: Some("C".into()),
            subpart_title: Some("Tests Required".into()),
            source: "test".into(),
            official_text: None,
            as_of: None,
            restatement: true,
            note: None,
            source_file: None,
            questions: Vec::new(),
            paragraphs: paragraphs
                .iter()
                .map(|(p, t)| Paragraph {
                    path: p
                        .split('.')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect(),
                    text: t.to_string(),
                })
                .collect(),
        }
    }

    #[test]
    fn short_paragraphs_stay_whole() {
        let s = section(&[
            ("a", "Test after accidents:"),
            ("a.1", "fatality"),
            ("a.2", "citation"),
            ("b", "Alcohol within two hours."),
        ]);
        let chunks = Chunker::new(&Words, 256).chunk_section(&s);
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].citation.to_string(), "49 CFR 382.303(a)");
        assert_eq!(
            chunks[0].text,
            "(a) Test after accidents:\n(1) fatality\n(2) citation"
        );
        assert!(chunks[0].covers_subtree);
        assert_eq!(
            chunks[1].prefix,
            "49 CFR Part 382 › Subpart C › § 382.303 Post-accident testing › (b)"
        );
        assert_eq!(
            chunks[1].embedding_text(),
            format!("{}\n(b) Alcohol within two hours.", chunks[1].prefix)
        );
    }

    #[test]
    fn long_paragraph_split_into_subparagraphs() {
        let long = "word ".repeat(12);
        let s = section(&[("b", "Lead in:"), ("b.1", &long), ("b.2", &long)]);
        // Prefix is 13 words; limit 40 leaves room for one subparagraph at a time.
        let chunks = Chunker::new(&Words, 40).chunk_section(&s);
        let cites: Vec<String> = chunks.iter().map(|c| c.citation.to_string()).collect();
        assert_eq!(
            cites,
            [
                "49 CFR 382.303(b)",
                "49 CFR 382.303(b)(1)",
                "49 CFR 382.303(b)(2)"
            ]
        );
        assert!(!chunks[0].covers_subtree);
        assert_eq!(chunks[1].context, "Lead in:");
        for c in &chunks {
            assert!(
                Words.count(&c.embedding_text()) + 2 <= 40,
                "{}",
                c.embedding_text()
            );
        }
        let target = Citation::parse("49 CFR 382.303(b)").unwrap_or_else(|| panic!("c"));
        assert!(chunks[1].answers(&target));
    }

    #[test]
    fn whole_subtree_limit_gives_finer_chunks() {
        let s = section(&[
            ("a", "Test after accidents:"),
            ("a.1", "fatality"),
            ("a.2", "citation"),
        ]);
        let coarse = Chunker::new(&Words, 256).chunk_section(&s);
        assert_eq!(coarse.len(), 1);
        // Prefix 14 words + text 7 + 2 special tokens = 23: a 20-token limit splits (a).
        let fine = Chunker::new(&Words, 256)
            .with_whole_subtree_limit(20)
            .chunk_section(&s);
        let cites: Vec<String> = fine.iter().map(|c| c.citation.to_string()).collect();
        assert_eq!(
            cites,
            [
                "49 CFR 382.303(a)",
                "49 CFR 382.303(a)(1)",
                "49 CFR 382.303(a)(2)"
            ]
        );
        assert!(fine[1].covers_subtree && !fine[0].covers_subtree);
    }

    #[test]
    fn overlong_leaf_goes_through_text_splitter() {
        let long = "Each employer shall keep records. ".repeat(20);
        let s = section(&[("c", &long)]);
        let chunks = Chunker::new(&Words, 60).chunk_section(&s);
        assert!(chunks.len() > 2);
        for c in &chunks {
            assert_eq!(c.citation.to_string(), "49 CFR 382.303(c)");
            assert!(!c.covers_subtree);
            assert!(Words.count(&c.embedding_text()) + 2 <= 60);
        }
        let joined: String = chunks
            .iter()
            .map(|c| c.text.replace("(c) ", ""))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(
            joined.split_whitespace().count(),
            long.split_whitespace().count()
        );
    }

    #[test]
    fn definitions_are_grouped() {
        let s = section(&[
            ("", "Accident means an occurrence."),
            ("", "Alcohol means ethyl alcohol."),
            ("", "Employer means a person."),
        ]);
        let chunks = Chunker::new(&Words, 256).chunk_section(&s);
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].citation.to_string(), "49 CFR 382.303");
        assert_eq!(chunks[0].text.lines().count(), 3);
    }
}
