//! A bounded fuzz test that runs with the normal test suite: token soups and mutated
//! corpus queries. The guard must never panic, and whatever it accepts must pass the
//! independent oracle (one query, every relation scoped, only allowed functions, capped)
//! and be a fixed point of the guard.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::fixture::{auditor, compiled, site_supervisor};
use common::oracle;
use deriq_sql_guard::Guard;
use deriq_sql_guard::corpus::{ACCEPTED, attack_corpus};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};

const TOKENS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "JOIN",
    "LEFT",
    "ON",
    "USING",
    "GROUP BY",
    "ORDER BY",
    "HAVING",
    "LIMIT",
    "OFFSET",
    "UNION",
    "ALL",
    "EXCEPT",
    "INTERSECT",
    "WITH",
    "RECURSIVE",
    "AS",
    "LATERAL",
    "VALUES",
    "IN",
    "EXISTS",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "IS",
    "NULL",
    "TRUE",
    "DISTINCT",
    "ON",
    "FOR UPDATE",
    "INTO",
    "ONLY",
    "TABLE",
    "OVER",
    "PARTITION BY",
    "WINDOW",
    "FILTER",
    "ROWS",
    "FETCH FIRST",
    "ROW",
    "*",
    ",",
    "(",
    ")",
    ".",
    ";",
    "=",
    "<>",
    "<",
    "+",
    "-",
    "/",
    "||",
    "::",
    "::text",
    "::regclass",
    "[1]",
    "$1",
    "$$",
    "$x$",
    "'a'",
    "'%b%'",
    "E'\\x'",
    "U&",
    "\"",
    "--",
    "/*",
    "*/",
    "1",
    "0",
    "1e10",
    "employees",
    "drug_tests",
    "locations",
    "check_ins",
    "compliance",
    "compliance.employees",
    "pg_catalog",
    "pg_roles",
    "information_schema.tables",
    "e",
    "d",
    "x",
    "e.id",
    "e.*",
    "id",
    "tenant_id",
    "employee_id",
    "location_id",
    "ssn_last4",
    "first_name",
    "date_of_birth",
    "latitude",
    "count",
    "count(*)",
    "sum",
    "now()",
    "pg_sleep",
    "pg_read_file",
    "set_config",
    "to_jsonb",
    "row",
    "unnest",
    "generate_series",
    "query_to_xml",
    "format",
    "interval '1 day'",
    "ILIKE",
    "COLLATE",
    "NATURAL",
    "CROSS JOIN",
    "DELETE",
    "INSERT",
    "UPDATE",
    "SET",
    "ROLE",
    "COPY",
    "EXPLAIN",
    "DO",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(TOKENS), any::<bool>()), 1..40).prop_map(|parts| {
        let mut s = String::new();
        for (t, glue) in parts {
            if !glue && !s.is_empty() {
                s.push(' ');
            }
            s.push_str(t);
        }
        s
    })
}

fn mutated() -> impl Strategy<Value = String> {
    let seeds: Vec<&'static str> = ACCEPTED
        .iter()
        .copied()
        .chain(attack_corpus().iter().map(|a| a.sql))
        .collect();
    (
        prop::sample::select(seeds),
        prop::collection::vec(
            (
                any::<prop::sample::Index>(),
                0..4usize,
                prop::sample::select(TOKENS),
            ),
            1..4,
        ),
    )
        .prop_map(|(seed, edits)| {
            let mut words: Vec<String> = seed.split(' ').map(str::to_string).collect();
            for (at, kind, token) in edits {
                if words.is_empty() {
                    words.push(token.to_string());
                    continue;
                }
                let i = at.index(words.len());
                match kind {
                    0 => words.insert(i, token.to_string()),
                    1 => {
                        words.remove(i);
                    }
                    2 => words[i] = token.to_string(),
                    _ => {
                        let j = (i + 1) % words.len();
                        words.swap(i, j);
                    }
                }
            }
            words.join(" ")
        })
}

static ACCEPTED_CASES: AtomicU32 = AtomicU32::new(0);

fn check(guards: &[Guard], sql: &str) -> Result<(), TestCaseError> {
    for g in guards {
        if let Ok(a) = g.check(sql) {
            ACCEPTED_CASES.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = oracle::verify(&a.sql, g.policy()) {
                return Err(TestCaseError::fail(format!(
                    "accepted output fails the oracle for {sql:?}: {e}"
                )));
            }
            match g.check(&a.sql) {
                Ok(again) if again == a => {}
                other => {
                    return Err(TestCaseError::fail(format!(
                        "not a fixed point for {sql:?}: {other:?}"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Generates and checks inputs until the time budget runs out; a failure is shrunk and
/// reported with its input.
fn run(strategy: impl Strategy<Value = String>, budget: Duration) -> u32 {
    let guards = [compiled(auditor()), compiled(site_supervisor())];
    let start = Instant::now();
    let mut runner = TestRunner::new(Config {
        failure_persistence: None,
        ..Config::default()
    });
    let mut cases = 0u32;
    while start.elapsed() < budget {
        let mut tree = strategy.new_tree(&mut runner).unwrap();
        cases += 1;
        if let Err(first) = check(&guards, &tree.current()) {
            let mut last = (tree.current(), first);
            while tree.simplify() {
                match check(&guards, &tree.current()) {
                    Err(e) => last = (tree.current(), e),
                    Ok(()) => {
                        if !tree.complicate() {
                            break;
                        }
                    }
                }
            }
            panic!("fuzz failure on {:?}: {}", last.0, last.1);
        }
    }
    eprintln!(
        "{cases} cases in {:?}, {} acceptances so far",
        start.elapsed(),
        ACCEPTED_CASES.load(Ordering::Relaxed)
    );
    cases
}

#[test]
fn token_soup_never_panics_and_never_escapes() {
    let n = run(soup(), Duration::from_secs(4));
    assert!(n > 100);
}

#[test]
fn mutated_corpus_never_panics_and_never_escapes() {
    let n = run(mutated(), Duration::from_secs(4));
    assert!(n > 100);
}

#[test]
fn pathological_inputs_are_rejected_without_panicking() {
    let g = compiled(auditor());
    let deep_parens = format!(
        "SELECT {}1{} FROM employees",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    let long_chain = format!(
        "SELECT id FROM employees WHERE {}",
        vec!["1 = 1"; 3000].join(" AND ")
    );
    let deep_subqueries = format!("SELECT {}1{}", "(SELECT ".repeat(200), ")".repeat(200));
    let minus_chain = format!("SELECT {}1 FROM employees", "- ".repeat(2000));
    for sql in [
        deep_parens,
        long_chain,
        deep_subqueries,
        minus_chain,
        "\0".to_string(),
        String::new(),
        ";".repeat(100),
    ] {
        assert!(g.check(&sql).is_err());
    }
    let huge = format!("SELECT '{}'", "x".repeat(20_000));
    assert!(g.check(&huge).is_err());
}
