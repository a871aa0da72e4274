//! Runs the guard's accepted SQL on a read replica, as the query login role of the
//! caller's tier, in one read-only transaction with the signed scope, over the extended
//! protocol. Checks an EXPLAIN cost ceiling first, returns typed columns and rows, and
//! suppresses small counts for the de-identified tier.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use deriq_core::{Scope, ScopeKey, Tier};
use deriq_sql_guard::{Accepted, Param};
use serde::Serialize;
use serde_json::Value;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgRow};
use sqlx::{Column, PgPool, Row, TypeInfo, ValueRef};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::db::scoped::{self, QueryPools};
use crate::db::Endpoints;

/// Limits of one execution.
#[derive(Debug, Clone, Copy)]
pub struct ExecLimits {
    /// statement_timeout of the query, in milliseconds.
    pub statement_timeout_ms: u32,
    /// Queries whose planned total cost exceeds this are not run.
    pub max_plan_cost: f64,
    /// De-identified tier: counts below `k` are shown as "<k".
    pub small_group_k: i64,
}

impl Default for ExecLimits {
    fn default() -> Self {
        ExecLimits { statement_timeout_ms: 5000, max_plan_cost: 5_000_000.0, small_group_k: 5 }
    }
}

/// One result column.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ResultColumn {
    pub name: String,
    /// PostgreSQL type name (`int8`, `date`, `numeric`, ...).
    pub pg_type: String,
}

/// The typed result of a query.
#[derive(Debug, Clone, Serialize)]
pub struct QueryResult {
    pub columns: Vec<ResultColumn>,
    /// Cells as JSON: numbers for integers and floats, exact strings for numerics, ISO
    /// strings for dates and times, null for NULL.
    pub rows: Vec<Vec<Value>>,
    /// The planner's estimated total cost.
    pub plan_cost: f64,
    /// Cells replaced by "<k" for the de-identified tier.
    pub suppressed_cells: usize,
    pub database_ms: f64,
}

/// Execution failed. Messages never carry row values.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("no healthy read replica; try again shortly (or set DERIQ_REPLICA_FALLBACK_TO_PRIMARY=true)")]
    NoHealthyReplica,
    #[error("the query is too expensive to run (estimated cost {cost:.0} > {limit:.0}); narrow it with a date range, a location or a LIMIT")]
    TooExpensive { cost: f64, limit: f64 },
    #[error("the query took longer than {0} ms and was cancelled; narrow it")]
    Timeout(u32),
    #[error("the database rejected the query ({sqlstate}): {message}")]
    Rejected { sqlstate: String, message: String },
    #[error("column {column} has the type {pg_type}, which cannot be returned; cast it to text")]
    UnsupportedType { column: String, pg_type: String },
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

impl ExecError {
    /// A message safe to show to the caller and to a drafter: SQLSTATE classes and the
    /// kind of error, never the server's text (which can quote values, e.g. a cast error
    /// that prints an SSN).
    pub fn sanitised(&self) -> String {
        match self {
            ExecError::Rejected { sqlstate, .. } => format!("the database rejected the query (SQLSTATE {sqlstate}: {})", sqlstate_class(sqlstate)),
            other => other.to_string(),
        }
    }
}

fn sqlstate_class(code: &str) -> &'static str {
    match code.get(..2) {
        Some("22") => "data exception, e.g. an invalid cast or division by zero",
        Some("42") => match code {
            "42501" => "permission denied on a table or column",
            "42703" => "unknown column",
            "42P01" => "unknown table",
            "42883" => "unknown function or operator for these types",
            _ => "syntax error or access rule violation",
        },
        Some("57") => "query cancelled",
        Some("53") => "insufficient resources",
        Some("25") => "invalid transaction state",
        _ => "other error",
    }
}

struct Replica {
    /// The four query logins on this server.
    pools: QueryPools,
    /// Until when the replica is considered down, after a connection failure.
    down_until: Mutex<Option<Instant>>,
    name: String,
}

/// Runs accepted queries on the replicas (round-robin, with health tracking).
pub struct Executor {
    replicas: Vec<Arc<Replica>>,
    fallback: Option<Arc<Replica>>,
    next: AtomicUsize,
    key: ScopeKey,
    pub limits: ExecLimits,
}

fn replica(name: String, base: &PgConnectOptions, endpoints: &Endpoints) -> Arc<Replica> {
    Arc::new(Replica {
        pools: QueryPools::connect_lazy(base, &endpoints.query_full_password, &endpoints.query_deid_password, 8),
        down_until: Mutex::new(None),
        name,
    })
}

impl Executor {
    /// An executor over the configured replicas (pools connect lazily).
    pub fn new(endpoints: &Endpoints, fallback_to_primary: bool, limits: ExecLimits) -> Self {
        let replicas = endpoints
            .replicas
            .iter()
            .map(|r| replica(format!("{}:{}", r.get_host(), r.get_port()), r, endpoints))
            .collect();
        let fallback = fallback_to_primary.then(|| replica("primary".into(), &endpoints.admin, endpoints));
        Executor { replicas, fallback, next: AtomicUsize::new(0), key: endpoints.scope_key.clone(), limits }
    }

