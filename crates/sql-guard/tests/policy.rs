//! Policies the guard refuses to use, and what a policy changes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::fixture::{auditor, compiled, site_supervisor};
use common::{accept, reject};
use deriq_sql_guard::{ColumnAccess, Guard, PolicyError, ReasonCode, ScopeFilter, guard};

#[test]
fn broken_policies_are_refused() {
    let mut p = auditor();
    p.schema = "Compliance".into();
    assert!(matches!(Guard::new(p), Err(PolicyError::BadName(_))));

    let mut p = auditor();
    p.tables.get_mut("employees").unwrap().columns[0].name = "id; drop".into();
    assert!(matches!(Guard::new(p), Err(PolicyError::BadName(_))));

    let mut p = auditor();
    let t = p.tables.get_mut("employees").unwrap();
    let dup = t.columns[1].clone();
    t.columns.push(dup);
    assert!(matches!(
        Guard::new(p),
        Err(PolicyError::DuplicateColumn { .. })
    ));

    let mut p = auditor();
    p.tables.get_mut("drug_tests").unwrap().scope = vec![ScopeFilter::Locations {
        column: "location_id".into(),
    }];
    assert!(matches!(Guard::new(p), Err(PolicyError::UnscopedTable(_))));

    let mut p = auditor();
    p.tables
        .get_mut("drug_tests")
        .unwrap()
        .scope
        .push(ScopeFilter::Employee {
            column: "worker_id".into(),
        });
    assert!(matches!(
        Guard::new(p),
        Err(PolicyError::UnknownScopeColumn { .. })
    ));

    let mut p = auditor();
    p.tables.get_mut("employees").unwrap().columns[4].sql_type = "text; DROP TABLE x".into();
    assert!(matches!(Guard::new(p), Err(PolicyError::BadType { .. })));

    let mut p = auditor();
    for c in &mut p.tables.get_mut("tenants").unwrap().columns {
        c.access = ColumnAccess::Rejected {
            hint: String::new(),
        };
    }
    assert!(matches!(
        Guard::new(p),
        Err(PolicyError::NoVisibleColumns(_))
    ));

    let mut p = auditor();
    p.schema = String::new();
    let r = guard("SELECT 1", &p).unwrap_err();
    assert!(r.has(ReasonCode::PolicyInvalid), "{:?}", r.reasons);
}

#[test]
fn limits_come_from_the_policy() {
    let mut p = site_supervisor();
    p.row_cap = 10;
    p.max_joins = 1;
    p.max_depth = 1;
    let g = compiled(p);
    assert_eq!(accept(&g, "SELECT id FROM employees").row_cap_applied, 10);
    assert_eq!(
        accept(&g, "SELECT id FROM employees LIMIT 3").row_cap_applied,
        3
    );
    accept(
        &g,
        "SELECT e.id FROM employees e JOIN drug_tests d ON d.employee_id = e.id",
    );
    let r = reject(
        &g,
        "SELECT e.id FROM employees e JOIN drug_tests d ON d.employee_id = e.id JOIN locations l ON l.id = e.location_id",
    );
    assert!(r.has(ReasonCode::TooManyJoins));
    accept(&g, "SELECT x.id FROM (SELECT id FROM employees) x");
    let r = reject(
        &g,
        "SELECT y.id FROM (SELECT x.id FROM (SELECT id FROM employees) x) y",
    );
    assert!(r.has(ReasonCode::TooDeep));
}

#[test]
fn functions_come_from_the_policy() {
    let mut p = site_supervisor();
    p.functions.remove("date_trunc");
    p.functions.insert("generate_series".into());
    let g = compiled(p);
    let r = reject(&g, "SELECT date_trunc('month', hire_date) FROM employees");
    assert!(r.has(ReasonCode::FunctionNotAllowed));
    assert!(
        r.reasons[0].message.contains("date_part"),
        "the message lists what is allowed"
    );
    let a = accept(
        &g,
        "SELECT g, count(e.id) FROM generate_series(1, 12) AS g LEFT JOIN employees e ON extract(month FROM e.hire_date) = g GROUP BY g",
    );
    assert!(a.sql.contains("generate_series(1, 12) AS g"), "{}", a.sql);
}

#[test]
fn an_empty_tenant_list_still_scopes() {
    let mut p = auditor();
    p.scope.tenant_ids.clear();
    let g = compiled(p);
    let a = accept(&g, "SELECT count(*) FROM employees");
    assert_eq!(
        serde_json::to_value(&a.params).unwrap(),
        serde_json::json!([{"type": "uuid[]", "value": []}])
    );
}
