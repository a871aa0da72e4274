//! Realistic queries that must pass, and how they are rewritten.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::fixture::{auditor, compiled, employee_self, site_supervisor};
use common::{accept, unwrap_scoped};
use deriq_sql_guard::corpus::ACCEPTED;

#[test]
fn the_realistic_set_passes_for_every_caller() {
    assert_eq!(ACCEPTED.len(), 50);
    for g in [
        compiled(auditor()),
        compiled(site_supervisor()),
        compiled(employee_self()),
    ] {
        for sql in ACCEPTED {
            let a = accept(&g, sql);
            assert!(!a.tables.is_empty(), "{sql}");
            assert_eq!(a.injected.len(), a.tables.len(), "{sql}");
        }
    }
}

/// (drafted SQL, the rewritten SQL with each scoped wrapper shown as its table)
const REWRITES: &[(&str, &str)] = &[
    // joins keep their conditions; each table is scoped separately
    (
        "SELECT d.id FROM drug_tests d JOIN employees e ON e.id = d.employee_id WHERE d.result = 'positive'",
        "SELECT d.id FROM compliance.drug_tests AS d JOIN compliance.employees AS e ON e.id = d.employee_id WHERE d.result = 'positive' LIMIT 1000",
    ),
    (
        "SELECT l.name, count(d.id) FROM locations l LEFT JOIN drug_tests d ON d.location_id = l.id GROUP BY l.name HAVING count(d.id) > 2",
        "SELECT l.name, count(d.id) FROM compliance.locations AS l LEFT JOIN compliance.drug_tests AS d ON d.location_id = l.id GROUP BY l.name HAVING count(d.id) > 2 LIMIT 1000",
    ),
    // an unaliased table keeps its name as the alias
    (
        "SELECT count(*) FROM compliance.employees WHERE employees.is_dot_covered",
        "SELECT count(*) FROM compliance.employees AS employees WHERE employees.is_dot_covered LIMIT 1000",
    ),
    // window functions and date arithmetic
    (
        "SELECT e.id, row_number() OVER (PARTITION BY e.location_id ORDER BY e.hire_date) FROM employees e",
        "SELECT e.id, row_number() OVER (PARTITION BY e.location_id ORDER BY e.hire_date) FROM compliance.employees AS e LIMIT 1000",
    ),
    (
        "SELECT id FROM drug_tests WHERE collection_date > now() - interval '90 days' AND result_date - collection_date > 3",
        "SELECT id FROM compliance.drug_tests AS drug_tests WHERE (collection_date > (now() - INTERVAL '90 days')) AND ((result_date - collection_date) > 3) LIMIT 1000",
    ),
    (
        "SELECT e.id, count(*) OVER w FROM employees e WINDOW w AS (PARTITION BY e.location_id)",
        "SELECT e.id, count(*) OVER w FROM compliance.employees AS e WINDOW w AS (PARTITION BY e.location_id) LIMIT 1000",
    ),
    // CASE and ILIKE
    (
        "SELECT CASE WHEN job_title ILIKE '%driver%' THEN 'driver' ELSE 'other' END AS kind, count(*) FROM employees GROUP BY 1",
        "SELECT CASE WHEN job_title ILIKE '%driver%' THEN 'driver' ELSE 'other' END AS kind, count(*) FROM compliance.employees AS employees GROUP BY 1 LIMIT 1000",
    ),
    // subqueries are scoped too
    (
        "SELECT e.id FROM employees e WHERE e.id IN (SELECT employee_id FROM drug_tests WHERE result = 'positive')",
        "SELECT e.id FROM compliance.employees AS e WHERE e.id IN (SELECT employee_id FROM compliance.drug_tests AS drug_tests WHERE result = 'positive') LIMIT 1000",
    ),
    (
        "SELECT e.id, (SELECT max(d.collection_date) FROM drug_tests d WHERE d.employee_id = e.id) AS last FROM employees e",
        "SELECT e.id, (SELECT max(d.collection_date) FROM compliance.drug_tests AS d WHERE d.employee_id = e.id) AS last FROM compliance.employees AS e LIMIT 1000",
    ),
    (
        "SELECT e.id FROM employees e, LATERAL (SELECT d.result FROM drug_tests d WHERE d.employee_id = e.id ORDER BY d.collection_date DESC LIMIT 1) last",
        "SELECT e.id FROM compliance.employees AS e, LATERAL (SELECT d.result FROM compliance.drug_tests AS d WHERE d.employee_id = e.id ORDER BY d.collection_date DESC LIMIT 1) last LIMIT 1000",
    ),
    // CTEs: the body is scoped, the reference is not a table
    (
        "WITH p AS (SELECT employee_id FROM drug_tests WHERE result = 'positive') SELECT count(*) FROM p",
        "WITH p AS (SELECT employee_id FROM compliance.drug_tests AS drug_tests WHERE result = 'positive') SELECT count(*) FROM p LIMIT 1000",
    ),
    // set operations: both sides scoped, the cap applies to the whole
    (
        "SELECT employee_id FROM drug_tests UNION ALL SELECT employee_id FROM background_checks ORDER BY 1 LIMIT 5000",
        "SELECT employee_id FROM compliance.drug_tests AS drug_tests UNION ALL SELECT employee_id FROM compliance.background_checks AS background_checks ORDER BY 1 LIMIT 1000",
    ),
    // * is expanded from the catalogue
    (
        "SELECT l.* FROM locations l",
        "SELECT l.\"id\", l.tenant_id, l.division_id, l.\"name\", l.city, l.state, l.latitude, l.longitude, l.location_id FROM compliance.locations AS l LIMIT 1000",
    ),
    (
        "SELECT * FROM (SELECT id, job_title FROM employees) x",
        "SELECT x.\"id\", x.job_title FROM (SELECT id, job_title FROM compliance.employees AS employees) x LIMIT 1000",
    ),
    // USING merges the column
    (
        "SELECT employee_id, count(*) FROM drug_tests JOIN background_checks USING (employee_id) GROUP BY employee_id",
        "SELECT employee_id, count(*) FROM compliance.drug_tests AS drug_tests JOIN compliance.background_checks AS background_checks USING(employee_id) GROUP BY employee_id LIMIT 1000",
    ),
    // VALUES lists may name their columns; functions in FROM when allowed
    (
        "SELECT v.label, count(d.id) FROM (VALUES ('positive', 'Positive'), ('negative', 'Negative')) AS v(code, label) LEFT JOIN drug_tests d ON d.result = v.code GROUP BY v.label",
        "SELECT v.label, count(d.id) FROM (VALUES ('positive', 'Positive'), ('negative', 'Negative')) AS v (code, label) LEFT JOIN compliance.drug_tests AS d ON d.result = v.code GROUP BY v.label LIMIT 1000",
    ),
    (
        "SELECT s, count(*) FROM drug_tests d, unnest(d.substances) AS s GROUP BY s",
        "SELECT s, count(*) FROM compliance.drug_tests AS d, UNNEST(d.substances) AS s GROUP BY s LIMIT 1000",
    ),
    // grouping sets, DISTINCT ON, FETCH FIRST
    (
        "SELECT location_id, result, count(*) FROM drug_tests GROUP BY ROLLUP (location_id, result)",
        "SELECT location_id, result, count(*) FROM compliance.drug_tests AS drug_tests GROUP BY ROLLUP (location_id, result) LIMIT 1000",
    ),
    (
        "SELECT DISTINCT ON (employee_id) employee_id, collection_date FROM drug_tests ORDER BY employee_id, collection_date DESC",
        "SELECT DISTINCT ON (employee_id) employee_id, collection_date FROM compliance.drug_tests AS drug_tests ORDER BY employee_id, collection_date DESC LIMIT 1000",
    ),
    (
        "SELECT id FROM osha_cases ORDER BY incident_date FETCH FIRST 10 ROWS ONLY",
        "SELECT id FROM compliance.osha_cases AS osha_cases ORDER BY incident_date LIMIT 10",
    ),
];

