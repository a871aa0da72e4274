//! Canonical citations (`49 CFR 382.303(b)(1)`, `15 U.S.C. 1681b(b)(3)`), their
//! normalised lookup keys, and citation references found inside free-text questions.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// Which body of law a citation points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Code {
    /// Code of Federal Regulations (`49 CFR 382.303`).
    Cfr,
    /// United States Code (`15 U.S.C. 1681b`).
    Usc,
}

impl Code {
    /// The abbreviation used in canonical citations.
    pub fn abbreviation(self) -> &'static str {
        match self {
            Code::Cfr => "CFR",
            Code::Usc => "U.S.C.",
        }
    }
}

/// A canonical citation down to an optional paragraph.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Citation {
    /// CFR or U.S.C.
    pub code: Code,
    /// Title number (49, 29, 15).
    pub title: u32,
    /// Section number as written (`382.303`, `1681b`, `1681c-1`).
    pub section: String,
    /// Paragraph designators without parentheses, outermost first (`["b", "1"]`).
    pub paragraph: Vec<String>,
}

static CANONICAL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"^\s*(\d{1,3})\s+(CFR|C\.F\.R\.|U\.S\.C\.|USC)\s+(?:§+\s*)?([0-9]+(?:\.[0-9]+)?[a-z]{0,3}(?:-[0-9]+)?)((?:\([A-Za-z0-9]{1,6}\))*)\s*$",
    )
    .ok()
});

static DESIGNATOR: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\(([A-Za-z0-9]{1,6})\)").ok());

/// Splits `(b)(1)(i)` into `["b", "1", "i"]`.
pub fn split_designators(text: &str) -> Vec<String> {
    match DESIGNATOR.as_ref() {
        Some(re) => re.captures_iter(text).map(|c| c[1].to_string()).collect(),
        None => Vec::new(),
    }
}

impl Citation {
    /// Parses a canonical citation such as `49 CFR 382.303(b)(1)` or `15 U.S.C. 1681b`.
    pub fn parse(text: &str) -> Option<Citation> {
        let caps = CANONICAL.as_ref()?.captures(text)?;
        let title = caps.get(1)?.as_str().parse().ok()?;
        let code = match caps.get(2)?.as_str() {
            "CFR" | "C.F.R." => Code::Cfr,
            _ => Code::Usc,
        };
        Some(Citation {
            code,
            title,
            section: caps.get(3)?.as_str().to_string(),
            paragraph: split_designators(caps.get(4).map_or("", |m| m.as_str())),
        })
    }

    /// The section-level citation (paragraph dropped).
    pub fn section_citation(&self) -> Citation {
        Citation {
            paragraph: Vec::new(),
            ..self.clone()
        }
    }

    /// The citation of a paragraph inside this section.
    pub fn with_paragraph(&self, paragraph: &[String]) -> Citation {
        Citation {
            paragraph: paragraph.to_vec(),
            ..self.clone()
        }
    }

    /// `49 CFR` or `15 U.S.C.`: the part before the section number.
    pub fn title_prefix(&self) -> String {
        format!("{} {}", self.title, self.code.abbreviation())
    }

    /// Normalised lookup key: section plus designators, no title and no spaces
    /// (`382.303(b)(1)`). Designator case is kept: `(a)` and `(A)` differ.
    pub fn key(&self) -> String {
        let mut key = self.section.to_ascii_lowercase();
        for d in &self.paragraph {
            key.push('(');
            key.push_str(d);
            key.push(')');
        }
        key
    }

    /// True when `self` is `ancestor` or lies inside it (`382.303(b)(1)` is within `382.303(b)`
    /// and within `382.303`).
    pub fn is_within(&self, ancestor: &Citation) -> bool {
        self.code == ancestor.code
            && self.title == ancestor.title
            && self.section.eq_ignore_ascii_case(&ancestor.section)
            && self.paragraph.len() >= ancestor.paragraph.len()
            && self
                .paragraph
                .iter()
                .zip(&ancestor.paragraph)
                .all(|(a, b)| a == b)
    }
}