    /// An executor on one database for every tier (tests, the eval suite).
    pub fn on(base: &PgConnectOptions, endpoints: &Endpoints, limits: ExecLimits) -> Self {
        Executor { replicas: vec![replica("test".into(), base, endpoints)], fallback: None, next: AtomicUsize::new(0), key: endpoints.scope_key.clone(), limits }
    }

    async fn pick(&self) -> Result<Arc<Replica>, ExecError> {
        let n = self.replicas.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..n {
            let r = &self.replicas[(start + i) % n];
            let down = r.down_until.lock().await;
            if down.is_none_or(|t| Instant::now() >= t) {
                return Ok(r.clone());
            }
        }
        self.fallback.clone().ok_or(ExecError::NoHealthyReplica)
    }

    /// Runs an accepted query for a caller. Retries once on another replica when the
    /// first cannot be reached.
    pub async fn run(&self, tier: Tier, scope: &Scope, accepted: &Accepted) -> Result<QueryResult, ExecError> {
        let mut last = ExecError::NoHealthyReplica;
        for _ in 0..2 {
            let r = self.pick().await?;
            let pool = r.pools.for_scope(tier, scope);
            match self.run_on(pool, tier, scope, accepted).await {
                Err(ExecError::Unavailable(msg)) => {
                    tracing::warn!(replica = %r.name, error = %msg, "replica unavailable; marked down for 10 s");
                    *r.down_until.lock().await = Some(Instant::now() + Duration::from_secs(10));
                    last = ExecError::Unavailable(msg);
                }
                other => return other,
            }
        }
        Err(last)
    }

    async fn run_on(&self, pool: &PgPool, tier: Tier, scope: &Scope, accepted: &Accepted) -> Result<QueryResult, ExecError> {
        let started = Instant::now();
        let mut tx = scoped::begin(pool, &self.key, tier, scope, self.limits.statement_timeout_ms).await.map_err(db_error(self.limits.statement_timeout_ms))?;
        // The guard's SQL is re-serialised and trusted; EXPLAIN is prefixed to it as text.
        let explain = format!("EXPLAIN (FORMAT JSON) {}", accepted.sql);
        let plan: Value = sqlx::query_scalar_with(&explain, arguments(&accepted.params)?)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error(self.limits.statement_timeout_ms))?;
        let plan_cost = plan.pointer("/0/Plan/Total Cost").and_then(Value::as_f64).unwrap_or(f64::MAX);
        if plan_cost > self.limits.max_plan_cost {
            return Err(ExecError::TooExpensive { cost: plan_cost, limit: self.limits.max_plan_cost });
        }
        let rows: Vec<PgRow> = sqlx::query_with(&accepted.sql, arguments(&accepted.params)?)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error(self.limits.statement_timeout_ms))?;
        // Dropping the transaction queues its ROLLBACK on the connection, ahead of anything the
        // connection runs next, so the answer does not wait for it (the scope is local to it).
        drop(tx);
        let columns: Vec<ResultColumn> = match rows.first() {
            Some(r) => r.columns().iter().map(|c| ResultColumn { name: c.name().to_string(), pg_type: c.type_info().name().to_lowercase() }).collect(),
            None => Vec::new(),
        };
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut cells = Vec::with_capacity(columns.len());
            for (i, col) in columns.iter().enumerate() {
                cells.push(cell(row, i, col)?);
            }
            out.push(cells);
        }
        let suppressed_cells = if tier == Tier::Deidentified { suppress_small_counts(&columns, &mut out, self.limits.small_group_k) } else { 0 };
        Ok(QueryResult { columns, rows: out, plan_cost, suppressed_cells, database_ms: started.elapsed().as_secs_f64() * 1e3 })
    }
}

fn uuid_param(s: &str) -> Uuid {
    // The guard's params come from our own Scope (valid UUIDs); nil never matches a row.
    Uuid::parse_str(s).unwrap_or(Uuid::nil())
}

/// The guard's parameters as typed bind arguments, `$1` first.
fn arguments(params: &[Param]) -> Result<PgArguments, ExecError> {
    use sqlx::Arguments;
    let mut args = PgArguments::default();
    for p in params {
        let added = match p {
            Param::UuidArray(v) => args.add(v.iter().map(|s| uuid_param(s)).collect::<Vec<Uuid>>()),
            Param::Uuid(s) => args.add(uuid_param(s)),
        };
        added.map_err(|e| ExecError::Unavailable(format!("cannot bind a scope parameter: {e}")))?;
    }
    Ok(args)
}

fn db_error(timeout_ms: u32) -> impl Fn(sqlx::Error) -> ExecError {
    move |e| match &e {
        sqlx::Error::Database(d) => {
            let code = d.code().map(|c| c.to_string()).unwrap_or_default();
            if code == "57014" {
                ExecError::Timeout(timeout_ms)
            } else {
                ExecError::Rejected { sqlstate: code, message: d.message().to_string() }
            }
        }
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => ExecError::Unavailable(e.to_string()),
        other => ExecError::Unavailable(other.to_string()),
    }
}

