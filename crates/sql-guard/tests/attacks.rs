//! One test per attack class of the security model, each over several variants from the
//! attack corpus, plus the specific reasons the guard gives.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::fixture::{auditor, compiled, employee_self, site_supervisor};
use common::{accept, reject};
use deriq_sql_guard::corpus::{CLASSES, Expect, attack_corpus};
use deriq_sql_guard::{Guard, ReasonCode};

struct Callers {
    auditor: Guard,
    site: Guard,
    own: Guard,
}

fn callers() -> Callers {
    Callers {
        auditor: compiled(auditor()),
        site: compiled(site_supervisor()),
        own: compiled(employee_self()),
    }
}

/// Runs every corpus entry of a class against three callers.
fn run_class(class: u8) -> Callers {
    let c = callers();
    let entries: Vec<_> = attack_corpus()
        .iter()
        .filter(|a| a.class == class)
        .collect();
    assert!(
        entries.len() >= 3,
        "class {class} ({}) needs several variants",
        CLASSES[usize::from(class) - 1]
    );
    for a in entries {
        match a.expect {
            Expect::Reject => {
                for g in [&c.auditor, &c.site, &c.own] {
                    reject(g, a.sql);
                }
            }
            Expect::RejectDeidentified => {
                reject(&c.auditor, a.sql);
                accept(&c.site, a.sql);
                accept(&c.own, a.sql);
            }
            Expect::Scoped => {
                for g in [&c.auditor, &c.site, &c.own] {
                    accept(g, a.sql);
                }
            }
        }
    }
    c
}

fn code(g: &Guard, sql: &str) -> Vec<ReasonCode> {
    reject(g, sql).reasons.iter().map(|r| r.code).collect()
}

fn has(g: &Guard, sql: &str, want: ReasonCode) {
    let r = reject(g, sql);
    assert!(r.has(want), "{sql}: expected {want:?}, got {:?}", r.reasons);
}

#[test]
fn corpus_covers_every_class() {
    for class in 1..=18u8 {
        assert!(
            attack_corpus().iter().filter(|a| a.class == class).count() >= 3,
            "class {class}"
        );
    }
}

#[test]
fn class_01_several_statements() {
    let c = run_class(1);
    for sql in [
        "SELECT 1; COMMIT",
        "COMMIT; SELECT 1",
        "SELECT id FROM employees; DROP TABLE compliance.employees",
    ] {
        assert_eq!(
            code(&c.auditor, sql),
            vec![ReasonCode::MultipleStatements],
            "{sql}"
        );
    }
    // A single trailing semicolon is one statement.
    accept(&c.auditor, "SELECT count(*) FROM employees;");
}

#[test]
fn class_02_writes_dressed_as_reads() {
    let c = run_class(2);
    has(
        &c.auditor,
        "WITH d AS (DELETE FROM compliance.employees RETURNING *) SELECT * FROM d",
        ReasonCode::DataModifying,
    );
    has(
        &c.auditor,
        "WITH u AS (UPDATE employees SET job_title = 'x' RETURNING id) SELECT * FROM u",
        ReasonCode::DataModifying,
    );
    has(
        &c.auditor,
        "SELECT * INTO TEMP stolen FROM employees",
        ReasonCode::SelectInto,
    );
    has(
        &c.auditor,
        "SELECT id FROM employees FOR UPDATE",
        ReasonCode::LockingClause,
    );
    has(
        &c.auditor,
        "SELECT * FROM (SELECT id FROM employees FOR SHARE) x",
        ReasonCode::LockingClause,
    );
    has(
        &c.auditor,
        "EXPLAIN ANALYZE DELETE FROM employees",
        ReasonCode::NotAQuery,
    );
    has(
        &c.auditor,
        "DELETE FROM employees",
        ReasonCode::DataModifying,
    );
}