impl fmt::Display for Citation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.title,
            self.code.abbreviation(),
            self.section
        )?;
        for d in &self.paragraph {
            write!(f, "({d})")?;
        }
        Ok(())
    }
}

/// A citation mentioned inside a question; the title may be missing (`§ 382.303`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CitationRef {
    /// Code and title when the question names them (`49 CFR`).
    pub title: Option<(Code, u32)>,
    /// Section number (`382.303`, `1681b`).
    pub section: String,
    /// Paragraph designators (`["b", "3"]`).
    pub paragraph: Vec<String>,
    /// Byte range of the reference in the question.
    pub span: (usize, usize),
}

impl CitationRef {
    /// The normalised key, comparable with [`Citation::key`].
    pub fn key(&self) -> String {
        Citation {
            code: Code::Cfr,
            title: 0,
            section: self.section.clone(),
            paragraph: self.paragraph.clone(),
        }
        .key()
    }

    /// `49 CFR` / `15 U.S.C.` when the question named the title.
    pub fn title_prefix(&self) -> Option<String> {
        self.title
            .map(|(code, n)| format!("{n} {}", code.abbreviation()))
    }
}

static IN_QUERY: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        (?:\b(?P<title>\d{1,2})\s*(?P<code>(?i:C\.?\s?F\.?\s?R\.?|U\.?\s?S\.?\s?C\.?(?:\s?A\.?)?))\s*)?
        (?P<mark>§§?\s*|\b(?i:sec(?:tion|\.)?)\s+)?
        (?P<section>\b[1-9][0-9]{0,3}\.[0-9]{1,4}\b|\b[0-9]{3,5}[a-z]{0,2}(?:-[0-9]{1,2})?\b)
        (?P<paras>(?:\([A-Za-z0-9]{1,5}\))*)",
    )
    .ok()
});

static FCRA_NAMED: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)\bFCRA\b|fair credit reporting act").ok());

static FCRA_SECTION: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:§§?\s*|\bsec(?:tion|\.)?\s+)(6[0-2][0-9])([AB])?((?:\([A-Za-z0-9]{1,5}\))*)",
    )
    .ok()
});

/// Maps an FCRA section number (604) to its U.S. Code section (1681b).
fn fcra_to_usc(section: u32, suffix: Option<&str>) -> Option<String> {
    if !(603..=621).contains(&section) {
        return None;
    }
    let letter = char::from(b'a' + u8::try_from(section - 603).ok()?);
    match suffix.map(str::to_ascii_uppercase).as_deref() {
        None => Some(format!("1681{letter}")),
        Some("A") if section == 605 => Some("1681c-1".to_string()),
        Some("B") if section == 605 => Some("1681c-2".to_string()),
        Some(_) => None,
    }
}

