//! The part of the semantic model a role may ask about: its modules, their tables and the
//! columns its tier may see (what a UI shows as "you can ask about ...").

use deriq_core::semantic::SemanticModel;
use deriq_core::{Module, Role, Tier, permissions};
use serde_json::{Value, json};

/// The schema for `role`, optionally one module only (the caller checks access first).
pub fn for_role(role: Role, only: Option<Module>) -> Value {
    let tier = permissions::tier(role);
    let model = SemanticModel::get();
    let modules: Vec<Value> = permissions::modules(role)
        .into_iter()
        .filter(|m| only.is_none_or(|o| o == *m))
        .map(|m| {
            let tables: Vec<Value> = model
                .tables_for(role)
                .filter(|t| t.module == m)
                .map(|t| {
                    let columns: Vec<Value> = t
                        .columns
                        .iter()
                        .filter(|c| tier == Tier::Full || !c.is_sensitive())
                        .map(|c| json!({ "name": c.name, "type": c.sql_type, "description": c.description, "values": c.values }))
                        .collect();
                    json!({ "name": t.name, "description": t.description, "synonyms": t.synonyms, "columns": columns })
                })
                .collect();
            json!({ "module": m.as_str(), "label": m.label(), "tables": tables })
        })
        .collect();
    json!({ "role": role.as_str(), "tier": tier, "modules": modules })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deidentified_roles_see_no_sensitive_columns_and_only_their_modules() {
        let model = SemanticModel::get();
        let sensitive: Vec<&str> = model.tables.iter().flat_map(|t| t.columns.iter()).filter(|c| c.is_sensitive()).map(|c| c.name.as_str()).collect();
        assert!(!sensitive.is_empty());
        let auditor = for_role(Role::Auditor, None).to_string();
        let admin = for_role(Role::CompanyAdmin, None);
        let admin_cols: Vec<&str> = admin["modules"].as_array().into_iter().flatten().flat_map(|m| m["tables"].as_array().into_iter().flatten()).flat_map(|t| t["columns"].as_array().into_iter().flatten()).filter_map(|c| c["name"].as_str()).collect();
        assert!(sensitive.iter().all(|s| admin_cols.contains(s)), "the full tier sees every column");
        let auditor_v: Value = serde_json::from_str(&auditor).unwrap_or_default();
        let auditor_cols: Vec<&str> = auditor_v["modules"].as_array().into_iter().flatten().flat_map(|m| m["tables"].as_array().into_iter().flatten()).flat_map(|t| t["columns"].as_array().into_iter().flatten()).filter_map(|c| c["name"].as_str()).collect();
        assert!(!auditor_cols.is_empty());
        for c in &auditor_cols {
            let same_name_all_sensitive = model.tables.iter().flat_map(|t| t.columns.iter()).filter(|x| x.name == *c).all(|x| x.is_sensitive());
            assert!(!same_name_all_sensitive, "{c} is sensitive but shown to the de-identified tier");
        }
        let billing = for_role(Role::BillingAdmin, None);
        assert_eq!(billing["modules"].as_array().map(Vec::len), Some(1));
        assert_eq!(billing["modules"][0]["module"], "roster");
    }
}