#[test]
fn class_03_server_files_and_programs() {
    let c = run_class(3);
    has(
        &c.auditor,
        "SELECT pg_read_file('/etc/passwd')",
        ReasonCode::FunctionNotAllowed,
    );
    // The parser reports a function in FROM as a relation with arguments.
    has(
        &c.auditor,
        "SELECT * FROM pg_read_file('/etc/passwd')",
        ReasonCode::FunctionNotAllowed,
    );
    has(
        &c.auditor,
        "SELECT f FROM employees e, LATERAL pg_ls_dir('.') AS f",
        ReasonCode::FunctionNotAllowed,
    );
    has(
        &c.auditor,
        "SELECT \"PG_READ_FILE\"('/etc/passwd')",
        ReasonCode::FunctionNotAllowed,
    );
    let r = reject(&c.auditor, "COPY employees TO PROGRAM 'id'");
    assert!(
        r.has(ReasonCode::NotAQuery) || r.has(ReasonCode::ParseError),
        "{:?}",
        r.reasons
    );
}

#[test]
fn class_04_network_and_side_effects() {
    let c = run_class(4);
    has(
        &c.auditor,
        "SELECT * FROM dblink('host=x', 'select 1') AS t(a int)",
        ReasonCode::FunctionNotAllowed,
    );
    has(
        &c.auditor,
        "SELECT pg_notify('c', 'x')",
        ReasonCode::FunctionNotAllowed,
    );
    has(
        &c.auditor,
        "SELECT * FROM remote_employees",
        ReasonCode::RelationNotAllowed,
    );
    has(
        &c.auditor,
        "SELECT * FROM fdw.remote_table",
        ReasonCode::SchemaNotAllowed,
    );
}

#[test]
fn class_05_sql_inside_strings() {
    let c = run_class(5);
    has(
        &c.auditor,
        "SELECT query_to_xml('select 1', true, true, '')",
        ReasonCode::FunctionNotAllowed,
    );
    has(
        &c.auditor,
        "SELECT format('SELECT %s', 'x')",
        ReasonCode::FunctionNotAllowed,
    );
    let r = reject(&c.auditor, "DO $$ BEGIN PERFORM 1; END $$");
    assert!(
        r.has(ReasonCode::NotAQuery) || r.has(ReasonCode::ParseError),
        "{:?}",
        r.reasons
    );
}

#[test]
fn class_06_forging_the_scope() {
    let c = run_class(6);
    has(
        &c.auditor,
        "SELECT set_config('deriq.scope', 'x', true)",
        ReasonCode::FunctionNotAllowed,
    );
    has(
        &c.auditor,
        "WITH s AS (SELECT set_config('deriq.scope', 'x', true)) SELECT e.id FROM employees e, s",
        ReasonCode::FunctionNotAllowed,
    );
    for sql in ["SET deriq.scope = 'x'", "RESET ALL", "DISCARD ALL"] {
        has(&c.auditor, sql, ReasonCode::NotAQuery);
    }
}

#[test]
fn class_07_role_switching() {
    let c = run_class(7);
    for sql in [
        "SET ROLE deriq_owner",
        "RESET ROLE",
        "SET SESSION AUTHORIZATION postgres",
    ] {
        has(&c.auditor, sql, ReasonCode::NotAQuery);
    }
    has(
        &c.auditor,
        "SELECT set_config('role', 'postgres', false)",
        ReasonCode::FunctionNotAllowed,
    );
}

#[test]
fn class_08_rls_bypass_by_ownership() {
    let c = run_class(8);
    has(
        &c.auditor,
        "SELECT * FROM deriq_sec.scope_key",
        ReasonCode::SchemaNotAllowed,
    );
    has(
        &c.auditor,
        "SELECT deriq_sec.scope_tenants()",
        ReasonCode::FunctionNotAllowed,
    );
    has(
        &c.auditor,
        "SELECT * FROM compliance.users",
        ReasonCode::RelationNotAllowed,
    );
    has(
        &c.auditor,
        "SELECT * FROM compliance.employees_all",
        ReasonCode::RelationNotAllowed,
    );
}

