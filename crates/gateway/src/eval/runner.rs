//! Running one question: the drafter, the guard under the user's policy, the scoped
//! transaction of the user's tier; the gold SQL the same way; and the admin re-run of
//! every accepted statement that checks the scope independently of the guard.

use std::time::Instant;

use chrono::NaiveDate;
use deriq_core::{Scope, ScopeKey, Tier, permissions};
use deriq_sql_guard::{Accepted, Guard, Param};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;
use sqlx::postgres::PgArguments;
use uuid::Uuid;

use super::compare;
use super::suite::{EvalQuestion, Expect, with_today};
use super::{EvalError, cells};
use crate::directory;
use crate::drafter::{Draft, DraftRequest, Drafter};
use crate::db::scoped::QueryPools;
use crate::policy::{QueryLimits, guard_policy};

/// The database connections the eval uses.
pub struct EvalDatabase {
    /// A login that bypasses row-level security (the embedded superuser): directory look-ups
    /// and the independent scope check.
    pub admin: PgPool,
    /// Pools of the query logins.
    pub query: QueryPools,
    pub scope_key: ScopeKey,
    pub statement_timeout_ms: u32,
}

/// What happened to one question.
#[derive(Debug, Clone, Serialize)]
pub struct QuestionResult {
    pub id: String,
    pub question: String,
    pub user: String,
    pub role: String,
    pub module: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub expect: Expect,
    /// "data", "refused", "not_understood" or "error" (drafter failure).
    pub got: String,
    pub drafted_sql: Option<String>,
    /// The drafted SQL was accepted by the guard and ran without error.
    pub valid_sql: Option<bool>,
    /// Results equal to the gold results (data questions only).
    pub correct: Option<bool>,
    pub refusal_correct: bool,
    pub out_of_scope_rows: usize,
    /// Drafter + guard + execution of the drafted SQL.
    pub latency_ms: f64,
    /// Why the drafted query failed, or the drafter's message.
    pub note: Option<String>,
}

fn bind_params(params: &[Param]) -> Result<PgArguments, EvalError> {
    use sqlx::Arguments;
    let mut args = PgArguments::default();
    for p in params {
        let r = match p {
            Param::UuidArray(ids) => {
                let ids: Vec<Uuid> = ids.iter().map(|s| Uuid::parse_str(s)).collect::<Result<_, _>>().map_err(|e| EvalError::Param(e.to_string()))?;
                args.add(ids)
            }
            Param::Uuid(id) => args.add(Uuid::parse_str(id).map_err(|e| EvalError::Param(e.to_string()))?),
        };
        r.map_err(|e| EvalError::Param(e.to_string()))?;
    }
    Ok(args)
}

/// Runs an accepted statement under the signed scope of the tier's query role.
async fn run_scoped(db: &EvalDatabase, tier: Tier, scope: &Scope, accepted: &Accepted) -> Result<Vec<Vec<Value>>, EvalError> {
    let pool = db.query.for_scope(tier, scope);
    let mut tx = crate::db::scoped::begin(pool, &db.scope_key, tier, scope, db.statement_timeout_ms).await.map_err(EvalError::Query)?;
    let rows = sqlx::query_with(&accepted.sql, bind_params(&accepted.params)?).fetch_all(&mut *tx).await.map_err(EvalError::Query)?;
    tx.rollback().await.map_err(EvalError::Query)?;
    Ok(cells::rows(&rows))
}

/// Runs an accepted statement as the admin login (no row-level security), read-only.
async fn run_admin(db: &EvalDatabase, accepted: &Accepted) -> Result<Vec<Vec<Value>>, EvalError> {
    let mut tx = db.admin.begin().await.map_err(EvalError::Query)?;
    sqlx::query("SET TRANSACTION READ ONLY").execute(&mut *tx).await.map_err(EvalError::Query)?;
    let rows = sqlx::query_with(&accepted.sql, bind_params(&accepted.params)?).fetch_all(&mut *tx).await.map_err(EvalError::Query)?;
    tx.rollback().await.map_err(EvalError::Query)?;
    Ok(cells::rows(&rows))
}