#[test]
fn rewrites_keep_the_query_and_scope_every_table() {
    let g = compiled(site_supervisor());
    for (sql, want) in REWRITES {
        let a = accept(&g, sql);
        assert_eq!(
            &unwrap_scoped(&a.sql),
            want,
            "\n  drafted: {sql}\n  output:  {}",
            a.sql
        );
    }
}

#[test]
fn reports_tables_columns_masks_and_scope() {
    let g = compiled(auditor());
    let a = accept(
        &g,
        "SELECT e.id, e.last_name, d.id AS test FROM employees e JOIN drug_tests d ON d.employee_id = e.id",
    );
    assert_eq!(a.tables, vec!["drug_tests", "employees"]);
    assert_eq!(
        a.columns_read,
        vec![
            "drug_tests.employee_id",
            "drug_tests.id",
            "employees.id",
            "employees.last_name"
        ]
    );
    assert_eq!(a.masked, vec!["employees.last_name"]);
    assert_eq!(
        a.injected,
        vec![
            "drug_tests: tenant_id = ANY($1::UUID[])",
            "employees: tenant_id = ANY($1::UUID[])"
        ]
    );
    assert_eq!(a.row_cap_applied, 1000);
}

#[test]
fn masked_column_listed_in_group_by_is_rejected_even_when_listed_in_select() {
    let g = compiled(auditor());
    let r = g
        .check("SELECT e.last_name, count(*) FROM employees e GROUP BY e.last_name")
        .unwrap_err();
    assert!(
        r.has(deriq_sql_guard::ReasonCode::MaskedColumnMisuse),
        "{:?}",
        r.reasons
    );
}