#[test]
fn class_09_catalog_reconnaissance() {
    let c = run_class(9);
    has(
        &c.auditor,
        "SELECT * FROM pg_catalog.pg_roles",
        ReasonCode::SchemaNotAllowed,
    );
    has(
        &c.auditor,
        "SELECT * FROM pg_roles",
        ReasonCode::RelationNotAllowed,
    );
    has(
        &c.auditor,
        "SELECT query FROM pg_stat_activity",
        ReasonCode::RelationNotAllowed,
    );
    has(
        &c.auditor,
        "SELECT table_name FROM information_schema.tables",
        ReasonCode::SchemaNotAllowed,
    );
    has(
        &c.auditor,
        "SELECT 'compliance.employees'::regclass",
        ReasonCode::TypeNotAllowed,
    );
    let r = reject(&c.auditor, "SELECT * FROM pg_roles");
    assert!(
        r.reasons[0].message.contains("employees"),
        "the message lists what may be queried: {:?}",
        r.reasons
    );
}

#[test]
fn class_10_hurting_other_sessions() {
    let c = run_class(10);
    for sql in [
        "SELECT pg_sleep(1)",
        "SELECT pg_cancel_backend(1)",
        "SELECT pg_advisory_lock(1)",
    ] {
        has(&c.auditor, sql, ReasonCode::FunctionNotAllowed);
    }
}

#[test]
fn class_11_resource_exhaustion() {
    let c = run_class(11);
    has(
        &c.auditor,
        "SELECT * FROM generate_series(1, 10000000000)",
        ReasonCode::FunctionNotAllowed,
    );
    has(
        &c.auditor,
        "SELECT repeat('x', 1000000000)",
        ReasonCode::FunctionNotAllowed,
    );
    has(
        &c.auditor,
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
        ReasonCode::RecursiveCte,
    );
    has(
        &c.auditor,
        "SELECT count(*) FROM employees a, employees b, employees c, employees d, employees e, employees f, employees g, employees h",
        ReasonCode::TooManyJoins,
    );
    has(
        &c.auditor,
        "SELECT * FROM (SELECT * FROM (SELECT * FROM (SELECT * FROM (SELECT * FROM (SELECT id FROM employees) a) b) c) d) e",
        ReasonCode::TooDeep,
    );
    // Exactly at the caps is fine.
    accept(
        &c.auditor,
        "SELECT count(*) FROM employees a, employees b, employees c, employees d, employees e, employees f, employees g",
    );
    accept(
        &c.auditor,
        "SELECT * FROM (SELECT * FROM (SELECT * FROM (SELECT * FROM (SELECT id FROM employees) a) b) c) d",
    );
    // The row cap: LIMIT ALL and larger limits become the cap; a smaller limit is kept.
    let a = accept(&c.auditor, "SELECT id FROM drug_tests LIMIT ALL");
    assert_eq!(a.row_cap_applied, 1000);
    assert!(a.sql.ends_with("LIMIT 1000"), "{}", a.sql);
    let a = accept(&c.auditor, "SELECT id FROM drug_tests LIMIT 100000000");
    assert!(a.sql.ends_with("LIMIT 1000"), "{}", a.sql);
    let a = accept(&c.auditor, "SELECT id FROM drug_tests LIMIT 25 OFFSET 50");
    assert_eq!(a.row_cap_applied, 25);
    assert!(a.sql.ends_with("LIMIT 25 OFFSET 50"), "{}", a.sql);
    let a = accept(
        &c.auditor,
        "SELECT id FROM drug_tests OFFSET 5 ROWS FETCH FIRST 7 ROWS ONLY",
    );
    assert_eq!(a.row_cap_applied, 7);
    has(
        &c.auditor,
        "SELECT id FROM drug_tests LIMIT (SELECT 5)",
        ReasonCode::BadLimit,
    );
    has(
        &c.auditor,
        "SELECT id FROM drug_tests LIMIT 10 + 5",
        ReasonCode::BadLimit,
    );
}

