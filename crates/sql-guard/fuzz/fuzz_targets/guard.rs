//! Fuzz target: the guard never panics, and whatever it accepts is one query whose every
//! relation is a policy table read through its scoped wrapper, with only allowed
//! functions and a capped LIMIT (checked by the independent oracle of the tests), and a
//! fixed point of the guard. Run with:
//!
//! ```sh
//! cd crates/sql-guard/fuzz
//! RUSTC_BOOTSTRAP=1 cargo fuzz run guard -- -dict=guard.dict -max_len=2048
//! ```
#![no_main]
#![allow(clippy::panic, clippy::unwrap_used)]

#[path = "../../tests/common/fixture.rs"]
#[allow(dead_code)]
mod fixture;
#[path = "../../tests/common/oracle.rs"]
#[allow(dead_code)]
mod oracle;

use std::sync::OnceLock;

use deriq_sql_guard::Guard;
use libfuzzer_sys::fuzz_target;

fn guards() -> &'static [Guard; 3] {
    static GUARDS: OnceLock<[Guard; 3]> = OnceLock::new();
    GUARDS.get_or_init(|| {
        [
            fixture::compiled(fixture::auditor()),
            fixture::compiled(fixture::site_supervisor()),
            fixture::compiled(fixture::employee_self()),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else { return };
    for g in guards() {
        let Ok(accepted) = g.check(sql) else { continue };
        if let Err(e) = oracle::verify(&accepted.sql, g.policy()) {
            panic!("accepted output escapes the allow-lists: {e}\n  input: {sql:?}");
        }
        match g.check(&accepted.sql) {
            Ok(again) if again == accepted => {}
            other => panic!("output is not a fixed point: {other:?}\n  input: {sql:?}"),
        }
    }
});
