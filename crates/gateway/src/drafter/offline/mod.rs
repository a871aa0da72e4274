//! The offline drafter: a deterministic semantic parser from an English question to a
//! query plan, compiled to SQL. No network, no I/O, well under a millisecond a question.
//!
//! * `text.rs`: tokens, stems, function words;
//! * `vocabulary.rs`: the drafter's own small vocabulary (states, domain words);
//! * `lexicon.rs`: the phrase index built from the semantic model and the vocabulary;
//! * `time.rs`: time windows;
//! * `plan.rs`: the planner (entity, measure, filters, window, grouping, top-N, refusals);
//! * `sql.rs`: the compiler.
//!
//! It refuses questions about modules the role may not query, never selects PII or PHI
//! for the de-identified tier, and says when it does not understand instead of guessing.

mod lexicon;
pub mod plan;
mod sql;
mod text;
mod time;
mod vocabulary;

#[cfg(test)]
mod tests;

use super::{Draft, DraftFuture, DraftOutcome, DraftRequest, Drafter, Usage};
use plan::{Condition, Measure, Outcome};

/// The offline drafter.
#[derive(Debug, Clone, Copy, Default)]
pub struct OfflineDrafter;

impl OfflineDrafter {
    /// A new offline drafter.
    pub fn new() -> Self {
        OfflineDrafter
    }

    /// Drafts synchronously (the trait's future is ready at once).
    pub fn draft_now(&self, request: &DraftRequest) -> Draft {
        let question = match &request.previous {
            // A follow-up ("only the ones in Louisiana") refines the previous question.
            Some((previous, _)) if !plan::names_an_entity(&request.question) => format!("{previous} {}", request.question),
            _ => request.question.clone(),
        };
        match plan::plan(&question, request.role, request.today) {
            Outcome::Plan(p) => Draft::Sql { sql: sql::compile(&p), explanation: explain(&p) },
            Outcome::Refused(reason) => Draft::Refused { reason },
            Outcome::NotUnderstood(message) => Draft::NotUnderstood { message },
        }
    }
}

fn explain(p: &plan::Plan) -> String {
    let what = p.table.name.replace('_', " ");
    let verb = match &p.measure {
        Measure::List => format!("Lists {what}"),
        Measure::Count { people: true } => format!("Counts employees with {what}"),
        Measure::Count { people: false } => format!("Counts {what}"),
        Measure::CountAnd { .. } => format!("Counts {what} and those that also match"),
        Measure::Percent { .. } => format!("Share of {what} (percent)"),
        Measure::Average(c) => format!("Average {} of {what}", c.replace('_', " ")),
        Measure::Sum(c) => format!("Total {} of {what}", c.replace('_', " ")),
        Measure::Max(c) => format!("Largest {} of {what}", c.replace('_', " ")),
        Measure::Min(c) => format!("Smallest {} of {what}", c.replace('_', " ")),
    };
    let conds: Vec<String> = p
        .conditions
        .iter()
        .map(|c| match c {
            Condition::Value(f) => format!("{} {}{}", f.column.replace('_', " "), if f.negated { "not " } else { "" }, f.values.join("/")),
            Condition::Date(d) => format!(
                "{} {}{}",
                d.column.replace('_', " "),
                d.window.from.map(|f| format!("from {f} ")).unwrap_or_default(),
                d.window.to.map(|t| format!("{} {t}", if d.window.to_inclusive { "through" } else { "before" })).unwrap_or_default()
            ),
        })
        .collect();
    let mut line = verb;
    if !conds.is_empty() {
        line.push_str(" where ");
        line.push_str(&conds.join(", "));
    }
    if let Some(g) = &p.group {
        line.push_str(&format!(", grouped by {g:?}").to_lowercase());
    }
    line.trim().to_string()
}

impl Drafter for OfflineDrafter {
    fn name(&self) -> String {
        "offline".to_string()
    }

    fn draft<'a>(&'a self, request: &'a DraftRequest) -> DraftFuture<'a> {
        let draft = self.draft_now(request);
        Box::pin(async move { Ok(DraftOutcome { draft, usage: Usage::default(), provider_ms: 0.0, model: "offline".to_string() }) })
    }
}