#[test]
fn class_12_getting_around_column_rules() {
    let c = run_class(12);
    for sql in [
        "SELECT to_jsonb(e) FROM employees e",
        "SELECT e::text FROM employees e",
        "SELECT e FROM employees e",
        "SELECT to_jsonb(e.*) FROM employees e",
        "SELECT (e).ssn_last4 FROM employees e",
    ] {
        has(&c.auditor, sql, ReasonCode::WholeRowReference);
        has(&c.site, sql, ReasonCode::WholeRowReference);
    }
    has(
        &c.site,
        "SELECT x.c FROM (SELECT * FROM employees) x(a, b, c)",
        ReasonCode::AliasColumnList,
    );
    has(
        &c.site,
        "WITH t(a, b) AS (SELECT id, job_title FROM employees) SELECT b FROM t",
        ReasonCode::AliasColumnList,
    );
    // An alias list that repeats the names renames nothing and is allowed.
    accept(
        &c.site,
        "SELECT x.id FROM (SELECT id, job_title FROM employees) x(id, job_title)",
    );
    let r = reject(&c.auditor, "SELECT e.ssn_last4 FROM employees e");
    assert_eq!(r.reasons[0].code, ReasonCode::ColumnNotAllowed);
    assert_eq!(
        r.reasons[0].message,
        "column employees.ssn_last4 is not available to the auditor role; use employees.id to identify the record"
    );
    for sql in [
        "SELECT count(*) FROM employees WHERE date_of_birth < '1980-01-01'",
        "SELECT id FROM employees ORDER BY last_name",
        "SELECT e.id FROM employees e GROUP BY e.first_name, e.id",
        "SELECT d.id FROM drug_tests d JOIN employees e ON e.first_name = 'Ann' AND e.id = d.employee_id",
        "SELECT x.dob FROM (SELECT date_of_birth AS dob FROM employees) x WHERE x.dob > '1990-01-01'",
        "SELECT last_name, count(*) FROM employees GROUP BY 1",
        "SELECT first_name AS f FROM employees ORDER BY f",
    ] {
        has(&c.auditor, sql, ReasonCode::MaskedColumnMisuse);
    }
    // A masked column listed as it is reads as a typed NULL, and the rewritten SQL never
    // names the column (the de-identified login role has no grant on it).
    let a = accept(&c.auditor, "SELECT e.id, e.last_name FROM employees e");
    assert!(a.sql.contains("NULL::TEXT AS last_name"), "{}", a.sql);
    assert!(!a.sql.contains("ssn_last4"), "{}", a.sql);
    assert_eq!(a.masked, vec!["employees.last_name".to_string()]);
    // SELECT * through a subquery expands to the visible columns only.
    let a = accept(&c.auditor, "SELECT * FROM (SELECT * FROM employees) x");
    assert!(!a.sql.contains("ssn_last4"), "{}", a.sql);
    assert!(
        a.sql.starts_with("SELECT x.\"id\", x.tenant_id"),
        "{}",
        a.sql
    );
}

#[test]
fn class_13_leaks_through_errors_and_inference() {
    let c = run_class(13);
    has(
        &c.auditor,
        "SELECT ssn_last4::int FROM employees",
        ReasonCode::ColumnNotAllowed,
    );
    has(
        &c.auditor,
        "SELECT e.first_name::int FROM employees e",
        ReasonCode::MaskedColumnMisuse,
    );
    has(
        &c.auditor,
        "SELECT length(description) FROM osha_cases",
        ReasonCode::MaskedColumnMisuse,
    );
}

