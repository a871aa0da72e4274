//! Loading `queries.jsonl` and `qrels.tsv` from every set under `evals/retrieval/`.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::citation::Citation;
use crate::error::RagError;

/// One labelled question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalQuery {
    /// Set (folder) name.
    pub set: String,
    /// Query id, unique within its set.
    pub id: String,
    /// The question.
    pub text: String,
    /// citation, paraphrase, cross_reference, single_part or unanswerable.
    pub qtype: String,
    /// Part the question is about, when labelled.
    pub part: Option<String>,
    /// Relevant passages with their grade (2 controlling, 1 supporting).
    pub qrels: Vec<(Citation, u8)>,
}

impl EvalQuery {
    /// Whether the question belongs to the held-out third of the set: those whose number (the
    /// digits ending the id) is a multiple of 3. Ranking settings are chosen on the other
    /// two thirds, and the eval reports both parts.
    pub fn held_out(&self) -> bool {
        let digits: String = self
            .id
            .chars()
            .rev()
            .take_while(char::is_ascii_digit)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        digits.parse::<u64>().is_ok_and(|n| n % 3 == 0)
    }
}

#[derive(Deserialize)]
struct RawQuery {
    #[serde(rename = "_id")]
    id: String,
    text: String,
    #[serde(default)]
    metadata: HashMap<String, serde_json::Value>,
}

fn data_error(path: &Path, line: usize, message: impl std::fmt::Display) -> RagError {
    RagError::EvalData(format!("{}:{line}: {message}", path.display()))
}

fn value_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Loads every set folder under `dir` that holds a `queries.jsonl`, in name order.
pub fn load_sets(dir: &Path) -> Result<Vec<EvalQuery>, RagError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| RagError::EvalData(format!("cannot read {}: {e}", dir.display())))?;
    let mut sets: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("queries.jsonl").is_file())
        .collect();
    sets.sort();
    let mut out = Vec::new();
    for set_dir in sets {
        out.extend(load_set(&set_dir)?);
    }
    if out.is_empty() {
        return Err(RagError::EvalData(format!(
            "no queries.jsonl under {}",
            dir.display()
        )));
    }
    Ok(out)
}

fn load_set(dir: &Path) -> Result<Vec<EvalQuery>, RagError> {
    let set = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let qpath = dir.join("queries.jsonl");
    let text = std::fs::read_to_string(&qpath).map_err(|e| data_error(&qpath, 0, e))?;
    let mut queries = Vec::new();
    let mut index = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let raw: RawQuery = serde_json::from_str(line).map_err(|e| data_error(&qpath, i + 1, e))?;
        let qtype = raw
            .metadata
            .get("type")
            .and_then(value_text)
            .unwrap_or_else(|| "unlabelled".into());
        let part = raw.metadata.get("part").and_then(value_text);
        if index.insert(raw.id.clone(), queries.len()).is_some() {
            return Err(data_error(
                &qpath,
                i + 1,
                format!("duplicate query id {}", raw.id),
            ));
        }
        queries.push(EvalQuery {
            set: set.clone(),
            id: raw.id,
            text: raw.text,
            qtype,
            part,
            qrels: Vec::new(),
        });
    }
    let rpath = dir.join("qrels.tsv");
    if rpath.is_file() {
        let text = std::fs::read_to_string(&rpath).map_err(|e| data_error(&rpath, 0, e))?;
        for (i, line) in text.lines().enumerate() {
            let cols: Vec<&str> = line.split('\t').map(str::trim).collect();
            if line.trim().is_empty() || (i == 0 && cols.first() == Some(&"query-id")) {
                continue;
            }
            let [qid, corpus_id, score] = cols.as_slice() else {
                return Err(data_error(
                    &rpath,
                    i + 1,
                    "expected query-id, corpus-id, score",
                ));
            };
            let grade: u8 = score.parse().map_err(|e| data_error(&rpath, i + 1, e))?;
            if grade == 0 {
                continue;
            }
            let citation = Citation::parse(corpus_id).ok_or_else(|| {
                data_error(
                    &rpath,
                    i + 1,
                    format!("not a canonical citation: {corpus_id}"),
                )
            })?;
            let q = index
                .get(*qid)
                .ok_or_else(|| data_error(&rpath, i + 1, format!("unknown query id {qid}")))?;
            queries[*q].qrels.push((citation, grade));
        }
    }
    Ok(queries)
}
