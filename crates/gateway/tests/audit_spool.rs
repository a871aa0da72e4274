//! Audit fault tests: the store down, the spool written, the store back, every record
//! present exactly once; and fail-closed when neither can be written.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestApp;
use deriq_gateway::audit::{AuditLog, AuditRecord, Written};
use sqlx::Executor;
use sqlx::postgres::PgPoolOptions;

fn record(i: usize) -> AuditRecord {
    AuditRecord {
        id: uuid::Uuid::new_v4(),
        occurred_at: chrono::Utc::now(),
        tenant_id: None,
        user_id: None,
        user_email: Some("der@permian-hauling.example".into()),
        user_role: Some("der".into()),
        action: "READ".into(),
        resource: "der-iq/ask".into(),
        resource_id: None,
        request_id: format!("req-{i}"),
        ip_address: Some("127.0.0.1".into()),
        user_agent: None,
        result: "SUCCESS".into(),
        error_code: None,
        error_message: None,
        duration_ms: 5,
        details: serde_json::json!({"question": format!("question {i}")}),
    }
}

#[tokio::test]
async fn records_spooled_while_the_store_is_down_arrive_exactly_once() {
    let app = TestApp::new().await;
    let dir = tempdir();
    let gw = deriq_gateway::db::pool("primary", app.login("deriq_gateway"), 2).await.unwrap();
    let audit = AuditLog::new(gw.clone(), dir.join("spool.jsonl"));
    let count = || async { sqlx::query_scalar::<_, i64>("SELECT count(*) FROM deriq.audit_log").fetch_one(&app.admin).await.unwrap() };

    assert_eq!(audit.write(&record(0)).await.unwrap(), Written::Store);
    // The store goes down for the gateway.
    app.admin.execute("REVOKE INSERT ON deriq.audit_log FROM deriq_gateway").await.unwrap();
    let spooled: Vec<AuditRecord> = (1..=5).map(record).collect();
    for r in &spooled {
        assert_eq!(audit.write(r).await.unwrap(), Written::Spool);
    }
    assert_eq!(count().await, 1);
    let lines = std::fs::read_to_string(audit.spool_path()).unwrap().lines().count();
    assert_eq!(lines, 5);
    // A drain while still down changes nothing and keeps the spool.
    assert!(audit.drain().await.is_err());
    assert_eq!(std::fs::read_to_string(audit.spool_path()).unwrap().lines().count(), 5);

    // The store is back: the next write drains the spool first.
    app.admin.execute("GRANT INSERT ON deriq.audit_log TO deriq_gateway").await.unwrap();
    assert_eq!(audit.write(&record(6)).await.unwrap(), Written::Store);
    assert_eq!(count().await, 7);
    assert_eq!(std::fs::metadata(audit.spool_path()).unwrap().len(), 0);
    for r in &spooled {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM deriq.audit_log WHERE id = $1 AND request_id = $2")
            .bind(r.id)
            .bind(&r.request_id)
            .fetch_one(&app.admin)
            .await
            .unwrap();
        assert_eq!(n, 1, "{} not present exactly once", r.request_id);
    }
    // A drain interrupted after inserting (spool not yet emptied) and repeated writes nothing twice.
    let again = record(7);
    std::fs::write(audit.spool_path(), format!("{}\n", serde_json::to_string(&again).unwrap())).unwrap();
    let first = audit.drain().await.unwrap();
    std::fs::write(audit.spool_path(), format!("{}\n", serde_json::to_string(&again).unwrap())).unwrap();
    let second = audit.drain().await.unwrap();
    assert_eq!((first.inserted, second.inserted, second.already_present), (1, 0, 1));
    assert_eq!(count().await, 8);
    gw.close().await;
    app.cleanup().await;
}

#[tokio::test]
async fn when_neither_store_nor_spool_can_be_written_the_write_fails() {
    let dir = tempdir();
    // Nothing listens on this port: the store is down.
    let opts = sqlx::postgres::PgConnectOptions::new().host("127.0.0.1").port(9).username("deriq_gateway").database("deriq");
    let pool = PgPoolOptions::new().acquire_timeout(std::time::Duration::from_millis(500)).connect_lazy_with(opts);
    // A spool path under a regular file cannot be created.
    let blocker = dir.join("not-a-directory");
    std::fs::write(&blocker, "x").unwrap();
    let audit = AuditLog::new(pool.clone(), blocker.join("spool.jsonl"));
    let err = audit.write(&record(1)).await.unwrap_err();
    assert!(err.to_string().contains("the request is refused"), "{err}");
    // With a writable spool the same outage is absorbed.
    let audit = AuditLog::new(pool, dir.join("ok.jsonl"));
    assert_eq!(audit.write(&record(2)).await.unwrap(), Written::Spool);
}

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("deriq-audit-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