#[test]
fn class_14_parser_disagreement() {
    let c = run_class(14);
    has(
        &c.site,
        "SELECT * FROM ONLY employees",
        ReasonCode::UnsupportedSyntax,
    );
    has(&c.site, "SELECT * FROM employees*", ReasonCode::ParseError);
    has(
        &c.site,
        "SELECT U&\"ssn_last4\" FROM employees",
        ReasonCode::UnsupportedSyntax,
    );
    has(
        &c.site,
        "SELECT U&'\\0041' FROM employees",
        ReasonCode::LiteralNotAllowed,
    );
    has(
        &c.site,
        "SELECT E'\\x41' FROM employees",
        ReasonCode::LiteralNotAllowed,
    );
    has(
        &c.site,
        "SELECT 'a\\', id, '' FROM employees",
        ReasonCode::LiteralNotAllowed,
    );
    has(
        &c.site,
        "SELECT id FROM employees WHERE job_title = $1",
        ReasonCode::LiteralNotAllowed,
    );
    has(
        &c.site,
        "SELECT id FROM employees WHERE id OPERATOR(pg_catalog.=) id",
        ReasonCode::OperatorNotAllowed,
    );
    let r = reject(&c.site, "TABLE employees");
    assert!(
        r.has(ReasonCode::UnsupportedSyntax) || r.has(ReasonCode::ParseError),
        "{:?}",
        r.reasons
    );
    // sqlparser prints a double negation as `--1`, a comment; the guard prints `-(-1)`.
    let a = accept(&c.site, "SELECT - -1 AS one, e.id FROM employees e");
    assert!(a.sql.starts_with("SELECT -(-1) AS one"), "{}", a.sql);
    // Precedence is made explicit, so PostgreSQL groups exactly as the guard did.
    let a = accept(
        &c.site,
        "SELECT id FROM employees WHERE is_dot_covered OR is_safety_sensitive AND job_title = 'x'",
    );
    assert!(
        a.sql
            .contains("WHERE is_dot_covered OR (is_safety_sensitive AND (job_title = 'x'))"),
        "{}",
        a.sql
    );
}

#[test]
fn class_15_identifier_tricks() {
    let c = run_class(15);
    has(
        &c.site,
        "SELECT * FROM \"Employees\"",
        ReasonCode::RelationNotAllowed,
    );
    has(
        &c.site,
        "SELECT \"SSN_LAST4\" FROM employees",
        ReasonCode::UnknownColumn,
    );
    has(
        &c.auditor,
        "SELECT Ssn_Last4 FROM employees",
        ReasonCode::ColumnNotAllowed,
    );
    has(
        &c.site,
        "SELECT * FROM public.employees",
        ReasonCode::SchemaNotAllowed,
    );
    has(
        &c.site,
        "WITH employees AS (SELECT * FROM pg_catalog.pg_roles) SELECT * FROM employees",
        ReasonCode::SchemaNotAllowed,
    );
    has(
        &c.site,
        "SELECT employees.id FROM employees e",
        ReasonCode::UnknownColumn,
    );
    has(
        &c.site,
        "SELECT id FROM employees AS aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ReasonCode::UnsupportedSyntax,
    );
    // Unquoted names fold to lower case; quoted lower-case names match exactly.
    accept(&c.site, "SELECT E.ID FROM EMPLOYEES E");
    accept(
        &c.site,
        "SELECT \"e\".\"id\" FROM \"compliance\".\"employees\" AS \"e\"",
    );
    // A CTE named like a table shadows it, and is itself checked.
    let a = accept(
        &c.site,
        "WITH drug_tests AS (SELECT id FROM employees) SELECT count(*) FROM drug_tests",
    );
    assert_eq!(a.tables, vec!["employees".to_string()]);
    // A schema-qualified name never refers to a CTE.
    let a = accept(
        &c.site,
        "WITH drug_tests AS (SELECT id FROM employees) SELECT count(*) FROM compliance.drug_tests",
    );
    assert_eq!(
        a.tables,
        vec!["drug_tests".to_string(), "employees".to_string()]
    );
    assert!(
        a.sql.contains("FROM compliance.drug_tests WHERE"),
        "{}",
        a.sql
    );
}

#[test]
fn class_16_comments_and_dollar_quoting() {
    let c = run_class(16);
    for sql in [
        "SELECT 1 /* ; */ ; DELETE FROM employees",
        "SELECT $$ ; $$; DELETE FROM employees",
    ] {
        has(&c.site, sql, ReasonCode::MultipleStatements);
    }
    // Dollar-quoted strings become plain strings; comments disappear from the output.
    let a = accept(
        &c.site,
        "SELECT $tag$ it's $$ ; $tag$ AS s /* a -- comment */ FROM employees -- bye",
    );
    assert!(
        a.sql.starts_with("SELECT ' it''s $$ ; ' AS s FROM"),
        "{}",
        a.sql
    );
    assert!(!a.sql.contains("--") && !a.sql.contains("/*"), "{}", a.sql);
    has(
        &c.site,
        "SELECT $$a\\$$ FROM employees",
        ReasonCode::LiteralNotAllowed,
    );
}

