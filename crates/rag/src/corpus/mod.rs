//! Regulatory text as sections of designated paragraphs, loaded from the project's
//! Markdown corpus files, from eCFR XML, or from USLM XML.

pub mod designator;
pub mod ecfr;
pub mod markdown;
pub mod paragraphs;
pub mod uslm;
mod xml_text;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::citation::Citation;
use crate::error::CorpusError;

/// One section of a regulation or statute (`49 CFR 382.303`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// Canonical section citation.
    pub citation: Citation,
    /// Section heading without the section number (`Post-accident testing.`).
    pub title: String,
    /// The regulation it belongs to (`49 CFR Part 382`).
    pub regulation: String,
    /// Part (CFR) or chapter-level grouping used by part filters (`382`).
    pub part: String,
    /// Subpart letter or subchapter number, if any (`C`).
    pub subpart: Option<String>,
    /// Subpart heading (`Tests Required`).
    pub subpart_title: Option<String>,
    /// Where the text came from (`eCFR`, a file name).
    pub source: String,
    /// Address of the official text.
    pub official_text: Option<String>,
    /// Date the text reflects.
    pub as_of: Option<String>,
    /// Whether the text is a faithful restatement rather than the official print.
    pub restatement: bool,
    /// Free-form note from the corpus file.
    pub note: Option<String>,
    /// File the section was read from.
    pub source_file: Option<PathBuf>,
    /// Paragraphs in document order.
    pub paragraphs: Vec<Paragraph>,
    /// Questions the section answers, written by the corpus editors in plain language and
    /// embedded beside the paragraphs they point at ([`crate::questions`]). Retrieval keys
    /// only: never shown as the regulation's text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub questions: Vec<SectionQuestion>,
}

/// One plain-language question and the part of its section that answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionQuestion {
    /// Where the answer is.
    pub target: QuestionTarget,
    /// The question as a user would ask it.
    pub text: String,
}

/// The part of a section that answers a [`SectionQuestion`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionTarget {
    /// The section as a whole (front matter key `"§"`).
    Section,
    /// A paragraph, by its designators outermost first (key `"(b)(1)"` → `["b", "1"]`).
    Paragraph(Vec<String>),
    /// The definition of a term in undesignated text (key `"§ Safety-sensitive function"`).
    Term(String),
}

/// One paragraph; `path` holds its designators outermost first (`["b", "1"]`), empty for
/// undesignated section text. A path may repeat for text that continues a paragraph after
/// its subparagraphs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paragraph {
    /// Designators from the outermost level down.
    pub path: Vec<String>,
    /// The paragraph's own text, without its designator.
    pub text: String,
}

impl Section {
    /// The display heading `§ 382.303 Post-accident testing`.
    pub fn heading(&self) -> String {
        let title = self.title.trim().trim_end_matches('.');
        format!("§ {} {}", self.citation.section, title)
    }
}

/// Loads every section under `path`: a Markdown file, an XML file (eCFR or USLM, told
/// apart by their root elements), or a folder searched recursively, in sorted order.
pub fn load_path(path: &Path) -> Result<Vec<Section>, CorpusError> {
    let mut sections = Vec::new();
    for file in corpus_files(path)? {
        sections.extend(load_file(&file)?);
    }
    Ok(sections)
}

/// What [`check_path`] found: every file is read, and every bad one reported, so that an
/// editor can fix a whole corpus in one pass before ingesting it.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Files read (Markdown and XML).
    pub files: usize,
    /// Sections in the files that parsed.
    pub sections: usize,
    /// Editors' questions in those sections.
    pub questions: usize,
    /// One error per file that did not parse, in file order.
    pub errors: Vec<CorpusError>,
}

/// Reads and checks every corpus file under `path` (front matter, paragraphs, editors'
/// questions) without a database, collecting the errors instead of stopping at the first.
/// An unreadable folder is the only error returned directly.
pub fn check_path(path: &Path) -> Result<CheckReport, CorpusError> {
    let files = corpus_files(path)?;
    let mut report = CheckReport {
        files: files.len(),
        ..CheckReport::default()
    };
    for file in files {
        match load_file(&file) {
            Ok(sections) => {
                report.sections += sections.len();
                report.questions += sections.iter().map(|s| s.questions.len()).sum::<usize>();
            }
            Err(e) => report.errors.push(e),
        }
    }
    Ok(report)
}

/// The corpus files under `path` (itself, if a file), in sorted order.
fn corpus_files(path: &Path) -> Result<Vec<PathBuf>, CorpusError> {
    let mut files = Vec::new();
    collect_files(path, &mut files)?;
    files.sort();
    Ok(files)
}

fn collect_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), CorpusError> {
    let io = |source| CorpusError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    for entry in std::fs::read_dir(path).map_err(io)? {
        let entry = entry.map_err(io)?;
        let p = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if p.is_dir() {
            collect_files(&p, out)?;
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("md" | "xml"))
            && !is_readme(&p)
        {
            out.push(p);
        }
    }
    Ok(())
}

fn is_readme(p: &Path) -> bool {
    p.file_stem()
        .is_some_and(|s| s.eq_ignore_ascii_case("readme"))
}

/// Loads the sections of one file.
pub fn load_file(path: &Path) -> Result<Vec<Section>, CorpusError> {
    let text = std::fs::read_to_string(path).map_err(|source| CorpusError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    match path.extension().and_then(|e| e.to_str()) {
        Some("xml") => {
            if uslm::looks_like_uslm(&text) {
                uslm::parse(&text, path)
            } else {
                ecfr::parse(&text, path)
            }
        }
        _ => markdown::parse(&text, path).map(|s| vec![s]),
    }
}
