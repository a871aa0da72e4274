//! Reading a model's answer in the output format of `prompts/nl2sql.v1.md`:
//!
//! ```text
//! <sql>SELECT ...</sql>
//! <explanation>one line</explanation>
//! ```
//!
//! or `<refused>reason</refused>`, or `<not_understood>message</not_understood>`. Text around
//! the blocks is ignored, and a Markdown code fence inside `<sql>` is removed. Anything else
//! (no block, two kinds of answer, an unclosed or empty block, SQL without an explanation) is
//! an error: the drafter reports it as a protocol error rather than guessing.

use super::Draft;

/// The model's text is not an answer in the agreed format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (answer began: {excerpt:?})")]
pub struct ParseError {
    pub message: String,
    /// The start of the model's text, for the log.
    pub excerpt: String,
}

/// Longest excerpt of the model's text kept in an error.
const EXCERPT_CHARS: usize = 160;

/// Parses a model's answer into a draft.
pub fn parse_answer(text: &str) -> Result<Draft, ParseError> {
    let fail = |message: String| ParseError { message, excerpt: text.chars().take(EXCERPT_CHARS).collect() };
    let sql = block(text, "sql").map_err(&fail)?;
    let refused = block(text, "refused").map_err(&fail)?;
    let not_understood = block(text, "not_understood").map_err(&fail)?;
    match (sql, refused, not_understood) {
        (Some(sql), None, None) => {
            let sql = strip_fence(sql).trim().trim_end_matches(';').trim_end().to_string();
            if sql.is_empty() {
                return Err(fail("the <sql> block is empty".into()));
            }
            let explanation = block(text, "explanation")
                .map_err(&fail)?
                .map(one_line)
                .filter(|e| !e.is_empty())
                .ok_or_else(|| fail("<sql> without a non-empty <explanation>".into()))?;
            Ok(Draft::Sql { sql, explanation })
        }
        (None, Some(reason), None) => {
            let reason = one_line(reason);
            if reason.is_empty() {
                return Err(fail("the <refused> block is empty".into()));
            }
            Ok(Draft::Refused { reason })
        }
        (None, None, Some(message)) => {
            let message = one_line(message);
            if message.is_empty() {
                return Err(fail("the <not_understood> block is empty".into()));
            }
            Ok(Draft::NotUnderstood { message })
        }
        (None, None, None) => Err(fail("no <sql>, <refused> or <not_understood> block".into())),
        _ => Err(fail("more than one kind of answer (<sql>, <refused>, <not_understood>)".into())),
    }
}

/// The content of the only `<tag>...</tag>` block, if any.
fn block<'t>(text: &'t str, tag: &str) -> Result<Option<&'t str>, String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let Some(start) = text.find(&open) else {
        return if text.contains(&close) { Err(format!("{close} without {open}")) } else { Ok(None) };
    };
    let body_start = start + open.len();
    let Some(len) = text[body_start..].find(&close) else {
        return Err(format!("unclosed {open} block"));
    };
    let after = &text[body_start + len + close.len()..];
    if after.contains(&open) {
        return Err(format!("more than one {open} block"));
    }
    Ok(Some(&text[body_start..body_start + len]))
}

/// Removes a surrounding Markdown code fence (```sql ... ```), if there is one.
fn strip_fence(sql: &str) -> &str {
    let trimmed = sql.trim();
    let Some(rest) = trimmed.strip_prefix("```") else {
        return trimmed;
    };
    let rest = match rest.find('\n') {
        Some(nl) if rest[..nl].trim().chars().all(|c| c.is_ascii_alphanumeric()) => &rest[nl + 1..],
        _ => rest,
    };
    rest.trim_end().strip_suffix("```").unwrap_or(rest)
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn sql(s: &str, e: &str) -> Draft {
        Draft::Sql { sql: s.into(), explanation: e.into() }
    }

    #[test]
    fn sql_with_explanation() {
        let text = "Here you are.\n<sql>\nSELECT count(*)\nFROM drug_tests;\n</sql>\n<explanation>Counts\n tests.</explanation>\n";
        assert_eq!(parse_answer(text).unwrap(), sql("SELECT count(*)\nFROM drug_tests", "Counts tests."));
    }

    #[test]
    fn fences_inside_the_sql_block_are_removed() {
        let text = "<sql>\n```sql\nSELECT 1\n```\n</sql><explanation>One.</explanation>";
        assert_eq!(parse_answer(text).unwrap(), sql("SELECT 1", "One."));
        let text = "<sql>```SELECT 2```</sql><explanation>Two.</explanation>";
        assert_eq!(parse_answer(text).unwrap(), sql("SELECT 2", "Two."));
    }

    #[test]
    fn refusals_and_not_understood() {
        assert_eq!(
            parse_answer("<refused>Drug tests are closed to site supervisors.</refused>").unwrap(),
            Draft::Refused { reason: "Drug tests are closed to site supervisors.".into() }
        );
        assert_eq!(
            parse_answer(" <not_understood>I can't map 'weather' to the data; try check-ins.</not_understood>").unwrap(),
            Draft::NotUnderstood { message: "I can't map 'weather' to the data; try check-ins.".into() }
        );
    }

    #[test]
    fn malformed_answers_are_errors() {
        for bad in [
            "SELECT count(*) FROM drug_tests",
            "```sql\nSELECT 1\n```",
            "<sql>SELECT 1",
            "<sql>SELECT 1</sql>",
            "<sql>SELECT 1</sql><explanation>  </explanation>",
            "<sql> ; </sql><explanation>x</explanation>",
            "<sql>SELECT 1</sql><explanation>x</explanation><refused>no</refused>",
            "<sql>SELECT 1</sql><sql>SELECT 2</sql><explanation>x</explanation>",
            "<refused></refused>",
            "SELECT 1</sql>",
            "",
        ] {
            let err = parse_answer(bad).err();
            assert!(err.is_some(), "accepted {bad:?}");
        }
        let err = parse_answer("Sorry, I cannot help.").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("no <sql>") && err.contains("Sorry, I cannot help."), "{err}");
    }
}