#[test]
fn class_17_the_guards_own_rewriter() {
    let c = run_class(17);
    // The scope sits in a wrapper around the table; the user's OR keeps its meaning.
    let a = accept(
        &c.site,
        "SELECT * FROM employees WHERE employment_status = 'active' OR true",
    );
    assert!(
        a.sql
            .ends_with("AS employees WHERE (employment_status = 'active') OR true LIMIT 1000"),
        "{}",
        a.sql
    );
    assert!(a.sql.contains("FROM compliance.employees WHERE (tenant_id = ANY($1::UUID[])) AND (location_id = ANY($2::UUID[]))"));
    let a = accept(
        &c.own,
        "SELECT e.id FROM employees e LEFT JOIN drug_tests d ON d.employee_id = e.id OR true",
    );
    assert_eq!(
        a.sql.matches("employee_id = $2::UUID").count(),
        2,
        "{}",
        a.sql
    );
}

#[test]
fn class_18_prompt_injection() {
    let c = run_class(18);
    // Whatever tenant the drafted SQL names, rows come only from the caller's tenants.
    let a = accept(
        &c.auditor,
        "SELECT * FROM employees WHERE tenant_id = '22222222-2222-4222-8222-222222222299'",
    );
    assert!(
        a.sql.contains("WHERE tenant_id = ANY($1::UUID[])"),
        "{}",
        a.sql
    );
    assert_eq!(
        serde_json::to_value(&a.params).unwrap(),
        serde_json::json!([{"type": "uuid[]", "value": [common::fixture::TENANT_A, common::fixture::TENANT_B]}])
    );
}

#[test]
fn a_copy_of_the_wrapper_is_recognised_only_when_exact() {
    let c = callers();
    let out = accept(&c.site, "SELECT e.id FROM employees e").sql;
    // Exactly the guard's own wrapper: accepted unchanged.
    assert_eq!(accept(&c.site, &out).sql, out);
    // The same shape with another parameter number is user SQL: its $2 is rejected.
    let forged = out.replace("$2::UUID[]", "$3::UUID[]");
    has(&c.site, &forged, ReasonCode::LiteralNotAllowed);
    // The same shape with a weaker predicate is user SQL: the inner table gets scoped again.
    let weaker = out.replace(
        "(tenant_id = ANY($1::UUID[])) AND (location_id = ANY($2::UUID[]))",
        "true",
    );
    let a = accept(&c.site, &weaker);
    assert_ne!(a.sql, weaker);
    // Another caller's wrapper (different columns or scope) is not this caller's.
    let theirs = accept(&c.auditor, "SELECT e.id FROM employees e").sql;
    let r = c.site.check(&theirs);
    assert!(
        r.is_err(),
        "the auditor's wrapper uses $1 only, the site supervisor's needs $2 too"
    );
}

#[test]
fn decision_json_has_the_cli_shape() {
    let c = callers();
    let ok =
        deriq_sql_guard::Decision::from_result(&c.auditor.check("SELECT count(*) FROM employees"));
    let v = ok.to_json();
    assert_eq!(v["decision"], "allow");
    assert_eq!(v["tables"], serde_json::json!(["employees"]));
    assert_eq!(v["params"][0]["type"], "uuid[]");
    assert_eq!(ok.exit_code(), 0);
    let no = deriq_sql_guard::Decision::from_result(&c.auditor.check("SELECT pg_sleep(1)"));
    let v = no.to_json();
    assert_eq!(v["decision"], "reject");
    assert_eq!(v["sql"], serde_json::Value::Null);
    assert_eq!(v["reasons"][0]["code"], "function_not_allowed");
    assert!(
        v["reasons"][0]["message"]
            .as_str()
            .unwrap()
            .contains("pg_sleep")
    );
    assert_eq!(no.exit_code(), 3);
}
