//! The project's corpus files: YAML front matter, a `# § 382.303 Title.` heading, and
//! one paragraph per block, each starting with its designator.

use std::path::Path;

use serde_yaml_ng::{Mapping, Value};

use super::Section;
use super::designator::Scheme;
use super::paragraphs::{self, Block};
use crate::citation::{Citation, Code};
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
            let italic_lead =
                text.trim_start().starts_with("*(") || text.trim_start().starts_with("_(");
            blocks.push(Block {
                text: strip_emphasis(&text),
                italic_lead: italic_lead && !text.starts_with("**"),
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
    Ok(Section {
        paragraphs: paragraphs::build(scheme, &blocks),
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

    #[test]
    fn rejects_missing_front_matter() {
        assert!(parse("# § 1.1 x\n", Path::new("x.md")).is_err());
        assert!(parse("---\ntitle: x\n---\n", Path::new("x.md")).is_err());
    }
}