/// Converts one cell to JSON, exactly.
fn cell(row: &PgRow, i: usize, col: &ResultColumn) -> Result<Value, ExecError> {
    let raw = row.try_get_raw(i).map_err(|_| ExecError::UnsupportedType { column: col.name.clone(), pg_type: col.pg_type.clone() })?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let unsupported = || ExecError::UnsupportedType { column: col.name.clone(), pg_type: col.pg_type.clone() };
    let v = match col.pg_type.as_str() {
        "int2" => Value::from(row.try_get::<i16, _>(i).map_err(|_| unsupported())?),
        "int4" => Value::from(row.try_get::<i32, _>(i).map_err(|_| unsupported())?),
        "int8" => Value::from(row.try_get::<i64, _>(i).map_err(|_| unsupported())?),
        "float4" => Value::from(row.try_get::<f32, _>(i).map_err(|_| unsupported())? as f64),
        "float8" => Value::from(row.try_get::<f64, _>(i).map_err(|_| unsupported())?),
        "numeric" => Value::from(row.try_get::<rust_decimal::Decimal, _>(i).map_err(|_| unsupported())?.normalize().to_string()),
        "bool" => Value::from(row.try_get::<bool, _>(i).map_err(|_| unsupported())?),
        "text" | "varchar" | "bpchar" | "name" | "char" => Value::from(row.try_get::<String, _>(i).map_err(|_| unsupported())?),
        "uuid" => Value::from(row.try_get::<Uuid, _>(i).map_err(|_| unsupported())?.to_string()),
        "date" => Value::from(row.try_get::<chrono::NaiveDate, _>(i).map_err(|_| unsupported())?.to_string()),
        "timestamptz" => Value::from(row.try_get::<chrono::DateTime<chrono::Utc>, _>(i).map_err(|_| unsupported())?.to_rfc3339()),
        "timestamp" => Value::from(row.try_get::<chrono::NaiveDateTime, _>(i).map_err(|_| unsupported())?.to_string()),
        "jsonb" | "json" => row.try_get::<Value, _>(i).map_err(|_| unsupported())?,
        "text[]" | "varchar[]" | "bpchar[]" => Value::from(row.try_get::<Vec<String>, _>(i).map_err(|_| unsupported())?),
        "uuid[]" => Value::from(row.try_get::<Vec<Uuid>, _>(i).map_err(|_| unsupported())?.iter().map(|u| u.to_string()).collect::<Vec<_>>()),
        "int4[]" => Value::from(row.try_get::<Vec<i32>, _>(i).map_err(|_| unsupported())?),
        "int8[]" => Value::from(row.try_get::<Vec<i64>, _>(i).map_err(|_| unsupported())?),
        _ => return Err(unsupported()),
    };
    Ok(v)
}

/// Whether a result column holds a count of people or records (the cells that small-group
/// suppression applies to).
fn is_count_column(c: &ResultColumn) -> bool {
    let n = c.name.to_lowercase();
    matches!(c.pg_type.as_str(), "int2" | "int4" | "int8")
        && (n == "count" || n == "n" || n == "total" || n.ends_with("_count") || n.starts_with("count_") || n.starts_with("num_") || n.starts_with("number_of_") || n.ends_with("_total"))
}

/// Replaces counts in 1..k with the string "<k". Returns how many cells were replaced.
pub fn suppress_small_counts(columns: &[ResultColumn], rows: &mut [Vec<Value>], k: i64) -> usize {
    let targets: Vec<usize> = columns.iter().enumerate().filter(|(_, c)| is_count_column(c)).map(|(i, _)| i).collect();
    let mut n = 0;
    for row in rows.iter_mut() {
        for &i in &targets {
            if let Some(v) = row[i].as_i64()
                && v > 0 && v < k {
                    row[i] = Value::from(format!("<{k}"));
                    n += 1;
                }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_counts_are_suppressed_in_count_columns_only() {
        let cols = vec![
            ResultColumn { name: "state".into(), pg_type: "bpchar".into() },
            ResultColumn { name: "count".into(), pg_type: "int8".into() },
            ResultColumn { name: "days_away".into(), pg_type: "int4".into() },
        ];
        let mut rows = vec![vec![Value::from("TX"), Value::from(3), Value::from(2)], vec![Value::from("LA"), Value::from(12), Value::from(1)], vec![Value::from("NM"), Value::from(0), Value::from(0)]];
        assert_eq!(suppress_small_counts(&cols, &mut rows, 5), 1);
        assert_eq!(rows[0][1], Value::from("<5"));
        assert_eq!(rows[1][1], Value::from(12));
        assert_eq!(rows[0][2], Value::from(2), "not a count column");
        assert_eq!(rows[2][1], Value::from(0), "zero is not a small group");
    }

    #[test]
    fn sanitised_errors_never_echo_the_server_text() {
        let e = ExecError::Rejected { sqlstate: "22P02".into(), message: "invalid input syntax for type integer: \"1234\"".into() };
        let s = e.sanitised();
        assert!(!s.contains("1234") && s.contains("22P02"), "{s}");
    }
}
