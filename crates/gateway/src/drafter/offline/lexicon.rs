//! The phrase index: every phrase the drafter recognises and what it means, built once
//! from the semantic model (table names and synonyms, column names, value vocabularies)
//! and the drafter's own vocabulary (`vocabulary.rs`).

use std::collections::HashMap;
use std::sync::OnceLock;

use deriq_core::SemanticModel;

use super::text::stems;
use super::vocabulary::{self, Meaning, STATES};

/// What a recognised phrase means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Concept {
    /// A table of the model.
    Table(String),
    /// A column of a table.
    Column { table: String, column: String },
    /// A column restricted to values (text values, or "true"/"false" for yes/no columns).
    Value { table: String, column: String, values: Vec<String> },
    /// A US state (two-letter code), filtered through the record's location.
    State(String),
}

impl Concept {
    /// The table the concept belongs to, if any.
    pub fn table(&self) -> Option<&str> {
        match self {
            Concept::Table(t) | Concept::Column { table: t, .. } | Concept::Value { table: t, .. } => Some(t),
            Concept::State(_) => None,
        }
    }
}

/// The phrase index.
pub struct Lexicon {
    entries: HashMap<Vec<String>, Vec<Concept>>,
    longest: usize,
}

fn words(name: &str) -> String {
    name.replace('_', " ")
}

impl Lexicon {
    /// The index, built on first use.
    pub fn get() -> &'static Lexicon {
        static LEXICON: OnceLock<Lexicon> = OnceLock::new();
        LEXICON.get_or_init(|| Lexicon::build(SemanticModel::get()))
    }

    fn add(&mut self, phrase: &str, concept: Concept) {
        let key = stems(phrase);
        if key.is_empty() {
            return;
        }
        self.longest = self.longest.max(key.len());
        let list = self.entries.entry(key).or_default();
        if !list.contains(&concept) {
            list.push(concept);
        }
    }

    fn build(model: &SemanticModel) -> Lexicon {
        let mut lex = Lexicon { entries: HashMap::new(), longest: 1 };
        // The drafter's own phrases first: they are the more specific meanings.
        for (phrase, meanings) in vocabulary::PHRASES {
            for m in *meanings {
                let concept = match m {
                    Meaning::Table { table } => Concept::Table(table.to_string()),
                    Meaning::Column { table, column } => Concept::Column { table: table.to_string(), column: column.to_string() },
                    Meaning::Value { table, column, values } => Concept::Value {
                        table: table.to_string(),
                        column: column.to_string(),
                        values: values.iter().map(|v| v.to_string()).collect(),
                    },
                };
                lex.add(phrase, concept);
            }
        }
        for table in &model.tables {
            lex.add(&words(&table.name), Concept::Table(table.name.clone()));
            for synonym in &table.synonyms {
                lex.add(synonym, Concept::Table(table.name.clone()));
            }
            for column in &table.columns {
                if column.sql_type == "uuid" {
                    continue;
                }
                let name = column.name.strip_prefix("is_").unwrap_or(&column.name);
                let column_concept = Concept::Column { table: table.name.clone(), column: column.name.clone() };
                if column.sql_type == "boolean" {
                    lex.add(&words(name), Concept::Value { table: table.name.clone(), column: column.name.clone(), values: vec!["true".into()] });
                }
                lex.add(&words(name), column_concept.clone());
                // "respirator_size" of respirator fit tests is also just "size".
                if let Some((first, rest)) = name.split_once('_')
                    && table.name.contains(first) && !rest.is_empty() {
                        lex.add(&words(rest), column_concept);
                    }
                for value in &column.values {
                    // One-letter values (CDL class "A") would match ordinary words.
                    if value.chars().count() < 2 || value == "none" {
                        continue;
                    }
                    lex.add(
                        &words(value),
                        Concept::Value { table: table.name.clone(), column: column.name.clone(), values: vec![value.clone()] },
                    );
                }
            }
        }
        for (name, code) in STATES {
            lex.add(name, Concept::State(code.to_string()));
            if !vocabulary::AMBIGUOUS_CODES.contains(code) {
                lex.add(&code.to_lowercase(), Concept::State(code.to_string()));
            }
        }
        lex
    }

    /// The longest phrase starting at `stems[0]`: its length and meanings.
    pub fn longest_match(&self, stems: &[String]) -> Option<(usize, &[Concept])> {
        (1..=self.longest.min(stems.len())).rev().find_map(|n| self.entries.get(&stems[..n]).map(|c| (n, c.as_slice())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_and_vocabulary_phrases_are_indexed() {
        let lex = Lexicon::get();
        let m = |p: &str| lex.longest_match(&stems(p)).map(|(n, c)| (n, c.to_vec()));
        let (n, c) = m("post accident tests").unwrap();
        assert_eq!(n, 2);
        assert!(c.contains(&Concept::Value { table: "drug_tests".into(), column: "reason".into(), values: vec!["post_accident".into()] }));
        let (_, c) = m("respirator fit tests").unwrap();
        assert_eq!(c, vec![Concept::Table("respirator_fit_tests".into())]);
        let (_, c) = m("louisiana").unwrap();
        assert_eq!(c, vec![Concept::State("LA".into())]);
        assert!(m("weather").is_none());
    }
}
