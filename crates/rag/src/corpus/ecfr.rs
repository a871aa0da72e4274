//! eCFR XML (`DIV5` part › `DIV6` subpart › `DIV8` section, `HEAD`, `P`), as published
//! for the Code of Federal Regulations. Paragraph depth is worked out from the designators.

use std::path::Path;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::Section;
use super::designator::Scheme;
use super::paragraphs::{self, Block};
use super::xml_text::{attribute, entity, squash};
use crate::citation::{Citation, Code};
use crate::error::CorpusError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Div {
    Title,
    Part,
    Subpart,
    Section,
    Other,
}

#[derive(Default)]
struct SectionBuilder {
    number: String,
    head: String,
    blocks: Vec<Block>,
}

#[derive(Default)]
struct BlockBuilder {
    text: String,
    italic_lead: Option<bool>,
}

#[derive(Default)]
struct State {
    title: Option<u32>,
    part: Option<String>,
    part_head: String,
    subpart: Option<String>,
    subpart_head: String,
    divs: Vec<Div>,
    head: Option<String>,
    section: Option<SectionBuilder>,
    block: Option<BlockBuilder>,
    italic: usize,
    skip: usize,
    sections: Vec<Section>,
}

const SKIPPED: &[&str] = &[
    "CITA", "AUTH", "SOURCE", "EDNOTE", "FTNT", "SECAUTH", "APPRO", "SU", "FTREF",
];

