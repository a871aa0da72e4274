//! The project's corpus files: YAML front matter, a `# § 382.303 Title.` heading, and
//! one paragraph per block, each starting with its designator.

use std::path::Path;

use serde_yaml_ng::{Mapping, Value};

use super::designator::Scheme;
use super::paragraphs::{self, Block};
use super::{QuestionTarget, Section, SectionQuestion};
use crate::citation::{Citation, Code, split_designators};
use crate::error::CorpusError;

fn front_matter_error(path: &Path, message: impl Into<String>) -> CorpusError {
    CorpusError::FrontMatter {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Splits `---\n<yaml>\n---\n<body>` into its two parts.
fn split_front_matter<'a>(text: &'a str, path: &Path) -> Result<(&'a str, &'a str), CorpusError> {
    let text = text.trim_start_matches('\u{feff}');
    let rest = text
        .strip_prefix("---")
        .ok_or_else(|| front_matter_error(path, "file must start with a `---` line"))?;
    let rest = rest.trim_start_matches([' ', '\t']);
    let rest = rest
        .strip_prefix("\r\n")
        .or_else(|| rest.strip_prefix('\n'))
        .ok_or_else(|| front_matter_error(path, "nothing may follow the opening `---`"))?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            return Ok((&rest[..offset], &rest[offset + line.len()..]));
        }
        offset += line.len();
    }
    Err(front_matter_error(path, "no closing `---` line"))
}

