//! The cost of row-level security: a scoped count over the largest table as the query
//! role (RLS with the signed scope) versus the same count with an explicit tenant
//! predicate as a login that bypasses RLS (the embedded superuser).
//!
//! Needs the embedded primary (`deriq db up`). Builds the database `deriq_bench_rls`
//! with 5,000 employees per tenant the first time.
//!   cargo bench -p deriq-gateway --bench rls_cost
//!
//! Settings (environment):
//! - `DERIQ_RLS_BENCH_RESEED=1`: drop the bench database and seed it again first;
//! - `DERIQ_RLS_BENCH_VACUUM=0`: only ANALYZE the table, without VACUUM, so the visibility map
//!   is as a fresh load leaves it (the default is VACUUM ANALYZE).
//!
//! Each case prints both sides' plans (node types and index), so a difference in time can be
//! told apart from a difference in plan.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use deriq_core::{Scope, Tier};
use deriq_gateway::config::Config;
use deriq_gateway::db::{self, Endpoints, scoped};
use deriq_gateway::seed::{self, SeedOptions};
use sqlx::Executor;

const DB: &str = "deriq_bench_rls";
const EMPLOYEES: usize = 5000;
const ITERATIONS: usize = 300;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Times two closures in alternation, so that load from other processes falls on both alike.
/// Returns (p50 a, p95 a, p50 b, p95 b, median of the per-pair ratios a / b).
async fn paired<A, AF, B, BF>(mut a: A, mut b: B) -> (Duration, Duration, Duration, Duration, f64)
where
    A: FnMut() -> AF,
    AF: std::future::Future<Output = i64>,
    B: FnMut() -> BF,
    BF: std::future::Future<Output = i64>,
{
    for _ in 0..20 {
        a().await;
        b().await;
    }
    let (mut sa, mut sb, mut ratios) = (Vec::with_capacity(ITERATIONS), Vec::with_capacity(ITERATIONS), Vec::with_capacity(ITERATIONS));
    for i in 0..ITERATIONS {
        // Alternate which side goes first, so neither always runs on a warmer cache.
        let (ta, tb) = if i % 2 == 0 {
            let t = Instant::now();
            std::hint::black_box(a().await);
            let ta = t.elapsed();
            let t = Instant::now();
            std::hint::black_box(b().await);
            (ta, t.elapsed())
        } else {
            let t = Instant::now();
            std::hint::black_box(b().await);
            let tb = t.elapsed();
            let t = Instant::now();
            std::hint::black_box(a().await);
            (t.elapsed(), tb)
        };
        sa.push(ta);
        sb.push(tb);
        ratios.push(ta.as_secs_f64() / tb.as_secs_f64());
    }
    sa.sort();
    sb.sort();
    ratios.sort_by(f64::total_cmp);
    (percentile(&sa, 0.5), percentile(&sa, 0.95), percentile(&sb, 0.5), percentile(&sb, 0.95), ratios[ratios.len() / 2])
}

