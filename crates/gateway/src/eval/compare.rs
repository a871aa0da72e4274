//! Result-set comparison as in BIRD and defog sql-eval: the predicted result matches the
//! gold result when every gold column is matched by a distinct predicted column and the
//! rows agree (as a multiset, or in order when the question orders). Values are compared
//! as normalised text; numbers are rounded to 4 decimals first (a small tolerance).

use std::collections::HashMap;

use serde_json::Value;

/// A cell as comparable text.
pub fn normalise(v: &Value) -> String {
    match v {
        Value::Null => "∅".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(f) if s.trim().chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')) => number(f),
            _ => s.trim().to_string(),
        },
        other => other.to_string(),
    }
}

fn number(f: f64) -> String {
    let r = (f * 10_000.0).round() / 10_000.0;
    if r == 0.0 { "0".to_string() } else { format!("{r}") }
}

fn table(rows: &[Vec<Value>]) -> Vec<Vec<String>> {
    rows.iter().map(|r| r.iter().map(normalise).collect()).collect()
}

fn column(t: &[Vec<String>], j: usize) -> Vec<String> {
    let mut c: Vec<String> = t.iter().map(|r| r.get(j).cloned().unwrap_or_default()).collect();
    c.sort();
    c
}

fn same_rows(gold: &[Vec<String>], pred: &[Vec<String>], mapping: &[usize], ordered: bool) -> bool {
    let projected: Vec<Vec<String>> = pred.iter().map(|r| mapping.iter().map(|&k| r.get(k).cloned().unwrap_or_default()).collect()).collect();
    if ordered {
        return projected == gold;
    }
    let mut counts: HashMap<&Vec<String>, i64> = HashMap::new();
    for r in gold {
        *counts.entry(r).or_default() += 1;
    }
    for r in &projected {
        *counts.entry(r).or_default() -= 1;
    }
    counts.values().all(|&c| c == 0)
}

/// Whether the predicted rows match the gold rows.
pub fn results_match(gold: &[Vec<Value>], pred: &[Vec<Value>], ordered: bool) -> bool {
    if gold.len() != pred.len() {
        return false;
    }
    let g = table(gold);
    let p = table(pred);
    let gold_width = gold.first().map(Vec::len).unwrap_or(0);
    let pred_width = pred.first().map(Vec::len).unwrap_or(0);
    if g.is_empty() {
        return true;
    }
    // Candidate predicted columns for each gold column: same multiset of values.
    let pred_columns: Vec<Vec<String>> = (0..pred_width).map(|k| column(&p, k)).collect();
    let candidates: Vec<Vec<usize>> = (0..gold_width)
        .map(|j| {
            let gc = column(&g, j);
            (0..pred_width).filter(|&k| pred_columns[k] == gc).collect()
        })
        .collect();
    if candidates.iter().any(Vec::is_empty) {
        return false;
    }
    let mut mapping = Vec::with_capacity(gold_width);
    let mut budget = 10_000usize;
    assign(&candidates, &mut mapping, &g, &p, ordered, &mut budget)
}

fn assign(candidates: &[Vec<usize>], mapping: &mut Vec<usize>, g: &[Vec<String>], p: &[Vec<String>], ordered: bool, budget: &mut usize) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    let j = mapping.len();
    if j == candidates.len() {
        return same_rows(g, p, mapping, ordered);
    }
    for &k in &candidates[j] {
        if mapping.contains(&k) {
            continue;
        }
        mapping.push(k);
        if assign(candidates, mapping, g, p, ordered, budget) {
            return true;
        }
        mapping.pop();
    }
    false
}

/// Rows of `wide` beyond those of `narrow` (multiset difference), compared as text.
pub fn extra_rows(wide: &[Vec<Value>], narrow: &[Vec<Value>]) -> usize {
    let mut counts: HashMap<Vec<String>, i64> = HashMap::new();
    for r in table(narrow) {
        *counts.entry(r).or_default() += 1;
    }
    let mut extra = 0;
    for r in table(wide) {
        let c = counts.entry(r).or_default();
        if *c > 0 {
            *c -= 1;
        } else {
            extra += 1;
        }
    }
    extra
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows(v: Value) -> Vec<Vec<Value>> {
        serde_json::from_value(v).unwrap_or_default()
    }

    #[test]
    fn extra_columns_order_and_tolerance() {
        let gold = rows(json!([["TX", 3], ["LA", 5]]));
        assert!(results_match(&gold, &rows(json!([[5, "LA", "x"], [3, "TX", "y"]])), false));
        assert!(!results_match(&gold, &rows(json!([["LA", 5], ["TX", 3]])), true));
        assert!(!results_match(&gold, &rows(json!([["TX", 3], ["LA", 6]])), false));
        assert!(!results_match(&gold, &rows(json!([["TX", 5], ["LA", 3]])), false), "columns must agree row by row");
        assert!(results_match(&rows(json!([[33.333333333]])), &rows(json!([["33.33333334"]])), false));
        assert!(!results_match(&rows(json!([[1]])), &rows(json!([[1], [1]])), false));
        assert!(results_match(&rows(json!([])), &rows(json!([])), false));
    }

    #[test]
    fn counts_rows_outside() {
        let narrow = rows(json!([["a"], ["b"]]));
        assert_eq!(extra_rows(&rows(json!([["a"], ["b"], ["b"], ["c"]])), &narrow), 2);
        assert_eq!(extra_rows(&narrow, &narrow), 0);
    }
}
