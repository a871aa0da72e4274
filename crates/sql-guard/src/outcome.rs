//! What the guard returns: an accepted, rewritten query or a rejection with reasons.

use std::fmt;

use serde::Serialize;

/// Why a statement was rejected, as a stable machine-readable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// The text is empty, too long, or does not parse as PostgreSQL.
    ParseError,
    /// More than one statement in the text.
    MultipleStatements,
    /// A statement that is not a query (INSERT, SET, EXPLAIN, COPY, ...).
    NotAQuery,
    /// A data-modifying CTE or a write inside a query.
    DataModifying,
    /// `SELECT ... INTO`.
    SelectInto,
    /// `FOR UPDATE` / `FOR SHARE`.
    LockingClause,
    /// A table, view or catalog that the caller may not read.
    RelationNotAllowed,
    /// A schema other than the business schema.
    SchemaNotAllowed,
    /// A column that exists but is not available to the caller.
    ColumnNotAllowed,
    /// A column or table alias that cannot be resolved.
    UnknownColumn,
    /// A column name that matches more than one table in scope.
    AmbiguousColumn,
    /// A whole-row reference (`e`, `e.*` inside an expression, `to_jsonb(e)`).
    WholeRowReference,
    /// A masked column used anywhere but listed as it is in a select list.
    MaskedColumnMisuse,
    /// A function outside the allow-list.
    FunctionNotAllowed,
    /// An operator outside the allow-list.
    OperatorNotAllowed,
    /// A cast or typed literal to a type outside the allow-list.
    TypeNotAllowed,
    /// A literal form outside the allow-list (E'', U&'', backslashes, bind placeholders).
    LiteralNotAllowed,
    /// A table alias column list that renames columns.
    AliasColumnList,
    /// A construct the guard does not model exactly (`ONLY`, `U&` identifiers, dialect
    /// extensions, ...).
    UnsupportedSyntax,
    /// Too many joins.
    TooManyJoins,
    /// Subqueries or expressions nested too deeply.
    TooDeep,
    /// `WITH RECURSIVE` when the policy does not allow it.
    RecursiveCte,
    /// A LIMIT or OFFSET that is not a plain non-negative integer.
    BadLimit,
    /// The policy itself is unusable.
    PolicyInvalid,
    /// The rewritten SQL did not re-validate to itself; an internal safety net.
    RewriteUnstable,
}

/// One reason for a rejection: a code and a plain message that says what was wrong and
/// what would be allowed, so that a drafter can correct its attempt.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Reason {
    /// Machine-readable code.
    pub code: ReasonCode,
    /// Plain-language message.
    pub message: String,
}

impl Reason {
    /// A reason from a code and a message.
    pub fn new(code: ReasonCode, message: impl Into<String>) -> Self {
        Reason {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A bind parameter of the rewritten SQL, typed so that the executor binds it over the
/// extended protocol with that type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "value")]
pub enum Param {
    /// A `uuid[]` parameter (UUIDs as text).
    #[serde(rename = "uuid[]")]
    UuidArray(Vec<String>),
    /// A `uuid` parameter (as text).
    #[serde(rename = "uuid")]
    Uuid(String),
}

/// A statement the guard accepted, rewritten to the caller's scope.
///
/// Only [`Accepted::sql`] is ever executed, with [`Accepted::params`] bound in order as
/// `$1, $2, ...`, each with its declared type (every parameter is listed, also one that a
/// given statement does not use, so bind them all with their types).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Accepted {
    /// The rewritten SQL.
    pub sql: String,
    /// The bind parameters, `$1` first.
    pub params: Vec<Param>,
    /// The base tables read (lower case, unqualified).
    pub tables: Vec<String>,
    /// The base columns referenced, as `table.column`.
    pub columns_read: Vec<String>,
    /// The masked columns referenced (read as typed NULLs), as `table.column`.
    pub masked: Vec<String>,
    /// The scope predicates injected, one line per table.
    pub injected: Vec<String>,
    /// The outer LIMIT of the rewritten SQL (never above the policy's row cap).
    pub row_cap_applied: u64,
}

/// A statement the guard refused, with every reason it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}", self.summary())]
pub struct Rejected {
    /// The reasons, at least one.
    pub reasons: Vec<Reason>,
}

impl Rejected {
    /// A rejection with a single reason.
    pub fn single(code: ReasonCode, message: impl Into<String>) -> Self {
        Rejected {
            reasons: vec![Reason::new(code, message)],
        }
    }

    /// Whether any reason has this code.
    pub fn has(&self, code: ReasonCode) -> bool {
        self.reasons.iter().any(|r| r.code == code)
    }

    /// All messages joined with "; ".
    pub fn summary(&self) -> String {
        self.reasons
            .iter()
            .map(|r| r.message.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The decision in the shape printed by `deriq guard --json`:
/// `{"decision": "allow"|"reject", "sql": ..., "params": [...], "reasons": [...], "tables": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// `"allow"` or `"reject"`.
    pub decision: &'static str,
    /// The rewritten SQL when allowed, otherwise null.
    pub sql: Option<String>,
    /// The bind parameters when allowed, otherwise empty.
    pub params: Vec<Param>,
    /// The reasons when rejected, otherwise empty.
    pub reasons: Vec<Reason>,
    /// The base tables read when allowed, otherwise empty.
    pub tables: Vec<String>,
}

impl Decision {
    /// The decision for a guard result.
    pub fn from_result(result: &Result<Accepted, Rejected>) -> Self {
        match result {
            Ok(a) => Decision {
                decision: "allow",
                sql: Some(a.sql.clone()),
                params: a.params.clone(),
                reasons: Vec::new(),
                tables: a.tables.clone(),
            },
            Err(r) => Decision {
                decision: "reject",
                sql: None,
                params: Vec::new(),
                reasons: r.reasons.clone(),
                tables: Vec::new(),
            },
        }
    }

    /// The process exit status of `deriq guard`: 0 for allow, 3 for reject.
    pub fn exit_code(&self) -> i32 {
        if self.decision == "allow" { 0 } else { 3 }
    }

    /// The decision as a JSON value.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}
