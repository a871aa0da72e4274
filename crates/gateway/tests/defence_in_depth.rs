//! Defence in depth: every attack of the guard's corpus that the guard rejects is sent
//! straight to the database under a scoped session, as if the guard had a bug. The
//! database alone must still hold: no row of another tenant, and no PII for the
//! de-identified tier, whatever the statement does (most fail outright).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;

use common::TestApp;
use deriq_core::{Role, Tier};
use deriq_gateway::db::scoped;
use deriq_gateway::policy::{QueryLimits, guard_policy};
use deriq_sql_guard::corpus::attack_corpus;
use sqlx::postgres::PgRow;
use sqlx::Row;

/// Every cell of a row as text, for the types that can carry identifiers or PII.
fn cells(row: &PgRow) -> Vec<String> {
    (0..row.columns().len())
        .filter_map(|i| {
            row.try_get::<String, _>(i)
                .ok()
                .or_else(|| row.try_get::<uuid::Uuid, _>(i).ok().map(|u| u.to_string()))
                .or_else(|| row.try_get::<serde_json::Value, _>(i).ok().map(|v| v.to_string()))
                .or_else(|| row.try_get::<Vec<String>, _>(i).ok().map(|v| v.join(",")))
                .or_else(|| row.try_get::<Vec<uuid::Uuid>, _>(i).ok().map(|v| v.iter().map(|u| u.to_string()).collect::<Vec<_>>().join(",")))
        })
        .collect()
}

#[tokio::test]
async fn the_database_holds_for_every_attack_the_guard_rejects() {
    let app = TestApp::new().await;
    let mut sent = 0;
    let mut failed_in_db = 0;
    for (role, tenant_slug, tier) in [(Role::CompanyAdmin, "permian-hauling", Tier::Full), (Role::Auditor, "sentinel-compliance", Tier::Deidentified)] {
        let (_, scope) = app.user_scope(role, tenant_slug).await;
        let policy = guard_policy(role, &scope, QueryLimits::default());
        let visible: Vec<uuid::Uuid> = scope.tenant_ids.clone();
        // Identifiers of everything outside the scope, and PII of everyone.
        let foreign: HashSet<String> = sqlx::query_scalar(
            "SELECT id::text FROM compliance.employees WHERE tenant_id <> ALL($1) \
             UNION SELECT id::text FROM compliance.tenants WHERE id <> ALL($1) \
             UNION SELECT id::text FROM compliance.drug_tests WHERE tenant_id <> ALL($1)",
        )
        .bind(&visible)
        .fetch_all(&app.admin)
        .await
        .unwrap()
        .into_iter()
        .collect();
        let pii: HashSet<String> = sqlx::query_scalar("SELECT email FROM compliance.employees WHERE email IS NOT NULL UNION SELECT cdl_number FROM compliance.driver_qualifications")
            .fetch_all(&app.admin)
            .await
            .unwrap()
            .into_iter()
            .collect();
        let pool = app.query_pool_for(tier, &scope).await;
        for attack in attack_corpus() {
            if deriq_sql_guard::guard(attack.sql, &policy).is_ok() {
                continue;
            }
            sent += 1;
            let mut tx = scoped::begin(&pool, &app.endpoints.scope_key, tier, &scope, 2000).await.unwrap();
            let result = sqlx::query(attack.sql).fetch_all(&mut *tx).await;
            let _ = tx.rollback().await;
            let rows = match result {
                Ok(rows) => rows,
                Err(_) => {
                    failed_in_db += 1;
                    continue;
                }
            };
            for row in &rows {
                for cell in cells(row) {
                    for id in cell.split(|c: char| !(c.is_ascii_hexdigit() || c == '-')).filter(|s| s.len() == 36) {
                        assert!(!foreign.contains(id), "class {} leaked a row of another tenant ({role}): {}", attack.class, attack.sql);
                    }
                    if tier == Tier::Deidentified {
                        assert!(!pii.iter().any(|p| cell.contains(p.as_str())), "class {} leaked PII to the de-identified tier: {}", attack.class, attack.sql);
                    }
                }
            }
        }
        pool.close().await;
    }
    assert!(sent > 150, "only {sent} attacks were sent to the database");
    eprintln!("{sent} rejected attacks sent straight to the database; {failed_in_db} failed there, none leaked");
    app.cleanup().await;
}
