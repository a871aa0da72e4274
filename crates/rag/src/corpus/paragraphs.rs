//! Turns a section's text blocks into designated paragraphs, working out each
//! paragraph's depth from its leading designators.

use std::sync::LazyLock;

use regex::Regex;

use super::Paragraph;
use super::designator::{self, Scheme, Token};

/// One block of running text as found in the source (a Markdown paragraph, an eCFR `<P>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Block {
    /// The text, possibly starting with designators such as `(b)(1)`.
    pub text: String,
    /// Whether the block's leading text was printed in italics: a designator (`*(i)*`), or a
    /// defined term (`*Employer* means …`).
    pub italic_lead: bool,
}

static LEAD: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[\s*_]*\(([A-Za-z0-9]{1,5})\)[*_]*").ok());

/// Splits the leading designators off a block: `(b)(1) Text` → (`["b", "1"]`, `Text`).
/// Only tokens that are designators in `scheme` are taken.
pub fn split_leading(scheme: Scheme, text: &str, italic: bool) -> (Vec<String>, String) {
    let Some(re) = LEAD.as_ref() else {
        return (Vec::new(), text.trim().to_string());
    };
    let mut rest = text;
    let mut found = Vec::new();
    while let Some(caps) = re.captures(rest) {
        let (Some(whole), Some(d)) = (caps.get(0), caps.get(1)) else {
            break;
        };
        if !designator::is_designator(scheme, d.as_str(), italic) {
            break;
        }
        found.push(d.as_str().to_string());
        rest = &rest[whole.end()..];
    }
    (found, rest.trim().to_string())
}

fn ends_with_lead_in(text: &str) -> bool {
    let t = text.trim_end_matches(|c: char| c.is_whitespace() || c == '*' || c == '_');
    t.ends_with(':') || t.ends_with('—') || t.ends_with('–') || t.ends_with("--")
}

/// Whether an undesignated block opens a definition: its leading term is in italics and the
/// text defines it (`*Employer* means …`, `*Establishment.* An establishment is …`).
fn opens_definition(block: &Block) -> bool {
    let head: String = block.text.chars().take(160).collect();
    block.italic_lead && (head.contains(" means") || head.contains(" is "))
}

/// Builds the paragraph list of a section from its blocks, in order.
///
/// A definitions section (undesignated definitions from its start: `*Term* means …`) has
/// no paragraphs of its own: the numbered items inside a definition (`(1) Inclusions`, then
/// `(i)`) belong to that definition, so they are kept as written under the section, not
/// read as the section's paragraph (1) or (i).
pub fn build(scheme: Scheme, blocks: &[Block]) -> Vec<Paragraph> {
    // First pass: every designator, in order, with the text that follows it.
    struct Item {
        block: usize,
        designator: Option<String>,
        text: String,
    }
    let mut items = Vec::new();
    let mut tokens = Vec::new();
    let mut previous_text = String::new();
    let mut in_definitions = false;
    for (bi, block) in blocks.iter().enumerate() {
        let (designators, rest) = split_leading(scheme, &block.text, block.italic_lead);
        if designators.is_empty()
            && opens_definition(block)
            && (in_definitions || tokens.is_empty())
        {
            in_definitions = true;
        }
        if designators.is_empty() || in_definitions {
            let text = if designators.is_empty() {
                rest.clone()
            } else {
                block.text.trim().to_string()
            };
            items.push(Item {
                block: bi,
                designator: None,
                text,
            });
        } else {
            let n = designators.len();
            for (i, d) in designators.into_iter().enumerate() {
                tokens.push(Token {
                    text: d.clone(),
                    italic: block.italic_lead,
                    after_lead_in: i > 0 || ends_with_lead_in(&previous_text),
                });
                let text = if i + 1 == n {
                    rest.clone()
                } else {
                    String::new()
                };
                items.push(Item {
                    block: bi,
                    designator: Some(d),
                    text,
                });
            }
        }
        previous_text = rest;
    }
    let levels = designator::assign_levels(scheme, &tokens);

    // Second pass: a path stack.
    let mut out: Vec<Paragraph> = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut level_iter = levels.into_iter();
    let mut last_block = usize::MAX;
    for item in items {
        match item.designator {
            Some(d) => match level_iter.next().flatten() {
                Some(level) => {
                    path.truncate(level.saturating_sub(1));
                    path.push(d);
                    out.push(Paragraph {
                        path: path.clone(),
                        text: item.text,
                    });
                }
                None => {
                    // Not a designator after all: keep the text as written.
                    let text = format!("({d}) {}", item.text);
                    push_text(&mut out, &path, text, item.block == last_block);
                }
            },
            None => push_text(&mut out, &path, item.text, false),
        }
        last_block = item.block;
    }
    out
}

