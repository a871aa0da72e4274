//! Scores: overall, per module, per role and per question type, as JSON and Markdown.

use std::collections::BTreeMap;

use serde::Serialize;

use super::runner::QuestionResult;
use super::suite::Expect;

/// Scores of a set of questions.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Scores {
    pub questions: usize,
    /// Share of data questions whose drafted result equals the gold result.
    pub execution_accuracy: Option<f64>,
    /// Share of drafted statements accepted by the guard and executed without error.
    pub valid_sql_rate: Option<f64>,
    /// Share of questions refused / not understood exactly when expected.
    pub refusal_accuracy: f64,
    /// Rows the admin run returned beyond the scoped run, summed.
    pub out_of_scope_rows: usize,
}

/// Latency percentiles of drafter + guard + execution.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub drafter: String,
    pub today: String,
    pub questions: usize,
    pub execution_accuracy: Option<f64>,
    pub valid_sql_rate: Option<f64>,
    pub refusal_accuracy: f64,
    pub out_of_scope_rows: usize,
    pub latency_ms: Latency,
    pub by_module: BTreeMap<String, Scores>,
    pub by_role: BTreeMap<String, Scores>,
    pub by_type: BTreeMap<String, Scores>,
    /// Questions that were not answered correctly.
    pub failures: Vec<QuestionResult>,
}

fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// Scores a set of results.
pub fn scores(results: &[&QuestionResult]) -> Scores {
    let data: Vec<_> = results.iter().filter(|r| r.expect == Expect::Data).collect();
    let drafted: Vec<_> = results.iter().filter(|r| r.valid_sql.is_some()).collect();
    Scores {
        questions: results.len(),
        execution_accuracy: ratio(data.iter().filter(|r| r.correct == Some(true)).count(), data.len()),
        valid_sql_rate: ratio(drafted.iter().filter(|r| r.valid_sql == Some(true)).count(), drafted.len()),
        refusal_accuracy: ratio(results.iter().filter(|r| r.refusal_correct).count(), results.len()).unwrap_or(1.0),
        out_of_scope_rows: results.iter().map(|r| r.out_of_scope_rows).sum(),
    }
}

/// The p-th percentile (nearest rank) of values.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}

fn by(results: &[QuestionResult], key: impl Fn(&QuestionResult) -> String) -> BTreeMap<String, Scores> {
    let mut groups: BTreeMap<String, Vec<&QuestionResult>> = BTreeMap::new();
    for r in results {
        groups.entry(key(r)).or_default().push(r);
    }
    groups.into_iter().map(|(k, v)| (k, scores(&v))).collect()
}

/// Builds the report.
pub fn report(drafter: &str, today: chrono::NaiveDate, results: &[QuestionResult]) -> Report {
    let all: Vec<&QuestionResult> = results.iter().collect();
    let overall = scores(&all);
    let latencies: Vec<f64> = results.iter().map(|r| r.latency_ms).collect();
    Report {
        drafter: drafter.to_string(),
        today: today.to_string(),
        questions: results.len(),
        execution_accuracy: overall.execution_accuracy,
        valid_sql_rate: overall.valid_sql_rate,
        refusal_accuracy: overall.refusal_accuracy,
        out_of_scope_rows: overall.out_of_scope_rows,
        latency_ms: Latency { p50: percentile(&latencies, 50.0), p95: percentile(&latencies, 95.0) },
        by_module: by(results, |r| r.module.clone()),
        by_role: by(results, |r| r.role.clone()),
        by_type: by(results, |r| r.kind.clone()),
        failures: results.iter().filter(|r| !r.refusal_correct || r.correct == Some(false) || r.out_of_scope_rows > 0).cloned().collect(),
    }
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}%", x * 100.0)).unwrap_or_else(|| "–".into())
}

fn table(title: &str, rows: &BTreeMap<String, Scores>) -> String {
    let mut s = format!("\n## By {title}\n\n| {title} | questions | execution accuracy | valid SQL | refusal accuracy | out-of-scope rows |\n|---|---:|---:|---:|---:|---:|\n");
    for (k, v) in rows {
        s.push_str(&format!(
            "| {k} | {} | {} | {} | {} | {} |\n",
            v.questions,
            pct(v.execution_accuracy),
            pct(v.valid_sql_rate),
            pct(Some(v.refusal_accuracy)),
            v.out_of_scope_rows
        ));
    }
    s
}

/// The report as Markdown.
pub fn markdown(r: &Report) -> String {
    let mut s = format!(
        "# NL-to-SQL eval: {} drafter\n\nData as of {}; {} questions (`evals/nl2sql/questions.jsonl`).\n\n\
         | metric | value |\n|---|---:|\n| execution accuracy | {} |\n| valid SQL rate | {} |\n| refusal accuracy | {} |\n\
         | out-of-scope rows | {} |\n| latency p50 | {:.2} ms |\n| latency p95 | {:.2} ms |\n",
        r.drafter,
        r.today,
        r.questions,
        pct(r.execution_accuracy),
        pct(r.valid_sql_rate),
        pct(Some(r.refusal_accuracy)),
        r.out_of_scope_rows,
        r.latency_ms.p50,
        r.latency_ms.p95
    );
    s.push_str(&table("module", &r.by_module));
    s.push_str(&table("role", &r.by_role));
    s.push_str(&table("type", &r.by_type));
    s.push_str("\n## Failures\n\n");
    if r.failures.is_empty() {
        s.push_str("None.\n");
    }
    for f in &r.failures {
        s.push_str(&format!(
            "- **{}** ({}, expected {}, got {}): {}{}\n",
            f.id,
            f.user,
            f.expect.as_str(),
            f.got,
            f.question,
            f.note.as_ref().map(|n| format!(" — {n}")).unwrap_or_default()
        ));
        if let Some(sql) = &f.drafted_sql {
            s.push_str(&format!("  `{sql}`\n"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 95.0), 95.0);
        assert_eq!(percentile(&[], 95.0), 0.0);
    }
}