#[test]
fn own_record_scope_adds_the_employee_predicate() {
    let g = compiled(employee_self());
    let a = accept(&g, "SELECT count(*) FROM training_certificates");
    assert!(
        a.sql
            .contains("WHERE (tenant_id = ANY($1::UUID[])) AND (employee_id = $2::UUID)"),
        "{}",
        a.sql
    );
    assert_eq!(
        serde_json::to_value(&a.params).unwrap(),
        serde_json::json!([
            {"type": "uuid[]", "value": [common::fixture::TENANT_A]},
            {"type": "uuid", "value": common::fixture::EMPLOYEE_A1}
        ])
    );
    // Tables without an employee column (tenants) are scoped to the tenant only.
    let a = accept(&g, "SELECT name FROM tenants");
    assert!(
        a.sql
            .contains("FROM compliance.tenants WHERE tenant_id = ANY($1::UUID[])"),
        "{}",
        a.sql
    );
}

#[test]
fn star_inside_exists_is_fine_for_the_deidentified_tier() {
    let g = compiled(auditor());
    accept(
        &g,
        "SELECT e.id FROM employees e WHERE EXISTS (SELECT * FROM drug_tests d WHERE d.employee_id = e.id)",
    );
    let r = g.check("SELECT e.id FROM employees e WHERE e.id IN (SELECT d.refusal_reason FROM drug_tests d)").unwrap_err();
    assert!(
        r.has(deriq_sql_guard::ReasonCode::MaskedColumnMisuse),
        "{:?}",
        r.reasons
    );
}

#[test]
fn recursive_ctes_when_the_policy_allows_them() {
    let mut p = site_supervisor();
    p.allow_recursive_cte = true;
    let g = compiled(p);
    let a = accept(
        &g,
        "WITH RECURSIVE d(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM d WHERE n < 12) SELECT d.n, count(t.id) FROM d LEFT JOIN drug_tests t ON extract(month FROM t.collection_date) = d.n GROUP BY d.n",
    );
    assert!(a.sql.contains("FROM compliance.drug_tests"), "{}", a.sql);
}