/// The rows under RLS and the rows the admin run returns beyond them.
async fn run_checked(db: &EvalDatabase, tier: Tier, scope: &Scope, accepted: &Accepted) -> Result<(Vec<Vec<Value>>, usize), EvalError> {
    let rows = run_scoped(db, tier, scope, accepted).await?;
    let admin = run_admin(db, accepted).await?;
    let extra = compare::extra_rows(&admin, &rows);
    Ok((rows, extra))
}

/// Runs one question with a drafter.
pub async fn run_question(db: &EvalDatabase, drafter: &dyn Drafter, q: &EvalQuestion, today: NaiveDate) -> Result<QuestionResult, EvalError> {
    let user = directory::find_user(&db.admin, &q.user).await?;
    let (role, scope) = directory::scope_for(&db.admin, &user).await?;
    let tier = permissions::tier(role);
    let guard = Guard::new(guard_policy(role, &scope, QueryLimits::default())).map_err(|e| EvalError::Policy(e.to_string()))?;
    let mut result = QuestionResult {
        id: q.id.clone(),
        question: q.question.clone(),
        user: q.user.clone(),
        role: role.as_str().to_string(),
        module: q.module.clone(),
        kind: q.kind.clone(),
        expect: q.expect,
        got: String::new(),
        drafted_sql: None,
        valid_sql: None,
        correct: None,
        refusal_correct: false,
        out_of_scope_rows: 0,
        latency_ms: 0.0,
        note: None,
    };

    // The gold result first (its failure is a broken suite, not a drafter error).
    let gold_rows = match &q.gold_sql {
        Some(gold) => {
            let sql = with_today(gold, today);
            let accepted = guard.check(&sql).map_err(|r| EvalError::Gold { id: q.id.clone(), message: r.summary() })?;
            let (rows, extra) = run_checked(db, tier, &scope, &accepted).await.map_err(|e| EvalError::Gold { id: q.id.clone(), message: e.to_string() })?;
            result.out_of_scope_rows += extra;
            Some(rows)
        }
        None => None,
    };

    let started = Instant::now();
    let request = DraftRequest { question: q.question.clone(), role, today, prior_attempts: Vec::new(), passages: Vec::new(), previous: None };
    let predicted = match drafter.draft(&request).await {
        Err(e) => {
            result.got = "error".into();
            result.note = Some(e.to_string());
            None
        }
        Ok(outcome) => match outcome.draft {
            Draft::Refused { reason } => {
                result.got = "refused".into();
                result.note = Some(reason);
                None
            }
            Draft::NotUnderstood { message } => {
                result.got = "not_understood".into();
                result.note = Some(message);
                None
            }
            Draft::Sql { sql, .. } => {
                result.got = "data".into();
                result.drafted_sql = Some(sql.clone());
                match guard.check(&sql) {
                    Err(r) => {
                        result.valid_sql = Some(false);
                        result.note = Some(format!("guard: {}", r.summary()));
                        None
                    }
                    Ok(accepted) => match run_scoped(db, tier, &scope, &accepted).await {
                        Err(e) => {
                            result.valid_sql = Some(false);
                            result.note = Some(e.to_string());
                            None
                        }
                        Ok(rows) => {
                            result.valid_sql = Some(true);
                            result.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
                            let admin = run_admin(db, &accepted).await?;
                            result.out_of_scope_rows += compare::extra_rows(&admin, &rows);
                            Some(rows)
                        }
                    },
                }
            }
        },
    };
    if result.latency_ms == 0.0 {
        result.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    }
    let refused = result.got == "refused";
    let not_understood = result.got == "not_understood";
    result.refusal_correct = refused == (q.expect == Expect::Refused) && not_understood == (q.expect == Expect::NotUnderstood);
    if let Some(gold) = gold_rows {
        result.correct = Some(predicted.as_ref().is_some_and(|p| compare::results_match(&gold, p, q.ordered)));
    }
    Ok(result)
}