fn push_text(out: &mut Vec<Paragraph>, path: &[String], text: String, same_block: bool) {
    if text.is_empty() {
        return;
    }
    if same_block && let Some(last) = out.last_mut() {
        if !last.text.is_empty() {
            last.text.push(' ');
        }
        last.text.push_str(&text);
        return;
    }
    out.push(Paragraph {
        path: path.to_vec(),
        text,
    });
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    fn blocks(texts: &[&str]) -> Vec<Block> {
        italic_blocks(texts, &[])
    }

    /// Blocks whose leading text is in italics at the given indices.
    fn italic_blocks(texts: &[&str], italic: &[usize]) -> Vec<Block> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| Block {
                text: t.to_string(),
                italic_lead: italic.contains(&i),
            })
            .collect()
    }

    #[test]
    fn chains_and_continuations() {
        let p = build(
            Scheme::Cfr,
            &blocks(&[
                "Intro text.",
                "(a)(1) First.",
                "(2) Second:",
                "(i) Deep.",
                "Flush text.",
                "(b) Next.",
            ]),
        );
        let paths: Vec<String> = p.iter().map(|p| p.path.join(".")).collect();
        assert_eq!(paths, ["", "a", "a.1", "a.2", "a.2.i", "a.2.i", "b"]);
        assert_eq!(p[1].text, "");
        assert_eq!(p[2].text, "First.");
        assert_eq!(p[5].text, "Flush text.");
    }

    #[test]
    fn items_of_a_definition_are_not_the_sections_paragraphs() {
        let b = italic_blocks(
            &[
                "Disabling damage means damage which precludes departure.",
                "(1) Inclusions. Damage that could have been driven.",
                "(2) Exclusions.",
                "(i) Damage remedied at the scene.",
                "(ii) Tire disablement.",
                "Employer means a person that employs drivers.",
                "Safety-sensitive function means all time:",
                "(1) Waiting to be dispatched.",
            ],
            &[0, 5, 6],
        );
        let p = build(Scheme::Cfr, &b);
        assert!(p.iter().all(|p| p.path.is_empty()), "{p:?}");
        assert_eq!(p.len(), 8);
        assert_eq!(p[3].text, "(i) Damage remedied at the scene.");
        assert_eq!(p[5].text, "Employer means a person that employs drivers.");
    }

    #[test]
    fn a_definition_inside_a_paragraph_keeps_the_paragraphs_after_it() {
        let b = italic_blocks(
            &[
                "(a) General.",
                "(b) Definitions. In this section:",
                "Covered employer means an employer with ten employees.",
                "(c) Next rule.",
                "(1) Its first item.",
            ],
            &[2],
        );
        let p = build(Scheme::Cfr, &b);
        let paths: Vec<String> = p.iter().map(|p| p.path.join(".")).collect();
        assert_eq!(paths, ["a", "b", "b", "c", "c.1"]);
    }

    #[test]
    fn emphasis_around_designators() {
        let (d, rest) = split_leading(Scheme::Cfr, "**(a)** *General.* Text", false);
        assert_eq!(d, ["a"]);
        assert_eq!(rest, "*General.* Text");
        let (d, _) = split_leading(Scheme::Cfr, "(see paragraph (a))", false);
        assert!(d.is_empty());
    }
}