fn scalar(map: &Mapping, key: &str) -> Option<String> {
    match map.get(key)? {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn truthy(map: &Mapping, key: &str) -> bool {
    match map.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => {
            !matches!(s.trim().to_ascii_lowercase().as_str(), "" | "false" | "no")
        }
        Some(Value::Null) | None => false,
        Some(_) => true,
    }
}

/// Joins the lines of one block and drops Markdown emphasis marks and hard-break backslashes.
fn clean_block(lines: &[&str]) -> String {
    let joined = lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ");
    joined.trim_end_matches('\\').to_string()
}

fn strip_emphasis(text: &str) -> String {
    text.replace("**", "").replace("__", "").replace('*', "")
}

/// Parses one corpus Markdown file into a section.
pub fn parse(text: &str, path: &Path) -> Result<Section, CorpusError> {
    let (yaml, body) = split_front_matter(text, path)?;
    let value: Value =
        serde_yaml_ng::from_str(yaml).map_err(|e| front_matter_error(path, e.to_string()))?;
    let Value::Mapping(map) = value else {
        return Err(front_matter_error(path, "front matter must be a mapping"));
    };
    let citation_text =
        scalar(&map, "citation").ok_or_else(|| front_matter_error(path, "missing `citation`"))?;
    let citation = Citation::parse(&citation_text).ok_or_else(|| CorpusError::Citation {
        path: path.to_path_buf(),
        citation: citation_text.clone(),
    })?;
    let scheme = match citation.code {
        Code::Cfr => Scheme::Cfr,
        Code::Usc => Scheme::Usc,
    };

    let mut heading_title = None;
    let mut blocks = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let flush = |current: &mut Vec<&str>, blocks: &mut Vec<Block>| {
        if !current.is_empty() {
            let text = clean_block(current);
            // A designator (`*(i)*`) or a defined term (`*Employer* means`) in italics; bold
            // (`**(a)**`) is not italics.
            let lead = text.trim_start();
            let italic_lead = (lead.starts_with('*') && !lead.starts_with("**"))
                || (lead.starts_with('_') && !lead.starts_with("__"));
            blocks.push(Block {
                text: strip_emphasis(&text),
                italic_lead,
            });
            current.clear();
        }
    };
    for line in body.lines() {
        let trimmed = line.trim();
        if let Some(h) = trimmed.strip_prefix('#') {
            flush(&mut current, &mut blocks);
            if heading_title.is_none() {
                heading_title = Some(h.trim_start_matches('#').trim().to_string());
            }
        } else if trimmed.is_empty() {
            flush(&mut current, &mut blocks);
        } else {
            current.push(trimmed);
        }
    }
    flush(&mut current, &mut blocks);

    let title = scalar(&map, "title")
        .or_else(|| {
            heading_title
                .as_deref()
                .map(|h| title_from_heading(h, &citation.section))
        })
        .unwrap_or_default();
    let part = scalar(&map, "part").unwrap_or_else(|| default_part(&citation));
    let regulation = scalar(&map, "regulation").unwrap_or_else(|| match citation.code {
        Code::Cfr => format!("{} Part {part}", citation.title_prefix()),
        Code::Usc => citation.title_prefix(),
    });
    let paragraphs = paragraphs::build(scheme, &blocks);
    let questions = questions(&map, &paragraphs, path)?;
    Ok(Section {
        paragraphs,
        questions,
        citation,
        title,
        regulation,
        part,
        subpart: scalar(&map, "subpart"),
        subpart_title: scalar(&map, "subpart_title"),
        source: scalar(&map, "source").unwrap_or_else(|| "corpus".to_string()),
        official_text: scalar(&map, "official_text"),
        as_of: scalar(&map, "as_of"),
        restatement: truthy(&map, "restatement"),
        note: scalar(&map, "note"),
        source_file: Some(path.to_path_buf()),
    })
}

/// Longest question accepted in `questions:`, in bytes.
const MAX_QUESTION_BYTES: usize = 300;

/// The optional `questions:` mapping: a key naming where the answer is (`"(b)(1)"`, `"§"`
/// for the whole section, `"§ Term"` for a definition) to a list of questions.
fn questions(
    map: &Mapping,
    paragraphs: &[super::Paragraph],
    path: &Path,
) -> Result<Vec<SectionQuestion>, CorpusError> {
    let Some(value) = map.get("questions") else {
        return Ok(Vec::new());
    };
    let Value::Mapping(entries) = value else {
        return Err(front_matter_error(
            path,
            "`questions` must map a paragraph (\"(b)(1)\", \"§\" or \"§ Term\") to a list of questions",
        ));
    };
    let mut out = Vec::new();
    for (key, list) in entries {
        let Value::String(key) = key else {
            return Err(front_matter_error(
                path,
                format!("`questions` key {key:?} must be a quoted string such as \"(b)(1)\""),
            ));
        };
        let target = question_target(key.trim(), paragraphs, path)?;
        let Value::Sequence(list) = list else {
            return Err(front_matter_error(
                path,
                format!("`questions` entry \"{key}\" must be a list of questions"),
            ));
        };
        for item in list {
            let text = match item {
                Value::String(s) => s.trim(),
                _ => "",
            };
            if text.is_empty() || text.len() > MAX_QUESTION_BYTES {
                return Err(front_matter_error(
                    path,
                    format!(
                        "`questions` entry \"{key}\": each question must be text of 1 to {MAX_QUESTION_BYTES} bytes"
                    ),
                ));
            }
            out.push(SectionQuestion {
                target: target.clone(),
                text: text.to_string(),
            });
        }
    }
    Ok(out)
}

fn question_target(
    key: &str,
    paragraphs: &[super::Paragraph],
    path: &Path,
) -> Result<QuestionTarget, CorpusError> {
    if key == "§" {
        return Ok(QuestionTarget::Section);
    }
    if let Some(term) = key.strip_prefix('§') {
        let term = term.trim().to_string();
        let lower = term.to_lowercase();
        if !paragraphs
            .iter()
            .any(|p| p.text.to_lowercase().contains(&lower))
        {
            return Err(front_matter_error(
                path,
                format!("`questions` key \"{key}\": the term does not appear in the section text"),
            ));
        }
        return Ok(QuestionTarget::Term(term));
    }
    let designators = split_designators(key);
    let rebuilt: String = designators.iter().map(|d| format!("({d})")).collect();
    if designators.is_empty() || rebuilt != key {
        return Err(front_matter_error(
            path,
            format!(
                "`questions` key \"{key}\" must be a paragraph such as \"(b)(1)\", \"§\" or \"§ Term\""
            ),
        ));
    }
    if !paragraphs.iter().any(|p| p.path.starts_with(&designators)) {
        return Err(front_matter_error(
            path,
            format!("`questions` key \"{key}\" names no paragraph of this section"),
        ));
    }
    Ok(QuestionTarget::Paragraph(designators))
}

/// `§ 382.303 Post-accident testing.` → `Post-accident testing.`
fn title_from_heading(heading: &str, section: &str) -> String {
    let h = heading.trim_start_matches('§').trim();
    h.strip_prefix(section).unwrap_or(h).trim().to_string()
}

/// The part of a CFR section (`382` for `382.303`); for the U.S. Code, the section number
/// without its letters (`1681` for `1681b`), grouping a statute's sections.
pub fn default_part(citation: &Citation) -> String {
    match citation.code {
        Code::Cfr => citation
            .section
            .split('.')
            .next()
            .unwrap_or_default()
            .to_string(),
        Code::Usc => citation
            .section
            .chars()
            .take_while(char::is_ascii_digit)
            .collect(),
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    const SAMPLE: &str = "---\ncitation: \"49 CFR 382.303\"\ntitle: Post-accident testing.\nregulation: 49 CFR Part 382\npart: 382\nsubpart: C\nsubpart_title: Tests Required\nsource: eCFR\nrestatement: true\n---\n\n# § 382.303 Post-accident testing.\n\n(a) As soon as practicable following an occurrence,\neach employer shall test:\n\n(1) Who was performing duties.\n\n(b)(1) Alcohol tests within two hours.\n\n(2) Eight hours.\n";

    #[test]
    fn parses_front_matter_and_paragraphs() {
        let s = parse(SAMPLE, Path::new("x.md"));
        let Ok(s) = s else { panic!("{s:?}") };
        assert_eq!(s.citation.to_string(), "49 CFR 382.303");
        assert_eq!(s.part, "382");
        assert_eq!(s.subpart.as_deref(), Some("C"));
        assert!(s.restatement);
        let paths: Vec<String> = s.paragraphs.iter().map(|p| p.path.join("")).collect();
        assert_eq!(paths, ["a", "a1", "b", "b1", "b2"]);
        assert_eq!(
            s.paragraphs[0].text,
            "As soon as practicable following an occurrence, each employer shall test:"
        );
        assert_eq!(s.heading(), "§ 382.303 Post-accident testing");
    }

    fn with_questions(questions: &str) -> Result<Section, CorpusError> {
        let text = SAMPLE.replacen(
            "restatement: true\n",
            &format!("restatement: true\n{questions}"),
            1,
        );
        parse(&text, Path::new("x.md"))
    }

    #[test]
    fn reads_questions_with_their_targets() {
        let s = with_questions(
            "questions:\n  \"(b)(1)\":\n    - How soon is the breath test due?\n    - Two hours or eight?\n  \"§\":\n    - What does this section cover?\n  \"§ performing duties\":\n    - Who counts?\n",
        );
        let Ok(s) = s else { panic!("{s:?}") };
        let got: Vec<(QuestionTarget, &str)> = s
            .questions
            .iter()
            .map(|q| (q.target.clone(), q.text.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    QuestionTarget::Paragraph(vec!["b".into(), "1".into()]),
                    "How soon is the breath test due?"
                ),
                (
                    QuestionTarget::Paragraph(vec!["b".into(), "1".into()]),
                    "Two hours or eight?"
                ),
                (QuestionTarget::Section, "What does this section cover?"),
                (
                    QuestionTarget::Term("performing duties".into()),
                    "Who counts?"
                ),
            ]
        );
    }

    #[test]
    fn rejects_questions_that_point_nowhere() {
        for (questions, says) in [
            (
                "questions:\n  \"(c)\":\n    - Anything?\n",
                "names no paragraph",
            ),
            (
                "questions:\n  \"b1\":\n    - Anything?\n",
                "must be a paragraph",
            ),
            (
                "questions:\n  \"§ tow truck\":\n    - Anything?\n",
                "does not appear",
            ),
            ("questions:\n  \"(a)\": Anything?\n", "list of questions"),
            ("questions:\n  - Anything?\n", "must map"),
            ("questions:\n  \"(a)\":\n    - \"\"\n", "1 to 300 bytes"),
        ] {
            let err = with_questions(questions)
                .map(|_| ())
                .err()
                .map(|e| e.to_string());
            assert!(
                err.as_deref().is_some_and(|e| e.contains(says)),
                "{questions:?}: {err:?}"
            );
        }
    }

    #[test]
    fn sections_without_questions_hash_as_before() {
        let Ok(s) = parse(SAMPLE, Path::new("x.md")) else {
            panic!("parse")
        };
        let json = serde_json::to_string(&s).unwrap_or_default();
        assert!(!json.contains("questions"), "{json}");
    }

    #[test]
    fn rejects_missing_front_matter() {
        assert!(parse("# § 1.1 x\n", Path::new("x.md")).is_err());
        assert!(parse("---\ntitle: x\n---\n", Path::new("x.md")).is_err());
    }
}
