//! The semantic model of the compliance schema (`semantic_model.toml`, compiled in).
//!
//! One description of every queryable table and column, used by the SQL guard's
//! catalogue, the drafters' prompts and the offline drafter.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::{Module, Role, permissions};

const MODEL_TOML: &str = include_str!("semantic_model.toml");

/// How sensitive a column is. PII and PHI are withheld from the de-identified tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiClass {
    #[default]
    None,
    /// Identity data: names, date of birth, SSN, contact details, licence numbers, GPS.
    Pii,
    /// Health data: medical restrictions, injury descriptions.
    Phi,
}

/// A column of a table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// PostgreSQL type, as declared in the migrations (`text`, `date`, `char(2)`, ...).
    #[serde(rename = "type")]
    pub sql_type: String,
    #[serde(default)]
    pub pii: PiiClass,
    #[serde(default)]
    pub description: String,
    /// The closed vocabulary of the column, when it has one.
    #[serde(default)]
    pub values: Vec<String>,
}

impl Column {
    /// Whether the de-identified tier must not see this column.
    pub fn is_sensitive(&self) -> bool {
        self.pii != PiiClass::None
    }
}

/// A queryable table of the `compliance` schema.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Table {
    pub name: String,
    pub module: Module,
    pub description: String,
    #[serde(default)]
    pub synonyms: Vec<String>,
    pub columns: Vec<Column>,
}

impl Table {
    /// A column by name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// The whole semantic model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SemanticModel {
    pub tables: Vec<Table>,
}

/// The semantic model file does not parse; a build-time mistake in `semantic_model.toml`.
#[derive(Debug, thiserror::Error)]
#[error("crates/core/src/semantic_model.toml is invalid: {0}")]
pub struct InvalidModel(String);

impl SemanticModel {
    /// Parses a model from TOML text.
    pub fn from_toml(text: &str) -> Result<Self, InvalidModel> {
        toml::from_str(text).map_err(|e| InvalidModel(e.to_string()))
    }

    /// The compiled-in model. A test guarantees that it parses.
    pub fn get() -> &'static SemanticModel {
        static MODEL: OnceLock<SemanticModel> = OnceLock::new();
        MODEL.get_or_init(|| match Self::from_toml(MODEL_TOML) {
            Ok(m) => m,
            Err(e) => {
                // Unreachable in a tested build: `compiled_in_model_parses` covers it.
                tracing_free_abort(&e.to_string())
            }
        })
    }

    /// A table by name.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// The tables of the modules that `role` may query.
    pub fn tables_for(&self, role: Role) -> impl Iterator<Item = &Table> {
        self.tables.iter().filter(move |t| permissions::access(role, t.module).is_some())
    }
}

#[allow(clippy::panic)]
fn tracing_free_abort(msg: &str) -> ! {
    panic!("{msg}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_in_model_parses_and_every_table_is_scoped() {
        let m = SemanticModel::from_toml(MODEL_TOML).unwrap();
        assert!(m.tables.len() >= 20);
        for t in &m.tables {
            assert!(t.column("tenant_id").is_some(), "{} has no tenant_id", t.name);
            let mut names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), t.columns.len(), "{} repeats a column", t.name);
        }
        assert!(m.table("employees").unwrap().column("ssn_last4").unwrap().is_sensitive());
        assert!(!m.table("drug_tests").unwrap().column("result").unwrap().is_sensitive());
    }

    #[test]
    fn roles_see_only_their_modules_tables() {
        let m = SemanticModel::get();
        let site: Vec<&str> = m.tables_for(Role::SiteSupervisor).map(|t| t.name.as_str()).collect();
        assert!(site.contains(&"check_ins") && site.contains(&"employees"));
        assert!(!site.contains(&"drug_tests") && !site.contains(&"osha_cases"));
    }
}
