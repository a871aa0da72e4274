//! The batching audit writer of the gateway: concurrent questions are each audited exactly
//! once, with every field, before they are answered; when the batch insert cannot reach
//! the store, every record still goes through the single-record path.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{TestApp, demo_email};
use deriq_core::Role;
use deriq_gateway::ask::{AskRequest, AuditSink};
use deriq_gateway::audit::AuditRecord;
use deriq_gateway::http::audit_batch::{AuditBatcher, insert_batch};
use serde_json::json;

const QUESTION: &str = "How many drug tests did we run in 2025?";

#[tokio::test]
async fn concurrent_questions_are_each_audited_once_before_they_are_answered() {
    let app = TestApp::new().await;
    let s = app.serve().await;
    let token = s.token(Role::CompanyAdmin).await;
    let mut tasks = Vec::new();
    for i in 0..60 {
        let (client, url, token) = (s.client.clone(), s.url("/api/der-iq/query"), token.clone());
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .header("x-request-id", format!("batch-{i}"))
                .header("user-agent", "load/1")
                .json(&json!({ "question": QUESTION }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // Each response came after its record was written: all 60 are there now.
    let rows: Vec<(String, Option<String>, String, String)> = sqlx::query_as(
        "SELECT request_id, host(ip_address), user_agent, details->>'question' FROM deriq.audit_log WHERE request_id LIKE 'batch-%' ORDER BY request_id",
    )
    .fetch_all(&app.admin)
    .await
    .unwrap();
    assert_eq!(rows.len(), 60);
    let mut ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 60, "no record twice");
    for (_, ip, ua, q) in &rows {
        assert_eq!(
            (ip.as_deref(), ua.as_str(), q.as_str()),
            (Some("127.0.0.1"), "load/1", QUESTION)
        );
    }
    // The batch insert itself works (the path above did not fall back), and skips ids it has.
    let record = |i: u8| AuditRecord {
        id: uuid::Uuid::new_v4(),
        occurred_at: chrono::Utc::now(),
        tenant_id: None,
        user_id: None,
        user_email: Some(format!("u{i}@x.example")),
        user_role: Some("der".into()),
        action: "READ".into(),
        resource: "der-iq/ask".into(),
        resource_id: None,
        request_id: format!("direct-{i}"),
        ip_address: if i == 0 {
            Some("10.0.0.1".into())
        } else {
            None
        },
        user_agent: None,
        result: "SUCCESS".into(),
        error_code: None,
        error_message: None,
        duration_ms: 3,
        details: json!({ "i": i }),
    };
    let (a, b) = (record(0), record(1));
    assert_eq!(
        insert_batch(&s.asker.directory_pool, &[&a, &b])
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        insert_batch(&s.asker.directory_pool, &[&a, &b])
            .await
            .unwrap(),
        0,
        "ids already present are skipped"
    );
    s.stop().await;
    app.cleanup().await;
}

#[tokio::test]
async fn when_the_batch_insert_fails_each_record_takes_the_single_record_path() {
    let app = TestApp::new().await;
    let asker = Arc::new(app.asker().await);
    // A pool that cannot connect: every batch insert fails.
    let broken = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(200))
        .connect_lazy_with(app.endpoints.admin_on(&app.name).port(1));
    let batcher = AuditBatcher::start(asker.clone(), broken, 2);
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (asker, sink) = (asker.clone(), batcher.clone() as Arc<dyn AuditSink>);
        tasks.push(tokio::spawn(async move {
            let mut req = AskRequest::new(demo_email(Role::CompanyAdmin), QUESTION);
            req.request_id = format!("fallback-{i}");
            req.audit_sink = Some(sink);
            asker.ask(&req).await.unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let n: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT request_id) FROM deriq.audit_log WHERE request_id LIKE 'fallback-%'",
    )
    .fetch_one(&app.admin)
    .await
    .unwrap();
    assert_eq!(n, 10, "no record is lost");
    let _ = std::fs::remove_file(asker.audit.spool_path());
    app.cleanup().await;
}