#[tokio::main]
async fn main() {
    let config = Config::load().unwrap();
    let endpoints = Endpoints::resolve(&config).unwrap();
    let maint = db::pool("primary", endpoints.admin_on("postgres"), 1).await.expect("run `deriq db up` first");
    if std::env::var("DERIQ_RLS_BENCH_RESEED").is_ok_and(|v| v == "1") {
        eprintln!("dropping {DB} to seed it again ...");
        maint.execute(format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)").as_str()).await.unwrap();
    }
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)").bind(DB).fetch_one(&maint).await.unwrap();
    if !exists {
        maint.execute(format!("CREATE DATABASE {DB}").as_str()).await.unwrap();
    }
    let admin = db::pool("primary", endpoints.admin_on(DB), 2).await.unwrap();
    db::migrate_and_configure(&admin, &endpoints, None).await.unwrap();
    let employees: i64 = sqlx::query_scalar("SELECT count(*) FROM compliance.employees").fetch_one(&admin).await.unwrap();
    if employees != (EMPLOYEES * 3) as i64 {
        eprintln!("seeding {EMPLOYEES} employees per tenant ...");
        seed::seed(&admin, &SeedOptions { employees_per_tenant: EMPLOYEES, as_of: chrono::NaiveDate::from_ymd_opt(2026, 6, 15).unwrap() }, &|_, _, _| {}).await.unwrap();
    }
    let (table, rows): (String, f32) = sqlx::query_as(
        "SELECT c.relname::text, c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'compliance' AND c.relkind = 'r' ORDER BY c.reltuples DESC LIMIT 1",
    )
    .fetch_one(&admin)
    .await
    .unwrap();
    // Both sides get the same visibility map and statistics.
    let vacuum = !std::env::var("DERIQ_RLS_BENCH_VACUUM").is_ok_and(|v| v == "0");
    let maintenance = if vacuum { "VACUUM ANALYZE" } else { "ANALYZE" };
    admin.execute(format!("{maintenance} compliance.{table}").as_str()).await.unwrap();
    let tenant: uuid::Uuid = sqlx::query_scalar("SELECT id FROM compliance.tenants WHERE slug = 'permian-hauling'").fetch_one(&admin).await.unwrap();
    let location: uuid::Uuid = sqlx::query_scalar("SELECT id FROM compliance.locations WHERE tenant_id = $1 ORDER BY name LIMIT 1").bind(tenant).fetch_one(&admin).await.unwrap();
    let query = scoped::QueryPools::connect_lazy(&endpoints.admin_on(DB), &endpoints.query_full_password, &endpoints.query_deid_password, 1);

    let other_tenant: uuid::Uuid = sqlx::query_scalar("SELECT id FROM compliance.tenants WHERE slug = 'gulf-coast-energy'").fetch_one(&admin).await.unwrap();
    println!("largest table: {table} (~{rows:.0} rows), {EMPLOYEES} employees per tenant, {ITERATIONS} iterations, after {maintenance}");
    let tenant_scope = Scope { tenant_ids: vec![tenant], location_ids: None, employee_id: None };
    let company_scope = Scope { tenant_ids: vec![tenant, other_tenant], location_ids: None, employee_id: None };
    let location_scope = Scope { tenant_ids: vec![tenant], location_ids: Some(vec![location]), employee_id: None };
    let employee: uuid::Uuid = sqlx::query_scalar(&format!(
        "SELECT employee_id FROM compliance.{table} WHERE tenant_id = $1 GROUP BY employee_id ORDER BY count(*) DESC, employee_id LIMIT 1"
    ))
    .bind(tenant)
    .fetch_one(&admin)
    .await
    .unwrap();
    let own_scope = Scope { tenant_ids: vec![tenant], location_ids: None, employee_id: Some(employee) };
    // Every explicit query takes the same three parameters (tenant, location, employee).
    let explicit_tenant = format!("SELECT count(*) FROM compliance.{table} WHERE tenant_id = $1 AND $2::uuid IS NOT NULL AND $3::uuid IS NOT NULL");
    let explicit_company = format!(
        "SELECT count(*) FROM compliance.{table} WHERE tenant_id IN ($1, '{other_tenant}') AND $2::uuid IS NOT NULL AND $3::uuid IS NOT NULL"
    );
    let explicit_location = format!("SELECT count(*) FROM compliance.{table} WHERE tenant_id = $1 AND location_id = $2 AND $3::uuid IS NOT NULL");
    let explicit_own = format!("SELECT count(*) FROM compliance.{table} WHERE tenant_id = $1 AND $2::uuid IS NOT NULL AND employee_id = $3");
    // What the pipeline runs: the guard's explicit scope predicate, with RLS underneath.
    let guarded_location = format!("SELECT count(*) FROM {table} WHERE tenant_id = '{tenant}' AND location_id = '{location}'");
    let guarded_own = format!("SELECT count(*) FROM {table} WHERE tenant_id = '{tenant}' AND employee_id = '{employee}'");
    for (label, scope, explicit, rls_sql) in [
        ("tenant scope", tenant_scope.clone(), explicit_tenant.clone(), format!("SELECT count(*) FROM {table}")),
        ("tenant, guarded", tenant_scope, explicit_tenant, format!("SELECT count(*) FROM {table} WHERE tenant_id = '{tenant}'")),
        ("two companies", company_scope.clone(), explicit_company.clone(), format!("SELECT count(*) FROM {table}")),
        (
            "two, guarded",
            company_scope,
            explicit_company,
            format!("SELECT count(*) FROM {table} WHERE tenant_id IN ('{tenant}', '{other_tenant}')"),
        ),
        ("location scope", location_scope.clone(), explicit_location.clone(), format!("SELECT count(*) FROM {table}")),
        ("location, guarded", location_scope, explicit_location, guarded_location),
        ("own record", own_scope.clone(), explicit_own.clone(), format!("SELECT count(*) FROM {table}")),
        ("own, guarded", own_scope, explicit_own, guarded_own),
    ] {
        let rls_plan = {
            let pool = query.for_scope(Tier::Full, &scope);
            let mut tx = scoped::begin(pool, &endpoints.scope_key, Tier::Full, &scope, 10_000).await.unwrap();
            let plan = plan_shape(&mut tx, &rls_sql, None).await;
            tx.rollback().await.unwrap();
            plan
        };
        let explicit_plan = {
            let mut tx = admin.begin().await.unwrap();
            let plan = plan_shape(&mut tx, &explicit, Some((tenant, location, employee))).await;
            tx.rollback().await.unwrap();
            plan
        };
        let (rls_p50, rls_p95, own_p50, own_p95, ratio) = paired(
            || {
                let (query, scope, key, sql) = (query.for_scope(Tier::Full, &scope).clone(), scope.clone(), endpoints.scope_key.clone(), rls_sql.clone());
                async move {
                    let mut tx = scoped::begin(&query, &key, Tier::Full, &scope, 10_000).await.unwrap();
                    let n: i64 = sqlx::query_scalar(&sql).fetch_one(&mut *tx).await.unwrap();
                    tx.rollback().await.unwrap();
                    n
                }
            },
            || {
                let (admin, sql) = (admin.clone(), explicit.clone());
                async move {
                    // The same transaction shape as the RLS side, so only the filtering differs.
                    let mut tx = admin.begin().await.unwrap();
                    sqlx::query("SET TRANSACTION READ ONLY").execute(&mut *tx).await.unwrap();
                    sqlx::query("SELECT set_config('statement_timeout', '10000ms', true)").execute(&mut *tx).await.unwrap();
                    let n: i64 = sqlx::query_scalar(&sql).bind(tenant).bind(location).bind(employee).fetch_one(&mut *tx).await.unwrap();
                    tx.rollback().await.unwrap();
                    n
                }
            },
        )
        .await;
        let overhead = (ratio - 1.0) * 100.0;
        println!(
            "{label:<18} RLS p50 {:>8.3} ms p95 {:>8.3} ms | explicit predicate p50 {:>8.3} ms p95 {:>8.3} ms | RLS overhead (median of paired ratios) {overhead:+.1}%",
            rls_p50.as_secs_f64() * 1e3, rls_p95.as_secs_f64() * 1e3, own_p50.as_secs_f64() * 1e3, own_p95.as_secs_f64() * 1e3
        );
        println!("{:<18}   plan with RLS: {rls_plan}", "");
        println!("{:<18}   explicit plan: {explicit_plan}", "");
    }
}

