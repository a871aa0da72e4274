//! SQL guard: parse, validate and rewrite drafted SQL to the caller's scope. Pure, no I/O.
//!
//! Every statement a drafter produces is untrusted. [`guard`] (or [`Guard::check`] with a
//! policy compiled once) decides whether it may run and turns it into the exact statement
//! that will run:
//!
//! * exactly one statement, and only a query (SELECT, WITH, UNION/INTERSECT/EXCEPT, VALUES);
//! * allow-lists for relations, columns, functions, operators, types and literals; names
//!   resolved like PostgreSQL (case folding, CTE scopes before tables, `*` expanded from
//!   the catalogue); anything the guard does not model exactly is rejected;
//! * every base-table reference replaced by a scoped wrapper,
//!   `(SELECT <visible columns> FROM compliance.t WHERE tenant_id = ANY($1::uuid[]) ...) AS t`,
//!   so the original predicates keep their meaning and masked columns never reach the
//!   database; the guard recognises its own wrapper, so its output passes it unchanged;
//! * caps on joins, nesting and recursion, and an outer LIMIT no larger than the row cap;
//! * the rewritten SQL is printed with explicit parentheses, parsed and validated again.
//!
//! The executor must run only [`Accepted::sql`] with [`Accepted::params`] bound over the
//! extended protocol, with `standard_conforming_strings = on` and a pinned `search_path`.

#![warn(missing_docs)]

mod compiled;
pub mod corpus;
pub mod functions;
mod names;
mod namespace;
mod outcome;
mod parens;
mod pipeline;
mod policy;
mod row_cap;
mod walker;

pub use compiled::Guard;
pub use outcome::{Accepted, Decision, Param, Reason, ReasonCode, Rejected};
pub use pipeline::MAX_SQL_BYTES;
pub use policy::{
    ColumnAccess, ColumnPolicy, Policy, PolicyError, ScopeFilter, ScopeParams, TablePolicy, Tier,
};

/// Checks one drafted statement against a policy. Compiles the policy on every call; keep
/// a [`Guard`] when checking several statements for the same caller.
pub fn guard(sql: &str, policy: &Policy) -> Result<Accepted, Rejected> {
    let compiled = Guard::new(policy.clone()).map_err(|e| {
        Rejected::single(
            ReasonCode::PolicyInvalid,
            format!("the policy is invalid: {e}"),
        )
    })?;
    compiled.check(sql)
}
