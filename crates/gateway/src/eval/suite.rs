//! The NL-to-SQL eval suite file (`evals/nl2sql/questions.jsonl`): one question a line.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::EvalError;

/// What the drafter should do with a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    Data,
    Refused,
    NotUnderstood,
}

impl Expect {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Expect::Data => "data",
            Expect::Refused => "refused",
            Expect::NotUnderstood => "not_understood",
        }
    }
}

/// One question of the suite.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalQuestion {
    pub id: String,
    pub question: String,
    /// The demo user's e-mail, `<role>@<tenant-slug>.example`.
    pub user: String,
    pub module: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The reference SQL over unqualified compliance tables; `CURRENT_DATE` stands for the
    /// data set's "today" and is replaced by it before running.
    pub gold_sql: Option<String>,
    #[serde(default)]
    pub ordered: bool,
    pub expect: Expect,
}

impl EvalQuestion {
    /// The role part of the user's e-mail.
    pub fn role(&self) -> &str {
        self.user.split('@').next().unwrap_or("")
    }
}

/// Reads a suite file.
pub fn load(path: &Path) -> Result<Vec<EvalQuestion>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|source| EvalError::Read { path: path.display().to_string(), source })?;
    parse(&text)
}

/// Parses suite text (JSON lines; blank lines ignored).
pub fn parse(text: &str) -> Result<Vec<EvalQuestion>, EvalError> {
    let mut out: Vec<EvalQuestion> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let q: EvalQuestion = serde_json::from_str(line).map_err(|e| EvalError::BadSuite { line: n + 1, message: e.to_string() })?;
        if (q.expect == Expect::Data) != q.gold_sql.is_some() {
            return Err(EvalError::BadSuite { line: n + 1, message: format!("{}: gold_sql must be given exactly when expect is data", q.id) });
        }
        if out.iter().any(|o| o.id == q.id) {
            return Err(EvalError::BadSuite { line: n + 1, message: format!("duplicate id {}", q.id) });
        }
        out.push(q);
    }
    Ok(out)
}

/// Replaces `CURRENT_DATE` in gold SQL with the data set's date, so that the suite can
/// run on data seeded for any day.
pub fn with_today(sql: &str, today: chrono::NaiveDate) -> String {
    sql.replace("CURRENT_DATE", &format!("DATE '{today}'"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_and_checks_lines() {
        let ok = r#"{"id":"q1","question":"How many?","user":"der@x.example","module":"roster","type":"count","gold_sql":"SELECT count(*) FROM employees","ordered":false,"expect":"data"}"#;
        let qs = parse(ok).unwrap();
        assert_eq!(qs[0].role(), "der");
        let bad = r#"{"id":"q1","question":"?","user":"der@x.example","module":"roster","type":"refusal","gold_sql":"SELECT 1","expect":"refused"}"#;
        assert!(parse(bad).is_err());
        assert!(parse(&format!("{ok}\n{ok}")).is_err());
        let d = chrono::NaiveDate::from_ymd_opt(2026, 6, 15).unwrap();
        assert_eq!(with_today("x >= CURRENT_DATE - 30", d), "x >= DATE '2026-06-15' - 30");
    }
}
