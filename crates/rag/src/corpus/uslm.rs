//! USLM XML, the U.S. Code's official format: `section` › `subsection` › `paragraph` ›
//! `subparagraph` › `clause` › `subclause` › `item`, each with `num`, `heading`, `chapeau`,
//! `content` and `continuation`. Depth comes from the element nesting.

use std::path::Path;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::xml_text::{attribute, entity, squash};
use super::{Paragraph, Section};
use crate::citation::{Citation, Code};
use crate::error::CorpusError;

const LEVELS: &[&str] = &[
    "subsection",
    "paragraph",
    "subparagraph",
    "clause",
    "subclause",
    "item",
    "subitem",
    "subsubitem",
];
const SKIPPED: &[&str] = &[
    "notes",
    "note",
    "sourceCredit",
    "toc",
    "meta",
    "footnote",
    "ref-footnote",
];

/// Whether the document is USLM rather than eCFR XML.
pub fn looks_like_uslm(xml: &str) -> bool {
    let head: String = xml.chars().take(4000).collect();
    head.contains("<uscDoc") || head.contains("xml.house.gov/schemas/uslm")
}

fn xml_error(path: &Path, message: impl Into<String>) -> CorpusError {
    CorpusError::Xml {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Title number from an identifier such as `/us/usc/t15/s1681b`.
fn title_from_identifier(identifier: &str) -> Option<u32> {
    identifier
        .split('/')
        .find_map(|seg| seg.strip_prefix('t'))
        .and_then(|t| t.parse().ok())
}

#[derive(Default)]
struct Level {
    designator: Option<String>,
    heading: String,
    text: String,
    emitted: bool,
}

#[derive(Default)]
struct SectionBuilder {
    number: String,
    heading: String,
    identifier: String,
    levels: Vec<Level>,
    paragraphs: Vec<Paragraph>,
    preamble: String,
}

#[derive(Default)]
struct State {
    title: Option<u32>,
    chapter: Option<String>,
    subchapter: Option<String>,
    subchapter_heading: String,
    /// Container (`chapter`, `subchapter`) whose `num`/`heading` is being read.
    container: Vec<String>,
    section: Option<SectionBuilder>,
    capture: Option<(String, String)>,
    skip: usize,
    sections: Vec<Section>,
}

impl SectionBuilder {
    fn path(&self) -> Vec<String> {
        self.levels
            .iter()
            .filter_map(|l| l.designator.clone())
            .collect()
    }

    /// Emits the innermost level's pending text as a paragraph.
    fn flush(&mut self) {
        let path = self.path();
        let Some(level) = self.levels.last_mut() else {
            let text = squash(&std::mem::take(&mut self.preamble));
            if !text.is_empty() {
                self.paragraphs.push(Paragraph { path, text });
            }
            return;
        };
        let mut text = String::new();
        if !level.heading.is_empty() {
            let h = squash(&std::mem::take(&mut level.heading));
            text.push_str(&h);
            if !h.ends_with(['.', ':', '—', '?']) {
                text.push('.');
            }
        }
        let body = squash(&std::mem::take(&mut level.text));
        if !body.is_empty() {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&body);
        }
        if !text.is_empty() || !level.emitted {
            level.emitted = true;
            self.paragraphs.push(Paragraph { path, text });
        }
    }
}

impl State {
    fn start(&mut self, e: &BytesStart<'_>, empty: bool) {
        let name = e.local_name().as_ref().to_string();
        if self.skip > 0 || SKIPPED.contains(&name.as_str()) {
            if !empty {
                self.skip += 1;
            }
            return;
        }
        if let Some(id) = attribute(e, "identifier")
            && self.title.is_none()
        {
            self.title = title_from_identifier(&id);
        }
        if empty {
            return;
        }
        match name.as_str() {
            "chapter" | "subchapter" if self.section.is_none() => {
                self.container.push(name.clone());
                if name == "chapter" {
                    self.chapter = None;
                    self.subchapter = None;
                } else {
                    self.subchapter = None;
                }
                self.subchapter_heading.clear();
            }
            "section" if self.section.is_none() => {
                self.section = Some(SectionBuilder {
                    identifier: attribute(e, "identifier").unwrap_or_default(),
                    ..SectionBuilder::default()
                });
            }
            "num" => {
                let value = attribute(e, "value").unwrap_or_default();
                match self.section.as_mut() {
                    Some(s) => match s.levels.last_mut() {
                        Some(level) => level.designator = Some(value),
                        None => s.number = value,
                    },
                    None => match self.container.last().map(String::as_str) {
                        Some("chapter") => self.chapter = Some(value),
                        Some("subchapter") => self.subchapter = Some(value),
                        _ => {}
                    },
                }
                self.capture = Some(("num".into(), String::new()));
            }
            "heading" => self.capture = Some(("heading".into(), String::new())),
            lvl if LEVELS.contains(&lvl) => {
                if let Some(s) = self.section.as_mut() {
                    s.flush();
                    s.levels.push(Level::default());
                }
            }
            _ => {}
        }
    }

    fn text(&mut self, text: &str) {
        if self.skip > 0 {
            return;
        }
        if let Some((_, buf)) = self.capture.as_mut() {
            buf.push_str(text);
            return;
        }
        if let Some(s) = self.section.as_mut() {
            match s.levels.last_mut() {
                Some(level) => level.text.push_str(text),
                None => s.preamble.push_str(text),
            }
        }
    }

    fn end(&mut self, name: &str, path: &Path) -> Result<(), CorpusError> {
        if self.skip > 0 {
            self.skip -= 1;
            return Ok(());
        }
        match name {
            "num" | "heading" => {
                if let Some((kind, buf)) = self.capture.take()
                    && kind == "heading"
                {
                    let heading = squash(&buf);
                    match self.section.as_mut() {
                        Some(s) => match s.levels.last_mut() {
                            Some(level) => level.heading = heading,
                            None => s.heading = heading,
                        },
                        None => {
                            if self.container.last().map(String::as_str) == Some("subchapter") {
                                self.subchapter_heading = heading;
                            }
                        }
                    }
                }
            }
            "chapeau" | "content" | "continuation" | "p" => {
                if let Some(s) = self.section.as_mut() {
                    match s.levels.last_mut() {
                        Some(level) => level.text.push(' '),
                        None => s.preamble.push(' '),
                    }
                    if name == "continuation" {
                        s.flush();
                    }
                }
            }
            "chapter" | "subchapter" if self.section.is_none() => {
                self.container.pop();
            }
            "section" => {
                if let Some(mut s) = self.section.take() {
                    while !s.levels.is_empty() {
                        s.flush();
                        s.levels.pop();
                    }
                    s.flush();
                    let section = self.finish(s, path)?;
                    self.sections.push(section);
                }
            }
            lvl if LEVELS.contains(&lvl) => {
                if let Some(s) = self.section.as_mut() {
                    s.flush();
                    s.levels.pop();
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&self, s: SectionBuilder, path: &Path) -> Result<Section, CorpusError> {
        let title = title_from_identifier(&s.identifier)
            .or(self.title)
            .ok_or_else(|| {
                xml_error(
                    path,
                    "cannot tell the U.S. Code title: no identifier such as /us/usc/t15",
                )
            })?;
        let number = if s.number.is_empty() {
            s.identifier
                .rsplit('/')
                .next()
                .and_then(|x| x.strip_prefix('s'))
                .unwrap_or_default()
                .to_string()
        } else {
            s.number.clone()
        };
        if number.is_empty() {
            return Err(xml_error(path, "a section has no number"));
        }
        let citation = Citation {
            code: Code::Usc,
            title,
            section: number.clone(),
            paragraph: Vec::new(),
        };
        let regulation = match (&self.chapter, &self.subchapter) {
            (Some(ch), Some(sch)) => format!("{title} U.S.C. Chapter {ch}, Subchapter {sch}"),
            (Some(ch), None) => format!("{title} U.S.C. Chapter {ch}"),
            _ => format!("{title} U.S.C."),
        };
        Ok(Section {
            citation,
            title: s.heading.clone(),
            regulation,
            part: number.chars().take_while(char::is_ascii_digit).collect(),
            subpart: self.subchapter.clone(),
            subpart_title: Some(self.subchapter_heading.clone()).filter(|h| !h.is_empty()),
            source: "USLM XML".to_string(),
            official_text: None,
            as_of: None,
            restatement: false,
            note: None,
            source_file: Some(path.to_path_buf()),
            paragraphs: s.paragraphs,
            questions: Vec::new(),
        })
    }
}

/// Parses every `section` of a USLM document.
pub fn parse(xml: &str, path: &Path) -> Result<Vec<Section>, CorpusError> {
    let mut reader = Reader::from_str(xml);
    let mut state = State::default();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| xml_error(path, format!("at byte {}: {e}", reader.buffer_position())))?;
        match event {
            Event::Start(e) => state.start(&e, false),
            Event::Empty(e) => state.start(&e, true),
            Event::End(e) => {
                let name = e.local_name().as_ref().to_string();
                state.end(&name, path)?;
            }
            Event::Text(t) => state.text(&t.xml10_content()),
            Event::GeneralRef(r) => state.text(&entity(&r)),
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(state.sections)
}
