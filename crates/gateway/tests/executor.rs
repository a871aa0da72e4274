//! The executor on the real database: typed rows, the EXPLAIN cost ceiling, timeouts,
//! small-count suppression for the de-identified tier, and replica failure handling.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::TestApp;
use deriq_core::{Role, Scope};
use deriq_gateway::executor::{ExecError, ExecLimits, Executor};
use deriq_gateway::policy::{QueryLimits, guard_policy};
use serde_json::Value;

async fn accepted(app: &TestApp, role: Role, tenant: &str, sql: &str) -> (Scope, deriq_sql_guard::Accepted) {
    let (_, scope) = app.user_scope(role, tenant).await;
    let policy = guard_policy(role, &scope, QueryLimits::default());
    (scope.clone(), deriq_sql_guard::guard(sql, &policy).unwrap_or_else(|r| panic!("{sql}: {r}")))
}

fn executor(app: &TestApp, limits: ExecLimits) -> Executor {
    Executor::on(&app.endpoints.admin_on(&app.name), &app.endpoints, limits)
}

#[tokio::test]
async fn rows_are_typed_exactly() {
    let app = TestApp::new().await;
    let (scope, ok) = accepted(
        &app,
        Role::CompanyAdmin,
        "permian-hauling",
        "SELECT collection_date, alcohol_concentration, result_date, is_dot, substances, count(*) OVER () AS n \
         FROM drug_tests WHERE test_type = 'alcohol' AND result = 'negative' ORDER BY collection_date LIMIT 3",
    )
    .await;
    let r = executor(&app, ExecLimits::default()).run(deriq_core::Tier::Full, &scope, &ok).await.unwrap();
    let types: Vec<&str> = r.columns.iter().map(|c| c.pg_type.as_str()).collect();
    assert_eq!(types, ["date", "numeric", "date", "bool", "text[]", "int8"]);
    let row = &r.rows[0];
    assert!(row[0].as_str().unwrap().len() == 10 && row[0].as_str().unwrap().as_bytes()[4] == b'-', "{row:?}");
    assert_eq!(row[1], Value::from("0"), "numerics are exact strings");
    assert!(row[3].is_boolean() && row[4].is_array() && row[5].is_i64());
    // NULLs stay NULL.
    let (scope, ok) = accepted(&app, Role::CompanyAdmin, "permian-hauling", "SELECT termination_date FROM employees WHERE employment_status = 'active' LIMIT 1").await;
    let r = executor(&app, ExecLimits::default()).run(deriq_core::Tier::Full, &scope, &ok).await.unwrap();
    assert_eq!(r.rows[0][0], Value::Null);
    app.cleanup().await;
}

#[tokio::test]
async fn expensive_and_slow_queries_are_stopped() {
    let app = TestApp::new().await;
    let (scope, ok) = accepted(&app, Role::CompanyAdmin, "permian-hauling", "SELECT count(*) FROM check_ins a, check_ins b, check_ins c").await;
    // Row-level security hides the scope from the planner (InitPlan parameters), so its
    // row estimates are low: the ceiling here is far below the query's real cost.
    let tight = ExecLimits { max_plan_cost: 50.0, ..ExecLimits::default() };
    match executor(&app, tight).run(deriq_core::Tier::Full, &scope, &ok).await {
        Err(ExecError::TooExpensive { cost, .. }) => assert!(cost > 50.0),
        other => panic!("expected TooExpensive, got {other:?}"),
    }
    let slow = ExecLimits { statement_timeout_ms: 50, max_plan_cost: f64::MAX, ..ExecLimits::default() };
    match executor(&app, slow).run(deriq_core::Tier::Full, &scope, &ok).await {
        Err(ExecError::Timeout(50)) => {}
        other => panic!("expected Timeout, got {other:?}"),
    }
    app.cleanup().await;
}

#[tokio::test]
async fn small_groups_are_suppressed_for_the_deidentified_tier_only() {
    let app = TestApp::new().await;
    let sql = "SELECT location_id, count(*) AS count FROM drug_tests WHERE result = 'positive' GROUP BY location_id";
    let (scope, ok) = accepted(&app, Role::Auditor, "sentinel-compliance", sql).await;
    let r = executor(&app, ExecLimits::default()).run(deriq_core::Tier::Deidentified, &scope, &ok).await.unwrap();
    assert!(r.suppressed_cells > 0, "the test data has small groups");
    for row in &r.rows {
        match &row[1] {
            Value::String(s) => assert_eq!(s, "<5"),
            v => assert!(v.as_i64().unwrap() >= 5, "{v}"),
        }
    }
    let (scope, ok) = accepted(&app, Role::CompanyAdmin, "permian-hauling", sql).await;
    let r = executor(&app, ExecLimits::default()).run(deriq_core::Tier::Full, &scope, &ok).await.unwrap();
    assert_eq!(r.suppressed_cells, 0);
    assert!(r.rows.iter().all(|row| row[1].is_i64()));
    app.cleanup().await;
}

#[tokio::test]
async fn an_unreachable_replica_is_a_clear_error_or_falls_back_to_the_primary() {
    let app = TestApp::new().await;
    let (scope, ok) = accepted(&app, Role::CompanyAdmin, "permian-hauling", "SELECT count(*) FROM employees").await;
    let mut endpoints = app.endpoints.clone();
    endpoints.replicas = vec![sqlx::postgres::PgConnectOptions::new().host("127.0.0.1").port(9).database(&app.name)];
    let down = Executor::new(&endpoints, false, ExecLimits::default());
    let err = down.run(deriq_core::Tier::Full, &scope, &ok).await.unwrap_err();
    assert!(matches!(err, ExecError::Unavailable(_) | ExecError::NoHealthyReplica), "{err:?}");
    // Marked down: the next call fails fast without trying it.
    let err = down.run(deriq_core::Tier::Full, &scope, &ok).await.unwrap_err();
    assert!(matches!(err, ExecError::NoHealthyReplica), "{err:?}");
    assert!(err.to_string().contains("no healthy read replica"));
    endpoints.admin = endpoints.admin_on(&app.name);
    let fallback = Executor::new(&endpoints, true, ExecLimits::default());
    let _ = fallback.run(deriq_core::Tier::Full, &scope, &ok).await;
    let r = fallback.run(deriq_core::Tier::Full, &scope, &ok).await.unwrap();
    assert!(r.rows[0][0].as_i64().unwrap() > 0);
    app.cleanup().await;
}
