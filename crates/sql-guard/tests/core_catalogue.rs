//! Policies built from the real catalogue of `crates/core` (the semantic model and the
//! role × module matrix), the way the gateway builds them: every role's policy compiles,
//! the realistic queries pass, and the attack corpus is rejected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::fixture::{LOCATION_A1, TENANT_A, TENANT_B};
use common::{accept, reject};
use deriq_core::permissions::{self, DataScope};
use deriq_core::{Role, SemanticModel};
use deriq_sql_guard::corpus::{ACCEPTED, Expect, attack_corpus};
use deriq_sql_guard::functions::default_allowed;
use deriq_sql_guard::{
    ColumnAccess, ColumnPolicy, Guard, Policy, ReasonCode, ScopeFilter, ScopeParams, TablePolicy,
    Tier,
};

fn policy_for(role: Role) -> Policy {
    let tier = match permissions::tier(role) {
        deriq_core::Tier::Full => Tier::Full,
        deriq_core::Tier::Deidentified => Tier::Deidentified,
    };
    let mut tables = BTreeMap::new();
    for t in SemanticModel::get().tables_for(role) {
        let columns = t
            .columns
            .iter()
            .map(|c| ColumnPolicy {
                name: c.name.clone(),
                sql_type: c.sql_type.clone(),
                access: if tier == Tier::Deidentified && c.is_sensitive() {
                    ColumnAccess::Masked
                } else {
                    ColumnAccess::Allowed
                },
            })
            .collect();
        let mut scope = vec![ScopeFilter::Tenant {
            column: "tenant_id".into(),
        }];
        if t.column("location_id").is_some() {
            scope.push(ScopeFilter::Locations {
                column: "location_id".into(),
            });
        }
        if t.column("employee_id").is_some() {
            scope.push(ScopeFilter::Employee {
                column: "employee_id".into(),
            });
        }
        tables.insert(t.name.clone(), TablePolicy { columns, scope });
    }
    let scope = match permissions::data_scope(role) {
        DataScope::AssignedLocations | DataScope::DivisionLocation => ScopeParams {
            tenant_ids: vec![TENANT_A.into()],
            location_ids: Some(vec![LOCATION_A1.into()]),
            employee_id: None,
        },
        DataScope::AllAssignedCompanies | DataScope::AssignedCompanies => ScopeParams {
            tenant_ids: vec![TENANT_A.into(), TENANT_B.into()],
            location_ids: None,
            employee_id: None,
        },
        _ => ScopeParams {
            tenant_ids: vec![TENANT_A.into()],
            location_ids: None,
            employee_id: None,
        },
    };
    Policy {
        role: role.as_str().to_string(),
        tier,
        schema: "compliance".into(),
        tables,
        functions: default_allowed(),
        row_cap: 1000,
        max_joins: 6,
        max_depth: 4,
        allow_recursive_cte: false,
        scope,
    }
}

fn guard_for(role: Role) -> Guard {
    Guard::new(policy_for(role))
        .unwrap_or_else(|e| panic!("policy of {role:?} does not compile: {e}"))
}

#[test]
fn every_role_policy_compiles() {
    for role in Role::ALL {
        let g = guard_for(role);
        assert!(!g.policy().tables.is_empty(), "{role:?}");
    }
}

#[test]
fn realistic_queries_pass_for_full_and_deidentified_roles() {
    for role in [Role::CompanyAdmin, Role::ReadOnlyAuditor, Role::Auditor] {
        let g = guard_for(role);
        for sql in ACCEPTED {
            accept(&g, sql);
        }
    }
}

#[test]
fn attacks_are_rejected_for_real_policies() {
    for role in [Role::CompanyAdmin, Role::SiteSupervisor, Role::Auditor] {
        let g = guard_for(role);
        for a in attack_corpus()
            .iter()
            .filter(|a| a.expect == Expect::Reject)
        {
            reject(&g, a.sql);
        }
    }
    let g = guard_for(Role::Auditor);
    // With the real catalogue, PII is masked for the de-identified tier (none rejected).
    for sql in [
        "SELECT count(*) FROM employees WHERE date_of_birth < '1980-01-01'",
        "SELECT id FROM employees ORDER BY last_name",
        "SELECT e.ssn_last4::int FROM employees e",
    ] {
        let r = reject(&g, sql);
        assert!(
            r.has(ReasonCode::MaskedColumnMisuse),
            "{sql}: {:?}",
            r.reasons
        );
    }
    let a = accept(&g, "SELECT e.id, e.ssn_last4 FROM employees e");
    assert!(
        a.sql
            .contains("(SELECT \"id\", NULL::CHAR(4) AS ssn_last4 FROM compliance.employees"),
        "{}",
        a.sql
    );
}

#[test]
fn modules_closed_to_a_role_are_not_queryable() {
    let site = guard_for(Role::SiteSupervisor);
    let r = reject(&site, "SELECT count(*) FROM drug_tests");
    assert!(r.has(ReasonCode::RelationNotAllowed), "{:?}", r.reasons);
    assert!(
        r.reasons[0].message.contains("check_ins"),
        "the message lists what the role may query: {}",
        r.reasons[0].message
    );
    accept(
        &site,
        "SELECT c.employee_id, count(*) FROM check_ins c GROUP BY c.employee_id",
    );

    let billing = guard_for(Role::BillingAdmin);
    accept(
        &billing,
        "SELECT count(*) FROM employees WHERE employment_status = 'active'",
    );
    reject(&billing, "SELECT count(*) FROM background_checks");
}