/// Finds every citation reference in a question: `382.303`, `§ 1904.7(b)(3)`, `49 CFR 40.191`,
/// `15 U.S.C. 1681b(b)(3)`, and FCRA section numbers (`FCRA section 604(b)(3)`).
pub fn find_citations(question: &str) -> Vec<CitationRef> {
    let mut found = Vec::new();
    if let Some(re) = IN_QUERY.as_ref() {
        for caps in re.captures_iter(question) {
            let Some(section) = caps.name("section") else {
                continue;
            };
            let section_text = section.as_str();
            let title = match (caps.name("title"), caps.name("code")) {
                (Some(t), Some(c)) => t.as_str().parse::<u32>().ok().map(|n| {
                    let code = if c.as_str().to_ascii_uppercase().starts_with('C') {
                        Code::Cfr
                    } else {
                        Code::Usc
                    };
                    (code, n)
                }),
                _ => None,
            };
            let dotted = section_text.contains('.');
            let has_mark = caps.name("mark").is_some();
            let lettered = section_text.len() >= 5
                && section_text.chars().take(4).all(|c| c.is_ascii_digit())
                && section_text[4..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_lowercase());
            let usc_titled = matches!(title, Some((Code::Usc, _)));
            // Accept a bare number only where it cannot be an ordinary quantity.
            if !(dotted || usc_titled || lettered || (has_mark && section_text.len() >= 4)) {
                continue;
            }
            let Some(whole) = caps.get(0) else { continue };
            found.push(CitationRef {
                title,
                section: section_text.to_string(),
                paragraph: split_designators(caps.name("paras").map_or("", |m| m.as_str())),
                span: (whole.start(), whole.end()),
            });
        }
    }
    if FCRA_NAMED.as_ref().is_some_and(|re| re.is_match(question))
        && let Some(re) = FCRA_SECTION.as_ref()
    {
        for caps in re.captures_iter(question) {
            let Some(num) = caps.get(1).and_then(|m| m.as_str().parse::<u32>().ok()) else {
                continue;
            };
            let Some(section) = fcra_to_usc(num, caps.get(2).map(|m| m.as_str())) else {
                continue;
            };
            let Some(whole) = caps.get(0) else { continue };
            if found
                .iter()
                .any(|f| f.span.0 <= whole.start() && whole.end() <= f.span.1)
            {
                continue;
            }
            found.push(CitationRef {
                title: Some((Code::Usc, 15)),
                section,
                paragraph: split_designators(caps.get(3).map_or("", |m| m.as_str())),
                span: (whole.start(), whole.end()),
            });
        }
    }
    found
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn canonical_round_trip() {
        for text in [
            "49 CFR 382.303(b)(1)",
            "15 U.S.C. 1681b(b)(3)(A)",
            "29 CFR 1904.7",
            "15 U.S.C. 1681c-1",
        ] {
            let c = Citation::parse(text);
            assert_eq!(c.map(|c| c.to_string()).as_deref(), Some(text));
        }
        assert!(Citation::parse("382.303").is_none());
    }

    #[test]
    fn within() {
        let p = Citation::parse("49 CFR 382.303(b)(1)");
        let s = Citation::parse("49 CFR 382.303(b)");
        let other = Citation::parse("49 CFR 382.303(c)");
        let (Some(p), Some(s), Some(other)) = (p, s, other) else {
            panic!("parse")
        };
        assert!(p.is_within(&s));
        assert!(p.is_within(&p.section_citation()));
        assert!(!s.is_within(&p));
        assert!(!p.is_within(&other));
        assert_eq!(p.key(), "382.303(b)(1)");
    }

    #[test]
    fn finds_references_in_questions() {
        let r = find_citations("what does § 1904.7(b)(3) require?");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].key(), "1904.7(b)(3)");
        assert_eq!(r[0].title, None);

        let r = find_citations("49 CFR 40.191");
        assert_eq!(r[0].title, Some((Code::Cfr, 49)));
        assert_eq!(r[0].key(), "40.191");

        assert_eq!(find_citations("382.303")[0].key(), "382.303");
        assert_eq!(
            find_citations("15 U.S.C. 1681b(b)(3)")[0].key(),
            "1681b(b)(3)"
        );
        assert_eq!(
            find_citations("see 1681g about disclosures")[0].key(),
            "1681g"
        );
        let fcra = find_citations("What does FCRA section 604(b)(3) say?");
        assert_eq!(fcra.len(), 1);
        assert_eq!(fcra[0].key(), "1681b(b)(3)");
    }

    #[test]
    fn ignores_quantities() {
        assert!(find_citations("an alcohol concentration of 0.04 or greater").is_empty());
        assert!(find_citations("the OSHA 300 log and Form 300A in 2024").is_empty());
        assert!(find_citations("within 32 hours").is_empty());
    }
}
