//! The SQL guard's policy for one caller, built from `crates/core` (the permission matrix
//! and the semantic model) — never written by hand.

use deriq_core::permissions::{self, Tier as CoreTier};
use deriq_core::{Role, Scope, SemanticModel};
use deriq_sql_guard::{ColumnAccess, ColumnPolicy, Policy, ScopeFilter, ScopeParams, TablePolicy, Tier, functions};

/// Limits applied to every caller's queries.
#[derive(Debug, Clone, Copy)]
pub struct QueryLimits {
    /// Largest number of rows a query returns.
    pub row_cap: u64,
    /// Largest number of joins in one statement.
    pub max_joins: usize,
    /// Deepest subquery nesting.
    pub max_depth: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits { row_cap: 1000, max_joins: 6, max_depth: 4 }
    }
}

/// The guard's tier for a role.
pub fn guard_tier(role: Role) -> Tier {
    match permissions::tier(role) {
        CoreTier::Full => Tier::Full,
        CoreTier::Deidentified => Tier::Deidentified,
    }
}

/// The policy for `role` seeing `scope`: the tables of the role's modules, PII masked for
/// the de-identified tier, tenant / location / employee filters on every table that has
/// those columns.
pub fn guard_policy(role: Role, scope: &Scope, limits: QueryLimits) -> Policy {
    let model = SemanticModel::get();
    let tier = guard_tier(role);
    let tables = model
        .tables_for(role)
        .map(|t| {
            let columns = t
                .columns
                .iter()
                .map(|c| ColumnPolicy {
                    name: c.name.clone(),
                    sql_type: c.sql_type.clone(),
                    access: if tier == Tier::Deidentified && c.is_sensitive() { ColumnAccess::Masked } else { ColumnAccess::Allowed },
                })
                .collect();
            let mut filters = vec![ScopeFilter::Tenant { column: "tenant_id".into() }];
            if t.column("location_id").is_some() {
                filters.push(ScopeFilter::Locations { column: "location_id".into() });
            }
            if t.column("employee_id").is_some() {
                filters.push(ScopeFilter::Employee { column: "employee_id".into() });
            }
            (t.name.clone(), TablePolicy { columns, scope: filters })
        })
        .collect();
    Policy {
        role: role.as_str().to_string(),
        tier,
        schema: "compliance".into(),
        tables,
        functions: functions::default_allowed(),
        row_cap: limits.row_cap,
        max_joins: limits.max_joins,
        max_depth: limits.max_depth,
        allow_recursive_cte: false,
        scope: ScopeParams {
            tenant_ids: scope.tenant_ids.iter().map(|u| u.to_string()).collect(),
            location_ids: scope.location_ids.as_ref().map(|ls| ls.iter().map(|u| u.to_string()).collect()),
            employee_id: scope.employee_id.map(|u| u.to_string()),
        },
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn scope() -> Scope {
        Scope { tenant_ids: vec![Uuid::nil()], location_ids: None, employee_id: None }
    }

    #[test]
    fn policies_compile_for_every_role_and_follow_the_matrix() {
        for role in Role::ALL {
            let p = guard_policy(role, &scope(), QueryLimits::default());
            deriq_sql_guard::Guard::new(p.clone()).unwrap_or_else(|e| panic!("{role}: {e}"));
            for name in p.tables.keys() {
                let t = SemanticModel::get().table(name).unwrap();
                assert!(permissions::access(role, t.module).is_some(), "{role} got {name}");
            }
        }
        let auditor = guard_policy(Role::Auditor, &scope(), QueryLimits::default());
        let emp = &auditor.tables["employees"];
        let ssn = emp.columns.iter().find(|c| c.name == "ssn_last4").unwrap();
        assert_eq!(ssn.access, ColumnAccess::Masked);
    }

    #[test]
    fn the_guard_rejects_other_modules_and_masks_pii_for_auditors() {
        let site = guard_policy(Role::SiteSupervisor, &scope(), QueryLimits::default());
        assert!(deriq_sql_guard::guard("SELECT count(*) FROM drug_tests", &site).is_err());
        assert!(deriq_sql_guard::guard("SELECT count(*) FROM check_ins", &site).is_ok());
        let auditor = guard_policy(Role::Auditor, &scope(), QueryLimits::default());
        let ok = deriq_sql_guard::guard("SELECT id, ssn_last4 FROM employees", &auditor).unwrap();
        assert!(ok.sql.contains("NULL::CHAR(4) AS ssn_last4") && ok.masked.iter().any(|m| m.contains("ssn_last4")), "{}", ok.sql);
        assert!(deriq_sql_guard::guard("SELECT id FROM employees WHERE ssn_last4 = '1234'", &auditor).is_err());
    }
}
