//! Shared test support: the fixture catalogue and the independent output check.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod fixture;
pub mod oracle;

use deriq_sql_guard::{Accepted, Guard, Rejected};

/// Checks and expects acceptance; also checks the output with the oracle and that the
/// guard accepts its own output unchanged.
pub fn accept(g: &Guard, sql: &str) -> Accepted {
    let a = match g.check(sql) {
        Ok(a) => a,
        Err(r) => panic!("expected acceptance of {sql}\n  reasons: {:?}", r.reasons),
    };
    if let Err(e) = oracle::verify(&a.sql, g.policy()) {
        panic!("accepted output fails the oracle for {sql}: {e}");
    }
    let again = g
        .check(&a.sql)
        .unwrap_or_else(|r| panic!("output of {sql} is rejected: {:?}", r.reasons));
    assert_eq!(again, a, "the guard must accept its own output unchanged");
    a
}

/// Checks and expects a rejection.
pub fn reject(g: &Guard, sql: &str) -> Rejected {
    match g.check(sql) {
        Ok(a) => panic!("expected rejection of {sql}\n  accepted as: {}", a.sql),
        Err(r) => {
            assert!(!r.reasons.is_empty());
            r
        }
    }
}

/// The accepted SQL with every scoped wrapper printed back as the table it wraps
/// (`compliance.employees AS e`), to assert on the user's part of a rewrite. The oracle
/// checks the wrappers themselves.
pub fn unwrap_scoped(sql: &str) -> String {
    use sqlparser::ast::{SetExpr, TableFactor, VisitMut, VisitorMut};
    use std::ops::ControlFlow;

    struct Unwrap;
    impl VisitorMut for Unwrap {
        type Break = ();
        fn post_visit_table_factor(&mut self, tf: &mut TableFactor) -> ControlFlow<()> {
            if let TableFactor::Derived {
                subquery,
                alias,
                lateral: false,
                ..
            } = tf
                && let SetExpr::Select(s) = subquery.body.as_ref()
                && let [twj] = s.from.as_slice()
                && let TableFactor::Table {
                    name, alias: None, ..
                } = &twj.relation
                && name.0.len() == 2
                && name.to_string().starts_with("compliance.")
                && s.selection.is_some()
            {
                *tf = TableFactor::Table {
                    name: name.clone(),
                    alias: alias.clone(),
                    args: None,
                    with_hints: vec![],
                    version: None,
                    with_ordinality: false,
                    partitions: vec![],
                    json_path: None,
                    sample: None,
                    index_hints: vec![],
                };
            }
            ControlFlow::Continue(())
        }
    }
    let mut statements =
        sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, sql)
            .unwrap();
    let _ = statements.visit(&mut Unwrap);
    statements[0].to_string()
}
