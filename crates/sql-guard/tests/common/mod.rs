//! Shared test support: the fixture catalogue and the independent output check.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

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
    let again = g.check(&a.sql).unwrap_or_else(|r| panic!("output of {sql} is rejected: {:?}", r.reasons));
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
