//! The embedded read replica streams from the primary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use deriq_gateway::config::Config;
use deriq_gateway::db::{self, Endpoints, status};

#[tokio::test]
async fn a_row_written_on_the_primary_is_readable_on_the_replica() {
    let config = Config::load().unwrap();
    let endpoints = Endpoints::resolve(&config).unwrap();
    let st = status::status(&endpoints).await.unwrap();
    assert_eq!(st.primary.in_recovery, Some(false));
    assert!(st.replicas.iter().all(|r| r.in_recovery == Some(true)), "{:?}", st.replicas);
    assert!(st.replication.iter().any(|r| r.state == "streaming"), "{:?}", st.replication);

    let gw = db::pool("primary", endpoints.gateway.clone(), 1).await.unwrap();
    let id = uuid::Uuid::new_v4();
    sqlx::query("INSERT INTO deriq.audit_log (id, occurred_at, action, resource, request_id, result, duration_ms) VALUES ($1, now(), 'READ', 'replication-test', $2, 'SUCCESS', 0)")
        .bind(id)
        .bind(id.to_string())
        .execute(&gw)
        .await
        .unwrap();
    // The replica is reached as the gateway login (the query roles cannot read the audit log).
    let replica = endpoints.replicas[0].clone().username("deriq_gateway").password(&endpoints.gateway_password);
    let rp = db::pool("replica", replica, 1).await.unwrap();
    let started = Instant::now();
    loop {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM deriq.audit_log WHERE id = $1").bind(id).fetch_one(&rp).await.unwrap();
        if n == 1 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the row did not reach the replica in 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ro: Result<_, _> = sqlx::query("INSERT INTO deriq.audit_log (id, occurred_at, action, resource, request_id, result, duration_ms) VALUES ($1, now(), 'READ', 'x', 'x', 'SUCCESS', 0)")
        .bind(uuid::Uuid::new_v4())
        .execute(&rp)
        .await;
    assert!(ro.is_err(), "the replica accepted a write");
}