fn xml_error(path: &Path, message: impl Into<String>) -> CorpusError {
    CorpusError::Xml {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn title_from_metadata(e: &BytesStart<'_>) -> Option<u32> {
    let meta = attribute(e, "hierarchy_metadata")?;
    let value: serde_json::Value = serde_json::from_str(&meta).ok()?;
    let citation = value.get("citation")?.as_str()?;
    citation.split_whitespace().next()?.parse().ok()
}

fn title_from_file_name(path: &Path) -> Option<u32> {
    let name = path.file_stem()?.to_str()?.to_ascii_lowercase();
    let digits: String = name
        .strip_prefix("title-")
        .or_else(|| name.strip_prefix("title"))?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Text after the em dash of `Subpart C—Tests Required`.
fn after_dash(head: &str) -> String {
    head.split_once('—')
        .map_or(head, |(_, t)| t)
        .trim()
        .to_string()
}

impl State {
    fn start(&mut self, e: &BytesStart<'_>, path: &Path, empty: bool) {
        let name = e.local_name().as_ref().to_string();
        if self.skip > 0 || SKIPPED.contains(&name.as_str()) {
            if !empty {
                self.skip += 1;
            }
            return;
        }
        if name.starts_with("DIV") {
            if self.title.is_none() {
                self.title = title_from_metadata(e);
            }
            let kind = match attribute(e, "TYPE").as_deref() {
                Some("TITLE") => Div::Title,
                Some("PART") => Div::Part,
                Some("SUBPART") => Div::Subpart,
                Some("SECTION") => Div::Section,
                _ => Div::Other,
            };
            let n = attribute(e, "N").unwrap_or_default();
            if empty {
                return;
            }
            match kind {
                Div::Title => {
                    if let Ok(t) = n.trim().parse() {
                        self.title = Some(t);
                    }
                }
                Div::Part => {
                    self.part = Some(n.trim().to_string());
                    self.part_head.clear();
                    self.subpart = None;
                    self.subpart_head.clear();
                }
                Div::Subpart => {
                    self.subpart = Some(n.trim().to_string());
                    self.subpart_head.clear();
                }
                Div::Section => {
                    let number = n.trim_start_matches('§').trim().to_string();
                    self.section = Some(SectionBuilder {
                        number,
                        ..SectionBuilder::default()
                    });
                }
                Div::Other => {}
            }
            self.divs.push(kind);
            let _ = path;
            return;
        }
        if empty {
            return;
        }
        match name.as_str() {
            "HEAD" => self.head = Some(String::new()),
            "P" | "FP" if self.section.is_some() => self.block = Some(BlockBuilder::default()),
            "I" | "E" => self.italic += 1,
            _ => {}
        }
    }

    fn text(&mut self, text: &str) {
        if self.skip > 0 {
            return;
        }
        if let Some(head) = self.head.as_mut() {
            head.push_str(text);
        } else if let Some(block) = self.block.as_mut() {
            if block.italic_lead.is_none() && !text.trim().is_empty() {
                block.italic_lead = Some(self.italic > 0);
            }
            block.text.push_str(text);
        }
    }

    fn end(&mut self, name: &str, path: &Path) -> Result<(), CorpusError> {
        if self.skip > 0 {
            self.skip -= 1;
            return Ok(());
        }
        if name.starts_with("DIV") {
            if self.divs.pop() == Some(Div::Section)
                && let Some(builder) = self.section.take()
            {
                let section = self.finish_section(builder, path)?;
                self.sections.push(section);
            }
            return Ok(());
        }
        match name {
            "HEAD" => {
                let head = squash(&self.head.take().unwrap_or_default());
                match self.divs.last() {
                    Some(Div::Part) => self.part_head = head,
                    Some(Div::Subpart) => self.subpart_head = head,
                    Some(Div::Section) => {
                        if let Some(s) = self.section.as_mut() {
                            s.head = head;
                        }
                    }
                    _ => {}
                }
            }
            "P" | "FP" => {
                if let (Some(block), Some(section)) = (self.block.take(), self.section.as_mut()) {
                    let text = squash(&block.text);
                    if !text.is_empty() {
                        section.blocks.push(Block {
                            text,
                            italic_lead: block.italic_lead.unwrap_or(false),
                        });
                    }
                }
            }
            "I" | "E" => self.italic = self.italic.saturating_sub(1),
            _ => {}
        }
        Ok(())
    }

    fn finish_section(&self, builder: SectionBuilder, path: &Path) -> Result<Section, CorpusError> {
        let title_no = self
            .title
            .or_else(|| title_from_file_name(path))
            .ok_or_else(|| xml_error(path, "cannot tell the CFR title: no DIV1 TITLE, hierarchy_metadata, or title-NN file name"))?;
        let mut number = builder.number;
        let head_rest = builder.head.trim_start_matches('§').trim();
        if number.is_empty() {
            number = head_rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
        }
        let title = head_rest
            .strip_prefix(number.as_str())
            .unwrap_or(head_rest)
            .trim()
            .to_string();
        let citation = Citation {
            code: Code::Cfr,
            title: title_no,
            section: number.clone(),
            paragraph: Vec::new(),
        };
        let part = self
            .part
            .clone()
            .unwrap_or_else(|| number.split('.').next().unwrap_or_default().to_string());
        Ok(Section {
            regulation: format!("{title_no} CFR Part {part}"),
            part,
            subpart: self.subpart.clone(),
            subpart_title: self
                .subpart
                .as_ref()
                .map(|_| after_dash(&self.subpart_head))
                .filter(|s| !s.is_empty()),
            source: "eCFR XML".to_string(),
            official_text: None,
            as_of: None,
            restatement: false,
            note: None,
            source_file: Some(path.to_path_buf()),
            paragraphs: paragraphs::build(Scheme::Cfr, &builder.blocks),
            questions: Vec::new(),
            citation,
            title,
        })
    }
}

/// Parses every `DIV8` section of an eCFR XML document.
pub fn parse(xml: &str, path: &Path) -> Result<Vec<Section>, CorpusError> {
    let mut reader = Reader::from_str(xml);
    let mut state = State::default();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| xml_error(path, format!("at byte {}: {e}", reader.buffer_position())))?;
        match event {
            Event::Start(e) => state.start(&e, path, false),
            Event::Empty(e) => state.start(&e, path, true),
            Event::End(e) => {
                let name = e.local_name().as_ref().to_string();
                state.end(&name, path)?;
            }
            Event::Text(t) => state.text(&t.xml10_content()),
            Event::CData(t) => state.text(&t.into_inner()),
            Event::GeneralRef(r) => state.text(&entity(&r)),
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(state.sections)
}