/// The plan's nodes in depth-first order, with their index and estimated rows, such as
/// `Aggregate(1) > Index Only Scan check_ins_scope_idx (31507)`. InitPlans are left out.
async fn plan_shape(tx: &mut sqlx::PgConnection, sql: &str, binds: Option<(uuid::Uuid, uuid::Uuid, uuid::Uuid)>) -> String {
    let explain = format!("EXPLAIN (FORMAT JSON) {sql}");
    let mut q = sqlx::query_scalar::<_, serde_json::Value>(&explain);
    if let Some((a, b, c)) = binds {
        q = q.bind(a).bind(b).bind(c);
    }
    let plan = q.fetch_one(tx).await.unwrap();
    let mut nodes = Vec::new();
    fn walk(node: &serde_json::Value, out: &mut Vec<String>) {
        if node["Parent Relationship"] == "InitPlan" || node["Parent Relationship"] == "SubPlan" {
            return;
        }
        let mut s = node["Node Type"].as_str().unwrap_or("?").to_string();
        if let Some(index) = node["Index Name"].as_str() {
            s.push(' ');
            s.push_str(index);
        }
        s.push_str(&format!(" ({})", node["Plan Rows"]));
        out.push(s);
        for child in node["Plans"].as_array().into_iter().flatten() {
            walk(child, out);
        }
    }
    walk(&plan[0]["Plan"], &mut nodes);
    nodes.join(" > ")
}
