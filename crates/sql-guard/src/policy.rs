//! The caller's policy: what the guard allows and how it scopes every table.
//!
//! The guard knows nothing about the business schema by heart; everything comes in a
//! [`Policy`] that the gateway builds from the role × module permission matrix and the
//! schema catalogue of `crates/core`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Which data tier the caller's role works in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Every column the role's modules allow, PII included.
    Full,
    /// No PII: such columns are masked (read as a typed NULL) or rejected.
    Deidentified,
}

impl Tier {
    /// A short human name for messages.
    pub fn label(self) -> &'static str {
        match self {
            Tier::Full => "full",
            Tier::Deidentified => "de-identified",
        }
    }
}

/// Everything the guard needs to know about one caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Role name, used in messages (`auditor`).
    pub role: String,
    /// The caller's data tier.
    pub tier: Tier,
    /// The business schema (`compliance`). A table may be written qualified with it or
    /// unqualified; nothing else may be named.
    pub schema: String,
    /// The only relations that may be read, by lower-case name.
    pub tables: BTreeMap<String, TablePolicy>,
    /// The only functions that may be called (lower-case names).
    pub functions: BTreeSet<String>,
    /// The largest number of rows a query may return (outer LIMIT).
    pub row_cap: u64,
    /// The largest number of joins (explicit joins plus extra FROM items) in one statement.
    pub max_joins: usize,
    /// The deepest nesting of subqueries (derived tables, CTE bodies, expression subqueries).
    pub max_depth: usize,
    /// Whether `WITH RECURSIVE` is allowed.
    pub allow_recursive_cte: bool,
    /// The values bound to the scope predicates.
    pub scope: ScopeParams,
}

/// What the policy says about one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TablePolicy {
    /// The table's columns in catalogue order; `*` expands to the visible ones in this order.
    pub columns: Vec<ColumnPolicy>,
    /// The predicates injected for every reference to this table.
    pub scope: Vec<ScopeFilter>,
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnPolicy {
    /// Column name (lower case, as in the catalogue).
    pub name: String,
    /// PostgreSQL type as declared (`text`, `date`, `uuid`, `char(2)`, `text[]` ...);
    /// used to build the typed NULL of a masked column.
    pub sql_type: String,
    /// Whether the caller may read the column.
    pub access: ColumnAccess,
}

/// How the caller may read a column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ColumnAccess {
    /// Readable.
    Allowed,
    /// Read as `NULL::<type>`: the rewritten SQL never mentions the column. A masked
    /// column may only be listed as it is in a select list, never filtered, joined,
    /// grouped or sorted on.
    Masked,
    /// Not available at all; `hint` says what to use instead ("use employees.id").
    Rejected {
        /// What the drafter should use instead.
        hint: String,
    },
}

/// A scope predicate injected for every reference to a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScopeFilter {
    /// `<column> = ANY($tenants::uuid[])`, always applied.
    Tenant {
        /// The tenant column (`tenant_id`).
        column: String,
    },
    /// `<column> = ANY($locations::uuid[])`, applied when the caller is limited to locations.
    Locations {
        /// The location column (`location_id`).
        column: String,
    },
    /// `<column> = $employee::uuid`, applied when the caller sees only their own records.
    Employee {
        /// The employee column (`employee_id`).
        column: String,
    },
}

impl ScopeFilter {
    /// The column the filter reads.
    pub fn column(&self) -> &str {
        match self {
            ScopeFilter::Tenant { column }
            | ScopeFilter::Locations { column }
            | ScopeFilter::Employee { column } => column,
        }
    }
}

/// The values bound to the scope predicates (UUIDs as text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeParams {
    /// The tenants whose rows are visible; empty means nothing is.
    pub tenant_ids: Vec<String>,
    /// `None`: every location of those tenants; `Some`: only these.
    pub location_ids: Option<Vec<String>>,
    /// `Some`: only this employee's own records.
    pub employee_id: Option<String>,
}

/// A policy that cannot be used; a mistake in how the gateway built it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A table, column or schema name that is not a plain lower-case identifier.
    #[error("policy name {0:?} is not a lower-case SQL identifier")]
    BadName(String),
    /// A column listed twice in one table.
    #[error("table {table} lists column {column} twice")]
    DuplicateColumn {
        /// The table.
        table: String,
        /// The repeated column.
        column: String,
    },
    /// A scope filter on a column the table does not have.
    #[error("table {table} has a scope filter on unknown column {column}")]
    UnknownScopeColumn {
        /// The table.
        table: String,
        /// The missing column.
        column: String,
    },
    /// A table without a tenant filter: every table must be scoped to the caller's tenants.
    #[error("table {0} has no tenant scope filter")]
    UnscopedTable(String),
    /// A table whose columns are all rejected: it has nothing to read.
    #[error("table {0} has no readable column")]
    NoVisibleColumns(String),
    /// The scoped wrapper of a table does not print and parse back to itself.
    #[error("the scoped wrapper of table {0} does not round-trip through the parser")]
    WrapperRoundTrip(String),
    /// A masked column whose type does not parse.
    #[error("column {table}.{column} has a type that does not parse: {sql_type:?}")]
    BadType {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The declared type.
        sql_type: String,
    },
}
