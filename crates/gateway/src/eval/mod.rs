//! The NL-to-SQL eval: runs every question of `evals/nl2sql/questions.jsonl` through a
//! drafter, the SQL guard and the scoped transaction of the asking user, and scores it as
//! in BIRD and defog sql-eval (execution accuracy by result sets, valid-SQL rate,
//! refusal correctness, scope correctness checked by the database, latency).
//!
//! * `suite.rs`: the question file;
//! * `runner.rs`: one question, end to end;
//! * `compare.rs`: result-set comparison;
//! * `cells.rs`: result cells as JSON;
//! * `report.rs`: scores and the JSON / Markdown report.

pub mod cells;
pub mod compare;
pub mod report;
pub mod runner;
pub mod suite;

use chrono::NaiveDate;

use crate::drafter::Drafter;
pub use report::{Report, markdown};
pub use runner::{EvalDatabase, QuestionResult};
pub use suite::{EvalQuestion, Expect};

/// The eval could not run.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("the suite is invalid at line {line}: {message}")]
    BadSuite { line: usize, message: String },
    #[error("the gold SQL of {id} does not run: {message}")]
    Gold { id: String, message: String },
    #[error("the guard policy is invalid: {0}")]
    Policy(String),
    #[error("a bind parameter is invalid: {0}")]
    Param(String),
    #[error("query failed: {0}")]
    Query(sqlx::Error),
    #[error(transparent)]
    Directory(#[from] crate::directory::DirectoryError),
}

/// The data set's "today": the date its compliance statuses were evaluated (the seed's
/// as-of date).
pub async fn data_as_of(admin: &sqlx::PgPool) -> Result<Option<NaiveDate>, EvalError> {
    sqlx::query_scalar("SELECT max(evaluated_at)::date FROM compliance.compliance_status").fetch_one(admin).await.map_err(EvalError::Query)
}

/// Runs the suite and builds the report.
pub async fn run_suite(db: &EvalDatabase, drafter: &dyn Drafter, questions: &[EvalQuestion], today: NaiveDate) -> Result<Report, EvalError> {
    let mut results = Vec::with_capacity(questions.len());
    for q in questions {
        results.push(runner::run_question(db, drafter, q, today).await?);
    }
    Ok(report::report(&drafter.name(), today, &results))
}
